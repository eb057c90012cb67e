/*
 * test_router.c: the router's decisions: channels and targets per side and
 * direction, duplicates, each loop guard, refusals with their reasons, and
 * the acknowledgement only after the commit.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define CONF \
	"hostname gw.test.example\n" \
	"deliver news maildir /unused/news\n" \
	"deliver list maildir /unused/list\n" \
	"deliver forum maildir /unused/forum\n" \
	"channel a {\n" \
	"\tnewsgroup pirates.de.a\n" \
	"\tlist a@lists.test.example\n" \
	"\tgateway-address gw+a@gw.test.example\n" \
	"\tboard a\n" \
	"}\n" \
	"channel b {\n" \
	"\tnewsgroup pirates.de.b\n" \
	"\tlist b@lists.test.example\n" \
	"\tboard b\n" \
	"}\n" \
	"channel n2l {\n" \
	"\tnewsgroup pirates.de.n2l\n" \
	"\tlist n2l@lists.test.example\n" \
	"\tboard n2l\n" \
	"\tdirection news-to-list\n" \
	"}\n" \
	"channel l2n {\n" \
	"\tnewsgroup pirates.de.l2n\n" \
	"\tlist l2n@lists.test.example\n" \
	"\tboard l2n\n" \
	"\tdirection list-to-news\n" \
	"}\n" \
	"channel ro {\n" \
	"\tnewsgroup pirates.de.ro\n" \
	"\tlist ro@lists.test.example\n" \
	"\tdirection read-only\n" \
	"}\n" \
	"channel nolist {\n" \
	"\tnewsgroup pirates.de.nolist\n" \
	"\tboard nolist\n" \
	"}\n" \
	"channel mod {\n" \
	"\tnewsgroup pirates.de.mod\n" \
	"\tlist mod@lists.test.example\n" \
	"\tboard mod\n" \
	"\tmoderated yes\n" \
	"}\n"

struct fixture {
	char		*dir;
	struct event_base *base;
	struct store	*store;
	struct outbox	*outbox;
	struct router	*router;
	struct conf	*conf;
};

struct outcome {
	int		 done;
	enum router_result result;
	char		*reason;
	char		*msgid;
};

static struct transport *
no_transport(void *arg, const char *target)
{
	return NULL;
}

static int
setup_with(void **state, const char *text)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->dir = test_tmpdir();
	f->base = test_base();
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	/* Without a configuration the outbox delivers nothing: the rows
	   stay for the test to look at. */
	f->outbox = outbox_new(f->base, f->store, no_transport, NULL);
	f->router = router_new(f->store, f->outbox);
	f->conf = test_conf(text);
	router_set_conf(f->router, f->conf);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, CONF);
}

static int
setup_archive(void **state)
{
	return setup_with(state, "archive maildir /unused/archive\n" CONF);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	router_free(&f->router);
	outbox_free(&f->outbox);
	store_close(&f->store);
	conf_unref(&f->conf);
	event_base_free(f->base);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static void
routed(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	struct outcome *o = arg;

	o->result = result;
	o->reason = reason != NULL ? xstrdup(reason) : NULL;
	o->msgid = msgid != NULL ? xstrdup(msgid) : NULL;
	o->done = 1;
}

static int posted_here;

/* Route text from side; returns the result, reason in o. */
static enum router_result
route(struct fixture *f, enum side side, const char *rcpt, const char *board,
    const char *text, struct outcome *o)
{
	struct router_input in;

	memset(o, 0, sizeof(*o));
	memset(&in, 0, sizeof(in));
	in.posted_here = posted_here;
	in.source = side;
	in.raw = text;
	in.len = strlen(text);
	in.recipient = rcpt;
	in.board = board;
	in.session = "test";
	router_submit(f->router, &in, routed, o);
	assert_true(test_loop_until(f->base, &o->done, 5));
	return o->result;
}

static void
outcome_free(struct outcome *o)
{
	free(o->reason);
	free(o->msgid);
}

/* Route and expect a result (and a reason, when given). */
static void
expect(struct fixture *f, enum side side, const char *rcpt,
    const char *board, const char *text, enum router_result want,
    const char *reason)
{
	struct outcome o;

	if (route(f, side, rcpt, board, text, &o) != want)
		fail_msg("result %s (%s), wanted %s",
		    router_result_name(o.result), o.reason ? o.reason : "-",
		    router_result_name(want));
	if (reason != NULL) {
		assert_non_null(o.reason);
		assert_string_equal(o.reason, reason);
	}
	outcome_free(&o);
}

/* The sorted outbox targets of a message, as "t1 t2 ...". */
static char *
targets_of(struct fixture *f, const char *msgid)
{
	struct store_row_info *rows;
	char *out = xstrdup(""), *tmp;
	size_t n, i, j;

	assert_int_equal(store_outbox_list(f->store, -1, 1000, &rows, &n), 0);
	/* Newest first: walk backwards for creation order, then sort. */
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(rows[i].target, rows[j].target) > 0) {
				struct store_row_info t = rows[i];
				rows[i] = rows[j];
				rows[j] = t;
			}
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].msgid, msgid) != 0)
			continue;
		tmp = xasprintf("%s%s%s", out, *out ? " " : "",
		    rows[i].target);
		free(out);
		out = tmp;
	}
	store_row_info_free(rows, n);
	return out;
}

