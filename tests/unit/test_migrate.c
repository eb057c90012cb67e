/*
 * test_migrate.c: syncmigrate's configuration (statements, errors with
 * their line), folder names (separators, renames, exclusions), the
 * state (a changed UIDVALIDITY drops the folder's record), and copying
 * a batch to a server with MULTIAPPEND (the command sent, the UIDs of
 * APPENDUID, a refused batch tried again message by message) against
 * scripted server answers.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libetpan/libetpan.h>
#include <sqlite3.h>

#include "common.h"
#include "migrate.h"
#include "imap_script.h"

static char path[] = "/tmp/syncom-unit-migrate.XXXXXX";

/* Load text as a configuration file; NULL and *err_r on an error. */
static struct mig_conf *
load(const char *text, char **err_r)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	*err_r = NULL;
	return mig_conf_load(path, err_r);
}

static void
test_conf(void **state)
{
	struct mig_conf *conf;
	struct mig_account *a;
	char *err;

	conf = load("# a comment\n"
	    "old mail.example.org:143\n"
	    "new 127.0.0.1:10143 tls   # trailing comment\n"
	    "old-ca-file /etc/ssl/private-ca.pem\n"
	    "new-verify no\n"
	    "old-master admin \"se cret\"\n"
	    "new-master admin s2\n"
	    "state /var/lib/syncmigrate/state.db\n"
	    "map \"Sent Items\" Sent\n"
	    "exclude Junk*\n"
	    "window 22:30-05:00\n"
	    "big-account 500M\n"
	    "account alice\n"
	    "account bob bob@old p1 bob@new p2\n", &err);
	assert_non_null(conf);
	assert_string_equal(conf->old.host, "mail.example.org");
	assert_int_equal(conf->old.port, 143);
	assert_int_equal(conf->new.port, 10143);
	assert_int_equal(conf->old.security, MIG_STARTTLS);
	assert_int_equal(conf->new.security, MIG_TLS);
	assert_int_equal(conf->new.verify, 0);
	assert_string_equal(conf->old.ca_file, "/etc/ssl/private-ca.pem");
	assert_string_equal(conf->old.master_password, "se cret");
	assert_int_equal(conf->nmaps, 1);
	assert_int_equal(conf->window_start, 22 * 60 + 30);
	assert_int_equal(conf->window_end, 5 * 60);
	assert_int_equal(conf->big, 500LL << 20);
	assert_string_equal(conf->maps[0].from, "Sent Items");
	a = mig_conf_account(conf, "bob");
	assert_non_null(a);
	assert_string_equal(a->new_login, "bob@new");
	assert_null(mig_conf_account(conf, "alice")->old_login);
	mig_conf_free(&conf);
}

static void
test_conf_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "old x\n", ":1: 'x' is not HOST:PORT" },
		{ "old a:99999\n", ":1: 'a:99999' has no valid port" },
		{ "old a:1\nnew b:2\nstate s\nfrobnicate\n",
		    ":4: 'frobnicate' with 0 arguments is not a statement" },
		{ "old a:1\nstate s\n", "both servers are needed" },
		{ "old a:1\nnew b:2\n", "no state file" },
		{ "old a:1\nnew b:2\nstate s\naccount x\n",
		    ":4: account x has no logins" },
		{ "old a:1\nnew b:2\nstate s\naccount x a b c d\n"
		    "account x a b c d\n", ":5: account x is already defined" },
		{ "map \"open\n", ":1: an unterminated quote" },
		{ "old a:1 ssl\n", ":1: 'ssl' is not starttls, tls or plain" },
		{ "old-verify maybe\n", ":1: old-verify: 'maybe' is not yes or"
		    " no" },
		{ "window 1-5\n", ":1: window: '1-5' is not HH:MM-HH:MM" },
		{ "window 05:00-05:00\n", "is not HH:MM-HH:MM" },
		{ "window 25:00-05:00\n", "is not HH:MM-HH:MM" },
		{ "big-account lots\n", "'lots' is not a size" },
		{ "big-account 9999999999999999999999999G\n", "is not a size" },
	};
	struct mig_conf *conf;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conf = load(cases[i].text, &err);
		assert_null(conf);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
			    cases[i].err);
		free(err);
	}
}

