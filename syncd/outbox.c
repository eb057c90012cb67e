/*
 * outbox.c: deliver committed outbox rows through the transports.
 *
 * Each target ("news", "list:ADDRESS", ...) is its own queue: a pass asks
 * the store, per target with room, for its due rows (oldest first; a reply
 * is held back while its parent waits for the same target), so a backlog
 * on one side never holds up another.  Each row goes to the transport its
 * target resolves to, and its outcome is recorded through the store's
 * group commit: done, retry later with exponential backoff and jitter, or
 * dead letter once max-attempts or max-age is reached.  A row stays "in
 * flight" until its outcome is committed, so it is never handed out twice;
 * if that commit fails, the same outcome is recorded again a little later
 * rather than delivering again.
 *
 * The targets are those of the configuration, those with pending rows in
 * the store at start-up or after a retry, and those the router commits new
 * rows for (outbox_notify).  Passes run on such news, when a delivery
 * ends, and on a timer set to the next retry.  Rows that existed when syncd started may have gone out just
 * before a crash: their deliveries are marked "recovering", so the
 * transport checks for its earlier copy first.
 */

#include <sys/queue.h>
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "syncd.h"

/* Deliveries in flight over all targets. */
#define OUTBOX_INFLIGHT_MAX	256
/* The longest sleep between passes, in seconds. */
#define OUTBOX_IDLE_MAX		60
/* The pause before recording an outcome again after a failed commit. */
#define OUTBOX_RECORD_RETRY	1

struct outbox_target {
	TAILQ_ENTRY(outbox_target) entry;
	char		*target;
	int64_t		*ids;		/* rows in flight */
	size_t		 nids;
};
TAILQ_HEAD(outbox_targets, outbox_target);

/* A delivery and what the outbox must remember of it. */
struct outbox_delivery {
	struct delivery	 d;		/* first: transports see only this */
	struct outbox	*ob;
	struct outbox_target *t;
	int		 state;		/* the outcome to record */
	time_t		 next_try;
	char		*err;
	struct event	*record_ev;
};

struct outbox {
	struct event_base *base;
	struct store	*store;
	struct conf	*conf;
	outbox_resolve_fn resolve;
	void		*resolve_arg;
	struct event	*timer;
	struct event	*wake_ev;
	int64_t		 recover_upto;	/* rows up to this id predate us */
	int		 stopped;
	struct outbox_targets targets;
	size_t		 inflight;
	outbox_observer_fn observer;
	void		*observer_arg;
};

static void	 outbox_pass(evutil_socket_t, short, void *);

/* The queue of target, created on first sight. */
static struct outbox_target *
outbox_target(struct outbox *ob, const char *target)
{
	struct outbox_target *t;

	TAILQ_FOREACH(t, &ob->targets, entry)
		if (strcmp(t->target, target) == 0)
			return t;
	t = xcalloc(1, sizeof(*t));
	t->target = xstrdup(target);
	TAILQ_INSERT_TAIL(&ob->targets, t, entry);
	return t;
}

/* Add a queue for every target in the list, and free the list. */
static void
outbox_add_targets(struct outbox *ob, char **targets, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		outbox_target(ob, targets[i]);
		free(targets[i]);
	}
	free(targets);
}

void
outbox_refresh_targets(struct outbox *ob)
{
	char **targets;
	size_t n;

	if (store_outbox_targets(ob->store, &targets, &n) == 0)
		outbox_add_targets(ob, targets, n);
}

struct outbox *
outbox_new(struct event_base *base, struct store *store,
    outbox_resolve_fn resolve, void *arg)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->base = base;
	ob->store = store;
	ob->resolve = resolve;
	ob->resolve_arg = arg;
	TAILQ_INIT(&ob->targets);
	ob->recover_upto = store_outbox_max_id(store);
	ob->timer = evtimer_new(base, outbox_pass, ob);
	ob->wake_ev = event_new(base, -1, 0, outbox_pass, ob);
	outbox_refresh_targets(ob);
	return ob;
}

