/*
 * smtp_client.c: the list side's transport: news and forum posts go to
 * each channel's list by SMTP (RFC 5321) to the MTA, or by LMTP (RFC
 * 2033) straight to Mailman's LMTP runner.
 *
 * A pool of client sessions, each a state machine on a bufferevent that
 * runs one transaction at a time: greeting, EHLO (LHLO), then for every
 * delivery MAIL FROM the channel's gateway address, RCPT TO the list,
 * DATA with the message that mailout_shape() made.  A session stays open
 * for SMTP_CLIENT_IDLE seconds after its last transaction and takes the
 * next delivery that waits; more sessions open, up to
 * delivery-concurrency, while deliveries wait.
 *
 * A 2xx to the final dot is delivered; 4xx, a lost connection or a
 * timeout is "later" (the outbox retries with backoff); 5xx is a dead
 * letter with the server's words, and over SMTP the author gets a notice
 * (mailout_notice) from the null sender, so no bounce can loop.  LMTP to
 * Mailman reaches no one else, so there the dead letter is all.
 *
 * A target "mail:ADDRESS" is the forum's own mail (forum.c): sent as it
 * is to that address.
 *
 * Mail is at least once: a crash between the server's 250 and the
 * outbox's commit sends the message again, with the same Message-ID.
 */

#include <sys/queue.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "syncd.h"
#include "smtp.h"

/* RFC 5321 section 4.5.3.2: 5 minutes for a reply, 10 for the final one. */
#define SMTP_CLIENT_TIMEOUT	300
#define SMTP_CLIENT_DATA_TIMEOUT 600
/* An idle session closes after this many seconds. */
#define SMTP_CLIENT_IDLE	10
/* Longer reply lines, or more of them, are nonsense (512 is the limit). */
#define SMTP_CLIENT_LINE_MAX	4096
#define SMTP_CLIENT_LINES_MAX	100

enum mc_state {
	MC_CONNECTING,
	MC_GREETING,		/* waiting for 220 */
	MC_EHLO,		/* EHLO or LHLO sent */
	MC_HELO,		/* HELO sent after EHLO was refused */
	MC_READY,		/* between transactions */
	MC_MAIL,
	MC_RCPT,
	MC_DATA,		/* waiting for 354 */
	MC_BODY,		/* the message sent, waiting for the verdict */
	MC_RSET,		/* after a failed transaction */
	MC_QUIT
};

static const char *const mc_state_names[] = {
	"connecting", "greeting", "ehlo", "helo", "ready", "mail", "rcpt",
	"data", "body", "rset", "quit"
};

struct mc_item {
	TAILQ_ENTRY(mc_item) entry;
	struct delivery	*d;
};
TAILQ_HEAD(mc_items, mc_item);

struct smtp_client;

struct mc_session {
	TAILQ_ENTRY(mc_session) entry;
	struct smtp_client *cl;
	struct bufferevent *bev;
	unsigned int	 id;
	enum mc_state	 state;
	/* What EHLO offered. */
	int		 esmtp;
	int		 eightbit;
	long long	 max_size;	/* 0: no SIZE limit given */
	/* The transaction in hand: a delivery, or a notice (d NULL). */
	struct delivery	*d;
	char		*msgid;		/* for the log */
	char		*sender;
	char		*rcpt;
	char		*data;
	size_t		 len;
	/* A notice to send after the RSET, and to whom. */
	char		*notice;
	size_t		 notice_len;
	char		*notice_rcpt;
	char		*notice_about;	/* the refused message's ID */
	/* The reply being read: its lines so far. */
	struct evbuffer	*reply;
	int		 nlines;
};
TAILQ_HEAD(mc_sessions, mc_session);

struct smtp_client {
	struct event_base *base;
	struct transport *t;
	char		*address;
	int		 lmtp;
	struct mc_items	 queue;		/* waiting for a session */
	size_t		 nqueue;
	struct mc_sessions sessions;
	size_t		 nsessions;
	unsigned int	 next_id;
};

static void	 mc_kick(struct smtp_client *);
static void	 mc_session_free(struct mc_session *, const char *why);

static const char *
mc_name(const struct mc_session *s)
{
	return s->cl->lmtp ? "lmtp" : "smtp";
}

/* Hand the delivery in hand back to the outbox. */
static void
mc_done(struct mc_session *s, enum delivery_result result, const char *fmt,
    ...) PRINTFLIKE(3, 4);

