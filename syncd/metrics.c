/*
 * metrics.c: what an operator's monitoring reads at /metrics, in the
 * Prometheus text exposition format, version 0.0.4.
 *
 * The counters live here as plain static state: a daemon has one registry,
 * and everything that counts runs on the event loop, so nothing needs a
 * lock.  The router counts each routing decision (metrics_message_in from
 * router_finish), syncd's outbox observer each recorded delivery outcome
 * (metrics_delivery).  Gauges are read when scraped: the outbox and the
 * message count from the store, the connections from what syncd.c passes
 * in.  Counters start at zero with the process, as Prometheus expects
 * (syncom_start_time_seconds says when); every series exists from the
 * start, so a rate never misses its first increment.
 *
 * syncd.c serves metrics_write()'s text; this file knows no HTTP.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "syncd.h"

/* Delivery sides: the three of enum side, then the archive. */
#define METRICS_ARCHIVE		SIDE_MAX
#define METRICS_TARGETS		(SIDE_MAX + 1)

#define METRICS_RESULTS		(ROUTER_TEMPFAIL + 1)

/* Delivery latency buckets, in seconds: outbox rows know whole seconds. */
static const long long metrics_bounds[] = {
	1, 5, 15, 60, 300, 900, 3600, 21600, 86400
};
#define METRICS_BUCKETS	(sizeof(metrics_bounds) / sizeof(metrics_bounds[0]))

struct metrics_histogram {
	/* Per bucket, not cumulative; the last is +Inf. */
	unsigned long long bucket[METRICS_BUCKETS + 1];
	unsigned long long count;
	unsigned long long sum;
};

static time_t metrics_started;
static unsigned long long metrics_in[SIDE_MAX][METRICS_RESULTS];
/* Per delivery side: done, retry, dead (OUTBOX_DONE and the others). */
static unsigned long long metrics_out[METRICS_TARGETS][3];
static struct metrics_histogram metrics_latency[METRICS_TARGETS];

static const char *metrics_outcomes[3] = { "done", "retry", "dead" };

static const char *
metrics_target_name(int i)
{
	return i == METRICS_ARCHIVE ? "archive" : side_name(i);
}

/* The delivery side of an outbox target ("list:ADDR" is list), or -1. */
static int
metrics_target_side(const char *target)
{
	if (strcmp(target, "archive") == 0)
		return METRICS_ARCHIVE;
	return conf_target_side(target);
}

void
metrics_start(time_t t)
{
	metrics_started = t;
}

void
metrics_message_in(enum side source, enum router_result result)
{
	if ((int)source < 0 || source >= SIDE_MAX || (int)result < 0 ||
	    result >= METRICS_RESULTS)
		return;
	metrics_in[source][result]++;
}

void
metrics_delivery(const char *target, time_t created, int state, time_t now)
{
	struct metrics_histogram *h;
	long long secs;
	size_t b;
	int side, outcome;

	if ((side = metrics_target_side(target)) == -1)
		return;
	switch (state) {
	case OUTBOX_DONE:
		outcome = 0;
		break;
	case OUTBOX_PENDING:
		outcome = 1;
		break;
	case OUTBOX_DEAD:
		outcome = 2;
		break;
	default:
		return;
	}
	metrics_out[side][outcome]++;
	if (state != OUTBOX_DONE)
		return;
	/* A clock stepped back makes no negative latency. */
	secs = now > created ? (long long)(now - created) : 0;
	h = &metrics_latency[side];
	for (b = 0; b < METRICS_BUCKETS && secs > metrics_bounds[b]; b++)
		;
	h->bucket[b]++;
	h->count++;
	h->sum += secs;
}

/*
 * Text escaped as the format wants it: in HELP lines backslash and line
 * feed, in label values the double quote too.
 */
