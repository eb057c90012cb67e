/*
 * outbox.c: deliver committed outbox rows through the transports.
 *
 * A pass asks the store for due rows (oldest first; a reply is held back
 * while its parent waits for the same target), hands each to the transport
 * its target resolves to, and records the outcome through the store's group
 * commit: done, retry later with exponential backoff and jitter, or dead
 * letter once max-attempts or max-age is reached.  A row stays "in flight"
 * here until its outcome is committed, so it is never handed out twice.
 *
 * Passes run when the router commits new rows (outbox_wake), when a
 * delivery ends, and on a timer set to the next retry.  Rows that were
 * pending when syncd started may have been delivered just before a crash:
 * their deliveries are marked "recovering" so the transport checks first.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "syncd.h"

/* Deliveries in flight over all targets. */
#define OUTBOX_INFLIGHT_MAX	256
/* The longest sleep between passes, in seconds. */
#define OUTBOX_IDLE_MAX		60

struct outbox_target {
	char		*target;
	size_t		 inflight;
};

struct outbox {
	struct event_base *base;
	struct store	*store;
	struct conf	*conf;
	outbox_resolve_fn resolve;
	void		*resolve_arg;
	struct event	*timer;
	struct event	*wake_ev;
	time_t		 started;
	int		 stopped;

	/* In flight: row ids, and counts per target. */
	int64_t		*ids;
	size_t		 nids;
	struct outbox_target *targets;
	size_t		 ntargets;
};

static void	 outbox_pass(evutil_socket_t, short, void *);

struct outbox *
outbox_new(struct event_base *base, struct store *store,
    outbox_resolve_fn resolve, void *arg)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->base = base;
	ob->store = store;
	ob->resolve = resolve;
	ob->resolve_arg = arg;
	ob->started = time(NULL);
	ob->timer = evtimer_new(base, outbox_pass, ob);
	ob->wake_ev = event_new(base, -1, 0, outbox_pass, ob);
	return ob;
}

void
outbox_set_conf(struct outbox *ob, struct conf *conf)
{
	conf_unref(&ob->conf);
	ob->conf = conf_ref(conf);
}

void
outbox_wake(struct outbox *ob)
{
	if (!ob->stopped)
		event_active(ob->wake_ev, EV_TIMEOUT, 0);
}

size_t
outbox_inflight(struct outbox *ob)
{
	return ob->nids;
}

void
outbox_stop(struct outbox *ob)
{
	ob->stopped = 1;
	evtimer_del(ob->timer);
	event_del(ob->wake_ev);
}

void
outbox_free(struct outbox **obp)
{
	struct outbox *ob = *obp;
	size_t i;

	*obp = NULL;
	if (ob == NULL)
		return;
	event_free(ob->timer);
	event_free(ob->wake_ev);
	for (i = 0; i < ob->ntargets; i++)
		free(ob->targets[i].target);
	free(ob->targets);
	free(ob->ids);
	conf_unref(&ob->conf);
	free(ob);
}

time_t
outbox_backoff(const struct conf *conf, long long attempts)
{
	long long delay = conf->retry_min;
	uint32_t r = 0;

	while (--attempts > 0 && delay < conf->retry_max)
		delay *= 2;
	if (delay > conf->retry_max)
		delay = conf->retry_max;
	/* Jitter: anywhere in [delay/2, delay], so retries spread out. */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)random();
	return delay - (time_t)((uint64_t)r * (delay / 2) / UINT32_MAX);
}

static struct outbox_target *
outbox_target(struct outbox *ob, const char *target)
{
	size_t i;

	for (i = 0; i < ob->ntargets; i++)
		if (strcmp(ob->targets[i].target, target) == 0)
			return &ob->targets[i];
	ob->targets = xreallocarray(ob->targets, ob->ntargets + 1,
	    sizeof(*ob->targets));
	ob->targets[ob->ntargets].target = xstrdup(target);
	ob->targets[ob->ntargets].inflight = 0;
	return &ob->targets[ob->ntargets++];
}

static int
outbox_is_inflight(struct outbox *ob, int64_t id)
{
	size_t i;

	for (i = 0; i < ob->nids; i++)
		if (ob->ids[i] == id)
			return 1;
	return 0;
}

/* The row's outcome is committed: it may be picked again, if pending. */
static void
outbox_release(struct outbox *ob, const struct outbox_row *row)
{
	size_t i;

	for (i = 0; i < ob->nids; i++)
		if (ob->ids[i] == row->id) {
			ob->ids[i] = ob->ids[--ob->nids];
			break;
		}
	outbox_target(ob, row->target)->inflight--;
}

static void
outbox_delivery_free(struct delivery *d)
{
	outbox_row_free(&d->row);
	free(d->raw);
	free(d);
}