static void
mc_done(struct mc_session *s, enum delivery_result result, const char *fmt,
    ...)
{
	struct delivery *d = s->d;
	va_list ap;
	char *err = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&err, fmt, ap) == -1)
			fatal("mc_done");
		va_end(ap);
	}
	if (d != NULL) {
		log_info("event=mail-out session=%s:%u peer=%s msgid=%s"
		    " target=%s result=%s%s%s", mc_name(s), s->id,
		    s->cl->address, log_q(s->msgid), log_q(d->row->target),
		    result == DELIVERY_OK ? "sent" : result ==
		    DELIVERY_TEMPFAIL ? "later" : "refused", err != NULL ?
		    " error=" : "", err != NULL ? log_q(err) : "");
		s->d = NULL;
		d->done(d, result, err);
	} else if (s->rcpt != NULL)
		log_info("event=notice session=%s:%u rcpt=%s about=%s"
		    " result=%s%s%s", mc_name(s), s->id, log_q(s->rcpt),
		    log_q(s->msgid), result == DELIVERY_OK ? "sent" :
		    "not-sent", err != NULL ? " error=" : "",
		    err != NULL ? log_q(err) : "");
	free(err);
	free(s->msgid);
	free(s->sender);
	free(s->rcpt);
	free(s->data);
	s->msgid = s->sender = s->rcpt = s->data = NULL;
	s->len = 0;
}

static void
mc_send(struct mc_session *s, enum mc_state next, const char *fmt, ...)
    PRINTFLIKE(3, 4);

static void
mc_send(struct mc_session *s, enum mc_state next, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	s->state = next;
}

/* The message, dot-stuffed (RFC 5321 section 4.5.2), and the final dot. */
static void
mc_send_data(struct mc_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	const char *p = s->data, *end = s->data + s->len, *nl;
	struct timeval tv = { SMTP_CLIENT_DATA_TIMEOUT, 0 };

	while (p < end) {
		if (*p == '.')
			evbuffer_add(out, ".", 1);
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end - 1;
		evbuffer_add(out, p, nl - p + 1);
		p = nl + 1;
	}
	if (s->len > 0 && s->data[s->len - 1] != '\n')
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	s->state = MC_BODY;
}

static int
mc_8bit(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] > 0x7f)
			return 1;
	return 0;
}

/* MAIL FROM for the transaction set up in s. */
static void
mc_send_mail(struct mc_session *s)
{
	char size[32] = "";
	const char *body = "";

	if (s->esmtp && s->max_size >= 0)
		snprintf(size, sizeof(size), " SIZE=%zu", s->len);
	/* RFC 6152: without 8BITMIME the bytes go as they are. */
	if (s->eightbit && mc_8bit(s->data, s->len))
		body = " BODY=8BITMIME";
	mc_send(s, MC_MAIL, "MAIL FROM:<%s>%s%s", s->sender, size, body);
}

/*
 * Take the next delivery: shape it for its list and start the
 * transaction; 0 when nothing waits.
 */
