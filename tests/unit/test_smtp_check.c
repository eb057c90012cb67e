/*
 * test_smtp_check.c: syncd-milter's question answered: the words parsed
 * (xtext values, bad ones refused), mail to no gated list accepted, and
 * for list mail the size, the blacklist and the loop check with their
 * replies; our own copy and a post held for moderation are welcome.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "smtp.h"

#define CONF \
	"hostname gw.test.example\n" \
	"max-message-size 10000\n" \
	"channel test {\n" \
	"\tnewsgroup pirates.de.test\n" \
	"\tlist pirates-test@lists.test.example\n" \
	"}\n" \
	"channel forum {\n" \
	"\tlist forum@lists.test.example\n" \
	"\tboard forum\n" \
	"}\n" \
	"channel n2l {\n" \
	"\tnewsgroup pirates.de.n2l\n" \
	"\tlist n2l@lists.test.example\n" \
	"\tdirection news-to-list\n" \
	"}\n"

struct fixture {
	char		*dir;
	struct event_base *base;
	struct store	*store;
	struct conf	*conf;
	struct blacklist *bl;
};

static void
stored(void *arg, enum store_result r, const char *err)
{
	*(int *)arg = r == STORE_OK ? 1 : -1;
}

static void
add(struct fixture *f, const char *msgid, int held)
{
	struct store_msg *m = xcalloc(1, sizeof(*m));
	int done = 0;

	m->msgid = xstrdup(msgid);
	m->source = SIDE_NEWS;
	m->arrived = time(NULL);
	m->date = -1;
	m->held = held;
	m->raw = xasprintf("Message-ID: %s\r\n\r\nbody\r\n", msgid);
	m->len = strlen(m->raw);
	m->channels = xcalloc(1, sizeof(*m->channels));
	m->channels[0] = xstrdup("test");
	m->nchannels = 1;
	store_add(f->store, m, stored, &done);
	assert_true(test_loop_until(f->base, &done, 5));
	assert_int_equal(done, 1);
}

static int
setup(void **state)
{
	static const char bl[] = "troll@example.org; d\n@spam.example; drop\n"
	    "quiet@example.org; n\n";
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->dir = test_tmpdir();
	f->base = test_base();
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	f->conf = test_conf(CONF);
	if ((f->bl = blacklist_parse("bl", bl, strlen(bl), &err)) == NULL)
		fail_msg("blacklist_parse: %s", err);
	add(f, "<seen@example.org>", 0);
	add(f, "<held@example.org>", 1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	blacklist_free(&f->bl);
	store_close(&f->store);
	conf_unref(&f->conf);
	event_base_free(f->base);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* The answer line for a request given as one string of words. */
static char *
ask(struct fixture *f, const char *request)
{
	struct smtp_check q;
	struct smtp_check_result res;
	char *copy = xstrdup(request), *words[64], *w, *save = NULL, *line;
	char *err = NULL;
	int n = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	if (smtp_check_parse(words, n, &q, &err) == -1)
		fail_msg("smtp_check_parse: %s", err);
	if (smtp_check_run(f->conf, f->bl, f->store, &q, &res, &err) == -1)
		fail_msg("smtp_check_run: %s", err);
	line = smtp_check_line(&res);
	smtp_check_result_free(&res);
	smtp_check_clear(&q);
	free(copy);
	return line;
}

static void
expect(struct fixture *f, const char *request, const char *want)
{
	char *line = ask(f, request);

	if (strncmp(line, want, strlen(want)) != 0)
		fail_msg("%s: got \"%s\", wanted \"%s...\"", request, line,
		    want);
	free(line);
}

