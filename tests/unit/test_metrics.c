/*
 * test_metrics.c: the counters, the histogram's buckets and the gauges
 * read from the store, as metrics_write() puts them.  The counters are
 * the process's, so the tests run in order and each knows what the ones
 * before it counted.  tests/integration/metrics.sh checks the format
 * itself with a strict parser, on the real daemon.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "testutil.h"

struct fixture {
	char		*dir;
	struct event_base *base;
	struct store	*store;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->dir = test_tmpdir();
	f->base = test_base();
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(&f->store);
	event_base_free(f->base);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* The exposition as a string (caller frees). */
static char *
render(struct fixture *f, size_t nntp, size_t smtp)
{
	struct metrics_sources src = { f->store, nntp, smtp };
	struct evbuffer *out = evbuffer_new();
	char *err = NULL, *text;
	size_t len;

	if (metrics_write(out, &src, &err) == -1)
		fail_msg("metrics_write: %s", err);
	len = evbuffer_get_length(out);
	text = xmalloc(len + 1);
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	return text;
}

/* Whether text has this whole line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define assert_line(text, line) do {					\
	if (!has_line((text), (line)))					\
		fail_msg("no line '%s' in:\n%s", (line), (text));	\
} while (0)

static void
stored(void *arg, enum store_result result, const char *err)
{
	*(int *)arg = 1;
	assert_int_equal(result, STORE_OK);
}

/* A new process counts nothing, yet names every series. */
static void
test_initial(void **state)
{
	struct fixture *f = *state;
	char *text = render(f, 0, 0);

	assert_line(text, "# TYPE syncom_messages_in_total counter");
	assert_line(text, "syncom_messages_in_total{side=\"news\","
	    "result=\"accepted\"} 0");
	assert_line(text, "syncom_messages_in_total{side=\"forum\","
	    "result=\"tempfail\"} 0");
	assert_line(text, "syncom_deliveries_total{side=\"archive\","
	    "result=\"dead\"} 0");
	assert_line(text, "# TYPE syncom_delivery_latency_seconds histogram");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"news\",le=\"+Inf\"} 0");
	assert_line(text, "syncom_delivery_latency_seconds_count"
	    "{side=\"forum\"} 0");
	assert_line(text, "syncom_messages_stored 0");
	assert_line(text, "syncom_dead_letters 0");
	assert_line(text, "syncom_build_info{version=\"" SYNCOM_VERSION
	    "\"} 1");
	free(text);
}

/* Each routing decision counts once, under its side and result. */
static void
test_messages_in(void **state)
{
	struct fixture *f = *state;
	char *text;

	metrics_message_in(SIDE_FORUM, ROUTER_LOOP);
	metrics_message_in(SIDE_FORUM, ROUTER_LOOP);
	metrics_message_in(SIDE_LIST, ROUTER_ACCEPTED);
	metrics_message_in(SIDE_MAX, ROUTER_ACCEPTED);	/* ignored */
	text = render(f, 0, 0);
	assert_line(text, "syncom_messages_in_total{side=\"forum\","
	    "result=\"loop\"} 2");
	assert_line(text, "syncom_messages_in_total{side=\"list\","
	    "result=\"accepted\"} 1");
	assert_line(text, "syncom_messages_in_total{side=\"news\","
	    "result=\"accepted\"} 0");
	free(text);
}

/*
 * Deliveries count by the target's side; only done ones have a latency,
 * which lands in the first bucket whose bound it does not exceed.
 */
static void
test_deliveries(void **state)
{
	struct fixture *f = *state;
	char *text;

	metrics_delivery("list:a@example.org", 100, OUTBOX_DONE, 101);
	metrics_delivery("list:b@example.org", 100, OUTBOX_DONE, 102);
	metrics_delivery("list:a@example.org", 100, OUTBOX_DONE, 99);
	metrics_delivery("list:a@example.org", 0, OUTBOX_DONE, 86401);
	metrics_delivery("list:a@example.org", 100, OUTBOX_PENDING, 500);
	metrics_delivery("list:a@example.org", 100, OUTBOX_DEAD, 500);
	metrics_delivery("archive", 10, OUTBOX_DONE, 71);
	metrics_delivery("forum:test", 10, OUTBOX_DEAD, 70);
	metrics_delivery("bogus:x", 10, OUTBOX_DONE, 70);	/* ignored */
	text = render(f, 0, 0);
	assert_line(text, "syncom_deliveries_total{side=\"list\","
	    "result=\"done\"} 4");
	assert_line(text, "syncom_deliveries_total{side=\"list\","
	    "result=\"retry\"} 1");
	assert_line(text, "syncom_deliveries_total{side=\"list\","
	    "result=\"dead\"} 1");
	assert_line(text, "syncom_deliveries_total{side=\"forum\","
	    "result=\"dead\"} 1");
	assert_line(text, "syncom_deliveries_total{side=\"archive\","
	    "result=\"done\"} 1");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"list\",le=\"1\"} 2");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"list\",le=\"5\"} 3");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"list\",le=\"86400\"} 3");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"list\",le=\"+Inf\"} 4");
	assert_line(text, "syncom_delivery_latency_seconds_sum"
	    "{side=\"list\"} 86404");
	assert_line(text, "syncom_delivery_latency_seconds_count"
	    "{side=\"list\"} 4");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"archive\",le=\"60\"} 0");
	assert_line(text, "syncom_delivery_latency_seconds_bucket"
	    "{side=\"archive\",le=\"300\"} 1");
	assert_line(text, "syncom_delivery_latency_seconds_count"
	    "{side=\"forum\"} 0");
	free(text);
}

/* The gauges: the store's outbox and messages, the servers' sessions. */
static void
test_gauges(void **state)
{
	struct fixture *f = *state;
	struct store_msg *m = xcalloc(1, sizeof(*m));
	const char *targets[] = { "news", "list:a@example.org",
	    "list:b@example.org", "forum:test", "archive", "bogus" };
	char *text;
	size_t i, n;
	int done = 0;

	m->msgid = xstrdup("<g@example.org>");
	m->source = SIDE_NEWS;
	m->arrived = time(NULL);
	m->date = -1;
	m->raw = xstrdup("Message-ID: <g@example.org>\r\n\r\nbody\r\n");
	m->len = strlen(m->raw);
	n = sizeof(targets) / sizeof(targets[0]);
	m->targets = xcalloc(n, sizeof(*m->targets));
	for (i = 0; i < n; i++)
		m->targets[m->ntargets++] = xstrdup(targets[i]);
	store_add(f->store, m, stored, &done);
	assert_true(test_loop_until(f->base, &done, 5));

	text = render(f, 3, 2);
	assert_line(text, "syncom_outbox_pending{side=\"news\"} 1");
	assert_line(text, "syncom_outbox_pending{side=\"list\"} 2");
	assert_line(text, "syncom_outbox_pending{side=\"forum\"} 1");
	assert_line(text, "syncom_outbox_pending{side=\"archive\"} 1");
	assert_line(text, "syncom_dead_letters 0");
	assert_line(text, "syncom_messages_stored 1");
	assert_line(text, "syncom_connections{proto=\"nntp\"} 3");
	assert_line(text, "syncom_connections{proto=\"smtp\"} 2");
	free(text);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_initial),
		T(test_messages_in),
		T(test_deliveries),
		T(test_gauges),
	};

	log_init(1, 0, "test_metrics");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