static void
test_names(void **state)
{
	struct mig_conf *conf;
	char *err, *n;

	conf = load("old a:1\nnew b:2\nstate s\n"
	    "map \"Sent Items\" Sent\nmap Archiv Alt.Archiv\n"
	    "exclude Junk\nexclude Trash/*\n", &err);
	assert_non_null(conf);
	n = mig_sync_name(conf, NULL, 0, "Projekte/Syncom", '/', '.');
	assert_string_equal(n, "Projekte.Syncom");
	free(n);
	/* A new separator inside a name would split it. */
	n = mig_sync_name(conf, NULL, 0, "v1.2/notes", '/', '.');
	assert_string_equal(n, "v1_2.notes");
	free(n);
	n = mig_sync_name(conf, NULL, 0, "Sent Items", '/', '.');
	assert_string_equal(n, "Sent");
	free(n);
	n = mig_sync_name(conf, NULL, 0, "Sent Items/2019", '/', '.');
	assert_string_equal(n, "Sent.2019");
	free(n);
	n = mig_sync_name(conf, NULL, 0, "Archiv/2015/Q1", '/', '.');
	assert_string_equal(n, "Alt.Archiv.2015.Q1");
	free(n);
	/* Special-use maps come after the configuration's own. */
	{
		char g[] = "Gesendet", si[] = "Sent Items", sent[] = "Sent",
		    other[] = "Elsewhere";
		struct mig_map sp[] = { { g, sent }, { si, other } };

		n = mig_sync_name(conf, sp, 2, "Gesendet/2020", '/', '.');
		assert_string_equal(n, "Sent.2020");
		free(n);
		n = mig_sync_name(conf, sp, 2, "Sent Items", '/', '.');
		assert_string_equal(n, "Sent");
		free(n);
		n = mig_sync_name(conf, sp, 2, "Gesendetx", '/', '.');
		assert_string_equal(n, "Gesendetx");
		free(n);
	}
	/* Not a rename of "Sent Items": only the whole component counts. */
	n = mig_sync_name(conf, NULL, 0, "Sent Itemsx", '/', '.');
	assert_string_equal(n, "Sent Itemsx");
	free(n);
	n = mig_sync_name(conf, NULL, 0, "inbox", '/', '.');
	assert_string_equal(n, "INBOX");
	free(n);
	assert_null(mig_sync_name(conf, NULL, 0, "Junk", '/', '.'));
	assert_null(mig_sync_name(conf, NULL, 0, "Trash/old", '/', '.'));
	n = mig_sync_name(conf, NULL, 0, "Trash", '/', '.');
	assert_string_equal(n, "Trash");
	free(n);
	mig_conf_free(&conf);
}