static int
mc_start(struct mc_session *s)
{
	struct smtp_client *cl = s->cl;
	const struct conf *conf = cl->t->conf;
	const struct conf_channel *c;
	struct mc_item *it;
	const char *list, *err;
	struct timeval tv = { SMTP_CLIENT_TIMEOUT, 0 };

	if (s->notice != NULL) {
		/* The author of a refused message: from the null sender. */
		s->data = s->notice;
		s->len = s->notice_len;
		s->rcpt = s->notice_rcpt;
		s->sender = xstrdup("");
		s->msgid = s->notice_about;
		s->notice = s->notice_rcpt = s->notice_about = NULL;
		bufferevent_set_timeouts(s->bev, &tv, NULL);
		mc_send_mail(s);
		return 1;
	}
	while ((it = TAILQ_FIRST(&cl->queue)) != NULL) {
		TAILQ_REMOVE(&cl->queue, it, entry);
		cl->nqueue--;
		s->d = it->d;
		free(it);
		s->msgid = xstrdup(s->d->row->msgid);
		list = s->d->row->target + strcspn(s->d->row->target, ":");
		if (*list == ':')
			list++;
		if (strncmp(s->d->row->target, "mail:", 5) == 0) {
			/*
			 * The forum's own mail (forum-mail): as it is, to
			 * its one recipient, from the null sender, so that
			 * no bounce of it can loop (RFC 3834 section 3.2).
			 */
			s->data = xmemdup(s->d->raw, s->d->len);
			s->len = s->d->len;
			s->sender = xstrdup("");
			s->rcpt = xstrdup(list);
			bufferevent_set_timeouts(s->bev, &tv, NULL);
			mc_send_mail(s);
			return 1;
		}
		if ((c = conf_channel_by_address(conf, list)) == NULL ||
		    c->list == NULL || strcasecmp(c->list, list) != 0) {
			mc_done(s, DELIVERY_PERMFAIL, "no channel has the list"
			    " %s any more", list);
			continue;
		}
		if ((s->data = mailout_shape(conf, c, s->d->raw, s->d->len,
		    &s->len, &err)) == NULL) {
			mc_done(s, DELIVERY_PERMFAIL, "not a message: %s", err);
			continue;
		}
		if (s->max_size > 0 && (long long)s->len > s->max_size) {
			mc_done(s, DELIVERY_PERMFAIL, "%s takes at most %lld"
			    " octets, the message has %zu", cl->address,
			    s->max_size, s->len);
			continue;
		}
		s->sender = xstrdup(c->gateway_address != NULL ?
		    c->gateway_address : "");
		s->rcpt = xstrdup(c->list);
		bufferevent_set_timeouts(s->bev, &tv, NULL);
		mc_send_mail(s);
		return 1;
	}
	return 0;
}

/* Between transactions: the next one, or wait a while for one. */
static void
mc_ready(struct mc_session *s)
{
	struct timeval tv = { SMTP_CLIENT_IDLE, 0 };

	/* Busy while it looks: mc_kick leaves it alone. */
	s->state = MC_MAIL;
	if (mc_start(s))
		return;
	s->state = MC_READY;
	bufferevent_set_timeouts(s->bev, &tv, NULL);
}

/*
 * The server refused the delivery in hand for good: the dead letter, and
 * over SMTP a notice to the author for after the RSET.
 */
static void
mc_refused(struct mc_session *s, const char *reply)
{
	const struct conf *conf = s->cl->t->conf;
	const struct conf_channel *c;
	const char *list;

	if (s->d != NULL && !s->cl->lmtp && s->notice == NULL) {
		list = s->d->row->target + strcspn(s->d->row->target, ":");
		if (*list == ':' &&
		    (c = conf_channel_by_address(conf, list + 1)) != NULL &&
		    c->list != NULL)
			s->notice = mailout_notice(conf, c, s->d->raw,
			    s->d->len, reply, &s->notice_rcpt,
			    &s->notice_len);
		if (s->notice != NULL)
			s->notice_about = xstrdup(s->msgid);
	}
	mc_done(s, DELIVERY_PERMFAIL, "%s refused it: %s", s->cl->address,
	    reply);
}

/* The end of a transaction that failed: 4xx later, 5xx never. */
static void
mc_failed(struct mc_session *s, int code, const char *reply)
{
	if (code / 100 == 5)
		mc_refused(s, reply);
	else
		mc_done(s, DELIVERY_TEMPFAIL, "%s: %s", s->cl->address, reply);
	mc_send(s, MC_RSET, "RSET");
}

/* What EHLO (LHLO) offered: one keyword per line after the first. */
static void
mc_extensions(struct mc_session *s, const char *text)
{
	const char *line = text, *end;
	size_t n;

	s->esmtp = 1;
	s->eightbit = 0;
	s->max_size = -1;
	while ((end = strchr(line, '\n')) != NULL) {
		line = end + 1;
		n = strcspn(line, " \n");
		if (n == 8 && strncasecmp(line, "8BITMIME", 8) == 0)
			s->eightbit = 1;
		else if (n == 4 && strncasecmp(line, "SIZE", 4) == 0)
			s->max_size = strtoll(line + 4, NULL, 10);
	}
}

/*
 * One whole reply: code and its lines, joined by newlines.  -1 when the
 * session is gone.
 */