static void
assert_targets(struct fixture *f, const char *msgid, const char *want)
{
	char *got = targets_of(f, msgid);

	assert_string_equal(got, want);
	free(got);
}

#define MSG(id, hdrs) \
	"From: A <a@example.org>\r\n" \
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" \
	"Date: Sun, 29 Nov 2026 10:00:00 +0100\r\n" \
	"Message-ID: " id "\r\n" hdrs "\r\nbody\r\n"

static void
test_list_to_others(void **state)
{
	struct fixture *f = *state;
	struct outcome o;

	/* The answer comes only after the commit. */
	struct router_input in = { SIDE_LIST,
	    MSG("<l1@x>", "List-Id: A list <a.lists.test.example>\r\n"), 0,
	    NULL, NULL, "test", 0 };
	in.len = strlen(in.raw);
	memset(&o, 0, sizeof(o));
	router_submit(f->router, &in, routed, &o);
	assert_int_equal(o.done, 0);
	assert_int_equal(store_has_msgid(f->store, "<l1@x>"), 0);
	assert_true(test_loop_until(f->base, &o.done, 5));
	assert_int_equal(o.result, ROUTER_ACCEPTED);
	assert_string_equal(o.msgid, "<l1@x>");
	assert_null(o.reason);
	outcome_free(&o);
	assert_int_equal(store_has_msgid(f->store, "<l1@x>"), 1);
	assert_targets(f, "<l1@x>", "forum:a news");
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<l1@x>"), 1);

	/* Without a List-Id, the envelope recipient decides. */
	expect(f, SIDE_LIST, "GW+A@gw.test.example", NULL, MSG("<l2@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<l2@x>", "forum:a news");
	expect(f, SIDE_LIST, "b@lists.test.example", NULL, MSG("<l3@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<l3@x>", "forum:b news");
	expect(f, SIDE_LIST, "who@example.org", NULL, MSG("<l4@x>", ""),
	    ROUTER_REJECTED, "no channel for this list mail (List-Id none,"
	    " recipient who@example.org)");
}

static void
test_news_crosspost(void **state)
{
	struct fixture *f = *state;

	expect(f, SIDE_NEWS, NULL, NULL, MSG("<x@x>",
	    "Newsgroups: pirates.de.a, pirates.de.b,alt.other\r\n"),
	    ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_message_count(f->store), 1);
	assert_targets(f, "<x@x>", "forum:a forum:b list:a@lists.test.example"
	    " list:b@lists.test.example");
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<x@x>"), 1);
	assert_int_equal(store_article_number(f->store, "pirates.de.b",
	    "<x@x>"), 1);

	/* Two groups of one channel would still be one message. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<y@x>",
	    "Newsgroups: pirates.de.a,pirates.de.nolist\r\n"),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<y@x>", "forum:a forum:nolist"
	    " list:a@lists.test.example");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<z@x>",
	    "Newsgroups: alt.other\r\n"), ROUTER_REJECTED,
	    "no channel carries alt.other");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<z@x>", ""), ROUTER_REJECTED,
	    "no Newsgroups header");
}

static void
test_forum(void **state)
{
	struct fixture *f = *state;

	expect(f, SIDE_FORUM, NULL, "b", MSG("<f1@x>", ""), ROUTER_ACCEPTED,
	    NULL);
	assert_targets(f, "<f1@x>", "list:b@lists.test.example news");
	expect(f, SIDE_FORUM, NULL, "zz", MSG("<f2@x>", ""), ROUTER_REJECTED,
	    "no channel has board zz");
	expect(f, SIDE_FORUM, NULL, NULL, MSG("<f3@x>", ""), ROUTER_REJECTED,
	    "no channel has board (none)");
}

/*
 * A cancel by the author (RFC 5537 section 5.3) takes the article off
 * our server and goes to the news peer and the forum, never to a list;
 * one by anybody else is not gated.
 */
static void
test_cancel(void **state)
{
	struct fixture *f = *state;
	struct store_overview *ov;

	expect(f, SIDE_NEWS, NULL, NULL, MSG("<orig@x>",
	    "Newsgroups: pirates.de.a\r\n"), ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<orig@x>"), 1);
	expect(f, SIDE_NEWS, NULL, NULL,
	    "From: Mallory <m@example.org>\r\nMessage-ID: <forged@x>\r\n"
	    "Newsgroups: pirates.de.a\r\nControl: cancel <orig@x>\r\n"
	    "\r\ncancel\r\n", ROUTER_NOT_GATED,
	    "cancel not taken: <orig@x> is not from the same author");
	assert_int_equal(store_overview_msgid(f->store, "<orig@x>", &ov), 1);
	store_overview_free(ov, 1);

	posted_here = 1;
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<cancel@x>",
	    "Newsgroups: pirates.de.a\r\nControl: cancel <orig@x>\r\n"),
	    ROUTER_ACCEPTED, NULL);
	posted_here = 0;
	assert_targets(f, "<cancel@x>", "forum:a news");
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<orig@x>"), 0);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<cancel@x>"), 0);
	assert_int_equal(store_overview_msgid(f->store, "<orig@x>", &ov), 0);
	/* Still known, so that a copy from a peer is not taken again. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<orig@x>",
	    "Newsgroups: pirates.de.a\r\n"), ROUTER_DUPLICATE, NULL);
}

/* A Supersedes by the author replaces the article (RFC 5536 3.2.12). */
static void
test_supersedes(void **state)
{
	struct fixture *f = *state;

	expect(f, SIDE_NEWS, NULL, NULL, MSG("<v1@x>",
	    "Newsgroups: pirates.de.a\r\n"), ROUTER_ACCEPTED, NULL);
	expect(f, SIDE_NEWS, NULL, NULL,
	    "From: Mallory <m@example.org>\r\nMessage-ID: <v1-forged@x>\r\n"
	    "Newsgroups: pirates.de.a\r\nSupersedes: <v1@x>\r\n"
	    "\r\nmine now\r\n", ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<v1@x>"), 1);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<v2@x>",
	    "Newsgroups: pirates.de.a\r\nSupersedes: <v1@x>\r\n"),
	    ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<v1@x>"), 0);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<v2@x>"), 3);
	/* The new version goes everywhere, the list included. */
	assert_targets(f, "<v2@x>", "forum:a list:a@lists.test.example");
}

