/*
 * nntp_server.c: the NNTP server: listeners, and one session state
 * machine per connection, for readers (RFC 3977) and feeding peers
 * (IHAVE, and RFC 4644 streaming).
 *
 * A session reads one command line at a time (at most 512 octets, section
 * 3.1), finds it in the command table, checks the state and permission
 * the entry asks for, and answers through nntp_reply().  A long answer
 * (OVER over a big range, LISTGROUP, NEWNEWS, HDR) is produced in slices
 * by a "more" function that runs again whenever the client has read what
 * went before, so a reader never makes syncd hold a whole group in memory
 * and a slow reader stalls nobody: while its output is full, syncd reads
 * nothing more from it.
 *
 * An article (POST, IHAVE, TAKETHIS) is read to its terminating "." and
 * given to the router, and the answer (240/235/239) is owed until the
 * router has committed it.  Answers go out in the order of the commands:
 * while some are owed, further answers queue behind them.  A streaming
 * peer may go on with CHECK and TAKETHIS meanwhile, so many of its
 * articles share one commit; any other command waits until the owed
 * answers are out.  Message-IDs in flight are known to the server, so a
 * second peer offering the same article meanwhile hears "try later"
 * (436/431).
 */

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "nntp.h"

/* Output above this: stop reading the client until it drains. */
#define NNTP_OUT_HIGH		(256 * 1024)
/* Articles of one session with the router at once. */
#define NNTP_PENDING_MAX	64
/* A long answer's next slice is made below this. */
#define NNTP_OUT_LOW		(64 * 1024)
/* Rows per slice of a long answer. */
#define NNTP_SLICE		500
/* Failed AUTHINFO attempts before the connection is closed. */
#define NNTP_AUTH_TRIES		3

enum nntp_state {
	NS_COMMAND,		/* reading command lines */
	NS_ARTICLE,		/* reading an article up to "." */
	NS_CLOSING		/* flushing the last reply, then closing */
};

struct nntp_session;
TAILQ_HEAD(nntp_sessions, nntp_session);

/* An answer the client is owed, in the order of its commands. */
struct nntp_pending {
	TAILQ_ENTRY(nntp_pending) entry;
	struct nntp_session *s;
	enum nntp_intake intake;
	char		*offered;	/* in srv->inflight until answered */
	char		*line;		/* the status line; NULL: not yet */
	int		 close;		/* close once it is sent */
};
TAILQ_HEAD(nntp_pendings, nntp_pending);

/* What each listener's callback gets. */
struct nntp_listen {
	struct nntp_server *srv;
	struct evconnlistener *l;
	int		 tls;
};

struct nntp_server {
	struct event_base *base;
	struct store	*store;
	struct router	*router;
	struct conf	*conf;
	struct tls_server *tls;
	struct nntp_listen *listeners;
	size_t		 nlisteners;
	struct nntp_sessions sessions;
	size_t		 nsessions;
	unsigned int	 next_id;
	/* Message-IDs being read or stored now. */
	char		**inflight;
	size_t		 ninflight;
	/* Another place that knows users (the forum's accounts), or NULL. */
	nntp_auth_fn	 auth;
	void		*auth_arg;
};

struct nntp_session {
	TAILQ_ENTRY(nntp_session) entry;
	struct nntp_server *srv;
	struct bufferevent *bev;
	unsigned int	 id;
	char		 client[INET6_ADDRSTRLEN];
	int		 loopback;
	int		 tls;		/* the connection is encrypted */
	enum nntp_state	 state;
	int		 discard;	/* skipping an overlong command line */
	time_t		 slow;		/* since when a line is unfinished */
	int		 gone;		/* the client left while answers were
					   owed */
	struct nntp_pendings pending;	/* owed answers, oldest first */
	size_t		 npending;
	char		*stashed;	/* a command waiting for them */
	struct event	*close_ev;	/* waiting for TLS to drain */

	/* Reading: the current group and article (0: none). */
	char		*group;
	long long	 article;

	/* AUTHINFO */
	char		*user_pending;
	char		*user;
	int		 auth_failures;

	/* The article being read. */
	enum nntp_intake intake;
	char		*offered;	/* IHAVE/TAKETHIS Message-ID */
	int		 offered_inflight; /* it is in srv->inflight */
	struct evbuffer	*art;
	const char	*art_reject;	/* why it is read only to be refused */
	enum dotdata_refusal art_refusal;

	/* A long answer in slices: more() adds the next one. */
	void		 (*more)(struct nntp_session *);
	char		*gen_group;
	char		*gen_field;
	char		*gen_wildmat;
	long long	 gen_next, gen_high;
	int64_t		 gen_after;
	time_t		 gen_since;
	int		 gen_numbered;
};

struct nntp_command {
	const char	*verb;
	void		 (*run)(struct nntp_session *, char **, int);
	int		 args_min, args_max;
	int		 flags;
};

/* nntp_command.flags */
#define NC_READ		0x01	/* needs read permission */
#define NC_FEED		0x02	/* only for feeding peers */
#define NC_REST		0x04	/* the last argument is the rest of the line */

static void	 nntp_process(struct nntp_session *);
static void	 nntp_session_free(struct nntp_session *);

static void nntp_reply(struct nntp_session *, int, const char *, ...)
    PRINTFLIKE(3, 4);

/* Every status line goes out here, so logging happens in one place. */
static void
nntp_reply(struct nntp_session *s, int code, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct nntp_pending *p;
	va_list ap;
	char text[1024];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!TAILQ_EMPTY(&s->pending)) {
		/* Behind answers still owed: queue it, already known. */
		p = xcalloc(1, sizeof(*p));
		p->s = s;
		p->line = xasprintf("%d %s", code, text);
		TAILQ_INSERT_TAIL(&s->pending, p, entry);
		s->npending++;
	} else
		evbuffer_add_printf(out, "%d %s\r\n", code, text);
	if (code >= 400)
		log_info("event=nntp session=nntp:%u client=%s result=%d"
		    " text=%s", s->id, s->client, code, log_q(text));
	else
		log_debug("event=nntp session=nntp:%u result=%d", s->id, code);
}

static void
nntp_end_list(struct nntp_session *s)
{
	evbuffer_add(bufferevent_get_output(s->bev), ".\r\n", 3);
}

/*
 * Free a closing session once its last reply is out.  After STARTTLS the
 * session's bufferevent is a TLS filter, whose output drains into the
 * plain one below: that one must be empty too, or the reply dies with
 * the socket.
 */
static void
nntp_close_check(evutil_socket_t fd, short events, void *arg)
{
	struct nntp_session *s = arg;
	struct bufferevent *below = bufferevent_get_underlying(s->bev);
	struct timeval tv = { 0, 10000 };

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return;		/* the write callback comes back here */
	if (below != NULL &&
	    evbuffer_get_length(bufferevent_get_output(below)) > 0) {
		if (s->close_ev == NULL)
			s->close_ev = evtimer_new(s->srv->base,
			    nntp_close_check, s);
		evtimer_add(s->close_ev, &tv);
		return;
	}
	nntp_session_free(s);
}

/* Close once the last reply has gone out. */
static void
nntp_close(struct nntp_session *s)
{
	s->state = NS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_enable(s->bev, EV_WRITE);
	nntp_close_check(-1, 0, s);
}

/*
 * May this session read (post is 0) or post to the channel's group?  1
 * yes; 0 not yet, AUTHINFO would change that; -1 no.
 */
static int
nntp_access(const struct nntp_session *s, const struct conf_channel *c,
    int post)
{
	switch (conf_access(s->srv->conf, c, post)) {
	case ACCESS_ANONYMOUS:
		return 1;
	case ACCESS_AUTHENTICATED:
		return s->user != NULL ? 1 : 0;
	default:
		return -1;
	}
}

/* The best access the session has to any group: 1, 0 or -1 as above. */
static int
nntp_access_any(const struct nntp_session *s, int post)
{
	const struct conf_channel *c;
	int best = -1, a;

	TAILQ_FOREACH(c, &s->srv->conf->channels, entry)
		if (c->newsgroup != NULL &&
		    (a = nntp_access(s, c, post)) > best)
			best = a;
	return best;
}

/* A group this session may read, or NULL. */
static const struct conf_channel *
nntp_readable(const struct nntp_session *s, const char *group)
{
	const struct conf_channel *c = conf_channel_by_group(s->srv->conf,
	    group);

	return c != NULL && nntp_access(s, c, 0) == 1 ? c : NULL;
}

/*
 * A message found by Message-ID may be shown if one of its groups may be
 * read.  1 yes; else the reply was sent: 480 when AUTHINFO would help,
 * 430 as if it were not there.
 */