static void
test_state(void **state)
{
	char db[] = "/tmp/syncom-unit-migstate.XXXXXX", *err = NULL, *wal;
	struct mig_state *st;
	struct mig_folder f, g;
	struct mig_copied *c;
	sqlite3 *sq;
	size_t n;
	int fd;

	fd = mkstemp(db);
	assert_true(fd >= 0);
	close(fd);
	st = mig_state_open(db, &err);
	assert_non_null(st);
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 1, 2,
	    &f, &err), 0);
	assert_int_equal(mig_state_put(st, f.id, 10, 20, "\\Seen", &err), 0);
	assert_int_equal(mig_state_put(st, f.id, 11, 21, "", &err), 0);
	/* The same validities: the same folder and its messages. */
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 1, 2,
	    &g, &err), 0);
	assert_int_equal(g.id, f.id);
	assert_int_equal(mig_state_copied(st, f.id, &c, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].old_uid, 10);
	assert_int_equal(c[0].new_uid, 20);
	assert_string_equal(c[0].flags, "\\Seen");
	mig_state_copied_free(c, n);
	/* The folder as synced whole, for CONDSTORE; 63 bits of it. */
	assert_int_equal(g.old_modseq, 0);
	assert_int_equal(mig_state_synced(st, f.id, 9223372036854775807ULL, 2,
	    &err), 0);
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 1, 2,
	    &g, &err), 0);
	assert_true(g.old_modseq == 9223372036854775807ULL);
	assert_int_equal(g.old_exists, 2);
	/* A new UIDVALIDITY on the old side voids the UIDs, and that. */
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 7, 2,
	    &g, &err), 0);
	assert_int_equal(mig_state_copied(st, g.id, &c, &n, &err), 0);
	assert_int_equal(n, 0);
	mig_state_copied_free(c, n);
	assert_int_equal(g.old_modseq, 0);
	assert_int_equal(g.old_exists, 0);
	assert_int_equal(mig_state_synced(st, g.id, 5, 1, &err), 0);
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 7, 2,
	    &g, &err), 0);
	assert_true(g.old_modseq == 5);
	mig_state_close(&st);
	/* A state of schema 2 gets the columns, the folders unchanged. */
	assert_int_equal(sqlite3_open(db, &sq), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sq, "ALTER TABLE folder DROP COLUMN"
	    " old_modseq; ALTER TABLE folder DROP COLUMN old_exists;"
	    " PRAGMA user_version=2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sq);
	st = mig_state_open(db, &err);
	assert_non_null(st);
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 7, 2,
	    &g, &err), 0);
	assert_int_equal(g.old_modseq, 0);
	assert_int_equal(mig_state_synced(st, g.id, 6, 1, &err), 0);
	mig_state_close(&st);
	/* Opened again, the schema is there and not made twice. */
	st = mig_state_open(db, &err);
	assert_non_null(st);
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 7, 2,
	    &g, &err), 0);
	assert_true(g.old_modseq == 6);
	mig_state_close(&st);
	unlink(db);
	wal = xasprintf("%s-wal", db);
	unlink(wal);
	free(wal);
	wal = xasprintf("%s-shm", db);
	unlink(wal);
	free(wal);
}

/* Log in on the script; what the login wrote is dropped. */
static void
script_login(struct mig_imap *im, struct imap_script *s,
    const char *answers, const char *side)
{
	static struct mig_server srv = { .host = "script", .port = 143 };
	char *err = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	s->p = answers;
	s->len = strlen(answers);
	s->keep = 1;
	memset(im, 0, sizeof(*im));
	im->side = side;
	assert_non_null(im->imap = mailimap_new(0, NULL));
	rc = mailimap_connect(im->imap, imap_script_stream(s));
	assert_int_equal(rc, MAILIMAP_NO_ERROR_NON_AUTHENTICATED);
	assert_int_equal(mig_imap_session(im, &srv, "user", "pw", &err), 0);
	free(s->out);
	s->out = NULL;
	s->outlen = 0;
}

#define SCRIPT_GREETING	"* OK ready\r\n"
/* Login (tag 1), CAPABILITY (2), LIST "" "" (3). */
#define SCRIPT_LOGIN(caps) \
	SCRIPT_GREETING \
	"1 OK [CAPABILITY IMAP4rev1 " caps "] Logged in\r\n" \
	"* CAPABILITY IMAP4rev1 " caps "\r\n" \
	"2 OK done\r\n" \
	"* LIST () \"/\" \"\"\r\n" \
	"3 OK done\r\n"
/* The old side: EXAMINE (4), then the batch's UID FETCH (5). */
#define SCRIPT_OLD \
	SCRIPT_LOGIN("UIDPLUS") \
	"* 3 EXISTS\r\n" \
	"* OK [UIDVALIDITY 7] ok\r\n" \
	"4 OK [READ-ONLY] done\r\n" \
	"* 1 FETCH (UID 10 FLAGS (\\Seen $Label1) INTERNALDATE " \
	"\"07-Dec-2026 03:20:25 +0100\" BODY[] {5}\r\nabc\r\n)\r\n" \
	"* 2 FETCH (UID 11 FLAGS () INTERNALDATE " \
	"\" 1-Jan-1970 00:00:00 -0930\" BODY[] {3}\r\nde\n)\r\n" \
	"* 3 FETCH (UID 12 FLAGS (\\Flagged) BODY[] {1}\r\nf)\r\n" \
	"5 OK done\r\n"