void
outbox_set_observer(struct outbox *ob, outbox_observer_fn fn, void *arg)
{
	ob->observer = fn;
	ob->observer_arg = arg;
}

void
outbox_set_conf(struct outbox *ob, struct conf *conf)
{
	char **targets;
	size_t n;

	conf_unref(&ob->conf);
	ob->conf = conf_ref(conf);
	n = conf_targets(conf, &targets);
	outbox_add_targets(ob, targets, n);
	outbox_wake(ob);
}

void
outbox_notify(struct outbox *ob, const char *target)
{
	outbox_target(ob, target);
	outbox_wake(ob);
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
	return ob->inflight;
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
	struct outbox_target *t;

	*obp = NULL;
	if (ob == NULL)
		return;
	event_free(ob->timer);
	event_free(ob->wake_ev);
	while ((t = TAILQ_FIRST(&ob->targets)) != NULL) {
		TAILQ_REMOVE(&ob->targets, t, entry);
		free(t->target);
		free(t->ids);
		free(t);
	}
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

static int
outbox_is_inflight(const struct outbox_target *t, int64_t id)
{
	size_t i;

	for (i = 0; i < t->nids; i++)
		if (t->ids[i] == id)
			return 1;
	return 0;
}

static void
outbox_delivery_free(struct outbox_delivery *od)
{
	outbox_row_free(&od->d.row);
	free(od->d.raw);
	free(od->err);
	if (od->record_ev != NULL)
		event_free(od->record_ev);
	free(od);
}

static void	 outbox_record(struct outbox_delivery *);

static void
outbox_record_again(evutil_socket_t fd, short events, void *arg)
{
	outbox_record(arg);
}

/* The outcome is on disk, or could not be written. */
static void
outbox_recorded(void *arg, enum store_result result, const char *err)
{
	struct outbox_delivery *od = arg;
	struct outbox_target *t = od->t;
	struct outbox *ob = od->ob;
	struct timeval tv = { OUTBOX_RECORD_RETRY, 0 };
	size_t i;

	if (result != STORE_OK) {
		/*
		 * Not written: the row is still pending on disk.  Keep it in
		 * flight and record the same outcome again, so a delivered
		 * message is not delivered a second time.
		 */
		if (od->record_ev == NULL) {
			/* Once per delivery: a full disk may last. */
			log_warnx("event=outbox-record id=%lld msgid=%s"
			    " target=%s result=retrying error=%s",
			    (long long)od->d.row->id, log_q(od->d.row->msgid),
			    log_q(t->target), log_q(err));
			od->record_ev = evtimer_new(ob->base,
			    outbox_record_again, od);
		}
		evtimer_add(od->record_ev, &tv);
		return;
	}
	if (ob->observer != NULL)
		ob->observer(ob->observer_arg, od->d.row, od->state, od->err);
	for (i = 0; i < t->nids; i++)
		if (t->ids[i] == od->d.row->id) {
			t->ids[i] = t->ids[--t->nids];
			break;
		}
	ob->inflight--;
	outbox_delivery_free(od);
	outbox_wake(ob);
}

static void
outbox_record(struct outbox_delivery *od)
{
	store_outbox_result(od->ob->store, od->d.row->id, od->state,
	    od->next_try, od->err, outbox_recorded, od);
}

/* A transport is done with a row: record done, retry or dead letter. */
static void
outbox_delivery_done(struct delivery *d, enum delivery_result result,
    const char *err)
{
	struct outbox_delivery *od = (struct outbox_delivery *)d;
	struct outbox_row *row = d->row;
	const struct conf *conf = od->ob->conf;
	time_t now = time(NULL);
	long long attempts = row->attempts + 1;

	if (err == NULL)
		err = "unknown error";
	if (result == DELIVERY_OK) {
		log_info("event=delivered msgid=%s target=%s attempts=%lld",
		    log_q(row->msgid), log_q(row->target), attempts);
		od->state = OUTBOX_DONE;
	} else if (result == DELIVERY_TEMPFAIL &&
	    attempts < conf->max_attempts && now - row->since < conf->max_age) {
		od->state = OUTBOX_PENDING;
		od->next_try = now + outbox_backoff(conf, attempts);
		od->err = xstrdup(err);
		log_warnx("event=deferred msgid=%s target=%s attempts=%lld"
		    " retry-in=%lld reason=%s", log_q(row->msgid),
		    log_q(row->target), attempts,
		    (long long)(od->next_try - now), log_q(err));
	} else {
		od->state = OUTBOX_DEAD;
		od->err = result == DELIVERY_PERMFAIL ? xstrdup(err) :
		    xasprintf("gave up after %lld attempts over %llds: %s",
		    attempts, (long long)(now - row->since), err);
		log_warnx("event=dead-letter msgid=%s target=%s attempts=%lld"
		    " reason=%s", log_q(row->msgid), log_q(row->target),
		    attempts, log_q(od->err));
	}
	outbox_record(od);
}

/* Start one delivery; the row is the delivery's from here on. */
static void
outbox_start(struct outbox *ob, struct outbox_target *t,
    struct outbox_row *row)
{
	struct outbox_delivery *od = xcalloc(1, sizeof(*od));
	struct transport *tr;

	od->ob = ob;
	od->t = t;
	od->d.row = row;
	od->d.done = outbox_delivery_done;
	od->d.recovering = row->attempts > 0 || row->id <= ob->recover_upto;
	t->ids = xreallocarray(t->ids, t->nids + 1, sizeof(*t->ids));
	t->ids[t->nids++] = row->id;
	ob->inflight++;

	if ((tr = ob->resolve(ob->resolve_arg, row->target)) == NULL) {
		od->d.done(&od->d, DELIVERY_TEMPFAIL, "no transport is"
		    " configured for this target");
		return;
	}
	if (store_message_raw(ob->store, row->message, &od->d.raw,
	    &od->d.len) == -1) {
		od->d.done(&od->d, DELIVERY_TEMPFAIL, "could not read the"
		    " message from the store");
		return;
	}
	log_debug("event=deliver msgid=%s target=%s transport=%s attempt=%lld",
	    log_q(row->msgid), log_q(row->target), tr->ops->name,
	    row->attempts + 1);
	tr->ops->deliver(tr, &od->d);
}

/* Start what is due for one target, as far as its room allows. */
static void
outbox_pass_target(struct outbox *ob, struct outbox_target *t, time_t now)
{
	struct outbox_row **rows;
	size_t room, n, i;

	room = (size_t)ob->conf->delivery_concurrency;
	if (t->nids >= room || ob->inflight >= OUTBOX_INFLIGHT_MAX)
		return;
	room -= t->nids;
	if (room > OUTBOX_INFLIGHT_MAX - ob->inflight)
		room = OUTBOX_INFLIGHT_MAX - ob->inflight;
	/* Rows in flight are still pending on disk: ask for that many more. */
	if (store_outbox_due(ob->store, t->target, now, room + t->nids, &rows,
	    &n) == -1)
		return;
	for (i = 0; i < n; i++) {
		if (room == 0 || outbox_is_inflight(t, rows[i]->id)) {
			outbox_row_free(&rows[i]);
			continue;
		}
		room--;
		outbox_start(ob, t, rows[i]);
	}
	free(rows);
}

static void
outbox_pass(evutil_socket_t fd, short events, void *arg)
{
	struct outbox *ob = arg;
	struct outbox_target *t;
	struct timeval tv = { OUTBOX_IDLE_MAX, 0 };
	time_t now = time(NULL), next;

	if (ob->stopped || ob->conf == NULL)
		return;
	TAILQ_FOREACH(t, &ob->targets, entry)
		outbox_pass_target(ob, t, now);

	if (ob->stopped)
		return;
	/* Sleep until the next retry; finished deliveries wake us sooner. */
	if ((next = store_outbox_next(ob->store)) != -1 &&
	    next - now < OUTBOX_IDLE_MAX)
		tv.tv_sec = next > now ? next - now : 1;
	evtimer_add(ob->timer, &tv);
}