static int
nntp_msgid_readable(struct nntp_session *s, int64_t message)
{
	const struct conf_channel *c;
	struct store_xref *xr;
	size_t n, i;
	int best = -1, a;

	if (store_xref(s->srv->store, message, &xr, &n) == -1) {
		nntp_reply(s, 403, "Internal fault");
		return 0;
	}
	for (i = 0; i < n; i++)
		if ((c = conf_channel_by_group(s->srv->conf, xr[i].group)) !=
		    NULL && (a = nntp_access(s, c, 0)) > best)
			best = a;
	store_xref_free(xr, n);
	if (best == 1)
		return 1;
	if (best == 0)
		nntp_reply(s, 480, "Authentication required");
	else
		nntp_reply(s, 430, "No article with that message-id");
	return 0;
}

/* Is the client one of nntp-feeders? */
static int
nntp_is_feeder(const struct nntp_session *s)
{
	const struct conf *conf = s->srv->conf;
	size_t i;

	for (i = 0; i < conf->nntp_nfeeders; i++)
		if (strcmp(conf->nntp_feeders[i], s->client) == 0)
			return 1;
	return 0;
}

/* Whether anyone can log in: nntp-users, or the forum's members. */
static int
nntp_auth_offered(const struct nntp_server *srv)
{
	return srv->conf->nntp_users != NULL || srv->auth != NULL;
}

/* AUTHINFO sends a password: only over TLS or from loopback (RFC 4643). */
static int
nntp_auth_allowed(const struct nntp_session *s)
{
	return s->tls || s->loopback || s->srv->conf->nntp_insecure_auth;
}

static int
nntp_inflight(struct nntp_server *srv, const char *msgid)
{
	size_t i;

	for (i = 0; i < srv->ninflight; i++)
		if (strcmp(srv->inflight[i], msgid) == 0)
			return 1;
	return 0;
}

static void
nntp_inflight_add(struct nntp_server *srv, const char *msgid)
{
	srv->inflight = xreallocarray(srv->inflight, srv->ninflight + 1,
	    sizeof(*srv->inflight));
	srv->inflight[srv->ninflight++] = xstrdup(msgid);
}

static void
nntp_inflight_del(struct nntp_server *srv, const char *msgid)
{
	size_t i;

	for (i = 0; i < srv->ninflight; i++)
		if (strcmp(srv->inflight[i], msgid) == 0) {
			free(srv->inflight[i]);
			srv->inflight[i] = srv->inflight[--srv->ninflight];
			return;
		}
}

/* A group we carry: a channel's newsgroup. */
static const struct conf_channel *
nntp_channel(const struct nntp_session *s, const char *group)
{
	return conf_channel_by_group(s->srv->conf, group);
}

/* "y", "n" or "m" for LIST ACTIVE (RFC 3977 section 7.6.3). */
static char
nntp_status(const struct conf *conf, const struct conf_channel *c)
{
	if (c->direction == DIRECTION_READ_ONLY ||
	    conf_access(conf, c, 1) == ACCESS_NOBODY)
		return 'n';
	return c->moderated ? 'm' : 'y';
}

/*
 * A range argument: "n", "n-" or "n-m" (RFC 3977 section 6.1.2.2).  The
 * open end is the group's high water mark.
 */
