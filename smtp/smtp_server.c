/*
 * smtp_server.c: list mail in, by LMTP (RFC 2033) or SMTP (RFC 5321),
 * from the MTA that the lists' gateway addresses are routed to.
 *
 * One session per connection, a state machine fed by the bufferevent's
 * input; every reply goes out through smtp_reply.  We are no relay: a
 * recipient is accepted only if it is a channel's gateway-address, and
 * only the hosts in smtp-clients may connect at all.  After the final
 * "." each recipient's copy is cleaned by the reactor on a worker thread
 * (a big message must not stall the loop) and handed to the router; a
 * recipient hears 250 only after the store has committed the message,
 * LMTP giving one reply per recipient, SMTP one for all.
 *
 * A session waiting for those answers reads nothing more, so a client
 * that pipelines past the end of the data is answered in order.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "syncd.h"
#include "smtp.h"

/* RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets. */
#define SMTP_LINE_MAX		512
/* Section 4.5.3.1.8: at least 100 recipients must be taken. */
#define SMTP_RCPT_MAX		100
/* Commands that fail before the connection is closed. */
#define SMTP_ERRORS_MAX		20
/* Output above this stops reading: the client is not reading replies. */
#define SMTP_OUT_HIGH		(64 * 1024)

enum smtp_state {
	SS_HELO,		/* waiting for LHLO/EHLO/HELO */
	SS_MAIL,		/* waiting for MAIL */
	SS_RCPT,		/* MAIL given: RCPT, DATA */
	SS_DATA,		/* reading the message up to "." */
	SS_ROUTING,		/* the reactor and the router have it */
	SS_CLOSING		/* flushing the last reply, then closing */
};

static const char *const smtp_state_names[] = {
	"helo", "mail", "rcpt", "data", "routing", "closing"
};

/* One accepted recipient and, after the data, its answer. */
struct smtp_rcpt {
	char		*addr;
	char		*channel;
	int		 code;		/* 0 until known */
	char		*text;		/* "2.0.0 ..." */
};

struct smtp_listen {
	struct smtp_server *srv;
	struct evconnlistener *l;
	int		 lmtp;
};

/* The blacklist, shared with reactor jobs still running after a reload. */
struct smtp_blacklist {
	int		 refs;
	struct blacklist *bl;
};

struct smtp_session;
TAILQ_HEAD(smtp_sessions, smtp_session);

struct smtp_server {
	struct event_base *base;
	struct router	*router;
	struct worker	*worker;
	struct conf	*conf;
	struct smtp_blacklist *blacklist;
	struct smtp_listen *listeners;
	size_t		 nlisteners;
	struct smtp_sessions sessions;
	size_t		 nsessions;
	unsigned int	 next_id;
};

struct smtp_session {
	TAILQ_ENTRY(smtp_session) entry;
	struct smtp_server *srv;
	struct bufferevent *bev;
	struct evbuffer	*out;		/* replies for smtp_flush to write */
	struct event	*flush_ev;
	unsigned int	 id;
	char		 name[16];	/* "lmtp:3" for the log */
	char		 client[INET6_ADDRSTRLEN];
	int		 lmtp;
	enum smtp_state	 state;
	int		 discard;	/* skipping an overlong command line */
	time_t		 slow;		/* since when a line is unfinished */
	int		 errors;
	int		 gone;		/* the client left while routing */
	char		*helo;
	char		*sender;	/* the reverse-path, "" for <> */
	struct smtp_rcpt *rcpts;
	size_t		 nrcpts;
	struct evbuffer	*data;
	enum dotdata_refusal refusal;
	char		*raw;		/* the message, while routing */
	size_t		 len;
	size_t		 waiting;	/* recipients without an answer */
};

/* One recipient's copy through the reactor, on a worker thread. */
struct smtp_job {
	struct smtp_session *s;
	size_t		 rcpt;
	struct conf	*conf;		/* held: rc points into it */
	struct smtp_blacklist *blacklist;
	struct reactor_conf rc;
	struct reactor_result res;
};

struct smtp_command {
	const char	*verb;
	void		 (*run)(struct smtp_session *, const char *);
	unsigned int	 states;	/* 1 << enum smtp_state */
};

static void	 smtp_process(struct smtp_session *);
static void	 smtp_session_free(struct smtp_session *);
static void	 smtp_write_cb(struct bufferevent *, void *);

static void smtp_reply(struct smtp_session *, int, const char *, ...)
    PRINTFLIKE(3, 4);

/*
 * Every reply goes out here.  text starts with the enhanced status code
 * (RFC 3463); a text with line breaks becomes a multiline reply.  It is
 * written by smtp_flush once the callback that made it returns, together
 * with any other reply made meanwhile.
 */