static void
outbox_result_committed(void *arg, enum store_result result, const char *err)
{
	struct delivery *d = arg;
	struct outbox *ob = d->arg;

	if (result != STORE_OK)
		log_warnx("event=outbox-record id=%lld msgid=%s result=failed"
		    " error=%s", (long long)d->row->id, log_q(d->row->msgid),
		    log_q(err));
	outbox_release(ob, d->row);
	outbox_delivery_free(d);
	outbox_wake(ob);
}

/* A transport is done with a row: record done, retry or dead letter. */
static void
outbox_delivery_done(struct delivery *d, enum delivery_result result,
    const char *err)
{
	struct outbox *ob = d->arg;
	struct outbox_row *row = d->row;
	const struct conf *conf = ob->conf;
	time_t now = time(NULL), next;
	long long attempts = row->attempts + 1;
	char *reason;

	if (result == DELIVERY_OK) {
		log_info("event=delivered msgid=%s target=%s attempts=%lld",
		    log_q(row->msgid), log_q(row->target), attempts);
		store_outbox_result(ob->store, row->id, OUTBOX_DONE, 0, NULL,
		    outbox_result_committed, d);
		return;
	}
	if (err == NULL)
		err = "unknown error";
	if (result == DELIVERY_TEMPFAIL && attempts < conf->max_attempts &&
	    now - row->created < conf->max_age) {
		next = now + outbox_backoff(conf, attempts);
		log_warnx("event=deferred msgid=%s target=%s attempts=%lld"
		    " retry-in=%lld reason=%s", log_q(row->msgid),
		    log_q(row->target), attempts, (long long)(next - now),
		    log_q(err));
		store_outbox_result(ob->store, row->id, OUTBOX_PENDING, next,
		    err, outbox_result_committed, d);
		return;
	}
	if (result == DELIVERY_PERMFAIL)
		reason = xstrdup(err);
	else
		reason = xasprintf("gave up after %lld attempts over %llds: %s",
		    attempts, (long long)(now - row->created), err);
	log_warnx("event=dead-letter msgid=%s target=%s attempts=%lld"
	    " reason=%s", log_q(row->msgid), log_q(row->target), attempts,
	    log_q(reason));
	store_outbox_result(ob->store, row->id, OUTBOX_DEAD, 0, reason,
	    outbox_result_committed, d);
	free(reason);
}

/* Start one delivery; the row is the delivery's from here on. */
static void
outbox_start(struct outbox *ob, struct outbox_row *row,
    struct transport *t)
{
	struct delivery *d = xcalloc(1, sizeof(*d));

	d->row = row;
	d->done = outbox_delivery_done;
	d->arg = ob;
	d->recovering = row->created < ob->started || row->attempts > 0;
	ob->ids = xreallocarray(ob->ids, ob->nids + 1, sizeof(*ob->ids));
	ob->ids[ob->nids++] = row->id;
	outbox_target(ob, row->target)->inflight++;

	if (t == NULL) {
		d->done(d, DELIVERY_TEMPFAIL, "no transport is configured for"
		    " this target");
		return;
	}
	if (store_message_raw(ob->store, row->message, &d->raw, &d->len) ==
	    -1) {
		d->done(d, DELIVERY_TEMPFAIL, "could not read the message from"
		    " the store");
		return;
	}
	log_debug("event=deliver msgid=%s target=%s transport=%s attempt=%lld",
	    log_q(row->msgid), log_q(row->target), t->ops->name,
	    row->attempts + 1);
	t->ops->deliver(t, d);
}

static void
outbox_pass(evutil_socket_t fd, short events, void *arg)
{
	struct outbox *ob = arg;
	struct outbox_row **rows;
	struct timeval tv = { OUTBOX_IDLE_MAX, 0 };
	time_t now = time(NULL), next;
	size_t n, i;

	if (ob->stopped || ob->conf == NULL)
		return;
	if (ob->nids < OUTBOX_INFLIGHT_MAX && store_outbox_due(ob->store, now,
	    4 * OUTBOX_INFLIGHT_MAX, &rows, &n) == 0) {
		for (i = 0; i < n; i++) {
			if (ob->nids >= OUTBOX_INFLIGHT_MAX ||
			    outbox_is_inflight(ob, rows[i]->id) ||
			    outbox_target(ob, rows[i]->target)->inflight >=
			    (size_t)ob->conf->delivery_concurrency) {
				outbox_row_free(&rows[i]);
				continue;
			}
			outbox_start(ob, rows[i], ob->resolve(ob->resolve_arg,
			    rows[i]->target));
		}
		free(rows);
	}

	if (ob->stopped)
		return;
	/* Sleep until the next retry; finished deliveries wake us sooner. */
	if ((next = store_outbox_next(ob->store)) != -1) {
		if (next - now < OUTBOX_IDLE_MAX)
			tv.tv_sec = next > now ? next - now : 1;
	}
	evtimer_add(ob->timer, &tv);
}