static int
nntp_range(const char *arg, long long high, long long *lo_r, long long *hi_r)
{
	char *end;

	if (!isdigit((unsigned char)*arg))
		return -1;
	*lo_r = strtoll(arg, &end, 10);
	if (*end == '\0') {
		*hi_r = *lo_r;
		return 0;
	}
	if (*end != '-')
		return -1;
	if (end[1] == '\0') {
		*hi_r = high > *lo_r ? high : *lo_r;
		return 0;
	}
	if (!isdigit((unsigned char)end[1]))
		return -1;
	*hi_r = strtoll(end + 1, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* RFC 3977 section 7.3.2: "yyyymmdd hhmmss" or "yymmdd hhmmss" [GMT]. */
static time_t
nntp_parse_date(const char *date, const char *tod, const char *gmt)
{
	struct tm tm;
	size_t n = strlen(date);
	int year, i;

	if ((n != 6 && n != 8) || strlen(tod) != 6 ||
	    strspn(date, "0123456789") != n || strspn(tod, "0123456789") != 6)
		return -1;
	if (gmt != NULL && strcasecmp(gmt, "GMT") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	year = 0;
	for (i = 0; i < (int)n - 4; i++)
		year = year * 10 + date[i] - '0';
	if (n == 6) {
		/* The century that makes the date closest to now. */
		time_t now = time(NULL);
		struct tm cur;
		int century;

		gmtime_r(&now, &cur);
		century = (cur.tm_year + 1900) / 100 * 100;
		year += century;
		if (year > cur.tm_year + 1900 + 50)
			year -= 100;
		else if (year < cur.tm_year + 1900 - 50)
			year += 100;
	}
	tm.tm_year = year - 1900;
	tm.tm_mon = (date[n - 4] - '0') * 10 + date[n - 3] - '0' - 1;
	tm.tm_mday = (date[n - 2] - '0') * 10 + date[n - 1] - '0';
	tm.tm_hour = (tod[0] - '0') * 10 + tod[1] - '0';
	tm.tm_min = (tod[2] - '0') * 10 + tod[3] - '0';
	tm.tm_sec = (tod[4] - '0') * 10 + tod[5] - '0';
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	/* Without GMT it is the server's local time. */
	if (gmt == NULL) {
		tm.tm_isdst = -1;
		return mktime(&tm);
	}
	return timegm(&tm);
}

static void
nntp_more_done(struct nntp_session *s)
{
	nntp_end_list(s);
	s->more = NULL;
	free(s->gen_group);
	free(s->gen_field);
	free(s->gen_wildmat);
	s->gen_group = s->gen_field = s->gen_wildmat = NULL;
}

/* Start a long answer: its first slice now, the rest as the client reads. */
static void
nntp_more_start(struct nntp_session *s, void (*more)(struct nntp_session *))
{
	s->more = more;
	more(s);
}

/* Make the current article (number, Message-ID) from an argument. */
enum nntp_pick {
	PICK_OK,
	PICK_REPLIED		/* an error was sent */
};

/*
 * The article an ARTICLE/HEAD/BODY/STAT/OVER argument names: none (the
 * current one), a number in the current group, or a Message-ID.  Replies
 * with the error itself when there is none.
 */
static enum nntp_pick
nntp_pick(struct nntp_session *s, const char *arg, long long *number_r,
    int64_t *message_r, char **msgid_r)
{
	struct store *store = s->srv->store;
	char *end;
	int rc;

	*msgid_r = NULL;
	if (arg != NULL && *arg == '<') {
		if (msgid_valid(arg, NULL) == -1) {
			nntp_reply(s, 501, "Syntax error in Message-ID");
			return PICK_REPLIED;
		}
		if ((rc = store_message_id(store, arg, message_r)) != 1) {
			if (rc == 0)
				nntp_reply(s, 430, "No article with that"
				    " message-id");
			else
				nntp_reply(s, 403, "Internal fault");
			return PICK_REPLIED;
		}
		if (!nntp_msgid_readable(s, *message_r))
			return PICK_REPLIED;
		*number_r = s->group != NULL ?
		    store_article_number(store, s->group, arg) : 0;
		*msgid_r = xstrdup(arg);
		return PICK_OK;
	}
	if (s->group == NULL) {
		nntp_reply(s, 412, "No newsgroup selected");
		return PICK_REPLIED;
	}
	if (arg == NULL) {
		if (s->article == 0) {
			nntp_reply(s, 420, "Current article number is"
			    " invalid");
			return PICK_REPLIED;
		}
		*number_r = s->article;
	} else {
		*number_r = strtoll(arg, &end, 10);
		if (!isdigit((unsigned char)*arg) || *end != '\0') {
			nntp_reply(s, 501, "Syntax error in article number");
			return PICK_REPLIED;
		}
	}
	if ((rc = store_article(store, s->group, *number_r, message_r,
	    msgid_r)) != 1) {
		if (rc == 0)
			nntp_reply(s, 423, "No article with that number");
		else
			nntp_reply(s, 403, "Internal fault");
		return PICK_REPLIED;
	}
	if (arg != NULL)
		s->article = *number_r;
	return PICK_OK;
}

/* ARTICLE, HEAD, BODY and STAT (RFC 3977 section 6.2). */
static void
nntp_cmd_article(struct nntp_session *s, char **args, int nargs)
{
	static const struct {
		const char *verb;
		int code, part;
	} kinds[] = {
		{ "ARTICLE", 220, 'A' }, { "HEAD", 221, 'H' },
		{ "BODY", 222, 'B' }, { "STAT", 223, 0 },
	};
	struct evbuffer *out = bufferevent_get_output(s->bev);
	long long number;
	int64_t message;
	char *msgid;
	size_t k;

	for (k = 0; strcasecmp(args[0], kinds[k].verb) != 0; k++)
		;
	/* Its reads as one transaction: one round of SQLite's locks. */
	store_read_begin(s->srv->store);
	if (nntp_pick(s, nargs > 1 ? args[1] : NULL, &number, &message,
	    &msgid) != PICK_OK)
		goto out;
	if (kinds[k].part == 0) {
		nntp_reply(s, 223, "%lld %s", number, msgid);
		free(msgid);
		goto out;
	}
	nntp_reply(s, kinds[k].code, "%lld %s", number, msgid);
	if (nntp_article_view(s->srv->conf, s->srv->store, message,
	    kinds[k].part, out) == -1)
		log_warnx("event=nntp session=nntp:%u msgid=%s error=\"could"
		    " not read the article\"", s->id, log_q(msgid));
	nntp_end_list(s);
	free(msgid);
out:
	store_read_end(s->srv->store);
}

/* AUTHINFO USER / PASS (RFC 4643 section 2.3). */
static void
nntp_cmd_authinfo(struct nntp_session *s, char **args, int nargs)
{
	char *err = NULL;
	int rc;

	if (strcasecmp(args[1], "USER") != 0 &&
	    strcasecmp(args[1], "PASS") != 0) {
		nntp_reply(s, 501, "Only AUTHINFO USER and PASS are known");
		return;
	}
	if (s->user != NULL) {
		nntp_reply(s, 502, "Already authenticated");
		return;
	}
	if (!nntp_auth_allowed(s)) {
		nntp_reply(s, 483, "Encryption required for authentication");
		return;
	}
	if (!nntp_auth_offered(s->srv)) {
		nntp_reply(s, 502, "Authentication is not offered here");
		return;
	}
	if (strcasecmp(args[1], "USER") == 0) {
		free(s->user_pending);
		s->user_pending = xstrdup(args[2]);
		nntp_reply(s, 381, "Password required");
		return;
	}
	if (s->user_pending == NULL) {
		nntp_reply(s, 482, "Authentication commands issued out of"
		    " sequence");
		return;
	}
	/* The nntp-users file first, then the forum's accounts. */
	rc = 0;
	if (s->srv->conf->nntp_users != NULL)
		rc = nntp_auth_check(s->srv->conf->nntp_users,
		    s->user_pending, args[2], &err);
	if (rc == 0 && s->srv->auth != NULL)
		rc = s->srv->auth(s->srv->auth_arg, s->user_pending, args[2],
		    &err);
	if (rc == -1) {
		log_warnx("event=nntp-auth session=nntp:%u error=%s", s->id,
		    log_q(err));
		free(err);
		nntp_reply(s, 403, "Authentication is not available now");
		return;
	}
	if (rc == 1) {
		s->user = s->user_pending;
		s->user_pending = NULL;
		log_info("event=nntp-auth session=nntp:%u client=%s user=%s"
		    " result=ok", s->id, s->client, log_q(s->user));
		nntp_reply(s, 281, "Authentication accepted");
		return;
	}
	log_info("event=nntp-auth session=nntp:%u client=%s user=%s"
	    " result=failed", s->id, s->client, log_q(s->user_pending));
	free(s->user_pending);
	s->user_pending = NULL;
	nntp_reply(s, 481, "Authentication failed");
	if (++s->auth_failures >= NNTP_AUTH_TRIES)
		nntp_close(s);
}

static void
nntp_cmd_capabilities(struct nntp_session *s, char **args, int nargs)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	nntp_reply(s, 101, "Capability list:");
	evbuffer_add_printf(out, "VERSION 2\r\n"
	    "IMPLEMENTATION Syncom syncd %s\r\n"
	    "READER\r\n"
	    "HDR\r\n"
	    "NEWNEWS\r\n"
	    "OVER MSGID\r\n"
	    "LIST ACTIVE ACTIVE.TIMES COUNTS HEADERS MODERATORS MOTD"
	    " NEWSGROUPS OVERVIEW.FMT\r\n", SYNCOM_VERSION);
	if (nntp_access_any(s, 1) >= 0)
		evbuffer_add_printf(out, "POST\r\n");
	if (nntp_is_feeder(s))
		evbuffer_add_printf(out, "IHAVE\r\nSTREAMING\r\n");
	/* RFC 4643 section 2.1: AUTHINFO without USER until it is allowed. */
	if (s->user == NULL && nntp_auth_offered(s->srv))
		evbuffer_add_printf(out, "AUTHINFO%s\r\n", nntp_auth_allowed(s) ?
		    " USER" : "");
	if (!s->tls && s->srv->tls != NULL && s->user == NULL)
		evbuffer_add_printf(out, "STARTTLS\r\n");
	nntp_end_list(s);
}

static void
nntp_cmd_date(struct nntp_session *s, char **args, int nargs)
{
	time_t now = time(NULL);
	struct tm tm;
	char buf[32];

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
	nntp_reply(s, 111, "%s", buf);
}

/* GROUP and LISTGROUP (RFC 3977 sections 6.1.1 and 6.1.2). */
static void
nntp_more_listgroup(struct nntp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	long long *nums;
	size_t n, i;

	if (store_numbers(s->srv->store, s->gen_group, s->gen_next,
	    s->gen_high, NNTP_SLICE, &nums, &n) == -1)
		n = 0;	/* logged by the store; end the list */
	for (i = 0; i < n; i++)
		evbuffer_add_printf(out, "%lld\r\n", nums[i]);
	if (n == NNTP_SLICE)
		s->gen_next = nums[n - 1] + 1;
	free(nums);
	if (n < NNTP_SLICE)
		nntp_more_done(s);
}

static void
nntp_cmd_group(struct nntp_session *s, char **args, int nargs)
{
	const struct conf_channel *c;
	struct store_group g;
	const char *name;
	long long lo, hi;
	int listgroup = strcasecmp(args[0], "LISTGROUP") == 0, rc;

	if (nargs < 2 && s->group == NULL) {
		nntp_reply(s, 412, "No newsgroup selected");
		return;
	}
	name = nargs > 1 ? args[1] : s->group;
	if ((c = nntp_channel(s, name)) != NULL && nntp_access(s, c, 0) == 0) {
		nntp_reply(s, 480, "Authentication required");
		return;
	}
	if (c == NULL || nntp_access(s, c, 0) != 1 ||
	    (rc = store_group(s->srv->store, name, &g)) == 0) {
		nntp_reply(s, 411, "No such newsgroup");
		return;
	}
	if (rc == -1) {
		nntp_reply(s, 403, "Internal fault");
		return;
	}
	if (nargs > 2 && nntp_range(args[2], g.high, &lo, &hi) == -1) {
		free(g.name);
		nntp_reply(s, 501, "Syntax error in range");
		return;
	}
	if (s->group == NULL || strcmp(s->group, name) != 0) {
		free(s->group);
		s->group = xstrdup(name);
	}
	/* The first article, or none for an empty group. */
	s->article = g.count > 0 ? store_article_step(s->srv->store, s->group,
	    g.low - 1, 1) : 0;
	if (s->article < 0)
		s->article = 0;
	if (g.count == 0)
		nntp_reply(s, 211, "0 %lld %lld %s%s", g.high + 1, g.high,
		    g.name, listgroup ? " list follows" : "");
	else
		nntp_reply(s, 211, "%lld %lld %lld %s%s", g.count, g.low,
		    g.high, g.name, listgroup ? " list follows" : "");
	if (listgroup) {
		s->gen_group = xstrdup(s->group);
		s->gen_next = nargs > 2 ? lo : g.low;
		s->gen_high = nargs > 2 ? hi : g.high;
		nntp_more_start(s, nntp_more_listgroup);
	}
	free(g.name);
}

static void
nntp_cmd_help(struct nntp_session *s, char **args, int nargs)
{
	nntp_reply(s, 100, "Help text follows");
	evbuffer_add_printf(bufferevent_get_output(s->bev),
	    "Syncom syncd %s speaks RFC 3977 NNTP with RFC 4644 streaming:\r\n"
	    "  ARTICLE BODY HEAD STAT [number|<message-id>]\r\n"
	    "  AUTHINFO USER name | AUTHINFO PASS password\r\n"
	    "  CAPABILITIES  DATE  HELP  QUIT  MODE READER|STREAM\r\n"
	    "  GROUP group  LISTGROUP [group [range]]  NEXT  LAST\r\n"
	    "  HDR|XHDR field [range|<message-id>]\r\n"
	    "  OVER|XOVER [range|<message-id>]\r\n"
	    "  LIST [ACTIVE|ACTIVE.TIMES|COUNTS|NEWSGROUPS [wildmat]]\r\n"
	    "  LIST HEADERS|MODERATORS|MOTD|OVERVIEW.FMT\r\n"
	    "  NEWGROUPS yyyymmdd hhmmss [GMT]\r\n"
	    "  NEWNEWS wildmat yyyymmdd hhmmss [GMT]\r\n"
	    "  POST  IHAVE <id>  CHECK <id>  TAKETHIS <id>\r\n",
	    SYNCOM_VERSION);
	nntp_end_list(s);
}

/* LIST and its keywords (RFC 3977 section 7.6, RFC 6048). */
static void
nntp_cmd_list(struct nntp_session *s, char **args, int nargs)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	const struct conf *conf = s->srv->conf;
	const struct conf_channel *c;
	struct store_group *groups = NULL, *g;
	const char *kw = nargs > 1 ? args[1] : "ACTIVE";
	const char *wm = nargs > 2 ? args[2] : NULL;
	size_t n = 0, i;
	char line[1024], *desc;
	FILE *fp;

	if (wm != NULL && !wildmat_valid(wm)) {
		nntp_reply(s, 501, "Syntax error in wildmat");
		return;
	}
	if (strcasecmp(kw, "OVERVIEW.FMT") == 0) {
		nntp_reply(s, 215, "Order of fields in overview database");
		evbuffer_add_printf(out, "Subject:\r\nFrom:\r\nDate:\r\n"
		    "Message-ID:\r\nReferences:\r\n:bytes\r\n:lines\r\n");
		nntp_end_list(s);
		return;
	}
	if (strcasecmp(kw, "HEADERS") == 0) {
		nntp_reply(s, 215, "Headers and metadata items supported");
		evbuffer_add_printf(out, ":\r\n:bytes\r\n:lines\r\n");
		nntp_end_list(s);
		return;
	}
	if (strcasecmp(kw, "MOTD") == 0) {
		if (conf->nntp_motd == NULL ||
		    (fp = fopen(conf->nntp_motd, "r")) == NULL) {
			nntp_reply(s, 503, "No message of the day");
			return;
		}
		nntp_reply(s, 215, "Message of the day follows");
		while (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			evbuffer_add_printf(out, "%s%s\r\n",
			    line[0] == '.' ? "." : "", line);
		}
		fclose(fp);
		nntp_end_list(s);
		return;
	}
	if (strcasecmp(kw, "MODERATORS") == 0) {
		nntp_reply(s, 215, "Moderator list follows");
		TAILQ_FOREACH(c, &conf->channels, entry)
			if (c->moderated && c->newsgroup != NULL &&
			    c->list != NULL && nntp_access(s, c, 0) == 1)
				evbuffer_add_printf(out, "%s:%s\r\n",
				    c->newsgroup, c->list);
		nntp_end_list(s);
		return;
	}
	if (strcasecmp(kw, "ACTIVE") != 0 && strcasecmp(kw, "ACTIVE.TIMES") &&
	    strcasecmp(kw, "COUNTS") != 0 && strcasecmp(kw, "NEWSGROUPS")) {
		nntp_reply(s, 501, "Unknown LIST keyword");
		return;
	}
	if (store_groups(s->srv->store, &groups, &n) == -1) {
		nntp_reply(s, 403, "Internal fault");
		return;
	}
	nntp_reply(s, 215, "Information follows");
	TAILQ_FOREACH(c, &conf->channels, entry) {
		if (c->newsgroup == NULL || nntp_access(s, c, 0) != 1 ||
		    (wm != NULL && !wildmat_match(wm, c->newsgroup)))
			continue;
		for (g = NULL, i = 0; i < n; i++)
			if (strcmp(groups[i].name, c->newsgroup) == 0)
				g = &groups[i];
		if (strcasecmp(kw, "NEWSGROUPS") == 0) {
			/* The list's own description first (describe.c). */
			desc = store_description(s->srv->store, c->name);
			evbuffer_add_printf(out, "%s\t%s\r\n", c->newsgroup,
			    desc != NULL ? desc : c->description != NULL ?
			    c->description : "");
			free(desc);
		} else if (strcasecmp(kw, "ACTIVE.TIMES") == 0)
			evbuffer_add_printf(out, "%s %lld syncd\r\n",
			    c->newsgroup, g != NULL ? (long long)g->created :
			    0LL);
		else if (strcasecmp(kw, "COUNTS") == 0)
			evbuffer_add_printf(out, "%s %lld %lld %lld %c\r\n",
			    c->newsgroup, g != NULL ? g->high : 0,
			    g != NULL ? g->low : 1, g != NULL ? g->count : 0,
			    nntp_status(conf, c));
		else
			evbuffer_add_printf(out, "%s %lld %lld %c\r\n",
			    c->newsgroup, g != NULL ? g->high : 0,
			    g != NULL ? g->low : 1, nntp_status(conf, c));
	}
	store_groups_free(groups, n);
	nntp_end_list(s);
}

/* MODE READER and MODE STREAM. */
static void
nntp_cmd_mode(struct nntp_session *s, char **args, int nargs)
{
	if (strcasecmp(args[1], "READER") == 0) {
		if (nntp_access_any(s, 1) >= 0)
			nntp_reply(s, 200, "Reader mode, posting permitted");
		else
			nntp_reply(s, 201, "Reader mode, posting"
			    " prohibited");
	} else if (strcasecmp(args[1], "STREAM") == 0) {
		if (nntp_is_feeder(s))
			nntp_reply(s, 203, "Streaming permitted");
		else
			nntp_reply(s, 502, "Streaming not permitted");
	} else
		nntp_reply(s, 501, "Unknown MODE variant");
}

/* NEWGROUPS (RFC 3977 section 7.3). */
static void
nntp_cmd_newgroups(struct nntp_session *s, char **args, int nargs)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	const struct conf_channel *c;
	struct store_group *groups;
	time_t since;
	size_t n, i;

	if ((since = nntp_parse_date(args[1], args[2], nargs > 3 ? args[3] :
	    NULL)) == -1) {
		nntp_reply(s, 501, "Syntax error in date");
		return;
	}
	if (store_groups(s->srv->store, &groups, &n) == -1) {
		nntp_reply(s, 403, "Internal fault");
		return;
	}
	nntp_reply(s, 231, "List of new newsgroups follows");
	for (i = 0; i < n; i++) {
		if (groups[i].created < since ||
		    (c = nntp_readable(s, groups[i].name)) == NULL)
			continue;
		evbuffer_add_printf(out, "%s %lld %lld %c\r\n", groups[i].name,
		    groups[i].high, groups[i].low,
		    nntp_status(s->srv->conf, c));
	}
	store_groups_free(groups, n);
	nntp_end_list(s);
}