static void
expect_has(struct fixture *f, const char *request, const char *part)
{
	char *line = ask(f, request);

	if (strstr(line, part) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", request, line, part);
	free(line);
}

static void
test_parse(void **state)
{
	static const char *const bad[] = {
		"sender=a@b",			/* no rcpt */
		"rcpt=a@b nokey",
		"rcpt=a@b colour=red",
		"rcpt=a@b sender=x@y sender=z@y",
		"rcpt=a@b size=12x",
		"rcpt=a@b size=-1",
		"rcpt=a@b size=1 size=2",
		"rcpt=a+2",			/* short hex */
		"rcpt=a+zz@b",
		"rcpt=a+00@b",			/* no NUL */
		"rcpt=a=b@c",
	};
	struct smtp_check q;
	char *words[8], *copy, *w, *save, *err;
	size_t i;
	int n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		copy = xstrdup(bad[i]);
		save = NULL;
		for (n = 0, w = strtok_r(copy, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			words[n++] = w;
		err = NULL;
		if (smtp_check_parse(words, n, &q, &err) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
		assert_non_null(err);
		assert_non_null(strstr(err, "milter-check"));
		free(err);
		free(copy);
	}

	copy = xstrdup("rcpt=gateway+2Btest@x.example sender= "
	    "from=a+20b@c msgid=<1@x> gateway=gw+20 declared=5 size=7");
	save = NULL;
	for (n = 0, w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		words[n++] = w;
	assert_int_equal(smtp_check_parse(words, n, &q, &err), 0);
	assert_int_equal(q.nrcpts, 1);
	assert_string_equal(q.rcpts[0], "gateway+test@x.example");
	assert_string_equal(q.sender, "");
	assert_string_equal(q.from, "a b@c");
	assert_string_equal(q.msgid, "<1@x>");
	assert_int_equal(q.ngateways, 1);
	assert_string_equal(q.gateways[0], "gw ");
	assert_int_equal(q.declared, 5);
	assert_int_equal(q.size, 7);
	smtp_check_clear(&q);
	free(copy);
}

static void
test_not_a_list(void **state)
{
	struct fixture *f = *state;

	/* Nothing of it matters when no recipient is a gated list. */
	expect(f, "rcpt=someone@example.org sender=troll@example.org"
	    " msgid=<seen@example.org> declared=99999999", "accept");
	/* news-to-list: the gateway takes nothing from that list. */
	expect(f, "rcpt=n2l@lists.test.example sender=troll@example.org",
	    "accept");
	/* A list post passes: continue until the size is known. */
	expect(f, "rcpt=someone@example.org rcpt=Pirates-Test@Lists.test.example"
	    " sender=alice@example.org from=alice@example.org"
	    " msgid=<new@example.org>", "continue");
	expect(f, "rcpt=pirates-test@lists.test.example sender="
	    " msgid=<new@example.org> size=9000", "accept");
}

static void
test_size(void **state)
{
	struct fixture *f = *state;

	expect(f, "rcpt=pirates-test@lists.test.example declared=10001",
	    "reject 552 5.3.4 ");
	expect(f, "rcpt=pirates-test@lists.test.example declared=100"
	    " size=20000", "reject 552 5.3.4 ");
	expect_has(f, "rcpt=pirates-test@lists.test.example size=20000",
	    "pirates-test@lists.test.example: 20000 bytes, at most 10000");
	expect(f, "rcpt=pirates-test@lists.test.example size=10000",
	    "accept");
}

static void
test_blacklist(void **state)
{
	struct fixture *f = *state;

	expect(f, "rcpt=pirates-test@lists.test.example"
	    " sender=troll@example.org", "reject 550 5.7.1 ");
	expect_has(f, "rcpt=pirates-test@lists.test.example"
	    " sender=alice@example.org from=TROLL@example.org",
	    "TROLL@example.org may not post to"
	    " pirates-test@lists.test.example");
	expect(f, "rcpt=pirates-test@lists.test.example"
	    " from=anyone@spam.example", "reject 550 5.7.1 ");
	/* Only drop refuses: no-archive mail is gated, marked. */
	expect(f, "rcpt=pirates-test@lists.test.example"
	    " from=quiet@example.org size=10", "accept");
	/* Control bytes in an address stay out of the reply line. */
	expect_has(f, "rcpt=pirates-test@lists.test.example"
	    " sender=x+0D+0Ay@spam.example", "reject 550 5.7.1 x??y@spam");
}

static void
test_loop(void **state)
{
	struct fixture *f = *state;

	expect(f, "rcpt=pirates-test@lists.test.example"
	    " msgid=<seen@example.org>", "reject 554 5.7.0 ");
	expect_has(f, "rcpt=pirates-test@lists.test.example"
	    " msgid=<seen@example.org>", "<seen@example.org> is already in"
	    " the group pirates.de.test");
	expect_has(f, "rcpt=forum@lists.test.example"
	    " msgid=<seen@example.org>", "already in the forum board forum");
	/* Our own copy to the list comes with our gateway header. */
	expect(f, "rcpt=pirates-test@lists.test.example"
	    " msgid=<seen@example.org> gateway=+20GW.test.example+09 size=5",
	    "accept");
	/* Somebody else's gateway is no excuse. */
	expect(f, "rcpt=pirates-test@lists.test.example"
	    " msgid=<seen@example.org> gateway=gw.test.example.evil",
	    "reject 554");
	/* A held post comes back by the list to be released. */
	expect(f, "rcpt=pirates-test@lists.test.example"
	    " msgid=<held@example.org> size=5", "accept");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_not_a_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blacklist, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
	};

	log_init(1, 0, "test_smtp_check");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
