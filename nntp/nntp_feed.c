/*
 * nntp_feed.c: the news side's transport: articles for a peer (INN, or
 * any NNTP transit server) go out by streaming (RFC 4644 CHECK, then
 * TAKETHIS) when the peer allows MODE STREAM, else by IHAVE (RFC 3977
 * section 6.3.2).
 *
 * One connection, a client state machine on a bufferevent.  In streaming
 * mode every delivery the outbox hands over is offered at once with CHECK
 * and sent with TAKETHIS on 238, all pipelined; the answers come back in
 * the order of the commands, so a FIFO of what was sent matches each
 * answer to its delivery.  IHAVE goes one article at a time.
 *
 * What the peer already has (435, 438) counts as delivered; 436 and 431
 * are "later" (the outbox retries with backoff); 437 and 439 are final
 * and the message becomes a dead letter with the peer's words.  A lost
 * connection fails what was in flight as "later" and the next delivery
 * connects again.  Every article carries our Path identity, so the peer's
 * own feed rules keep it from coming back to us.
 */

#include <sys/queue.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "nntp.h"

/* No answer for this long: the peer is gone. */
#define FEED_TIMEOUT		60
/* CHECKs in flight at once. */
#define FEED_WINDOW		64
/* A line from the peer longer than this is nonsense. */
#define FEED_LINE_MAX		4096

enum feed_state {
	FS_IDLE,		/* no connection */
	FS_CONNECTING,
	FS_GREETING,		/* waiting for 200/201 */
	FS_MODE,		/* sent MODE STREAM */
	FS_READY
};

enum feed_stage {
	FI_NEW,			/* not offered yet */
	FI_CHECK,		/* CHECK sent */
	FI_TAKETHIS,		/* TAKETHIS and the article sent */
	FI_IHAVE,		/* IHAVE sent */
	FI_IHAVE_ARTICLE	/* the article sent after 335 */
};

struct feed_item {
	TAILQ_ENTRY(feed_item) entry;
	struct delivery	*d;
	enum feed_stage	 stage;
};
TAILQ_HEAD(feed_items, feed_item);

struct nntp_feed {
	struct event_base *base;
	struct store	*store;
	char		*address;
	struct bufferevent *bev;
	enum feed_state	 state;
	int		 streaming;
	struct feed_items queue;	/* waiting to be offered */
	struct feed_items sent;		/* waiting for an answer, in order */
	size_t		 nsent;
};

static const char *feed_state_names[] = {
	"idle", "connecting", "greeting", "mode", "ready"
};

static void	 feed_kick(struct transport *);

/* Hand a delivery back to the outbox. */
static void
feed_item_done(struct feed_item *fi, enum delivery_result result,
    const char *fmt, ...) PRINTFLIKE(3, 4);

static void
feed_item_done(struct feed_item *fi, enum delivery_result result,
    const char *fmt, ...)
{
	struct delivery *d = fi->d;
	va_list ap;
	char *err = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&err, fmt, ap) == -1)
			fatal("feed_item_done");
		va_end(ap);
	}
	free(fi);
	d->done(d, result, err);
	free(err);
}