/* NEWNEWS (RFC 3977 section 7.4), a slice of arrivals at a time. */
static void
nntp_more_newnews(struct nntp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct store_newnews *rows;
	size_t n, i;
	int64_t last = 0;

	if (store_newnews(s->srv->store, s->gen_since, s->gen_after,
	    NNTP_SLICE, &rows, &n) == -1)
		n = 0;
	for (i = 0; i < n; i++) {
		/* One row per group: name a crosspost once. */
		if (rows[i].message == last ||
		    !wildmat_match(s->gen_wildmat, rows[i].group) ||
		    nntp_readable(s, rows[i].group) == NULL)
			continue;
		last = rows[i].message;
		evbuffer_add_printf(out, "%s\r\n", rows[i].msgid);
	}
	if (n == NNTP_SLICE)
		s->gen_after = rows[n - 1].message - 1 > s->gen_after ?
		    rows[n - 1].message - 1 : rows[n - 1].message;
	store_newnews_free(rows, n);
	if (n < NNTP_SLICE)
		nntp_more_done(s);
}

static void
nntp_cmd_newnews(struct nntp_session *s, char **args, int nargs)
{
	time_t since;

	if (!wildmat_valid(args[1])) {
		nntp_reply(s, 501, "Syntax error in wildmat");
		return;
	}
	if ((since = nntp_parse_date(args[2], args[3], nargs > 4 ? args[4] :
	    NULL)) == -1) {
		nntp_reply(s, 501, "Syntax error in date");
		return;
	}
	nntp_reply(s, 230, "List of new articles follows");
	s->gen_wildmat = xstrdup(args[1]);
	s->gen_since = since;
	s->gen_after = 0;
	nntp_more_start(s, nntp_more_newnews);
}