/* The same with one message in the batch. */
#define SCRIPT_OLD1 \
	SCRIPT_LOGIN("UIDPLUS") \
	"* 1 EXISTS\r\n" \
	"4 OK [READ-ONLY] done\r\n" \
	"* 1 FETCH (UID 12 FLAGS (\\Flagged) BODY[] {1}\r\nf)\r\n" \
	"5 OK done\r\n"

struct copied {
	uint32_t	 uid[8], new_uid[8];
	char		*refused[8];
	size_t		 n;
};

static int
copied(void *arg, uint32_t uid, uint32_t new_uid, size_t size,
    const char *refused, char **err_r)
{
	struct copied *c = arg;

	(void)size;
	(void)err_r;
	assert_true(c->n < 8);
	c->uid[c->n] = uid;
	c->new_uid[c->n] = new_uid;
	c->refused[c->n++] = refused != NULL ? xstrdup(refused) : NULL;
	return 0;
}

/* Copy UIDs 10, 11, 12 from old's script to new's script into c. */
static void
copy3(const char *old_answers, const char *new_answers,
    struct imap_script *ns,
    struct copied *c, int expect)
{
	static const uint32_t uids[] = { 10, 11, 12 };
	struct mig_imap old, new;
	struct imap_script os;
	uint32_t uv;
	char *err = NULL, *out;

	script_login(&old, &os, old_answers, "old");
	script_login(&new, ns, new_answers, "new");
	assert_int_equal(mig_imap_select(&old, "INBOX", 1, &uv, &err), 0);
	memset(c, 0, sizeof(*c));
	assert_int_equal(mig_imap_copy(&old, uids, 3, &new, "Ab\"c", copied,
	    c, &err), expect);
	if (expect == -1) {
		assert_non_null(err);
		assert_non_null(strstr(err, "new server: APPEND failed"));
		free(err);
	}
	/* What the copy wrote, without the LOGOUT that follows. */
	out = ns->out;
	ns->out = NULL;
	mig_imap_logout(&old);
	mig_imap_logout(&new);
	free(os.out);
	free(ns->out);
	ns->out = out;
}

static void
free_copied(struct copied *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->refused[i]);
}

#define SCRIPT_MULTI	"UIDPLUS MULTIAPPEND LITERAL+"
/* The one APPEND of the batch, as the new server reads it. */
#define SCRIPT_BATCH \
	"4 APPEND \"Ab\\\"c\" ($Label1 \\Seen) \"07-Dec-2026 03:20:25 +0100\"" \
	" {5+}\r\nabc\r\n" \
	" \"01-Jan-1970 00:00:00 -0930\" {4+}\r\nde\r\n" \
	" (\\Flagged) {1+}\r\nf\r\n"

static void
test_multiappend(void **state)
{
	struct imap_script ns;
	struct copied c;

	(void)state;
	copy3(SCRIPT_OLD, SCRIPT_LOGIN(SCRIPT_MULTI)
	    "4 OK [APPENDUID 9 20:21,23] Append completed.\r\n", &ns, &c, 0);
	assert_string_equal(ns.out, SCRIPT_BATCH);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.uid[0], 10);
	assert_int_equal(c.new_uid[0], 20);
	assert_int_equal(c.uid[1], 11);
	assert_int_equal(c.new_uid[1], 21);
	assert_int_equal(c.uid[2], 12);
	assert_int_equal(c.new_uid[2], 23);
	assert_null(c.refused[0]);
	assert_null(c.refused[2]);
	free_copied(&c);
	free(ns.out);

	/* An APPENDUID that does not name three: copied, UIDs unknown. */
	copy3(SCRIPT_OLD, SCRIPT_LOGIN(SCRIPT_MULTI)
	    "4 OK [APPENDUID 9 20:21] Append completed.\r\n", &ns, &c, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.new_uid[0], 0);
	assert_int_equal(c.new_uid[2], 0);
	assert_null(c.refused[1]);
	free_copied(&c);
	free(ns.out);

	/* Without LITERAL+: an APPEND each, as before. */
	copy3(SCRIPT_OLD, SCRIPT_LOGIN("UIDPLUS MULTIAPPEND")
	    "+ go\r\n4 OK [APPENDUID 9 20] done\r\n"
	    "+ go\r\n5 OK [APPENDUID 9 21] done\r\n"
	    "+ go\r\n6 OK [APPENDUID 9 22] done\r\n", &ns, &c, 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.new_uid[2], 22);
	assert_non_null(strstr(ns.out, "{5}\r\n"));
	assert_null(strstr(ns.out, "+}"));
	free_copied(&c);
	free(ns.out);
}