static void
smtp_reply(struct smtp_session *s, int code, const char *fmt, ...)
{
	struct evbuffer *out = s->out;
	char text[1024], *line, *next;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (line = text; (next = strchr(line, '\n')) != NULL;
	    line = next + 1) {
		*next = '\0';
		evbuffer_add_printf(out, "%d-%s\r\n", code, line);
	}
	evbuffer_add_printf(out, "%d %s\r\n", code, line);
	event_active(s->flush_ev, 0, 0);
	if (code >= 400)
		log_info("event=smtp session=%s client=%s state=%s result=%d"
		    " text=%s", s->name, s->client,
		    smtp_state_names[s->state], code, log_q(line));
	else
		log_debug("event=smtp session=%s result=%d", s->name, code);
}

/* Replies not yet taken by the socket. */
static size_t
smtp_unsent(struct smtp_session *s)
{
	return evbuffer_get_length(s->out) +
	    evbuffer_get_length(bufferevent_get_output(s->bev));
}

static void
smtp_close_check(struct smtp_session *s)
{
	if (smtp_unsent(s) == 0)
		smtp_session_free(s);
}

/* Close once the last reply has gone out. */
static void
smtp_close(struct smtp_session *s)
{
	s->state = SS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	smtp_close_check(s);
}

/*
 * The replies, written at once, in the same turn of the loop.  A client
 * that waits for each reply always finds room in the socket, and its
 * reply costs one writev; only what the socket does not take goes to the
 * bufferevent's output, whose write event calls smtp_write_cb when it is
 * out.  That event, enabled for every reply as the bufferevent does it,
 * cost two epoll_ctl calls per reply and a turn of the loop.  (The
 * bufferevent's own output only it may drain, hence s->out.)
 */
static void
smtp_flush(evutil_socket_t fd, short events, void *arg)
{
	struct smtp_session *s = arg;

	if (s->gone || evbuffer_get_length(s->out) == 0)
		return;
	/* Behind what the write event still has: after it, in order. */
	if (!(bufferevent_get_enabled(s->bev) & EV_WRITE)) {
		/* Whatever fails here, the bufferevent finds and reports. */
		(void)evbuffer_write(s->out, bufferevent_getfd(s->bev));
		if (evbuffer_get_length(s->out) == 0) {
			smtp_write_cb(s->bev, s);
			return;
		}
	}
	bufferevent_write_buffer(s->bev, s->out);
	bufferevent_enable(s->bev, EV_WRITE);
}

/* A failed command; too many and the client is shown the door. */
static void
smtp_error(struct smtp_session *s, int code, const char *text)
{
	smtp_reply(s, code, "%s", text);
	if (++s->errors >= SMTP_ERRORS_MAX) {
		smtp_reply(s, 421, "4.7.0 %s too many errors, closing",
		    s->srv->conf->hostname);
		smtp_close(s);
	}
}

/* Forget the transaction (RSET, a new MAIL, the end of one). */
static void
smtp_reset(struct smtp_session *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].addr);
		free(s->rcpts[i].channel);
		free(s->rcpts[i].text);
	}
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = 0;
	free(s->sender);
	s->sender = NULL;
	if (s->data != NULL)
		evbuffer_free(s->data);
	s->data = NULL;
	free(s->raw);
	s->raw = NULL;
	s->len = 0;
	if (s->state != SS_HELO && s->state != SS_CLOSING)
		s->state = SS_MAIL;
}

/*
 * The address in "<addr>" after "FROM:" or "TO:" (RFC 5321 section
 * 4.1.2), and in *params_r what follows it.  A source route ("@a,@b:")
 * is dropped as section 4.1.1.3 allows.  NULL when it does not parse.
 */
static char *
smtp_path(const char *arg, const char *prefix, const char **params_r)
{
	size_t n = strlen(prefix);
	const char *p, *e, *colon;

	if (strncasecmp(arg, prefix, n) != 0)
		return NULL;
	p = arg + n;
	while (*p == ' ')		/* "MAIL FROM: <a>", common enough */
		p++;
	if (*p != '<' || (e = strchr(p, '>')) == NULL)
		return NULL;
	p++;
	if (*p == '@' && (colon = memchr(p, ':', e - p)) != NULL)
		p = colon + 1;
	for (*params_r = e + 1; **params_r == ' '; (*params_r)++)
		;
	return xstrndup(p, e - p);
}