/* The connection is gone: everything in hand is tried again later. */
static void
feed_drop(struct transport *t, const char *why)
{
	struct nntp_feed *f = t->priv;
	struct feed_item *fi;

	if (f->bev != NULL) {
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
	if (f->state != FS_IDLE && (why != NULL || !TAILQ_EMPTY(&f->sent)))
		log_warnx("event=feed peer=%s state=%s result=dropped"
		    " in-flight=%zu reason=%s", f->address,
		    feed_state_names[f->state], f->nsent, log_q(why));
	f->state = FS_IDLE;
	f->streaming = 0;
	while ((fi = TAILQ_FIRST(&f->sent)) != NULL) {
		TAILQ_REMOVE(&f->sent, fi, entry);
		feed_item_done(fi, DELIVERY_TEMPFAIL, "%s: %s", f->address,
		    why != NULL ? why : "connection closed");
	}
	f->nsent = 0;
	while ((fi = TAILQ_FIRST(&f->queue)) != NULL) {
		TAILQ_REMOVE(&f->queue, fi, entry);
		feed_item_done(fi, DELIVERY_TEMPFAIL, "%s: %s", f->address,
		    why != NULL ? why : "connection closed");
	}
}

static void
feed_send(struct nntp_feed *f, struct feed_item *fi, const char *verb)
{
	evbuffer_add_printf(bufferevent_get_output(f->bev), "%s %s\r\n", verb,
	    fi->d->row->msgid);
	TAILQ_INSERT_TAIL(&f->sent, fi, entry);
	f->nsent++;
}

/*
 * The article itself, dot-stuffed and ended.  When the store cannot give
 * it, the command is out already: it is ended empty, the peer refuses
 * that, and the delivery is tried again later.
 */
static void
feed_send_article(struct transport *t, struct feed_item *fi)
{
	struct nntp_feed *f = t->priv;
	struct evbuffer *out = bufferevent_get_output(f->bev);

	if (nntp_article_view(t->conf, f->store, fi->d->row->message, 'F',
	    out) == -1)
		log_warnx("event=feed msgid=%s error=\"could not read the"
		    " article\"", log_q(fi->d->row->msgid));
	evbuffer_add(out, ".\r\n", 3);
}

/* The peer's last word: ok delivered, perm refused for good (-1: none). */
static void
feed_verdict(struct nntp_feed *f, struct feed_item *fi, int code, int ok,
    int perm, const char *line)
{
	if (code == ok)
		feed_item_done(fi, DELIVERY_OK, NULL);
	else if (code == perm)
		feed_item_done(fi, DELIVERY_PERMFAIL, "%s refused it: %s",
		    f->address, line);
	else
		feed_item_done(fi, DELIVERY_TEMPFAIL, "%s: %s", f->address,
		    line);
}

/* Offer what waits, as far as the mode allows. */
static void
feed_kick(struct transport *t)
{
	struct nntp_feed *f = t->priv;
	struct feed_item *fi;

	if (f->state != FS_READY)
		return;
	while ((fi = TAILQ_FIRST(&f->queue)) != NULL) {
		if (f->streaming ? f->nsent >= FEED_WINDOW : f->nsent > 0)
			break;
		TAILQ_REMOVE(&f->queue, fi, entry);
		fi->stage = f->streaming ? FI_CHECK : FI_IHAVE;
		feed_send(f, fi, f->streaming ? "CHECK" : "IHAVE");
	}
}

/* One answer to the oldest command in flight. */
static void
feed_answer(struct transport *t, int code, const char *line)
{
	struct nntp_feed *f = t->priv;
	struct feed_item *fi = TAILQ_FIRST(&f->sent);

	if (fi == NULL) {
		feed_drop(t, "an answer to nothing we sent");
		return;
	}
	TAILQ_REMOVE(&f->sent, fi, entry);
	f->nsent--;
	switch (fi->stage) {
	case FI_CHECK:
		if (code == 238) {
			evbuffer_add_printf(bufferevent_get_output(f->bev),
			    "TAKETHIS %s\r\n", fi->d->row->msgid);
			feed_send_article(t, fi);
			fi->stage = FI_TAKETHIS;
			TAILQ_INSERT_TAIL(&f->sent, fi, entry);
			f->nsent++;
		} else
			/* 438: the peer has it; no refusal is final here. */
			feed_verdict(f, fi, code, 438, -1, line);
		break;
	case FI_TAKETHIS:
		feed_verdict(f, fi, code, 239, 439, line);
		break;
	case FI_IHAVE:
		if (code == 335) {
			feed_send_article(t, fi);
			fi->stage = FI_IHAVE_ARTICLE;
			TAILQ_INSERT_HEAD(&f->sent, fi, entry);
			f->nsent++;
		} else
			/* 435: the peer has it. */
			feed_verdict(f, fi, code, 435, 437, line);
		break;
	case FI_IHAVE_ARTICLE:
		feed_verdict(f, fi, code, 235, 437, line);
		break;
	case FI_NEW:
		fatalx("feed_answer: an item that was never sent");
	}
}

static void
feed_read(struct bufferevent *bev, void *arg)
{
	struct transport *t = arg;
	struct nntp_feed *f = t->priv;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;
	int code;

	while (f->bev != NULL &&
	    (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		code = n >= 3 ? atoi(line) : 0;
		log_debug("event=feed peer=%s state=%s line=%s", f->address,
		    feed_state_names[f->state], log_q(line));
		switch (f->state) {
		case FS_GREETING:
			if (code != 200 && code != 201) {
				feed_drop(t, line);
				break;
			}
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "MODE STREAM\r\n");
			f->state = FS_MODE;
			break;
		case FS_MODE:
			f->streaming = code == 203;
			f->state = FS_READY;
			log_info("event=feed peer=%s result=connected mode=%s",
			    f->address, f->streaming ? "streaming" : "ihave");
			break;
		case FS_READY:
			if (code == 400) {
				feed_drop(t, line);
				break;
			}
			feed_answer(t, code, line);
			break;
		default:
			break;
		}
		free(line);
		feed_kick(t);
	}
	if (f->bev != NULL && evbuffer_get_length(in) > FEED_LINE_MAX)
		feed_drop(t, "an overlong line from the peer");
}

static void
feed_event(struct bufferevent *bev, short events, void *arg)
{
	struct transport *t = arg;
	struct nntp_feed *f = t->priv;
	struct timeval tv = { FEED_TIMEOUT, 0 };
	char why[256];

	if (events & BEV_EVENT_CONNECTED) {
		f->state = FS_GREETING;
		bufferevent_set_timeouts(bev, &tv, &tv);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (events & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no answer for %ds", FEED_TIMEOUT);
	else if (events & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the peer closed the connection");
	else
		snprintf(why, sizeof(why), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	/* An idle connection the peer closed is no failure. */
	feed_drop(t, (events & BEV_EVENT_EOF) && f->nsent == 0 &&
	    TAILQ_EMPTY(&f->queue) ? NULL : why);
}

static int
feed_connect(struct transport *t)
{
	struct nntp_feed *f = t->priv;

	f->bev = bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, feed_read, NULL, feed_event, t);
	f->state = FS_CONNECTING;
	return listen_connect(f->bev, f->address);
}

static void
feed_deliver(struct transport *t, struct delivery *d)
{
	struct nntp_feed *f = t->priv;
	struct feed_item *fi = xcalloc(1, sizeof(*fi));

	fi->d = d;
	fi->stage = FI_NEW;
	TAILQ_INSERT_TAIL(&f->queue, fi, entry);
	if (f->state == FS_IDLE && feed_connect(t) == -1) {
		feed_drop(t, strerror(errno));
		return;
	}
	feed_kick(t);
}

static void
feed_free(struct transport *t)
{
	struct nntp_feed *f = t->priv;

	feed_drop(t, f->nsent > 0 || !TAILQ_EMPTY(&f->queue) ?
	    "the transport was reconfigured" : NULL);
	free(f->address);
	free(f);
}

static const struct transport_ops feed_ops = {
	"nntp",
	feed_deliver,
	feed_free,
};

struct transport *
nntp_feed_new(struct event_base *base, struct conf *conf, struct store *store,
    const char *address)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	struct nntp_feed *f = xcalloc(1, sizeof(*f));

	f->base = base;
	f->store = store;
	f->address = xstrdup(address);
	TAILQ_INIT(&f->queue);
	TAILQ_INIT(&f->sent);
	t->ops = &feed_ops;
	t->conf = conf_ref(conf);
	t->priv = f;
	return t;
}
