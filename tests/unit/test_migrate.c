/*
 * test_migrate.c: syncmigrate's configuration (statements, errors with
 * their line), folder names (separators, renames, exclusions), and the
 * state (a changed UIDVALIDITY drops the folder's record).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "migrate.h"

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
	/* A new UIDVALIDITY on the old side voids the UIDs. */
	assert_int_equal(mig_state_folder(st, "alice", "INBOX", "INBOX", 7, 2,
	    &g, &err), 0);
	assert_int_equal(mig_state_copied(st, g.id, &c, &n, &err), 0);
	assert_int_equal(n, 0);
	mig_state_copied_free(c, n);
	mig_state_close(&st);
	/* Opened again, the schema is there and not made twice. */
	st = mig_state_open(db, &err);
	assert_non_null(st);
	mig_state_close(&st);
	unlink(db);
	wal = xasprintf("%s-wal", db);
	unlink(wal);
	free(wal);
	wal = xasprintf("%s-shm", db);
	unlink(wal);
	free(wal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_state),
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