/* A plausible mailbox: local@domain, printable, no white space. */
static int
smtp_mailbox_ok(const char *a)
{
	const char *at = strrchr(a, '@'), *p;

	if (at == NULL || at == a || at[1] == '\0' || strlen(a) > 254)
		return 0;
	for (p = a; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

static const struct conf_channel *
smtp_channel(const struct conf *conf, const char *addr)
{
	const struct conf_channel *c;

	TAILQ_FOREACH(c, &conf->channels, entry)
		if (c->gateway_address != NULL &&
		    strcasecmp(c->gateway_address, addr) == 0)
			return c;
	return NULL;
}

static void
smtp_cmd_hello(struct smtp_session *s, const char *arg)
{
	const struct conf *conf = s->srv->conf;
	char verb[8];

	snprintf(verb, sizeof(verb), "%s", arg);
	verb[4] = '\0';
	arg += 4;
	while (*arg == ' ')
		arg++;
	/* RFC 2033 section 4.1: an LMTP server takes LHLO only. */
	if (s->lmtp != (strcasecmp(verb, "LHLO") == 0)) {
		smtp_error(s, 500, s->lmtp ? "5.5.1 This is LMTP: use LHLO" :
		    "5.5.1 This is SMTP: use EHLO or HELO");
		return;
	}
	if (*arg == '\0') {
		smtp_error(s, 501, "5.5.4 Give your host name");
		return;
	}
	free(s->helo);
	s->helo = xstrdup(arg);
	smtp_reset(s);
	s->state = SS_MAIL;
	if (strcasecmp(verb, "HELO") == 0) {
		smtp_reply(s, 250, "%s", conf->hostname);
		return;
	}
	smtp_reply(s, 250, "%s Syncom syncd %s\nPIPELINING\n8BITMIME\n"
	    "ENHANCEDSTATUSCODES\nSIZE %lld", conf->hostname, SYNCOM_VERSION,
	    conf->max_message_size);
}

static void
smtp_cmd_mail(struct smtp_session *s, const char *arg)
{
	const char *params, *p;
	char *from, *param, *save, *eq;
	long long size;

	if ((from = smtp_path(arg + 4, " FROM:", &params)) == NULL) {
		smtp_error(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (*from != '\0' && !smtp_mailbox_ok(from)) {
		smtp_error(s, 553, "5.1.7 The sender address is not valid");
		free(from);
		return;
	}
	param = xstrdup(params);
	for (p = strtok_r(param, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		eq = strchr(p, '=');
		if (strncasecmp(p, "SIZE=", 5) == 0) {
			size = strtoll(p + 5, NULL, 10);
			if (size > s->srv->conf->max_message_size) {
				smtp_error(s, 552, "5.3.4 The message is larger"
				    " than this gateway takes");
				goto done;
			}
		} else if (strncasecmp(p, "BODY=", 5) == 0) {
			if (strcasecmp(p + 5, "7BIT") != 0 &&
			    strcasecmp(p + 5, "8BITMIME") != 0) {
				smtp_error(s, 501, "5.5.4 BODY is 7BIT or"
				    " 8BITMIME");
				goto done;
			}
		} else {
			smtp_error(s, 555, eq != NULL ? "5.5.4 Unknown MAIL"
			    " parameter" : "5.5.4 Syntax error in MAIL"
			    " parameters");
			goto done;
		}
	}
	smtp_reset(s);
	s->sender = from;
	from = NULL;
	s->state = SS_RCPT;
	smtp_reply(s, 250, "2.1.0 Sender ok");
done:
	free(param);
	free(from);
}

static void
smtp_cmd_rcpt(struct smtp_session *s, const char *arg)
{
	const struct conf_channel *c;
	const char *params;
	struct smtp_rcpt *r;
	char *to;

	if ((to = smtp_path(arg + 4, " TO:", &params)) == NULL) {
		smtp_error(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (*params != '\0') {
		smtp_error(s, 555, "5.5.4 RCPT takes no parameters here");
		free(to);
		return;
	}
	if (s->nrcpts == SMTP_RCPT_MAX) {
		smtp_reply(s, 452, "4.5.3 Too many recipients");
		free(to);
		return;
	}
	if ((c = smtp_channel(s->srv->conf, to)) == NULL) {
		/* Not ours: no relaying, and no channel by that address. */
		smtp_error(s, 550, "5.1.1 Not a gateway address here;"
		    " this server relays nothing");
		free(to);
		return;
	}
	/* RFC 5321 4.5.3.1.10 and RFC 3463 X.3.1: keep it for later. */
	if (router_full(s->srv->router)) {
		smtp_reply(s, 452, "4.3.1 Insufficient system storage: data"
		    " directory full, try again later");
		free(to);
		return;
	}
	s->rcpts = xreallocarray(s->rcpts, s->nrcpts + 1, sizeof(*s->rcpts));
	r = &s->rcpts[s->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->addr = to;
	r->channel = xstrdup(c->name);
	smtp_reply(s, 250, "2.1.5 Recipient ok (channel %s)", c->name);
}

static void
smtp_cmd_data(struct smtp_session *s, const char *arg)
{
	if (arg[4] != '\0') {
		smtp_error(s, 501, "5.5.4 DATA takes no arguments");
		return;
	}
	if (s->nrcpts == 0) {
		smtp_error(s, 503, "5.5.1 No valid recipients");
		return;
	}
	s->data = evbuffer_new();
	s->refusal = DOTDATA_OK;
	s->state = SS_DATA;
	smtp_reply(s, 354, "Send the message, end with <CRLF>.<CRLF>");
}

static void
smtp_cmd_rset(struct smtp_session *s, const char *arg)
{
	smtp_reset(s);
	smtp_reply(s, 250, "2.0.0 Reset");
}

static void
smtp_cmd_noop(struct smtp_session *s, const char *arg)
{
	smtp_reply(s, 250, "2.0.0 OK");
}

static void
smtp_cmd_vrfy(struct smtp_session *s, const char *arg)
{
	smtp_reply(s, 252, "2.5.0 Try RCPT to find out");
}

static void
smtp_cmd_help(struct smtp_session *s, const char *arg)
{
	smtp_reply(s, 214, "2.0.0 Syncom syncd takes list mail for its"
	    " gateway addresses\n%s MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
	    s->lmtp ? "LHLO" : "EHLO HELO");
}

static void
smtp_cmd_quit(struct smtp_session *s, const char *arg)
{
	smtp_reply(s, 221, "2.0.0 %s closing", s->srv->conf->hostname);
	smtp_close(s);
}

#define ST(x)		(1U << (x))
#define ST_READY	(ST(SS_MAIL) | ST(SS_RCPT))
#define ST_ANY		(ST(SS_HELO) | ST_READY)

static const struct smtp_command smtp_commands[] = {
	{ "DATA", smtp_cmd_data, ST(SS_RCPT) },
	{ "EHLO", smtp_cmd_hello, ST_ANY },
	{ "HELO", smtp_cmd_hello, ST_ANY },
	{ "HELP", smtp_cmd_help, ST_ANY },
	{ "LHLO", smtp_cmd_hello, ST_ANY },
	{ "MAIL", smtp_cmd_mail, ST(SS_MAIL) },
	{ "NOOP", smtp_cmd_noop, ST_ANY },
	{ "QUIT", smtp_cmd_quit, ST_ANY },
	{ "RCPT", smtp_cmd_rcpt, ST(SS_RCPT) },
	{ "RSET", smtp_cmd_rset, ST_ANY },
	{ "VRFY", smtp_cmd_vrfy, ST_ANY },
};

static void
smtp_command(struct smtp_session *s, const char *line)
{
	const struct smtp_command *cmd;
	size_t i, n = strcspn(line, " ");

	for (i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]);
	    i++) {
		cmd = &smtp_commands[i];
		if (n != strlen(cmd->verb) ||
		    strncasecmp(line, cmd->verb, n) != 0)
			continue;
		log_debug("event=smtp session=%s cmd=%s", s->name, cmd->verb);
		if (!(cmd->states & ST(s->state))) {
			smtp_error(s, 503, s->state == SS_HELO ?
			    "5.5.1 Say hello first" : s->state == SS_MAIL ?
			    "5.5.1 MAIL first" : "5.5.1 Not now: RCPT or"
			    " DATA next");
			return;
		}
		cmd->run(s, line);
		return;
	}
	if (strncasecmp(line, "STARTTLS", 8) == 0 ||
	    strncasecmp(line, "AUTH", 4) == 0)
		smtp_error(s, 502, "5.5.1 Not offered here");
	else
		smtp_error(s, 500, "5.5.2 Unknown command");
}

/*
 * A router verdict as a reply to the recipient (RFC 3463 codes); full: the
 * store has no room (452 4.3.1 rather than 451 4.3.0).
 */
static void
smtp_verdict(struct smtp_rcpt *r, enum router_result result,
    const char *reason, const char *msgid, int full)
{
	const char *why = reason != NULL ? reason : "";

	switch (result) {
	case ROUTER_ACCEPTED:
		r->code = 250;
		r->text = xasprintf("2.0.0 %s stored for channel %s", msgid,
		    r->channel);
		break;
	case ROUTER_DUPLICATE:
		r->code = 250;
		r->text = xasprintf("2.0.0 %s already here", msgid);
		break;
	case ROUTER_LOOP:
		r->code = 250;
		r->text = xasprintf("2.0.0 %s came from us; not gated again",
		    msgid);
		break;
	case ROUTER_NOT_GATED:
		/* Refusing would count as a bounce against our subscription. */
		r->code = 250;
		r->text = xasprintf("2.0.0 Accepted, not gated: %s", why);
		break;
	case ROUTER_REJECTED:
		r->code = 554;
		r->text = xasprintf("5.6.0 Refused: %s", why);
		break;
	case ROUTER_TEMPFAIL:
		if (full) {
			r->code = 452;
			r->text = xasprintf("4.3.1 Insufficient system"
			    " storage, try again later: %s", why);
			break;
		}
		r->code = 451;
		r->text = xasprintf("4.3.0 Not stored now, try again later: %s",
		    why);
		break;
	}
}

/* Every recipient has its answer: reply, and take the next command. */
static void
smtp_answer(struct smtp_session *s)
{
	size_t i, ok = 0, temp = 0;
	struct smtp_rcpt *first = NULL;

	if (s->gone) {
		smtp_session_free(s);
		return;
	}
	for (i = 0; i < s->nrcpts; i++) {
		log_info("event=mail-in session=%s client=%s rcpt=%s"
		    " channel=%s result=%d text=%s", s->name, s->client,
		    log_q(s->rcpts[i].addr), log_q(s->rcpts[i].channel),
		    s->rcpts[i].code, log_q(s->rcpts[i].text));
		if (s->lmtp) {
			smtp_reply(s, s->rcpts[i].code, "%s",
			    s->rcpts[i].text);
			continue;
		}
		if (s->rcpts[i].code < 300)
			ok++;
		else if (s->rcpts[i].code < 500)
			temp++;
		if (first == NULL && s->rcpts[i].code >= 300)
			first = &s->rcpts[i];
	}
	/*
	 * SMTP has one reply for all: any temporary failure makes the
	 * client try all again (the others are duplicates then); a message
	 * some recipient took is accepted.
	 */
	if (!s->lmtp) {
		if (temp > 0)
			smtp_reply(s, first->code, "%s", first->text);
		else if (ok > 0)
			smtp_reply(s, 250, "2.0.0 %zu of %zu recipients"
			    " stored", ok, s->nrcpts);
		else
			smtp_reply(s, first->code, "%s", first->text);
	}
	s->state = SS_MAIL;
	smtp_reset(s);
	bufferevent_enable(s->bev, EV_READ);
	smtp_process(s);
}

/* The router's verdict on one recipient's copy. */
static void
smtp_routed(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	struct smtp_job *job = arg;
	struct smtp_session *s = job->s;

	smtp_verdict(&s->rcpts[job->rcpt], result, reason,
	    msgid != NULL ? msgid : "the message", result == ROUTER_TEMPFAIL &&
	    router_full(s->srv->router));
	free(job);
	if (--s->waiting == 0)
		smtp_answer(s);
}

static void
smtp_blacklist_unref(struct smtp_blacklist **blp)
{
	struct smtp_blacklist *bl = *blp;

	*blp = NULL;
	if (bl == NULL || --bl->refs > 0)
		return;
	blacklist_free(&bl->bl);
	free(bl);
}

/* On a worker thread: only the job and read-only data are touched. */
static void
smtp_job_clean(void *arg)
{
	struct smtp_job *job = arg;

	reactor_clean(&job->rc, job->s->raw, job->s->len, &job->res);
}

/* Back on the loop: hand the cleaned copy to the router. */
static void
smtp_job_done(void *arg)
{
	struct smtp_job *job = arg;
	struct smtp_session *s = job->s;
	struct smtp_rcpt *r = &s->rcpts[job->rcpt];
	struct reactor_result res;
	struct router_input in;
	char *did;

	did = reactor_did_names(job->res.done);
	log_info("event=reactor session=%s rcpt=%s channel=%s verdict=%s"
	    " tags=%s did=%s%s%s", s->name, log_q(r->addr),
	    log_q(r->channel), job->res.verdict == REACTOR_GATE ? "gate" :
	    job->res.verdict == REACTOR_REFUSE ? "refuse" : "skip",
	    log_q(job->res.tags != NULL ? job->res.tags : "-"),
	    log_q(*did != '\0' ? did : "-"), job->res.reason != NULL ?
	    " reason=" : "", job->res.reason != NULL ?
	    log_q(job->res.reason) : "");
	free(did);
	conf_unref(&job->conf);
	smtp_blacklist_unref(&job->blacklist);
	switch (job->res.verdict) {
	case REACTOR_GATE:
		break;
	case REACTOR_REFUSE:
		r->code = 554;
		r->text = xasprintf("5.6.0 Not a message we can gate: %s",
		    job->res.reason);
		goto answered;
	case REACTOR_CONTROL:
	case REACTOR_DROP:
		/* Taken and dropped: a bounce would hit the list. */
		r->code = 250;
		r->text = xasprintf("2.0.0 Accepted, not gated: %s",
		    job->res.reason);
		goto answered;
	}
	if (s->srv == NULL) {
		/* syncd is stopping: the MTA will try again. */
		r->code = 421;
		r->text = xstrdup("4.3.2 Shutting down");
		goto answered;
	}
	/* The router may answer at once, and that frees the job. */
	res = job->res;
	memset(&in, 0, sizeof(in));
	in.source = SIDE_LIST;
	in.raw = res.out;
	in.len = res.len;
	in.recipient = r->addr;
	in.session = s->name;
	router_submit(s->srv->router, &in, smtp_routed, job);
	reactor_result_free(&res);
	return;

answered:
	reactor_result_free(&job->res);
	free(job);
	if (--s->waiting == 0)
		smtp_answer(s);
}

/* The message is in: refuse it, or clean and route each copy. */
static void
smtp_data_done(struct smtp_session *s)
{
	const struct conf *conf = s->srv->conf;
	const struct conf_channel *c;
	struct smtp_job *job;
	size_t i;

	if (s->refusal != DOTDATA_OK) {
		for (i = 0; i < (s->lmtp ? s->nrcpts : 1); i++)
			if (s->refusal == DOTDATA_TOO_BIG)
				smtp_reply(s, 552, "5.3.4 The message is"
				    " larger than max-message-size (%lld)",
				    conf->max_message_size);
			else
				smtp_reply(s, 554, "5.6.0 A line is longer"
				    " than %d octets", DOTDATA_LINE_MAX);
		smtp_reset(s);
		return;
	}
	if (*s->sender == '\0') {
		/*
		 * The null reverse-path is a bounce (RFC 5321 section 4.5.5),
		 * say of our own mail to a list: never list mail.  Taken, so
		 * that it does not bounce in turn.
		 */
		log_info("event=smtp-bounce session=%s client=%s rcpt=%s"
		    " result=not-gated", s->name, s->client,
		    log_q(s->rcpts[0].addr));
		for (i = 0; i < (s->lmtp ? s->nrcpts : 1); i++)
			smtp_reply(s, 250, "2.0.0 Taken, not gated: a"
			    " delivery status notification is not list mail");
		smtp_reset(s);
		return;
	}
	s->len = evbuffer_get_length(s->data);
	s->raw = xmalloc(s->len + 1);
	evbuffer_remove(s->data, s->raw, s->len);
	s->raw[s->len] = '\0';
	evbuffer_free(s->data);
	s->data = NULL;
	s->state = SS_ROUTING;
	bufferevent_disable(s->bev, EV_READ);
	s->waiting = s->nrcpts;
	for (i = 0; i < s->nrcpts; i++) {
		job = xcalloc(1, sizeof(*job));
		job->s = s;
		job->rcpt = i;
		job->conf = conf_ref(s->srv->conf);
		if ((job->blacklist = s->srv->blacklist) != NULL)
			job->blacklist->refs++;
		/* A reload may have dropped the channel since RCPT. */
		c = smtp_channel(job->conf, s->rcpts[i].addr);
		job->rc.tag = c != NULL ? c->subject_tag : NULL;
		job->rc.list = c != NULL ? c->list : NULL;
		job->rc.recipient = s->rcpts[i].addr;
		job->rc.domain = job->conf->hostname;
		job->rc.outlook = c != NULL && c->outlook_prefixes;
		job->rc.footer = c != NULL ? c->footer : REACTOR_FOOTER_ANY;
		job->rc.strip_notes = c != NULL && c->strip_notes;
		job->rc.fix_date = c == NULL || c->fix_date;
		job->rc.blacklist = job->blacklist != NULL ?
		    job->blacklist->bl : NULL;
		worker_run(s->srv->worker, smtp_job_clean, smtp_job_done, job);
	}
}

static void
smtp_process(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol;
	size_t n;
	char *line;

	while (smtp_unsent(s) < SMTP_OUT_HIGH) {
		if (s->state == SS_DATA) {
			/* RFC 5321 section 4.1.1.4: only CRLF.CRLF ends it. */
			if (!dotdata_read(in, s->data,
			    s->srv->conf->max_message_size, &s->refusal, 1))
				return;
			smtp_data_done(s);
			continue;
		}
		if (s->state == SS_ROUTING || s->state == SS_CLOSING)
			return;
		if (s->discard) {
			eol = evbuffer_search_eol(in, NULL, &n,
			    EVBUFFER_EOL_CRLF);
			if (eol.pos == -1) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			evbuffer_drain(in, eol.pos + n);
			s->discard = 0;
			continue;
		}
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) >= SMTP_LINE_MAX) {
				smtp_error(s, 500, "5.5.2 Line too long");
				s->discard = 1;
				continue;
			}
			return;
		}
		if (n > SMTP_LINE_MAX - 2)
			smtp_error(s, 500, "5.5.2 Line too long");
		else if (memchr(line, '\0', n) != NULL)
			smtp_error(s, 500, "5.5.2 NUL byte in the command");
		else
			smtp_command(s, line);
		free(line);
	}
	/* Full: read nothing more until the client has caught up. */
	bufferevent_disable(s->bev, EV_READ);
}

static void
smtp_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	if (s->state != SS_ROUTING && s->state != SS_CLOSING &&
	    listen_too_slow(bufferevent_get_input(bev), s->discard, &s->slow,
	    s->srv->conf->smtp_idle_timeout)) {
		log_info("event=smtp session=%s client=%s result=slow",
		    s->name, s->client);
		smtp_reply(s, 421, "4.4.2 %s too slow to finish a line,"
		    " closing", s->srv->conf->hostname);
		smtp_close(s);
		return;
	}
	smtp_process(s);
}

/* All replies are out: by smtp_flush, or by the bufferevent. */
static void
smtp_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	/* The next replies are smtp_flush's again. */
	bufferevent_disable(bev, EV_WRITE);
	if (s->state == SS_CLOSING) {
		smtp_close_check(s);
		return;
	}
	if (s->state != SS_ROUTING) {
		bufferevent_enable(bev, EV_READ);
		smtp_process(s);
	}
}

static void
smtp_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct smtp_session *s = arg;

	if (events & BEV_EVENT_TIMEOUT) {
		log_info("event=smtp session=%s client=%s result=idle",
		    s->name, s->client);
		smtp_reply(s, 421, "4.4.2 %s idle for too long, closing",
		    s->srv->conf->hostname);
		smtp_close(s);
		return;
	}
	if (s->state == SS_ROUTING) {
		/* Jobs and the router still hold s: the last frees it. */
		s->gone = 1;
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		return;
	}
	smtp_session_free(s);
}

