/*
 * test_nntp.c: articles in (what POST adds and refuses, what a relayed
 * article must carry) and out (Path, Newsgroups, Xref, dot-stuffing,
 * overview lines), and the AUTHINFO users file.  The server's dialogue is
 * tested against the real syncd by tests/integration/nntp.sh.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <crypt.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "testutil.h"
#include "nntp.h"

#define CONF \
	"hostname gw.test.example\n" \
	"path-identity gw.test.example\n" \
	"channel a {\n\tnewsgroup pirates.de.a\n\tboard a\n}\n" \
	"channel b {\n\tnewsgroup pirates.de.b\n\tboard b\n}\n"

static char *
accept_article(const struct conf *conf, enum nntp_intake intake,
    const char *raw, const char *offered, char **msgid, char **reason)
{
	size_t len;

	*msgid = *reason = NULL;
	return nntp_article_accept(conf, intake, raw, strlen(raw), offered,
	    "192.0.2.7", intake == NNTP_POST ? "erika" : NULL, &len, msgid,
	    reason);
}

static void
test_post(void **state)
{
	struct conf *conf = test_conf(CONF);
	char *out, *msgid, *reason;

	out = accept_article(conf, NNTP_POST, "From: Erika <e@example.org>\r\n"
	    "Newsgroups: pirates.de.a\r\nSubject: hello\r\n\r\nbody\r\n", NULL,
	    &msgid, &reason);
	assert_non_null(out);
	assert_null(reason);
	/* A Message-ID under our name, and what an injecting agent adds. */
	assert_non_null(msgid);
	assert_non_null(strstr(msgid, "@gw.test.example>"));
	assert_non_null(strstr(out, "Message-ID: "));
	assert_non_null(strstr(out, "\r\nDate: "));
	assert_true(strncmp(out, "Path: .POSTED.192.0.2.7!not-for-mail\r\n",
	    38) == 0);
	assert_non_null(strstr(out, "\r\nInjection-Date: "));
	assert_non_null(strstr(out, "\r\nInjection-Info: gw.test.example;"));
	assert_non_null(strstr(out, "posting-host=\"192.0.2.7\";"));
	assert_non_null(strstr(out, "posting-account=\"erika\"\r\n"));
	free(out);
	free(msgid);

	/* A reader's own Message-ID and Path are kept. */
	out = accept_article(conf, NNTP_POST, "From: e@example.org\r\n"
	    "Newsgroups: pirates.de.a,pirates.de.b\r\nSubject: s\r\n"
	    "Message-ID: <mine@example.org>\r\nPath: here!there\r\n\r\nb\r\n",
	    NULL, &msgid, &reason);
	assert_non_null(out);
	assert_string_equal(msgid, "<mine@example.org>");
	assert_true(strncmp(out, "Path: .POSTED.192.0.2.7!here!there\r\n",
	    36) == 0);
	free(out);
	free(msgid);
	conf_unref(&conf);
}

static void
expect_refused(const struct conf *conf, enum nntp_intake intake,
    const char *raw, const char *offered, const char *want)
{
	char *out, *msgid, *reason;

	out = accept_article(conf, intake, raw, offered, &msgid, &reason);
	assert_null(out);
	assert_null(msgid);
	assert_non_null(reason);
	assert_string_equal(reason, want);
	free(reason);
}

static void
test_post_refused(void **state)
{
	struct conf *conf = test_conf(CONF);

	expect_refused(conf, NNTP_POST, "Newsgroups: pirates.de.a\r\n"
	    "Subject: s\r\n\r\nb\r\n", NULL, "missing required header: From");
	expect_refused(conf, NNTP_POST, "From: a@b.org\r\n"
	    "Newsgroups: pirates.de.a\r\nSubject:   \r\n\r\nb\r\n", NULL,
	    "missing required header: Subject");
	expect_refused(conf, NNTP_POST, "From: a@b.org\r\nSubject: s\r\n"
	    "Newsgroups: pirates.de.a,alt.other\r\n\r\nb\r\n", NULL,
	    "no such newsgroup: alt.other");
	expect_refused(conf, NNTP_POST, "From: a@b.org\r\nSubject: s\r\n"
	    "Newsgroups: pirates.de.a\r\nXref: x pirates.de.a:1\r\n\r\nb\r\n",
	    NULL, "a reader may not set Xref");
	expect_refused(conf, NNTP_POST, "From: a@b.org\r\nSubject: s\r\n"
	    "Newsgroups: pirates.de.a\r\nInjection-Info: x\r\n\r\nb\r\n",
	    NULL, "a reader may not set Injection-Info");
	expect_refused(conf, NNTP_POST, "From: a@b.org\r\nSubject: s\r\n"
	    "Newsgroups: pirates.de.a\r\nMessage-ID: <a b@c>\r\n\r\nb\r\n",
	    NULL, "bad Message-ID <a b@c>: no <id@domain> in it");
	expect_refused(conf, NNTP_POST, "no header line\r\n\r\nb\r\n", NULL,
	    "malformed article: header line without a colon");
	conf_unref(&conf);
}