static int
mc_reply(struct mc_session *s, int code, const char *text)
{
	struct smtp_client *cl = s->cl;
	int ok = code / 100 == 2;

	log_debug("event=mail-out session=%s:%u state=%s reply=%s",
	    mc_name(s), s->id, mc_state_names[s->state], log_q(text));
	/* RFC 5321 section 3.8: 421, the server is going away. */
	if (code == 421 || s->state == MC_QUIT) {
		mc_session_free(s, s->state == MC_QUIT ? NULL : text);
		return -1;
	}
	switch (s->state) {
	case MC_GREETING:
		if (code != 220)
			break;
		mc_send(s, MC_EHLO, "%s %s", cl->lmtp ? "LHLO" : "EHLO",
		    cl->t->conf->hostname);
		return 0;
	case MC_EHLO:
		if (ok) {
			mc_extensions(s, text);
			mc_ready(s);
			return 0;
		}
		if (cl->lmtp || code / 100 != 5)
			break;
		mc_send(s, MC_HELO, "HELO %s", cl->t->conf->hostname);
		return 0;
	case MC_HELO:
		if (!ok)
			break;
		s->esmtp = s->eightbit = 0;
		s->max_size = -1;
		mc_ready(s);
		return 0;
	case MC_MAIL:
		if (ok)
			mc_send(s, MC_RCPT, "RCPT TO:<%s>", s->rcpt);
		else
			mc_failed(s, code, text);
		return 0;
	case MC_RCPT:
		if (ok)
			mc_send(s, MC_DATA, "DATA");
		else
			mc_failed(s, code, text);
		return 0;
	case MC_DATA:
		if (code == 354)
			mc_send_data(s);
		else
			mc_failed(s, code, text);
		return 0;
	case MC_BODY:
		/* LMTP: one recipient, so one reply (RFC 2033 section 4.2). */
		if (!ok) {
			mc_failed(s, code, text);
			return 0;
		}
		mc_done(s, DELIVERY_OK, NULL);
		mc_ready(s);
		return 0;
	case MC_RSET:
		if (!ok)
			break;
		mc_ready(s);
		return 0;
	case MC_READY:
	case MC_CONNECTING:
	case MC_QUIT:
		text = "a reply to nothing we sent";
		break;
	}
	mc_session_free(s, text);
	return -1;
}

/* Replies, line by line; we never pipeline, so one is expected. */
static void
mc_read(struct bufferevent *bev, void *arg)
{
	struct mc_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line, *text;
	size_t n;
	int code;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		if (n < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (n > 3 && line[3] != ' ' &&
		    line[3] != '-') || ++s->nlines > SMTP_CLIENT_LINES_MAX) {
			free(line);
			mc_session_free(s, "not an SMTP reply");
			return;
		}
		if (evbuffer_get_length(s->reply) > 0)
			evbuffer_add(s->reply, "\n", 1);
		evbuffer_add(s->reply, line, n);
		code = atoi(line);
		if (n > 3 && line[3] == '-') {
			free(line);
			continue;
		}
		free(line);
		n = evbuffer_get_length(s->reply);
		text = xmalloc(n + 1);
		evbuffer_remove(s->reply, text, n);
		text[n] = '\0';
		s->nlines = 0;
		code = mc_reply(s, code, text);
		free(text);
		if (code == -1)
			return;
	}
	if (evbuffer_get_length(in) > SMTP_CLIENT_LINE_MAX)
		mc_session_free(s, "an overlong reply line");
}