static void
smtp_session_free(struct smtp_session *s)
{
	if (s->srv != NULL) {
		TAILQ_REMOVE(&s->srv->sessions, s, entry);
		s->srv->nsessions--;
	}
	log_debug("event=smtp-close session=%s client=%s", s->name,
	    s->client);
	s->state = SS_CLOSING;
	smtp_reset(s);
	event_free(s->flush_ev);
	evbuffer_free(s->out);
	bufferevent_free(s->bev);
	free(s->helo);
	free(s);
}

static int
smtp_client_allowed(const struct conf *conf, const char *client)
{
	size_t i;

	for (i = 0; i < conf->smtp_nclients; i++)
		if (strcmp(conf->smtp_clients[i], client) == 0)
			return 1;
	return 0;
}

static void
smtp_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtp_listen *sl = arg;

	smtp_server_adopt(sl->srv, fd, sa, sl->lmtp);
}

void
smtp_server_adopt(struct smtp_server *srv, int fd, const struct sockaddr *sa,
    int lmtp)
{
	const struct conf *conf = srv->conf;
	struct timeval tv = { conf->smtp_idle_timeout, 0 };
	struct smtp_session *s, *o;
	size_t same = 0;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->id = ++srv->next_id;
	s->lmtp = lmtp;
	snprintf(s->name, sizeof(s->name), "%s:%u", s->lmtp ? "lmtp" : "smtp",
	    s->id);
	listen_peer(sa, s->client, sizeof(s->client));
	if ((s->bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warnx("event=smtp-accept client=%s error=bufferevent",
		    s->client);
		close(fd);
		free(s);
		return;
	}
	if ((s->flush_ev = event_new(srv->base, -1, 0, smtp_flush, s)) ==
	    NULL || (s->out = evbuffer_new()) == NULL) {
		log_warnx("event=smtp-accept client=%s error=event",
		    s->client);
		if (s->flush_ev != NULL)
			event_free(s->flush_ev);
		bufferevent_free(s->bev);
		free(s);
		return;
	}
	/* A new bufferevent writes by itself; replies are smtp_flush's. */
	bufferevent_disable(s->bev, EV_WRITE);
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	bufferevent_setcb(s->bev, smtp_read_cb, smtp_write_cb, smtp_event_cb,
	    s);
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	/* Bounded input: a client that sends without reading waits. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_OUT_HIGH);
	log_debug("event=smtp-accept session=%s client=%s", s->name,
	    s->client);

	TAILQ_FOREACH(o, &srv->sessions, entry)
		if (strcmp(o->client, s->client) == 0)
			same++;
	if (!smtp_client_allowed(conf, s->client)) {
		/* RFC 5321 section 3.1: 554 instead of the greeting. */
		smtp_reply(s, 554, "5.7.1 %s does not take mail from %s",
		    conf->hostname, s->client);
		smtp_close(s);
		return;
	}
	if ((long long)same > conf->smtp_connections_per_address) {
		smtp_reply(s, 421, "4.7.0 %s too many connections from your"
		    " address", conf->hostname);
		smtp_close(s);
		return;
	}
	smtp_reply(s, 220, "%s %s Syncom syncd %s", conf->hostname,
	    s->lmtp ? "LMTP" : "ESMTP", SYNCOM_VERSION);
	bufferevent_enable(s->bev, EV_READ);
}