#define RELAYED \
	"Path: inn.example!not-for-mail\r\nFrom: a@b.org\r\nSubject: s\r\n" \
	"Newsgroups: pirates.de.a\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"

static void
test_transit(void **state)
{
	struct conf *conf = test_conf(CONF);
	char *out, *msgid, *reason;

	out = accept_article(conf, NNTP_IHAVE, RELAYED
	    "Message-ID: <t1@b.org>\r\n\r\nbody\r\n", "<t1@b.org>", &msgid,
	    &reason);
	assert_non_null(out);
	assert_string_equal(msgid, "<t1@b.org>");
	/* Stored as received: our Path entry is added on the way out. */
	assert_true(strncmp(out, "Path: inn.example!not-for-mail\r\n", 32) ==
	    0);
	assert_null(strstr(out, "Injection-"));
	free(out);
	free(msgid);

	expect_refused(conf, NNTP_TAKETHIS, RELAYED
	    "Message-ID: <t2@b.org>\r\n\r\nbody\r\n", "<other@b.org>",
	    "Message-ID <t2@b.org> is not the <other@b.org> offered");
	expect_refused(conf, NNTP_IHAVE, "From: a@b.org\r\nSubject: s\r\n"
	    "Newsgroups: pirates.de.a\r\nDate: x\r\nMessage-ID: <t3@b.org>\r\n"
	    "\r\nbody\r\n", "<t3@b.org>", "missing required header: Path");
	/* A peer may carry groups we do not: the router takes ours. */
	out = accept_article(conf, NNTP_TAKETHIS, RELAYED
	    "Message-ID: <t4@b.org>\r\n\r\nbody\r\n", "<t4@b.org>", &msgid,
	    &reason);
	assert_non_null(out);
	free(out);
	free(msgid);
	conf_unref(&conf);
}

static void
stored(void *arg, enum store_result result, const char *err)
{
	assert_int_equal(result, STORE_OK);
	*(int *)arg = 1;
}

static char *
view(const struct conf *conf, struct store *store, int64_t message, int part)
{
	struct evbuffer *out = evbuffer_new();
	size_t len;
	char *s;

	assert_int_equal(nntp_article_view(conf, store, message, part, out),
	    0);
	len = evbuffer_get_length(out);
	s = xmemdup(evbuffer_pullup(out, -1), len);
	evbuffer_free(out);
	return s;
}

/* A list message with this Message-ID and text, to be stored. */
static struct store_msg *
list_msg(const char *msgid, const char *raw)
{
	struct store_msg *m = xcalloc(1, sizeof(*m));

	m->msgid = xstrdup(msgid);
	m->source = SIDE_LIST;
	m->arrived = time(NULL);
	m->date = -1;
	m->raw = xstrdup(raw);
	m->len = strlen(raw);
	return m;
}

/* Store m (the store takes it); its message's id. */
static int64_t
store_one(struct store *store, struct event_base *base, struct store_msg *m)
{
	char *msgid = xstrdup(m->msgid);
	int64_t message;
	int done = 0;

	store_add(store, m, stored, &done);
	assert_true(test_loop_until(base, &done, 5));
	assert_int_equal(store_message_id(store, msgid, &message), 1);
	free(msgid);
	return message;
}

/* Article 1's OVER line in group, as nntp_more_over writes it. */
struct over_one {
	struct store	*store;
	struct evbuffer	*out;
	long long	 bytes;
};

static void
over_row(const struct store_overview *o, void *arg)
{
	struct over_one *one = arg;

	nntp_overview_line(one->store, o, o->number, one->out);
	one->bytes = o->bytes;
}

static char *
over_line(struct store *store, const char *group, long long *bytes_r)
{
	struct over_one one = { store, evbuffer_new(), 0 };
	char *s;

	assert_int_equal(store_overview_each(store, group, 1, 1, 10, over_row,
	    &one), 1);
	s = xmemdup(evbuffer_pullup(one.out, -1), evbuffer_get_length(one.out));
	evbuffer_free(one.out);
	*bytes_r = one.bytes;
	return s;
}