static void
test_duplicate(void **state)
{
	struct fixture *f = *state;
	const char *m = MSG("<d@x>", "Newsgroups: pirates.de.a\r\n");

	expect(f, SIDE_NEWS, NULL, NULL, m, ROUTER_ACCEPTED, NULL);
	expect(f, SIDE_NEWS, NULL, NULL, m, ROUTER_DUPLICATE,
	    "already have it");
	/* The same Message-ID from another side is the same message. */
	expect(f, SIDE_LIST, "a@lists.test.example", NULL, m,
	    ROUTER_DUPLICATE, "already have it");
	assert_int_equal(store_message_count(f->store), 1);
	assert_targets(f, "<d@x>", "forum:a list:a@lists.test.example");
}

static void
test_loops(void **state)
{
	struct fixture *f = *state;

	expect(f, SIDE_NEWS, NULL, NULL, MSG("<g1@x>",
	    "Newsgroups: pirates.de.a\r\nX-Syncom-Gateway:  GW.test.example \r\n"),
	    ROUTER_LOOP, "it carries our gateway header");
	expect(f, SIDE_LIST, "a@lists.test.example", NULL, MSG("<g2@x>",
	    "x-syncom-gateway: gw.test.example\r\n"),
	    ROUTER_LOOP, "it carries our gateway header");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<p1@x>",
	    "Newsgroups: pirates.de.a\r\n"
	    "Path: inn.example!.POSTED.10.0.0.1!gw.test.example!not-for-mail\r\n"),
	    ROUTER_LOOP, "our Path identity is in its Path");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<p2@x>",
	    "Newsgroups: pirates.de.a\r\nPath: gw.test.example\r\n"),
	    ROUTER_LOOP, "our Path identity is in its Path");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<i1@x>",
	    "Newsgroups: pirates.de.a\r\n"
	    "List-Id: \"A\" <a.lists.test.example>\r\n"),
	    ROUTER_LOOP, "it carries the List-Id of a list we feed");
	expect(f, SIDE_FORUM, NULL, "a", MSG("<i2@x>",
	    "List-Id: a.lists.test.example\r\n"),
	    ROUTER_LOOP, "it carries the List-Id of a list we feed");
	assert_int_equal(store_message_count(f->store), 0);

	/* Near misses are not loops. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<n1@x>",
	    "Newsgroups: pirates.de.a\r\n"
	    "Path: gw.test.example.org!xgw.test.example!gw.test.exampl\r\n"
	    "X-Syncom-Gateway: gw.test.example.org\r\n"
	    "List-Id: <other.lists.test.example>\r\n"),
	    ROUTER_ACCEPTED, NULL);
}

static void
test_directions(void **state)
{
	struct fixture *f = *state;

	/* news-to-list: list mail stays on the list, not even stored. */
	expect(f, SIDE_LIST, "n2l@lists.test.example", NULL, MSG("<d1@x>", ""),
	    ROUTER_NOT_GATED, "channel n2l does not carry list messages");
	assert_int_equal(store_has_msgid(f->store, "<d1@x>"), 0);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<d2@x>",
	    "Newsgroups: pirates.de.n2l\r\n"), ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<d2@x>", "forum:n2l list:n2l@lists.test.example");
	expect(f, SIDE_FORUM, NULL, "n2l", MSG("<d3@x>", ""), ROUTER_ACCEPTED,
	    NULL);
	assert_targets(f, "<d3@x>", "list:n2l@lists.test.example news");

	/* list-to-news: a news post is kept (we are the news server) and
	   shown in the forum, but not mailed to the list. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<d4@x>",
	    "Newsgroups: pirates.de.l2n\r\n"), ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<d4@x>", "forum:l2n");
	assert_int_equal(store_article_number(f->store, "pirates.de.l2n",
	    "<d4@x>"), 1);
	expect(f, SIDE_LIST, "l2n@lists.test.example", NULL, MSG("<d5@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<d5@x>", "forum:l2n news");

	/* read-only: only the list writes. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<d6@x>",
	    "Newsgroups: pirates.de.ro\r\n"), ROUTER_REJECTED,
	    "channel ro is read-only from news");
	expect(f, SIDE_LIST, "ro@lists.test.example", NULL, MSG("<d7@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<d7@x>", "news");

	/* A crosspost into a read-only channel keeps the others. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<d8@x>",
	    "Newsgroups: pirates.de.ro,pirates.de.b\r\n"), ROUTER_ACCEPTED,
	    NULL);
	assert_targets(f, "<d8@x>", "forum:b list:b@lists.test.example");
	assert_int_equal(store_article_number(f->store, "pirates.de.ro",
	    "<d8@x>"), 0);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	char *big, *line;
	size_t n;

	expect(f, SIDE_LIST, "a@lists.test.example", NULL,
	    "Subject: x\r\n\r\nbody\r\n", ROUTER_REJECTED, "no Message-ID");
	expect(f, SIDE_LIST, "a@lists.test.example", NULL,
	    "Message-ID: <no-at-sign>\r\n\r\nbody\r\n", ROUTER_REJECTED, NULL);
	expect(f, SIDE_LIST, "a@lists.test.example", NULL,
	    "Message-ID: garbage\r\n\r\nbody\r\n", ROUTER_REJECTED, NULL);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<c@x>",
	    "Newsgroups: pirates.de.a\r\nControl: cancel <d@x>\r\n"),
	    ROUTER_NOT_GATED, "cancel not taken: <d@x> is not here");
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<c2@x>",
	    "Newsgroups: pirates.de.a\r\nControl: newgroup pirates.de.z\r\n"),
	    ROUTER_NOT_GATED, "control message");
	expect(f, SIDE_LIST, "a@lists.test.example", NULL,
	    "No colon here\r\n\r\nbody\r\n", ROUTER_REJECTED, NULL);

	line = xmalloc(1200);
	memset(line, 'x', 1199);
	line[1199] = '\0';
	big = xasprintf(MSG("<long@x>", "") "%s\r\n", line);
	expect(f, SIDE_LIST, "a@lists.test.example", NULL, big,
	    ROUTER_REJECTED, "a line is longer than 998 octets (RFC 5322"
	    " section 2.1.1)");
	free(big);
	free(line);

	n = f->conf->max_message_size + 1;
	big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	expect(f, SIDE_LIST, "a@lists.test.example", NULL, big,
	    ROUTER_REJECTED, NULL);
	free(big);
	assert_int_equal(store_message_count(f->store), 0);
}

/* A reader's post here goes to the news feed too; a peer's does not. */
static void
test_posted_here(void **state)
{
	struct fixture *f = *state;

	posted_here = 1;
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<ph1@x>",
	    "Newsgroups: pirates.de.a\r\n"), ROUTER_ACCEPTED, NULL);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<ph2@x>",
	    "Newsgroups: pirates.de.l2n\r\n"), ROUTER_ACCEPTED, NULL);
	posted_here = 0;
	assert_targets(f, "<ph1@x>", "forum:a list:a@lists.test.example news");
	assert_targets(f, "<ph2@x>", "forum:l2n news");
}