struct smtp_server *
smtp_server_new(struct event_base *base, struct router *router,
    struct worker *worker, const struct smtp_listener *ls, size_t n)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->base = base;
	srv->router = router;
	srv->worker = worker;
	TAILQ_INIT(&srv->sessions);
	srv->listeners = xcalloc(n + 1, sizeof(*srv->listeners));
	for (i = 0; i < n; i++) {
		srv->listeners[i].srv = srv;
		srv->listeners[i].lmtp = ls[i].lmtp;
		srv->listeners[i].l = evconnlistener_new(base, smtp_accept,
		    &srv->listeners[i], LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, 0, ls[i].fd);
		if (srv->listeners[i].l == NULL)
			fatalx("smtp_server_new: evconnlistener_new failed");
	}
	srv->nlisteners = n;
	return srv;
}

int
smtp_server_set_conf(struct smtp_server *srv, struct conf *conf,
    char **err_r)
{
	struct smtp_blacklist *bl = NULL;
	struct blacklist *loaded;

	if (conf->blacklist != NULL) {
		if ((loaded = blacklist_load(conf->blacklist, err_r)) == NULL)
			return -1;
		bl = xcalloc(1, sizeof(*bl));
		bl->refs = 1;
		bl->bl = loaded;
	}
	smtp_blacklist_unref(&srv->blacklist);
	srv->blacklist = bl;
	conf_unref(&srv->conf);
	srv->conf = conf_ref(conf);
	return 0;
}

