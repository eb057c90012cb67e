/*
 * fuzz_imap.c: libFuzzer target for what IMAP servers answer syncmigrate.
 * The input is what two servers send, the old one's bytes, a line
 * "=====", then the new one's; each reaches libetpan's parser through a
 * stream driver that reads from the input as mig_tls.c's driver reads
 * from a socket, and drops what the client writes.  syncmigrate then goes through one account's steps as
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

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_IMAP_SEP		"\n=====\n"
#define FUZZ_IMAP_COPY_MAX	8

struct fuzz_server {
	const uint8_t	*p;
	size_t		 len;
};

/* As mig_tls.c's driver: the end of the input is an error. */
static ssize_t
fuzz_read(mailstream_low *low, void *buf, size_t count)
{
	struct fuzz_server *s = low->data;

	if (s->len == 0)
		return -1;
	if (count > s->len)
		count = s->len;
	memcpy(buf, s->p, count);
	s->p += count;
	s->len -= count;
	return (ssize_t)count;
}

static ssize_t
fuzz_write(mailstream_low *low, const void *buf, size_t count)
{
	(void)low;
	(void)buf;
	return (ssize_t)count;
}

static int
fuzz_close(mailstream_low *low)
{
	(void)low;
	return 0;
}

static int
fuzz_get_fd(mailstream_low *low)
{
	(void)low;
	return -1;
}

static void
fuzz_free(mailstream_low *low)
{
	free(low->data);
	free(low);
}

static void
fuzz_cancel(mailstream_low *low)
{
	(void)low;
}

static mailstream_low_driver fuzz_driver = {
	fuzz_read, fuzz_write, fuzz_close, fuzz_get_fd, fuzz_free,
	fuzz_cancel, NULL, NULL, NULL, NULL, NULL,
};

/* A session on the given server bytes, logged in; -1 if it is not. */
static int
fuzz_login(struct mig_imap *im, const char *side, const uint8_t *p,
    size_t len)
{
	static struct mig_server srv = { .host = "fuzz", .port = 143,
	    .master = "master", .master_password = "secret" };
	struct fuzz_server *s = xmalloc(sizeof(*s));
	mailstream_low *low;
	mailstream *stream;
	char *err = NULL;
	int rc;

	memset(im, 0, sizeof(*im));
	im->side = side;
	if ((im->imap = mailimap_new(0, NULL)) == NULL)
		abort();
	s->p = p;
	s->len = len;
	if ((low = mailstream_low_new(s, &fuzz_driver)) == NULL ||
	    (stream = mailstream_new(low, 8192)) == NULL)
		abort();
	rc = mailimap_connect(im->imap, stream);
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
	struct mig_msg *msgs = NULL, *theirs = NULL;
	uint32_t uids[FUZZ_IMAP_COPY_MAX], validity;
	const uint8_t *sep;
	char **names = NULL, **uses = NULL, *err = NULL;
	size_t n = 0, nmsgs = 0, ntheirs = 0, ncopy = 0, i;
	int have_old, have_new;

	sep = memmem(data, size, FUZZ_IMAP_SEP, strlen(FUZZ_IMAP_SEP));
	if (sep == NULL)
		sep = data + size;
	have_old = fuzz_login(&old, "old", data, (size_t)(sep - data)) == 0;
	if (sep < data + size)
		sep += strlen(FUZZ_IMAP_SEP);
	have_new = fuzz_login(&new, "new", sep,
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