/* NEXT and LAST (RFC 3977 sections 6.1.3 and 6.1.4). */
static void
nntp_cmd_next(struct nntp_session *s, char **args, int nargs)
{
	int forward = strcasecmp(args[0], "NEXT") == 0;
	long long number;
	int64_t message;
	char *msgid;

	if (s->group == NULL) {
		nntp_reply(s, 412, "No newsgroup selected");
		return;
	}
	if (s->article == 0) {
		nntp_reply(s, 420, "Current article number is invalid");
		return;
	}
	number = store_article_step(s->srv->store, s->group, s->article,
	    forward);
	if (number <= 0 || store_article(s->srv->store, s->group, number,
	    &message, &msgid) != 1) {
		if (number < 0)
			nntp_reply(s, 403, "Internal fault");
		else if (forward)
			nntp_reply(s, 421, "No next article in this group");
		else
			nntp_reply(s, 422, "No previous article in this"
			    " group");
		return;
	}
	s->article = number;
	nntp_reply(s, 223, "%lld %s", number, msgid);
	free(msgid);
}

/* Is field one the overview has, and which column? */
static int
nntp_ov_field(const char *field)
{
	static const char *fields[] = { "Subject", "From", "Date",
	    "Message-ID", "References", ":bytes", ":lines", NULL };
	int i;

	for (i = 0; fields[i] != NULL; i++)
		if (strcasecmp(field, fields[i]) == 0)
			return i;
	return -1;
}

/*
 * One HDR line.  Overview fields come from the store's columns (when the
 * row has them); any other header from the stored message.
 */
static void
nntp_hdr_line(struct nntp_session *s, const struct store_overview *o,
    long long number, struct evbuffer *out)
{
	const char *columns[] = { o->subject, o->from, o->date, o->msgid,
	    o->refs };
	int field = nntp_ov_field(s->gen_field);
	char *value = NULL;
	const char *v;

	if (field == 5 || field == 6) {
		evbuffer_add_printf(out, "%lld %lld\r\n", number,
		    field == 5 ? o->bytes : o->lines);
		return;
	}
	if (field == 3 || (field >= 0 && o->subject != NULL))
		v = columns[field];
	else
		v = value = nntp_article_header(s->srv->store, o->message,
		    s->gen_field);
	evbuffer_add_printf(out, "%lld %s\r\n", number, v != NULL ? v : "");
	free(value);
}

/* A slice of OVER or HDR being written, row by row. */
struct nntp_over_slice {
	struct nntp_session	*s;
	struct evbuffer		*out;
	long long		 last;
};

static void
nntp_over_row(const struct store_overview *o, void *arg)
{
	struct nntp_over_slice *sl = arg;

	if (sl->s->gen_field != NULL)
		nntp_hdr_line(sl->s, o, o->number, sl->out);
	else
		nntp_overview_line(sl->s->srv->store, o, o->number, sl->out);
	sl->last = o->number;
}

/* OVER and HDR over a range, a slice at a time. */
static void
nntp_more_over(struct nntp_session *s)
{
	struct nntp_over_slice sl = { s, bufferevent_get_output(s->bev), 0 };
	int n;

	n = store_overview_each(s->srv->store, s->gen_group, s->gen_next,
	    s->gen_high, NNTP_SLICE, nntp_over_row, &sl);
	if (n == NNTP_SLICE)
		s->gen_next = sl.last + 1;
	else
		nntp_more_done(s);
}

/*
 * OVER/XOVER [range|<id>] and HDR/XHDR field [range|<id>] (RFC 3977
 * sections 8.3 and 8.5); XHDR answers 221 as RFC 2980 had it.
 */
static void
nntp_cmd_over(struct nntp_session *s, char **args, int nargs)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	int hdr = toupper((unsigned char)args[0][0]) == 'H' ||
	    toupper((unsigned char)args[0][1]) == 'H';
	const char *arg = nargs > 1 + hdr ? args[1 + hdr] : NULL;
	struct store_overview *o;
	struct store_group g;
	long long lo, hi, number, first;
	int rc, code = !hdr ? 224 : toupper((unsigned char)args[0][0]) ==
	    'X' ? 221 : 225;

	if (hdr)
		s->gen_field = xstrdup(args[1]);
	if (arg != NULL && *arg == '<') {
		if (msgid_valid(arg, NULL) == -1) {
			nntp_reply(s, 501, "Syntax error in Message-ID");
			goto fail;
		}
		if ((rc = store_overview_msgid(s->srv->store, arg, &o)) != 1) {
			nntp_reply(s, rc == 0 ? 430 : 403, rc == 0 ?
			    "No article with that message-id" :
			    "Internal fault");
			goto fail;
		}
		if (!nntp_msgid_readable(s, o->message)) {
			store_overview_free(o, 1);
			goto fail;
		}
		number = s->group != NULL ? store_article_number(s->srv->store,
		    s->group, arg) : 0;
		nntp_reply(s, code, "%s follow", hdr ? "Headers" :
		    "Overview information");
		if (hdr)
			nntp_hdr_line(s, o, 0, out);
		else
			nntp_overview_line(s->srv->store, o, number, out);
		store_overview_free(o, 1);
		nntp_more_done(s);
		return;
	}
	if (s->group == NULL) {
		nntp_reply(s, 412, "No newsgroup selected");
		goto fail;
	}
	if (arg == NULL) {
		if (s->article == 0) {
			nntp_reply(s, 420, "Current article number is"
			    " invalid");
			goto fail;
		}
		lo = hi = s->article;
	} else {
		if ((rc = store_group(s->srv->store, s->group, &g)) != 1) {
			nntp_reply(s, 403, "Internal fault");
			goto fail;
		}
		free(g.name);
		if (nntp_range(arg, g.high, &lo, &hi) == -1) {
			nntp_reply(s, 501, "Syntax error in range");
			goto fail;
		}
	}
	first = lo > hi ? 0 : store_article_step(s->srv->store, s->group,
	    lo - 1, 1);
	if (first < 0) {
		nntp_reply(s, 403, "Internal fault");
		goto fail;
	}
	if (first == 0 || first > hi) {
		nntp_reply(s, 423, "No articles in that range");
		goto fail;
	}
	nntp_reply(s, code, "%s follow", hdr ? "Headers" :
	    "Overview information");
	s->gen_group = xstrdup(s->group);
	s->gen_next = lo;
	s->gen_high = hi;
	nntp_more_start(s, nntp_more_over);
	return;
fail:
	free(s->gen_field);
	s->gen_field = NULL;
}

/*
 * Start reading an article.  With reject set it is read only to be
 * refused (TAKETHIS must be answered after its article); otherwise an
 * offered Message-ID is in flight until the router has decided.
 */
static void
nntp_read_article(struct nntp_session *s, enum nntp_intake intake,
    const char *offered, const char *reject)
{
	s->intake = intake;
	free(s->offered);
	s->offered = offered != NULL ? xstrdup(offered) : NULL;
	s->art_reject = reject;
	s->art_refusal = DOTDATA_OK;
	s->offered_inflight = offered != NULL && reject == NULL;
	if (s->offered_inflight)
		nntp_inflight_add(s->srv, offered);
	s->art = evbuffer_new();
	s->state = NS_ARTICLE;
}

/* The offered Message-ID is no longer in flight. */
static void
nntp_offer_done(struct nntp_session *s)
{
	if (s->offered_inflight && s->srv != NULL)
		nntp_inflight_del(s->srv, s->offered);
	s->offered_inflight = 0;
	free(s->offered);
	s->offered = NULL;
}

static void
nntp_cmd_post(struct nntp_session *s, char **args, int nargs)
{
	switch (nntp_access_any(s, 1)) {
	case -1:
		nntp_reply(s, 440, "Posting not permitted");
		return;
	case 0:
		nntp_reply(s, 480, "Authentication required for posting");
		return;
	}
	nntp_reply(s, 340, "Send article to be posted; end with"
	    " <CR-LF>.<CR-LF>");
	nntp_read_article(s, NNTP_POST, NULL, NULL);
}

/*
 * IHAVE, CHECK and TAKETHIS: what do we think of this Message-ID?  -1
 * malformed, 0 send it, 1 we have it, 2 in flight here, 3 not now: the
 * data directory is full.
 */
static int
nntp_offer(struct nntp_session *s, const char *msgid)
{
	if (msgid_valid(msgid, NULL) == -1)
		return -1;
	if (nntp_inflight(s->srv, msgid))
		return 2;
	/* Held for moderation is had all the same. */
	if (store_has_msgid(s->srv->store, msgid) != 0)
		return 1;
	/* The data directory is full: not now, and do not send it. */
	return store_full(s->srv->store) ? 3 : 0;
}

static void
nntp_cmd_ihave(struct nntp_session *s, char **args, int nargs)
{
	switch (nntp_offer(s, args[1])) {
	case -1:
		nntp_reply(s, 501, "Syntax error in Message-ID");
		return;
	case 1:
		nntp_reply(s, 435, "Duplicate");
		return;
	case 2:
		nntp_reply(s, 436, "Retry later: it is being stored now");
		return;
	case 3:
		nntp_reply(s, 436, "Retry later: data directory full");
		return;
	}
	nntp_reply(s, 335, "Send it; end with <CR-LF>.<CR-LF>");
	nntp_read_article(s, NNTP_IHAVE, args[1], NULL);
}