size_t
smtp_server_sessions(struct smtp_server *srv)
{
	return srv->nsessions;
}

int
smtp_server_check(struct smtp_server *srv, struct store *store,
    const char *session, char *const *words, int nwords, char **verdict_r,
    char **err_r)
{
	static const char *const names[] = { "accept", "continue", "reject" };
	struct smtp_check q;
	struct smtp_check_result res;

	if (srv->conf == NULL) {
		*err_r = xstrdup("no configuration yet");
		return -1;
	}
	if (smtp_check_parse(words, nwords, &q, err_r) == -1)
		return -1;
	if (smtp_check_run(srv->conf, srv->blacklist != NULL ?
	    srv->blacklist->bl : NULL, store, &q, &res, err_r) == -1) {
		smtp_check_clear(&q);
		return -1;
	}
	if (res.verdict == SMTP_CHECK_REJECT)
		log_info("event=milter-check session=%s channel=%s sender=%s"
		    " from=%s msgid=%s result=reject code=%d text=%s",
		    session, res.channel, log_q(q.sender), log_q(q.from),
		    log_q(q.msgid), res.code, log_q(res.text));
	else
		log_debug("event=milter-check session=%s channel=%s"
		    " rcpts=%zu result=%s", session, res.channel != NULL ?
		    res.channel : "-", q.nrcpts, names[res.verdict]);
	*verdict_r = smtp_check_line(&res);
	smtp_check_result_free(&res);
	smtp_check_clear(&q);
	return 0;
}

void
smtp_server_free(struct smtp_server **srvp)
{
	struct smtp_server *srv = *srvp;
	struct smtp_session *s;
	size_t i;

	*srvp = NULL;
	if (srv == NULL)
		return;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i].l);
	free(srv->listeners);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		TAILQ_REMOVE(&srv->sessions, s, entry);
		srv->nsessions--;
		s->srv = NULL;
		if (s->state == SS_ROUTING) {
			/* Freed when its last answer comes. */
			s->gone = 1;
			bufferevent_disable(s->bev, EV_READ | EV_WRITE);
			continue;
		}
		smtp_session_free(s);
	}
	smtp_blacklist_unref(&srv->blacklist);
	conf_unref(&srv->conf);
	free(srv);
}
