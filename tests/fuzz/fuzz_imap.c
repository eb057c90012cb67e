/*
 * fuzz_imap.c: libFuzzer target for what IMAP servers answer syncmigrate.
 * The input is what two servers send, the old one's bytes, a line
 * "=====", then the new one's; each reaches libetpan's parser as a
 * scripted server (tests/migrate/imap_script.c) that drops what the
 * client writes.  syncmigrate then goes through one account's steps as
 * mig_sync.c does: log in, list the folders, examine one, list its
 * messages, copy some of them to the new server, store flags and
 * expunge.  Whatever the servers say, each step either works or fails
 * with a message that names the server.  (Leaks are not looked for here:
 * libetpan's parser leaks on malformed answers; see tests/fuzz/run.)
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "common.h"
#include "migrate.h"
#include "imap_script.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_IMAP_SEP		"\n=====\n"
#define FUZZ_IMAP_COPY_MAX	8

/* A session on the given server bytes, logged in; -1 if it is not. */
static int
fuzz_login(struct mig_imap *im, const char *side, struct imap_script *s,
    const uint8_t *p, size_t len)
{
	static struct mig_server srv = { .host = "fuzz", .port = 143,
	    .master = "master", .master_password = "secret" };
	char *err = NULL;
	int rc;

	memset(im, 0, sizeof(*im));
	im->side = side;
	if ((im->imap = mailimap_new(0, NULL)) == NULL)
		abort();
	memset(s, 0, sizeof(*s));
	s->p = (const char *)p;
	s->len = len;
	rc = mailimap_connect(im->imap, imap_script_stream(s));
	if (rc != MAILIMAP_NO_ERROR_NON_AUTHENTICATED &&
	    rc != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		mig_imap_logout(im);
		return -1;
	}
	/* The old side by master user, the new one by password. */
	if (mig_imap_session(im, &srv, "user",
	    strcmp(side, "new") == 0 ? "password" : NULL, &err) == -1) {
		if (err == NULL || strncmp(err, side, strlen(side)) != 0)
			abort();
		free(err);
		return -1;
	}
	return 0;
}

/* Every failure names the side and the command. */
static void
fuzz_failed(const char *side, char *err)
{
	if (err == NULL || strncmp(err, side, strlen(side)) != 0)
		abort();
	free(err);
}

static int
fuzz_copied(void *arg, uint32_t uid, uint32_t new_uid, size_t size,
    const char *refused, char **err_r)
{
	(void)arg;
	(void)new_uid;
	(void)size;
	(void)err_r;
	if (uid == 0 || (refused != NULL && *refused == '\0'))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mig_imap old, new;
	struct imap_script old_script, new_script;
	struct mig_msg *msgs = NULL, *theirs = NULL;
	uint32_t uids[FUZZ_IMAP_COPY_MAX], validity;
	const uint8_t *sep;
	char **names = NULL, **uses = NULL, *err = NULL;
	size_t n = 0, nmsgs = 0, ntheirs = 0, ncopy = 0, i;
	int have_old, have_new;

	sep = memmem(data, size, FUZZ_IMAP_SEP, strlen(FUZZ_IMAP_SEP));
	if (sep == NULL)
		sep = data + size;
	have_old = fuzz_login(&old, "old", &old_script, data,
	    (size_t)(sep - data)) == 0;
	if (sep < data + size)
		sep += strlen(FUZZ_IMAP_SEP);
	have_new = fuzz_login(&new, "new", &new_script, sep,
	    (size_t)(data + size - sep)) == 0;

	if (have_old && mig_imap_folders(&old, &names, &uses, &n, &err) == -1)
		fuzz_failed("old", err), err = NULL;
	if (have_old && mig_imap_select(&old, n > 0 ? names[0] : "INBOX", 1,
	    &validity, &err) == 0) {
		if (mig_imap_list(&old, 1, &msgs, &nmsgs, &err) == -1)
			fuzz_failed("old", err), err = NULL;
		(void)mig_imap_exists(&old);
	} else if (have_old)
		fuzz_failed("old", err), err = NULL;
	for (i = 0; i < nmsgs && ncopy < FUZZ_IMAP_COPY_MAX; i++)
		uids[ncopy++] = msgs[i].uid;

	if (have_new && mig_imap_create(&new, "Sent", &err) == -1)
		fuzz_failed("new", err), err = NULL;
	if (have_new && mig_imap_select(&new, "Sent", 0, &validity,
	    &err) == 0) {
		if (mig_imap_list(&new, 0, &theirs, &ntheirs, &err) == -1)
			fuzz_failed("new", err), err = NULL;
		if (have_old && ncopy > 0 && mig_imap_copy(&old, uids, ncopy,
		    &new, "Sent", fuzz_copied, NULL, &err) == -1)
			fuzz_failed(err != NULL && strncmp(err, "old", 3) == 0 ?
			    "old" : "new", err), err = NULL;
		if (mig_imap_store(&new, ncopy > 0 ? uids[0] : 1,
		    "$Label1 \\Flagged \\Seen", &err) == -1)
			fuzz_failed("new", err), err = NULL;
		if (mig_imap_expunge(&new, uids, ncopy, &err) == -1)
			fuzz_failed("new", err), err = NULL;
	} else if (have_new)
		fuzz_failed("new", err), err = NULL;

	for (i = 0; i < n; i++) {
		free(names[i]);
		free(uses[i]);
	}
	free(names);
	free(uses);
	mig_imap_msgs_free(msgs, nmsgs);
	mig_imap_msgs_free(theirs, ntheirs);
	mig_imap_logout(&old);
	mig_imap_logout(&new);
	return 0;
}