static void
test_multiappend_refused(void **state)
{
	struct imap_script ns;
	struct copied c;

	(void)state;
	/* The batch refused: one at a time, the second refused. */
	copy3(SCRIPT_OLD, SCRIPT_LOGIN(SCRIPT_MULTI)
	    "4 NO [LIMIT] Message too large\r\n"
	    "+ go\r\n5 OK [APPENDUID 9 30] done\r\n"
	    "6 NO [LIMIT] Message too large\r\n"
	    "+ go\r\n7 OK [APPENDUID 9 31] done\r\n", &ns, &c, 0);
	assert_int_equal(strncmp(ns.out, SCRIPT_BATCH, strlen(SCRIPT_BATCH)),
	    0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.uid[0], 10);
	assert_int_equal(c.new_uid[0], 30);
	assert_null(c.refused[0]);
	assert_int_equal(c.uid[1], 11);
	assert_non_null(c.refused[1]);
	assert_non_null(strstr(c.refused[1], "Message too large"));
	assert_int_equal(c.uid[2], 12);
	assert_int_equal(c.new_uid[2], 31);
	free_copied(&c);
	free(ns.out);

	/* A batch of one refused: reported at once, not sent again. */
	copy3(SCRIPT_OLD1, SCRIPT_LOGIN(SCRIPT_MULTI)
	    "4 NO [LIMIT] Message too large\r\n", &ns, &c, 0);
	assert_string_equal(ns.out, "4 APPEND \"Ab\\\"c\" (\\Flagged)"
	    " {1+}\r\nf\r\n");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.uid[0], 12);
	assert_int_equal(c.new_uid[0], 0);
	assert_non_null(c.refused[0]);
	assert_non_null(strstr(c.refused[0], "Message too large"));
	free_copied(&c);
	free(ns.out);

	/* A BAD, or the connection gone: the batch fails, nothing copied. */
	copy3(SCRIPT_OLD, SCRIPT_LOGIN(SCRIPT_MULTI) "4 BAD what\r\n", &ns, &c,
	    -1);
	assert_int_equal(c.n, 0);
	free(ns.out);
	copy3(SCRIPT_OLD, SCRIPT_LOGIN(SCRIPT_MULTI) "* 4 EXISTS\r\n", &ns,
	    &c, -1);
	assert_int_equal(c.n, 0);
	free(ns.out);
}

static void
test_uid_set(void **state)
{
	struct mailimap_set *set;
	uint32_t uids[4];

	(void)state;
	set = mailimap_set_new_empty();
	mailimap_set_add_interval(set, 7, 5);
	mailimap_set_add_single(set, 9);
	assert_int_equal(mig_imap_uid_set(set, uids, 4), 0);
	assert_int_equal(uids[0], 5);
	assert_int_equal(uids[1], 6);
	assert_int_equal(uids[2], 7);
	assert_int_equal(uids[3], 9);
	assert_int_equal(mig_imap_uid_set(set, uids, 3), -1);
	mailimap_set_free(set);
	/* "4000000000:*": "*" is 0 for libetpan, no UID. */
	set = mailimap_set_new_interval(4000000000U, 0);
	assert_int_equal(mig_imap_uid_set(set, uids, 4), -1);
	mailimap_set_free(set);
	set = mailimap_set_new_interval(UINT32_MAX - 1, UINT32_MAX);
	assert_int_equal(mig_imap_uid_set(set, uids, 2), 0);
	assert_int_equal(uids[1], UINT32_MAX);
	assert_int_equal(mig_imap_uid_set(set, uids, 3), -1);
	mailimap_set_free(set);
	assert_int_equal(mig_imap_uid_set(NULL, uids, 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_multiappend),
		cmocka_unit_test(test_multiappend_refused),
		cmocka_unit_test(test_uid_set),
	};
	int fd, rc;

	fd = mkstemp(path);
	if (fd == -1)
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