/*
 * RFC 5537 section 3.5: a post made here to a moderated group goes to
 * its moderators (the list), held; the list's copy releases it.
 */
static void
test_moderated(void **state)
{
	struct fixture *f = *state;
	const char *post = MSG("<mod1@x>", "Newsgroups: pirates.de.mod,"
	    "pirates.de.a\r\n");

	posted_here = 1;
	expect(f, SIDE_NEWS, NULL, NULL, post, ROUTER_ACCEPTED,
	    "pirates.de.mod is moderated: sent to its moderators at"
	    " mod@lists.test.example");
	posted_here = 0;
	assert_targets(f, "<mod1@x>", "list:mod@lists.test.example");
	assert_int_equal(store_has_msgid(f->store, "<mod1@x>"), 2);
	assert_int_equal(store_article_number(f->store, "pirates.de.mod",
	    "<mod1@x>"), 0);
	assert_int_equal(store_article_number(f->store, "pirates.de.a",
	    "<mod1@x>"), 0);

	/* The list sends it back approved, with our gateway header on. */
	expect(f, SIDE_LIST, "mod@lists.test.example", NULL, MSG("<mod1@x>",
	    "X-Syncom-Gateway: gw.test.example\r\n"
	    "List-Id: <mod.lists.test.example>\r\n"), ROUTER_ACCEPTED,
	    "approved by the list's moderators");
	assert_int_equal(store_has_msgid(f->store, "<mod1@x>"), 1);
	assert_int_equal(store_article_number(f->store, "pirates.de.mod",
	    "<mod1@x>"), 1);
	assert_targets(f, "<mod1@x>", "forum:mod list:mod@lists.test.example"
	    " news");
	/* A second copy is a duplicate; so is one from elsewhere. */
	expect(f, SIDE_LIST, "mod@lists.test.example", NULL, MSG("<mod1@x>",
	    "List-Id: <mod.lists.test.example>\r\n"), ROUTER_DUPLICATE,
	    NULL);

	/* A peer's article was approved upstream: no holding. */
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<mod2@x>",
	    "Newsgroups: pirates.de.mod\r\nApproved: mod@x\r\n"),
	    ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_article_number(f->store, "pirates.de.mod",
	    "<mod2@x>"), 2);
	/* Held, a list copy is the only way out: news is a duplicate. */
	posted_here = 1;
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<mod3@x>",
	    "Newsgroups: pirates.de.mod\r\n"), ROUTER_ACCEPTED, NULL);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<mod3@x>",
	    "Newsgroups: pirates.de.mod\r\n"), ROUTER_DUPLICATE, NULL);
	posted_here = 0;
}