/* What readers see of a list message crossposted to two groups. */
static void
test_view(void **state)
{
	struct conf *conf = test_conf(CONF);
	struct event_base *base = test_base();
	char *dir = test_tmpdir(), *err = NULL, *s;
	struct store_msg *m;
	long long bytes;
	struct store *store;
	int64_t message;

	if ((store = store_open(dir, base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	m = list_msg("<v@x>", "From: A <a@x>\r\nSubject: s\r\n"
	    "Message-ID: <v@x>\r\nXref: elsewhere x:1\r\n\r\n"
	    ".hidden dot\r\nline\r\n");
	m->ov_subject = xstrdup("s");
	m->ov_from = xstrdup("A <a@x>");
	m->lines = 2;
	m->groups = xcalloc(2, sizeof(char *));
	m->groups[0] = xstrdup("pirates.de.a");
	m->groups[1] = xstrdup("pirates.de.b");
	m->ngroups = 2;
	message = store_one(store, base, m);

	s = view(conf, store, message, 'A');
	assert_string_equal(s, "Path: gw.test.example!not-for-mail\r\n"
	    "From: A <a@x>\r\nSubject: s\r\nMessage-ID: <v@x>\r\n"
	    "Newsgroups: pirates.de.a,pirates.de.b\r\n"
	    "Xref: gw.test.example pirates.de.a:1 pirates.de.b:1\r\n"
	    "\r\n..hidden dot\r\nline\r\n");
	free(s);
	s = view(conf, store, message, 'H');
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "Xref: "));
	free(s);
	s = view(conf, store, message, 'B');
	assert_string_equal(s, "..hidden dot\r\nline\r\n");
	free(s);
	s = nntp_article_header(store, message, "from");
	assert_string_equal(s, "A <a@x>");
	free(s);
	assert_null(nntp_article_header(store, message, "Organization"));

	s = over_line(store, "pirates.de.b", &bytes);
	err = xasprintf("1\ts\tA <a@x>\t\t<v@x>\t\t%lld\t2\r\n",
	    bytes);
	assert_string_equal(s, err);
	free(err);
	free(s);

	store_close(&store);
	event_base_free(base);
	test_rmdir(dir);
	conf_unref(&conf);
}

/*
 * Dots that start lines anywhere in a body, and one without a final line
 * end; overview fields with TAB and a row stored without overview
 * columns, read from the message.
 */
static void
test_view_dots(void **state)
{
	struct conf *conf = test_conf(CONF);
	struct event_base *base = test_base();
	char *dir = test_tmpdir(), *err = NULL, *s;
	struct store_msg *m;
	long long bytes;
	struct store *store;
	int64_t message;

	if ((store = store_open(dir, base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	m = list_msg("<d@x>", "From: A <a@x>\r\nSubject: a\tb\r\n"
	    "Message-ID: <d@x>\r\n\r\n.one\r\nmid\r\n..two\r\n.\r\nlast");
	m->refs = xstrdup("<r@x>\t<s@x>");
	m->lines = -1;
	m->groups = xcalloc(1, sizeof(char *));
	m->groups[0] = xstrdup("pirates.de.a");
	m->ngroups = 1;
	message = store_one(store, base, m);

	s = view(conf, store, message, 'B');
	assert_string_equal(s, "..one\r\nmid\r\n...two\r\n..\r\nlast\r\n");
	free(s);

	s = over_line(store, "pirates.de.a", &bytes);
	err = xasprintf("1\ta b\tA <a@x>\t\t<d@x>\t<r@x> <s@x>\t%lld\t4"
	    "\r\n", bytes);
	assert_string_equal(s, err);
	free(err);
	free(s);

	store_close(&store);
	event_base_free(base);
	test_rmdir(dir);
	conf_unref(&conf);
}

static void
test_auth(void **state)
{
	char *dir = test_tmpdir(), *file, *err = NULL;
	FILE *fp;

	file = xasprintf("%s/users", dir);
	fp = fopen(file, "w");
	/* "secret" as SHA-512 crypt(3), and a locked account. */
	fprintf(fp, "# users\nerika:%s\nlocked:!%s\n",
	    crypt("secret", "$6$saltsalt"), crypt("secret", "$6$saltsalt"));
	fclose(fp);
	assert_int_equal(nntp_auth_check(file, "erika", "secret", &err), 1);
	assert_int_equal(nntp_auth_check(file, "erika", "Secret", &err), 0);
	assert_int_equal(nntp_auth_check(file, "nobody", "secret", &err), 0);
	assert_int_equal(nntp_auth_check(file, "locked", "secret", &err), 0);
	assert_int_equal(nntp_auth_check(file, "erika", "", &err), 0);
	assert_int_equal(nntp_auth_check("/nonexistent", "erika", "secret",
	    &err), -1);
	assert_non_null(strstr(err, "/nonexistent"));
	free(err);
	free(file);
	test_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post),
		cmocka_unit_test(test_post_refused),
		cmocka_unit_test(test_transit),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_view_dots),
		cmocka_unit_test(test_auth),
	};

	log_init(1, 0, "test_nntp");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