static void
nntp_cmd_check(struct nntp_session *s, char **args, int nargs)
{
	switch (nntp_offer(s, args[1])) {
	case -1:
		nntp_reply(s, 438, "%s Syntax error in Message-ID", args[1]);
		return;
	case 1:
		nntp_reply(s, 438, "%s Duplicate", args[1]);
		return;
	case 2:
		nntp_reply(s, 431, "%s Retry later", args[1]);
		return;
	case 3:
		nntp_reply(s, 431, "%s Retry later: data directory full",
		    args[1]);
		return;
	}
	nntp_reply(s, 238, "%s Send it", args[1]);
}

/* TAKETHIS: the article follows at once, whatever we answer. */
static void
nntp_cmd_takethis(struct nntp_session *s, char **args, int nargs)
{
	/*
	 * A full data directory is no reason to refuse for good (439): the
	 * article is here already, so the store is tried, and a failure is
	 * "400 not now".
	 */
	static const char *why[] = { NULL, "Duplicate", "In flight", NULL };
	int offer = nntp_offer(s, args[1]);

	nntp_read_article(s, NNTP_TAKETHIS, args[1], offer == -1 ?
	    "Syntax error in Message-ID" : why[offer]);
}

static void	 nntp_read_cb(struct bufferevent *, void *);
static void	 nntp_write_cb(struct bufferevent *, void *);
static void	 nntp_event_cb(struct bufferevent *, short, void *);

/* Callbacks, timeouts and watermarks of a session's bufferevent. */
static void
nntp_session_setup(struct nntp_session *s)
{
	struct timeval tv = { s->srv->conf->nntp_idle_timeout, 0 };

	bufferevent_setcb(s->bev, nntp_read_cb, nntp_write_cb, nntp_event_cb,
	    s);
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	/* Bounded input: a client pipelining without reading waits. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, NNTP_OUT_HIGH);
	/* Make a long answer's next slice before the pipe runs dry. */
	bufferevent_setwatermark(s->bev, EV_WRITE, NNTP_OUT_LOW, 0);
}

/*
 * STARTTLS (RFC 4642, updated by RFC 8143).  Anything the client sent
 * after the command would be read as if it came through TLS: that is an
 * injection attack, so then we refuse and close.  After the handshake
 * the session starts afresh.
 */