static void
metrics_escape(struct evbuffer *out, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else if (*s == '"' && quote)
			evbuffer_add(out, "\\\"", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

/* A family's HELP and TYPE lines, before any of its samples. */
static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s ", name);
	metrics_escape(out, help, 0);
	evbuffer_add_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* One sample with one label, or none when label is NULL. */
static void
metrics_sample(struct evbuffer *out, const char *name, const char *label,
    const char *value, unsigned long long n)
{
	evbuffer_add_printf(out, "%s", name);
	if (label != NULL) {
		evbuffer_add_printf(out, "{%s=\"", label);
		metrics_escape(out, value, 1);
		evbuffer_add(out, "\"}", 2);
	}
	evbuffer_add_printf(out, " %llu\n", n);
}

static void
metrics_write_counters(struct evbuffer *out)
{
	const struct metrics_histogram *h;
	unsigned long long cum;
	size_t b;
	int s, r;

	metrics_family(out, "syncom_messages_in_total", "counter",
	    "Messages that arrived, by the side they came from and what the"
	    " router decided.");
	for (s = 0; s < SIDE_MAX; s++)
		for (r = 0; r < METRICS_RESULTS; r++)
			evbuffer_add_printf(out, "syncom_messages_in_total"
			    "{side=\"%s\",result=\"%s\"} %llu\n", side_name(s),
			    router_result_name(r), metrics_in[s][r]);

	metrics_family(out, "syncom_deliveries_total", "counter",
	    "Delivery attempts recorded by the outbox, by the side delivered"
	    " to and their outcome (retry: failed, to be tried again).");
	for (s = 0; s < METRICS_TARGETS; s++)
		for (r = 0; r < 3; r++)
			evbuffer_add_printf(out, "syncom_deliveries_total"
			    "{side=\"%s\",result=\"%s\"} %llu\n",
			    metrics_target_name(s), metrics_outcomes[r],
			    metrics_out[s][r]);

	metrics_family(out, "syncom_delivery_latency_seconds", "histogram",
	    "Seconds from a message's commit to its delivery to a side,"
	    " retries included.");
	for (s = 0; s < METRICS_TARGETS; s++) {
		h = &metrics_latency[s];
		for (b = 0, cum = 0; b <= METRICS_BUCKETS; b++) {
			cum += h->bucket[b];
			evbuffer_add_printf(out,
			    "syncom_delivery_latency_seconds_bucket"
			    "{side=\"%s\",le=\"", metrics_target_name(s));
			if (b < METRICS_BUCKETS)
				evbuffer_add_printf(out, "%lld",
				    metrics_bounds[b]);
			else
				evbuffer_add(out, "+Inf", 4);
			evbuffer_add_printf(out, "\"} %llu\n", cum);
		}
		metrics_sample(out, "syncom_delivery_latency_seconds_sum",
		    "side", metrics_target_name(s), h->sum);
		metrics_sample(out, "syncom_delivery_latency_seconds_count",
		    "side", metrics_target_name(s), h->count);
	}
}

int
metrics_write(struct evbuffer *out, const struct metrics_sources *src,
    char **err_r)
{
	struct store_queue_info *q;
	unsigned long long pending[METRICS_TARGETS] = { 0 }, dead = 0;
	long long stored;
	size_t n, i;
	int s;

	if (store_queue(src->store, &q, &n) == -1) {
		*err_r = xstrdup("could not read the outbox");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (q[i].state == OUTBOX_DEAD)
			dead += q[i].count;
		else if (q[i].state == OUTBOX_PENDING &&
		    (s = metrics_target_side(q[i].target)) != -1)
			pending[s] += q[i].count;
	}
	store_queue_free(q, n);
	if ((stored = store_message_count(src->store)) < 0) {
		*err_r = xstrdup("could not count the messages");
		return -1;
	}

	metrics_write_counters(out);

	metrics_family(out, "syncom_outbox_pending", "gauge",
	    "Outbox entries waiting for delivery (or a retry), by side.");
	for (s = 0; s < METRICS_TARGETS; s++)
		metrics_sample(out, "syncom_outbox_pending", "side",
		    metrics_target_name(s), pending[s]);
	metrics_family(out, "syncom_dead_letters", "gauge",
	    "Outbox entries given up on (syncctl retry queues them again).");
	metrics_sample(out, "syncom_dead_letters", NULL, NULL, dead);
	metrics_family(out, "syncom_messages_stored", "gauge",
	    "Messages in the store.");
	metrics_sample(out, "syncom_messages_stored", NULL, NULL,
	    (unsigned long long)stored);
	metrics_family(out, "syncom_connections", "gauge",
	    "Open client connections, by protocol.");
	metrics_sample(out, "syncom_connections", "proto", "nntp",
	    src->nntp_sessions);
	metrics_sample(out, "syncom_connections", "proto", "smtp",
	    src->smtp_sessions);
	metrics_family(out, "syncom_start_time_seconds", "gauge",
	    "When syncd started, in seconds since the Unix epoch.");
	metrics_sample(out, "syncom_start_time_seconds", NULL, NULL,
	    (unsigned long long)metrics_started);
	metrics_family(out, "syncom_build_info", "gauge",
	    "Always 1; the version of the running syncd is its label.");
	metrics_sample(out, "syncom_build_info", "version", SYNCOM_VERSION, 1);
	return 0;
}