static void
mc_event(struct bufferevent *bev, short events, void *arg)
{
	struct mc_session *s = arg;
	struct timeval tv = { SMTP_CLIENT_TIMEOUT, 0 };
	char why[256];

	if (events & BEV_EVENT_CONNECTED) {
		s->state = MC_GREETING;
		bufferevent_set_timeouts(bev, &tv, NULL);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((events & BEV_EVENT_TIMEOUT) && s->state == MC_READY) {
		/* Idle long enough: say goodbye (RFC 5321 section 4.1.1.10). */
		mc_send(s, MC_QUIT, "QUIT");
		bufferevent_set_timeouts(bev, &tv, NULL);
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (events & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no reply for %ds",
		    s->state == MC_BODY ? SMTP_CLIENT_DATA_TIMEOUT :
		    SMTP_CLIENT_TIMEOUT);
	else if (events & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the server closed the connection");
	else
		snprintf(why, sizeof(why), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	mc_session_free(s, s->state == MC_QUIT ? NULL : why);
}

/*
 * End a session; why is NULL for an orderly end.  What it had in hand is
 * "later"; when it was the last session and never got ready, the
 * deliveries waiting for one are "later" too, so a server that is down
 * does not hold them.
 */
static void
mc_session_free(struct mc_session *s, const char *why)
{
	struct smtp_client *cl = s->cl;
	struct mc_item *it;
	int never_ready = s->state <= MC_HELO;

	if (why != NULL)
		log_warnx("event=mail-out session=%s:%u peer=%s state=%s"
		    " result=dropped reason=%s", mc_name(s), s->id,
		    cl->address, mc_state_names[s->state], log_q(why));
	if (s->d != NULL || s->rcpt != NULL)
		mc_done(s, DELIVERY_TEMPFAIL, "%s: %s", cl->address,
		    why != NULL ? why : "connection closed");
	free(s->notice);
	free(s->notice_rcpt);
	free(s->notice_about);
	TAILQ_REMOVE(&cl->sessions, s, entry);
	cl->nsessions--;
	bufferevent_free(s->bev);
	evbuffer_free(s->reply);
	free(s);
	if (!never_ready) {
		mc_kick(cl);
		return;
	}
	/* Not even a greeting: the others, if any, take what waits. */
	if (cl->nsessions > 0)
		return;
	while ((it = TAILQ_FIRST(&cl->queue)) != NULL) {
		TAILQ_REMOVE(&cl->queue, it, entry);
		cl->nqueue--;
		it->d->done(it->d, DELIVERY_TEMPFAIL, why != NULL ? why :
		    "connection closed");
		free(it);
	}
}

static void
mc_connect(struct smtp_client *cl)
{
	struct mc_session *s;

	s = xcalloc(1, sizeof(*s));
	s->cl = cl;
	s->id = ++cl->next_id;
	s->state = MC_CONNECTING;
	s->reply = evbuffer_new();
	s->bev = bufferevent_socket_new(cl->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->reply == NULL || s->bev == NULL)
		fatalx("mc_connect: out of memory");
	TAILQ_INSERT_TAIL(&cl->sessions, s, entry);
	cl->nsessions++;
	bufferevent_setcb(s->bev, mc_read, NULL, mc_event, s);
	log_debug("event=mail-out session=%s:%u peer=%s state=connecting",
	    mc_name(s), s->id, cl->address);
	if (listen_connect(s->bev, cl->address) == -1)
		mc_session_free(s, strerror(errno));
}

/* Give waiting deliveries to ready sessions, and open more if needed. */
static void
mc_kick(struct smtp_client *cl)
{
	struct mc_session *s, *next;
	size_t starting = 0;

	for (s = TAILQ_FIRST(&cl->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == MC_READY && cl->nqueue > 0)
			mc_ready(s);
		else if (s->state <= MC_HELO)
			starting++;
	}
	if (cl->nqueue > starting && cl->nsessions <
	    (size_t)cl->t->conf->delivery_concurrency)
		mc_connect(cl);
}

static void
mc_deliver(struct transport *t, struct delivery *d)
{
	struct smtp_client *cl = t->priv;
	struct mc_item *it = xcalloc(1, sizeof(*it));

	it->d = d;
	TAILQ_INSERT_TAIL(&cl->queue, it, entry);
	cl->nqueue++;
	mc_kick(cl);
}

static void
mc_free(struct transport *t)
{
	struct smtp_client *cl = t->priv;
	struct mc_session *s;
	struct mc_item *it;

	while ((it = TAILQ_FIRST(&cl->queue)) != NULL) {
		TAILQ_REMOVE(&cl->queue, it, entry);
		it->d->done(it->d, DELIVERY_TEMPFAIL,
		    "the transport was reconfigured");
		free(it);
	}
	cl->nqueue = 0;
	while ((s = TAILQ_FIRST(&cl->sessions)) != NULL)
		mc_session_free(s, s->d != NULL ?
		    "the transport was reconfigured" : NULL);
	free(cl->address);
	free(cl);
}

static const struct transport_ops smtp_client_ops = {
	"smtp",
	mc_deliver,
	mc_free,
};

struct transport *
smtp_client_new(struct event_base *base, struct conf *conf,
    const char *address, int lmtp)
{
	struct transport *t = xcalloc(1, sizeof(*t));
	struct smtp_client *cl = xcalloc(1, sizeof(*cl));

	cl->base = base;
	cl->t = t;
	cl->address = xstrdup(address);
	cl->lmtp = lmtp;
	TAILQ_INIT(&cl->queue);
	TAILQ_INIT(&cl->sessions);
	t->ops = &smtp_client_ops;
	t->conf = conf_ref(conf);
	t->priv = cl;
	return t;
}