static void
nntp_cmd_starttls(struct nntp_session *s, char **args, int nargs)
{
	struct bufferevent *tls;

	if (s->tls) {
		nntp_reply(s, 502, "Already using TLS");
		return;
	}
	if (s->user != NULL) {
		nntp_reply(s, 502, "Already authenticated");
		return;
	}
	if (s->srv->tls == NULL) {
		nntp_reply(s, 580, "TLS is not available here");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0) {
		nntp_reply(s, 580, "Data after STARTTLS: refused");
		nntp_close(s);
		return;
	}
	nntp_reply(s, 382, "Continue with TLS negotiation");
	if ((tls = tls_starttls(s->srv->tls, s->srv->base, s->bev)) == NULL) {
		log_warnx("event=nntp-tls session=nntp:%u error=%s", s->id,
		    log_q(tls_error()));
		nntp_close(s);
		return;
	}
	/* The plain bufferevent is the TLS one's now. */
	s->bev = tls;
	s->tls = 1;
	nntp_session_setup(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	free(s->group);
	s->group = NULL;
	s->article = 0;
	free(s->user_pending);
	s->user_pending = NULL;
	log_info("event=nntp-tls session=nntp:%u client=%s result=starttls",
	    s->id, s->client);
}

static void
nntp_cmd_quit(struct nntp_session *s, char **args, int nargs)
{
	nntp_reply(s, 205, "Bye");
	nntp_close(s);
}

static const struct nntp_command nntp_commands[] = {
	{ "ARTICLE", nntp_cmd_article, 0, 1, NC_READ },
	/* RFC 4643 section 2.3.2: a password may hold spaces. */
	{ "AUTHINFO", nntp_cmd_authinfo, 2, 2, NC_REST },
	{ "BODY", nntp_cmd_article, 0, 1, NC_READ },
	{ "CAPABILITIES", nntp_cmd_capabilities, 0, 1, 0 },
	{ "CHECK", nntp_cmd_check, 1, 1, NC_FEED },
	{ "DATE", nntp_cmd_date, 0, 0, 0 },
	{ "GROUP", nntp_cmd_group, 1, 1, NC_READ },
	{ "HDR", nntp_cmd_over, 1, 2, NC_READ },
	{ "HEAD", nntp_cmd_article, 0, 1, NC_READ },
	{ "HELP", nntp_cmd_help, 0, 0, 0 },
	{ "IHAVE", nntp_cmd_ihave, 1, 1, NC_FEED },
	{ "LAST", nntp_cmd_next, 0, 0, NC_READ },
	{ "LIST", nntp_cmd_list, 0, 2, NC_READ },
	{ "LISTGROUP", nntp_cmd_group, 0, 2, NC_READ },
	{ "MODE", nntp_cmd_mode, 1, 1, 0 },
	{ "NEWGROUPS", nntp_cmd_newgroups, 2, 3, NC_READ },
	{ "NEWNEWS", nntp_cmd_newnews, 3, 4, NC_READ },
	{ "NEXT", nntp_cmd_next, 0, 0, NC_READ },
	{ "OVER", nntp_cmd_over, 0, 1, NC_READ },
	{ "POST", nntp_cmd_post, 0, 0, 0 },
	{ "QUIT", nntp_cmd_quit, 0, 0, 0 },
	{ "STARTTLS", nntp_cmd_starttls, 0, 0, 0 },
	{ "STAT", nntp_cmd_article, 0, 1, NC_READ },
	{ "TAKETHIS", nntp_cmd_takethis, 1, 1, NC_FEED },
	{ "XHDR", nntp_cmd_over, 1, 2, NC_READ },
	{ "XOVER", nntp_cmd_over, 0, 1, NC_READ },
};

/* The next word of *p (ended there by a NUL), or NULL at the end. */
static char *
nntp_word(char **p)
{
	char *w = *p + strspn(*p, " \t");

	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " \t");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

static void
nntp_command(struct nntp_session *s, char *line)
{
	const struct nntp_command *cmd = NULL;
	char *args[8], *p = line, *w;
	int nargs = 0;
	size_t i, n;

	if ((args[nargs++] = nntp_word(&p)) == NULL) {
		nntp_reply(s, 500, "Empty command");
		return;
	}
	for (i = 0; i < sizeof(nntp_commands) / sizeof(nntp_commands[0]);
	    i++)
		if (strcasecmp(nntp_commands[i].verb, args[0]) == 0)
			cmd = &nntp_commands[i];
	if (cmd == NULL) {
		nntp_reply(s, 500, "Unknown command");
		return;
	}
	for (;;) {
		if (cmd->flags & NC_REST && nargs == cmd->args_max) {
			/* The rest, without the white space around it. */
			w = p + strspn(p, " \t");
			n = strlen(w);
			while (n > 0 && (w[n - 1] == ' ' || w[n - 1] == '\t'))
				w[--n] = '\0';
			if (*w != '\0')
				args[nargs++] = w;
			break;
		}
		if ((w = nntp_word(&p)) == NULL)
			break;
		if (nargs == 8) {
			nntp_reply(s, 501, "Too many arguments");
			return;
		}
		args[nargs++] = w;
	}
	log_debug("event=nntp session=nntp:%u cmd=%s", s->id, cmd->verb);
	if (nargs - 1 < cmd->args_min || nargs - 1 > cmd->args_max) {
		nntp_reply(s, 501, "Syntax error");
		return;
	}
	if ((cmd->flags & NC_READ) && nntp_access_any(s, 0) == 0 &&
	    s->user == NULL) {
		/* Nothing to read without AUTHINFO. */
		nntp_reply(s, 480, "Authentication required");
		return;
	}
	if ((cmd->flags & NC_FEED) && !nntp_is_feeder(s)) {
		nntp_reply(s, 502, "Only peers may feed articles");
		return;
	}
	cmd->run(s, args, nargs);
}

static void
nntp_pending_free(struct nntp_pending *p)
{
	struct nntp_session *s = p->s;

	TAILQ_REMOVE(&s->pending, p, entry);
	s->npending--;
	free(p->offered);
	free(p->line);
	free(p);
}

/*
 * Send the owed answers that are known, in order; when none is owed any
 * more, run a command that waited for that, and read on.
 */
static void
nntp_flush(struct nntp_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct nntp_pending *p;
	char *line;
	int close;

	while ((p = TAILQ_FIRST(&s->pending)) != NULL && p->line != NULL) {
		evbuffer_add_printf(out, "%s\r\n", p->line);
		close = p->close;
		nntp_pending_free(p);
		if (close) {
			nntp_close(s);
			return;
		}
	}
	if (TAILQ_EMPTY(&s->pending) && s->stashed != NULL) {
		line = s->stashed;
		s->stashed = NULL;
		nntp_command(s, line);
		free(line);
		if (s->state == NS_CLOSING)
			return;
	}
	if (s->npending < NNTP_PENDING_MAX && s->stashed == NULL) {
		bufferevent_enable(s->bev, EV_READ);
		nntp_process(s);
	}
}

/* The router's verdict on an article: the answer owed for it. */
static void
nntp_routed(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	struct nntp_pending *p = arg;
	struct nntp_session *s = p->s;
	const char *why = reason != NULL ? reason : "";

	if (p->offered != NULL && s->srv != NULL)
		nntp_inflight_del(s->srv, p->offered);
	if (s->gone || s->srv == NULL) {
		/* The client, or the whole server, went away meanwhile. */
		nntp_pending_free(p);
		if (TAILQ_EMPTY(&s->pending))
			nntp_session_free(s);
		return;
	}
	log_info("event=nntp-article session=nntp:%u client=%s intake=%s"
	    " msgid=%s result=%s", s->id, s->client, p->intake == NNTP_POST ?
	    "post" : p->intake == NNTP_IHAVE ? "ihave" : "takethis",
	    log_q(msgid), router_result_name(result));
	switch (p->intake) {
	case NNTP_POST:
		if (result == ROUTER_ACCEPTED && reason != NULL)
			p->line = xasprintf("240 Article received %s; %s",
			    msgid, reason);
		else if (result == ROUTER_ACCEPTED)
			p->line = xasprintf("240 Article received %s", msgid);
		else if (result == ROUTER_DUPLICATE)
			p->line = xasprintf("441 Duplicate article %s", msgid);
		else
			p->line = xasprintf("441 Posting failed: %s", why);
		break;
	case NNTP_IHAVE:
		if (result == ROUTER_ACCEPTED)
			p->line = xstrdup("235 Article transferred OK");
		else if (result == ROUTER_TEMPFAIL)
			p->line = xasprintf("436 Transfer failed, try again"
			    " later: %s", why);
		else
			p->line = xasprintf("437 Transfer rejected: %s", why);
		break;
	case NNTP_TAKETHIS:
		if (result == ROUTER_ACCEPTED)
			p->line = xasprintf("239 %s", p->offered);
		else if (result == ROUTER_TEMPFAIL) {
			/* TAKETHIS has no "later": drop the connection and
			   let the peer offer it again. */
			p->line = xasprintf("400 Cannot store articles now:"
			    " %s", why);
			p->close = 1;
		} else
			p->line = xasprintf("439 %s %s", p->offered, why);
		break;
	}
	if (p->line[0] >= '4')
		log_info("event=nntp session=nntp:%u client=%s result=%.3s"
		    " text=%s", s->id, s->client, p->line,
		    log_q(p->line + 4));
	nntp_flush(s);
}

/*
 * May the session post to every group of the article?  NULL, or why not
 * (to free).
 */
static char *
nntp_post_denied(struct nntp_session *s, const char *article, size_t len)
{
	const struct conf_channel *c;
	struct msg *msg;
	const char *err;
	char *groups, *g, *save = NULL, *why = NULL;
	int a;

	if (msg_parse(article, len, &msg, &err) == -1)
		return xstrdup(err);
	groups = msg_get_unfolded(msg, "Newsgroups");
	msg_free(&msg);
	for (g = strtok_r(groups, ", \t", &save); g != NULL && why == NULL;
	    g = strtok_r(NULL, ", \t", &save)) {
		if ((c = nntp_channel(s, g)) == NULL ||
		    (a = nntp_access(s, c, 1)) == 1)
			continue;
		why = xasprintf("posting to %s %s", g, a == 0 ?
		    "needs AUTHINFO" : "is not permitted");
	}
	free(groups);
	return why;
}

/* The article is in: check it, and hand it to the router. */
static void
nntp_article_done(struct nntp_session *s)
{
	struct router_input in;
	struct nntp_pending *p;
	size_t len = evbuffer_get_length(s->art), outlen = 0;
	char *reason = NULL, *msgid = NULL, *article = NULL, session[32];
	const char *reject = s->art_reject;

	if (reject == NULL)
		article = nntp_article_accept(s->srv->conf, s->intake,
		    len > 0 ? (const char *)evbuffer_pullup(s->art, -1) : "",
		    len, s->offered, s->client, s->user, &outlen, &msgid,
		    &reason);
	evbuffer_free(s->art);
	s->art = NULL;
	if (reject == NULL && article == NULL)
		reject = reason;
	else if (reject == NULL && s->intake == NNTP_POST &&
	    (reason = nntp_post_denied(s, article, outlen)) != NULL) {
		reject = reason;
		free(article);
		free(msgid);
		article = msgid = NULL;
	}
	if (reject != NULL) {
		if (s->intake == NNTP_POST)
			nntp_reply(s, 441, "Posting failed: %s", reject);
		else if (s->intake == NNTP_IHAVE)
			nntp_reply(s, 437, "Transfer rejected: %s", reject);
		else
			nntp_reply(s, 439, "%s %s", s->offered, reject);
		nntp_offer_done(s);
		free(reason);
		s->state = NS_COMMAND;
		return;
	}

	memset(&in, 0, sizeof(in));
	in.source = SIDE_NEWS;
	in.raw = article;
	in.len = outlen;
	/* A reader's post is new to INN; a peer's article came from there. */
	in.posted_here = s->intake == NNTP_POST;
	snprintf(session, sizeof(session), "nntp:%u", s->id);
	in.session = session;
	free(msgid);

	/* The answer is owed from here; the offer goes with it. */
	p = xcalloc(1, sizeof(*p));
	p->s = s;
	p->intake = s->intake;
	if (s->offered_inflight) {
		p->offered = s->offered;
		s->offered = NULL;
		s->offered_inflight = 0;
	}
	TAILQ_INSERT_TAIL(&s->pending, p, entry);
	s->npending++;
	s->state = NS_COMMAND;
	if (s->npending >= NNTP_PENDING_MAX)
		bufferevent_disable(s->bev, EV_READ);
	router_submit(s->srv->router, &in, nntp_routed, p);
	free(article);
}

/* Read article lines up to the "." that ends it (RFC 3977 3.1.1). */
static void
nntp_article_read(struct nntp_session *s)
{
	/* An article refused already is read only to be dropped. */
	long long max = s->art_reject != NULL ? 0 :
	    s->srv->conf->max_message_size;

	if (!dotdata_read(bufferevent_get_input(s->bev), s->art, max,
	    &s->art_refusal, 0))
		return;
	if (s->art_reject == NULL && s->art_refusal == DOTDATA_TOO_BIG)
		s->art_reject = "larger than max-message-size";
	else if (s->art_reject == NULL && s->art_refusal != DOTDATA_OK)
		s->art_reject = "a line is longer than 998 octets";
	nntp_article_done(s);
}

/* Does the input hold more than one command (a pipelining client)? */
static int
nntp_pipelined(struct nntp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol;
	size_t n;

	eol = evbuffer_search_eol(in, NULL, &n, EVBUFFER_EOL_CRLF);
	return eol.pos != -1 && (size_t)eol.pos + n < evbuffer_get_length(in);
}

/* CHECK and TAKETHIS may run while answers are owed. */
static int
nntp_streaming(const char *line)
{
	return strncasecmp(line, "CHECK ", 6) == 0 ||
	    strncasecmp(line, "TAKETHIS ", 9) == 0;
}

/*
 * Work through what the client sent, as long as we may: not while a
 * command waits for owed answers, too many articles are with the
 * router, a long answer is being made, or the output is full.
 */
static void
nntp_process(struct nntp_session *s)
{
	struct evbuffer *in, *out;
	struct evbuffer_ptr eol;
	size_t n;
	char *line;

	/* The buffers anew each time: STARTTLS changes the bufferevent. */
	while (in = bufferevent_get_input(s->bev),
	    out = bufferevent_get_output(s->bev),
	    s->more == NULL && s->stashed == NULL &&
	    s->npending < NNTP_PENDING_MAX &&
	    evbuffer_get_length(out) < NNTP_OUT_HIGH) {
		if (s->state == NS_ARTICLE) {
			nntp_article_read(s);
			if (s->state == NS_ARTICLE)
				return;
			continue;
		}
		if (s->state != NS_COMMAND)
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
			if (evbuffer_get_length(in) >= NNTP_LINE_MAX) {
				nntp_reply(s, 501, "Command line too long");
				s->discard = 1;
				continue;
			}
			return;
		}
		if (n > NNTP_LINE_MAX - 2)
			nntp_reply(s, 501, "Command line too long");
		else if (memchr(line, '\0', n) != NULL)
			nntp_reply(s, 501, "NUL byte in the command line");
		else if (!TAILQ_EMPTY(&s->pending) && !nntp_streaming(line)) {
			/* Its answer would pass the owed ones: wait. */
			s->stashed = line;
			return;
		} else
			nntp_command(s, line);
		free(line);
	}
	/* Full: read nothing more until the client has caught up. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) >=
	    NNTP_OUT_HIGH)
		bufferevent_disable(s->bev, EV_READ);
}

/*
 * libevent 2.1 reads at most 4096 bytes per read event, so a streaming
 * peer's articles would come in two at a time, and every two would cost
 * a commit of their own.  Take what the socket holds now (a plain one:
 * TLS has its own buffering), up to the input limit, so that one pass
 * hands the router a burst that shares one commit.  End of file and
 * errors are left to the bufferevent's next read.
 */
static void
nntp_drain_socket(struct nntp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v;
	ssize_t n;

	if (s->tls)
		return;
	/* The bufferevent keeps its input's end frozen but while it reads. */
	evbuffer_unfreeze(in, 0);
	while (evbuffer_get_length(in) < NNTP_OUT_HIGH &&
	    evbuffer_reserve_space(in, 65536, &v, 1) == 1) {
		n = recv(bufferevent_getfd(s->bev), v.iov_base, v.iov_len,
		    MSG_DONTWAIT);
		if (n <= 0)
			break;
		v.iov_len = n;
		evbuffer_commit_space(in, &v, 1);
	}
	evbuffer_freeze(in, 0);
}

static void
nntp_read_cb(struct bufferevent *bev, void *arg)
{
	struct nntp_session *s = arg;

	if (s->state == NS_ARTICLE || nntp_pipelined(s))
		nntp_drain_socket(s);
	if ((s->state == NS_COMMAND || s->state == NS_ARTICLE) &&
	    listen_too_slow(bufferevent_get_input(bev), s->discard, &s->slow,
	    s->srv->conf->nntp_idle_timeout)) {
		log_info("event=nntp session=nntp:%u client=%s result=slow",
		    s->id, s->client);
		nntp_reply(s, 400, "Too slow to finish a line, closing");
		nntp_close(s);
		return;
	}
	nntp_process(s);
}

static void
nntp_write_cb(struct bufferevent *bev, void *arg)
{
	struct nntp_session *s = arg;
	struct evbuffer *out = bufferevent_get_output(bev);

	if (s->state == NS_CLOSING) {
		nntp_close_check(-1, 0, s);
		return;
	}
	while (s->more != NULL && evbuffer_get_length(out) < NNTP_OUT_LOW)
		s->more(s);
	if (s->more == NULL && evbuffer_get_length(out) < NNTP_OUT_LOW &&
	    s->stashed == NULL && s->npending < NNTP_PENDING_MAX) {
		bufferevent_enable(bev, EV_READ);
		nntp_process(s);
	}
}

static void
nntp_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct nntp_session *s = arg;

	if (events & BEV_EVENT_CONNECTED) {
		/* A TLS handshake is through. */
		log_debug("event=nntp-tls session=nntp:%u result=handshake",
		    s->id);
		return;
	}
	if (events & BEV_EVENT_TIMEOUT) {
		log_info("event=nntp session=nntp:%u client=%s result=idle",
		    s->id, s->client);
		nntp_reply(s, 400, "Idle for too long, closing");
		nntp_close(s);
		return;
	}
	if ((events & BEV_EVENT_ERROR) && s->tls)
		log_info("event=nntp-tls session=nntp:%u client=%s error=%s",
		    s->id, s->client, log_q(tls_error()));
	if (!TAILQ_EMPTY(&s->pending)) {
		/* The router still holds answers of s: the last frees it. */
		s->gone = 1;
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		return;
	}
	nntp_session_free(s);
}