static void
test_archive(void **state)
{
	struct fixture *f = *state;

	expect(f, SIDE_FORUM, NULL, "nolist", MSG("<a1@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<a1@x>", "archive news");
}

/* A side without a transport gets no outbox rows. */
static void
test_no_transport(void **state)
{
	struct fixture *f = *state;
	struct conf *conf = test_conf("hostname gw.test.example\n"
	    "deliver list maildir /x\n"
	    "channel a {\n\tnewsgroup a.b\n\tlist a@x.org\n\tboard a\n}\n");

	router_set_conf(f->router, conf);
	expect(f, SIDE_NEWS, NULL, NULL, MSG("<t1@x>", "Newsgroups: a.b\r\n"),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<t1@x>", "list:a@x.org");
	expect(f, SIDE_LIST, "a@x.org", NULL, MSG("<t2@x>", ""),
	    ROUTER_ACCEPTED, NULL);
	assert_targets(f, "<t2@x>", "");
	assert_int_equal(store_article_number(f->store, "a.b", "<t2@x>"), 2);
	conf_unref(&conf);
}

static void
test_tempfail(void **state)
{
	struct fixture *f = *state;
	const char *m = MSG("<tf@x>", "Newsgroups: pirates.de.a\r\n");

	store_fail_commits(f->store, 1);
	expect(f, SIDE_NEWS, NULL, NULL, m, ROUTER_TEMPFAIL,
	    "data directory full: database or disk is full (fault injected)");
	assert_int_equal(store_has_msgid(f->store, "<tf@x>"), 0);
	/* The sender tries again and it goes through. */
	expect(f, SIDE_NEWS, NULL, NULL, m, ROUTER_ACCEPTED, NULL);
}

/* Bare LF input is stored in canonical CRLF form. */
static void
test_canonical(void **state)
{
	struct fixture *f = *state;
	struct outbox_row **rows;
	char *raw;
	size_t len, n;

	expect(f, SIDE_FORUM, NULL, "a", "Message-ID: <lf@x>\nSubject: s\n\n"
	    "line\n", ROUTER_ACCEPTED, NULL);
	assert_int_equal(store_outbox_due(f->store, "news", time(NULL) + 5,
	    10, &rows, &n), 0);
	assert_true(n > 0);
	assert_int_equal(store_message_raw(f->store, rows[0]->message, &raw,
	    &len), 0);
	assert_string_equal(raw, "Message-ID: <lf@x>\r\nSubject: s\r\n\r\n"
	    "line\r\n");
	free(raw);
	while (n > 0)
		outbox_row_free(&rows[--n]);
	free(rows);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_list_to_others),
		T(test_news_crosspost),
		T(test_forum),
		T(test_cancel),
		T(test_supersedes),
		T(test_duplicate),
		T(test_loops),
		T(test_directions),
		T(test_refusals),
		T(test_posted_here),
		T(test_moderated),
		cmocka_unit_test_setup_teardown(test_archive, setup_archive,
		    teardown),
		T(test_no_transport),
		T(test_tempfail),
		T(test_canonical),
	};

	log_init(1, 0, "test_router");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