static void
nntp_session_free(struct nntp_session *s)
{
	struct nntp_server *srv = s->srv;

	if (srv != NULL) {
		TAILQ_REMOVE(&srv->sessions, s, entry);
		srv->nsessions--;
		log_debug("event=nntp-close session=nntp:%u client=%s", s->id,
		    s->client);
	}
	if (s->state == NS_ARTICLE)
		nntp_offer_done(s);
	bufferevent_free(s->bev);
	if (s->close_ev != NULL)
		event_free(s->close_ev);
	if (s->art != NULL)
		evbuffer_free(s->art);
	free(s->group);
	free(s->user_pending);
	free(s->user);
	free(s->offered);
	free(s->stashed);
	free(s->gen_group);
	free(s->gen_field);
	free(s->gen_wildmat);
	free(s);
}

static void	 nntp_session_start(struct nntp_server *, int,
		    const struct sockaddr *, int);

static void
nntp_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct nntp_listen *nl = arg;

	nntp_session_start(nl->srv, fd, sa, nl->tls);
}

void
nntp_server_adopt(struct nntp_server *srv, int fd, const struct sockaddr *sa)
{
	nntp_session_start(srv, fd, sa, 0);
}

static void
nntp_session_start(struct nntp_server *srv, int fd, const struct sockaddr *sa,
    int tls)
{
	struct nntp_session *s, *o;
	size_t same = 0;

	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	TAILQ_INIT(&s->pending);
	s->id = ++srv->next_id;
	s->loopback = listen_peer(sa, s->client, sizeof(s->client));
	s->tls = tls;
	if (tls)
		s->bev = srv->tls != NULL ? tls_accept(srv->tls, srv->base,
		    fd) : NULL;
	else
		s->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warnx("event=nntp-accept client=%s error=%s", s->client,
		    tls ? log_q(tls_error()) : "bufferevent");
		close(fd);
		free(s);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	nntp_session_setup(s);

	TAILQ_FOREACH(o, &srv->sessions, entry)
		if (strcmp(o->client, s->client) == 0)
			same++;
	log_debug("event=nntp-accept session=nntp:%u client=%s", s->id,
	    s->client);
	if ((long long)same > srv->conf->nntp_connections_per_address) {
		nntp_reply(s, 400, "Too many connections from your address");
		nntp_close(s);
		return;
	}
	if (nntp_access_any(s, 1) >= 0)
		nntp_reply(s, 200, "%s Syncom syncd %s ready (posting ok)",
		    srv->conf->hostname, SYNCOM_VERSION);
	else
		nntp_reply(s, 201, "%s Syncom syncd %s ready (no posting)",
		    srv->conf->hostname, SYNCOM_VERSION);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

struct nntp_server *
nntp_server_new(struct event_base *base, struct store *store,
    struct router *router, const struct nntp_listener *ls, size_t n)
{
	struct nntp_server *srv = xcalloc(1, sizeof(*srv));
	size_t i;

	srv->base = base;
	srv->store = store;
	srv->router = router;
	TAILQ_INIT(&srv->sessions);
	srv->listeners = xcalloc(n + 1, sizeof(*srv->listeners));
	for (i = 0; i < n; i++) {
		srv->listeners[i].srv = srv;
		srv->listeners[i].tls = ls[i].tls;
		srv->listeners[i].l = evconnlistener_new(base, nntp_accept,
		    &srv->listeners[i], LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, 0, ls[i].fd);
		if (srv->listeners[i].l == NULL)
			fatalx("nntp_server_new: evconnlistener_new failed");
	}
	srv->nlisteners = n;
	return srv;
}

void
nntp_server_set_auth(struct nntp_server *srv, nntp_auth_fn fn, void *arg)
{
	srv->auth = fn;
	srv->auth_arg = arg;
}

void
nntp_server_set_tls(struct nntp_server *srv, struct tls_server *tls)
{
	srv->tls = tls;
}

void
nntp_server_set_conf(struct nntp_server *srv, struct conf *conf)
{
	const struct conf_channel *c;

	conf_unref(&srv->conf);
	srv->conf = conf_ref(conf);
	/* Every group is listed from the start, empty or not. */
	TAILQ_FOREACH(c, &conf->channels, entry)
		if (c->newsgroup != NULL)
			store_group_create(srv->store, c->newsgroup);
}

size_t
nntp_server_sessions(struct nntp_server *srv)
{
	return srv->nsessions;
}

void
nntp_server_free(struct nntp_server **srvp)
{
	struct nntp_server *srv = *srvp;
	struct nntp_session *s;
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
		if (!TAILQ_EMPTY(&s->pending)) {
			/* Freed when the router calls back. */
			s->srv = NULL;
			continue;
		}
		s->srv = NULL;
		nntp_session_free(s);
	}
	for (i = 0; i < srv->ninflight; i++)
		free(srv->inflight[i]);
	free(srv->inflight);
	conf_unref(&srv->conf);
	free(srv);
}
