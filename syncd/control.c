/*
 * control.c: the control socket that syncctl talks to.
 *
 * One request per connection.  The client sends a line, "VERB [ARG...]",
 * where an argument "--json" asks for JSON instead of text; "inject SOURCE
 * LENGTH [to=ADDRESS] [board=NAME]" is followed by LENGTH bytes of message;
 * "notice LENGTH [group=NAME]" likewise, its first line the subject;
 * "milter-check KEY=VALUE..." is syncd-milter's question about a message
 * the MTA has not taken yet, answered by the mail side (smtp_check.c);
 * "jobs" and "run-job NAME" are the scheduled jobs'.
 * The reply is "ok" or "error REASON" on the first line, then the body, and
 * the server closes the connection.  The socket is mode 0660, so only root,
 * syncd's user and the control group reach it.
 *
 * An injected message goes through router_submit() like any other arrival,
 * and the reply waits for the commit.  If the client leaves meanwhile, the
 * session lives on until the router's callback, then goes quietly.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "syncd.h"

/* milter-check's words hold addresses and header values. */
#define CONTROL_LINE_MAX	8192
#define CONTROL_WORDS_MAX	64
#define CONTROL_TIMEOUT		30
#define CONTROL_LIST_MAX	1000

struct control_session;
TAILQ_HEAD(control_sessions, control_session);

struct control {
	struct event_base *base;
	struct control_sessions sessions;
	struct evconnlistener *listener;
	struct store	*store;
	struct router	*router;
	struct outbox	*outbox;
	struct conf	*conf;
	struct control_hooks hooks;
	time_t		 started;
	time_t		 loaded;
	unsigned int	 next_id;
};

enum control_state {
	CS_REQUEST,		/* reading the request line */
	CS_BODY,		/* reading an injected message */
	CS_ROUTING,		/* waiting for the router */
	CS_REPLYING,		/* flushing the reply */
	CS_CLOSING		/* half-closed, reading to the client's end */
};

struct control_session {
	TAILQ_ENTRY(control_session) entry;
	struct control	*ctl;		/* NULL once the control is freed */
	struct bufferevent *bev;
	unsigned int	 id;
	enum control_state state;
	int		 json;
	int		 gone;		/* the client left while routing */
	struct evbuffer	*body;		/* the reply's body, being built */
	/* inject, notice */
	enum side	 source;
	size_t		 need;
	char		*to;
	char		*board;
	int		 notice;
	char		*group;
};

struct control_command {
	const char	*verb;
	void		 (*run)(struct control_session *, char **, int);
	int		 args_min, args_max;
	const char	*usage;
};

static void	 control_event(struct bufferevent *, short, void *);
static void	 control_cmd_status(struct control_session *, char **, int);
static void	 control_cmd_queue(struct control_session *, char **, int);
static void	 control_cmd_dead(struct control_session *, char **, int);
static void	 control_cmd_retry(struct control_session *, char **, int);
static void	 control_cmd_reload(struct control_session *, char **, int);
static void	 control_cmd_inject(struct control_session *, char **, int);
static void	 control_cmd_milter_check(struct control_session *, char **,
		    int);
static void	 control_cmd_notice(struct control_session *, char **, int);
static void	 control_cmd_jobs(struct control_session *, char **, int);
static void	 control_cmd_run_job(struct control_session *, char **, int);

static const struct control_command control_commands[] = {
	{ "status", control_cmd_status, 0, 0, "status" },
	{ "queue", control_cmd_queue, 0, 0, "queue" },
	{ "dead", control_cmd_dead, 0, 0, "dead" },
	{ "retry", control_cmd_retry, 1, 1, "retry ID|all" },
	{ "reload", control_cmd_reload, 0, 0, "reload" },
	{ "inject", control_cmd_inject, 2, 4,
	    "inject news|list|forum LENGTH [to=ADDRESS] [board=NAME]" },
	{ "notice", control_cmd_notice, 1, 2, "notice LENGTH [group=NAME]" },
	{ "jobs", control_cmd_jobs, 0, 0, "jobs" },
	{ "run-job", control_cmd_run_job, 1, 1, "run-job NAME" },
	{ "milter-check", control_cmd_milter_check, 1, CONTROL_WORDS_MAX - 1,
	    "milter-check rcpt=ADDRESS... [sender=ADDRESS] [from=ADDRESS]"
	    " [msgid=ID] [gateway=VALUE...] [declared=N] [size=N]" },
};

int
control_listen(const char *path, uid_t uid, gid_t gid, char **err_r)
{
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err_r = xasprintf("control socket path %s is longer than %zu"
		    " bytes", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		*err_r = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* Only a stale socket may be replaced; the pidfile lock already
	   made sure no other syncd runs with this configuration. */
	if (lstat(path, &sb) == 0 && !S_ISSOCK(sb.st_mode)) {
		*err_r = xasprintf("%s exists and is not a socket", path);
		close(fd);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		*err_r = xasprintf("removing old %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*err_r = xasprintf("bind %s: %s", path, strerror(errno));
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chown(path, uid, gid) == -1 && geteuid() == 0) {
		*err_r = xasprintf("chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 16) == -1) {
		*err_r = xasprintf("listen %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Every reply goes out through here, so it is logged in one place. */
static void control_reply(struct control_session *, const char *, ...)
    PRINTFLIKE(2, 3);

static void
control_session_free(struct control_session *cs)
{
	if (cs->ctl != NULL)
		TAILQ_REMOVE(&cs->ctl->sessions, cs, entry);
	if (cs->bev != NULL)
		bufferevent_free(cs->bev);
	evbuffer_free(cs->body);
	free(cs->to);
	free(cs->board);
	free(cs->group);
	free(cs);
}

/*
 * Send the status line (NULL for "ok", else the error) and the body that
 * the command put in the output buffer, then close.
 */
static void
control_reply(struct control_session *cs, const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;
	char *err = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		if (vasprintf(&err, fmt, ap) == -1)
			fatal("control_reply");
		va_end(ap);
	}
	log_debug("event=control session=control:%u result=%s", cs->id,
	    err == NULL ? "ok" : log_q(err));
	if (cs->gone) {
		free(err);
		control_session_free(cs);
		return;
	}
	/* The output's start is frozen while the socket drains it: the
	   status line goes first, then the body built aside. */
	out = bufferevent_get_output(cs->bev);
	if (err != NULL)
		evbuffer_add_printf(out, "error %s\n", err);
	else {
		evbuffer_add(out, "ok\n", 3);
		evbuffer_add_buffer(out, cs->body);
	}
	free(err);
	cs->state = CS_REPLYING;
	bufferevent_disable(cs->bev, EV_READ);
	bufferevent_enable(cs->bev, EV_WRITE);
}

/*
 * JSON string output, escaped per RFC 8259 section 7; bytes that are not
 * UTF-8 (raw 8-bit headers) become U+FFFD, so the document stays valid.
 */
void
control_json_str(struct evbuffer *out, const char *s)
{
	const unsigned char *p;
	size_t n;

	if (s == NULL) {
		evbuffer_add(out, "null", 4);
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else if (n == 1 || (strnlen((const char *)p, n) == n &&
		    utf8_valid((const char *)p, n)))
			evbuffer_add(out, p, n);
		else {
			evbuffer_add(out, "\\ufffd", 6);
			n = 1;
		}
	}
	evbuffer_add(out, "\"", 1);
}

static const char *
control_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (t <= 0)
		return "-";
	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *
control_state_name(int state)
{
	return state == OUTBOX_PENDING ? "pending" : state == OUTBOX_DONE ?
	    "done" : "dead";
}

static void
control_cmd_status(struct control_session *cs, char **args, int nargs)
{
	struct control *ctl = cs->ctl;
	struct evbuffer *out = cs->body;
	struct store_channel_info *ci = NULL;
	struct store_queue_info *qi = NULL;
	struct conf_channel *c;
	long long pending = 0, dead = 0, msgs;
	size_t nci = 0, nqi = 0, i, j;
	char t1[32], t2[32];
	time_t now = time(NULL), in[SIDE_MAX], sent[SIDE_MAX];
	int s;

	if (store_last(ctl->store, in, sent) == -1 ||
	    store_channels(ctl->store, &ci, &nci) == -1 ||
	    store_queue(ctl->store, &qi, &nqi) == -1 ||
	    (msgs = store_message_count(ctl->store)) == -1) {
		store_channels_free(ci, nci);
		store_queue_free(qi, nqi);
		control_reply(cs, "could not read the store");
		return;
	}
	for (i = 0; i < nqi; i++) {
		if (qi[i].state == OUTBOX_PENDING)
			pending += qi[i].count;
		else if (qi[i].state == OUTBOX_DEAD)
			dead += qi[i].count;
	}

	if (cs->json) {
		evbuffer_add_printf(out, "{\"version\":\"%s\",\"pid\":%ld,"
		    "\"uptime\":%lld,\"config\":", SYNCOM_VERSION,
		    (long)getpid(), (long long)(now - ctl->started));
		control_json_str(out, ctl->conf->file);
		evbuffer_add_printf(out, ",\"loaded\":%lld,\"messages\":%lld,"
		    "\"pending\":%lld,\"dead\":%lld,\"channels\":[",
		    (long long)ctl->loaded, msgs, pending, dead);
	} else {
		evbuffer_add_printf(out, "syncd %s, pid %ld, up %llds\n"
		    "config: %s (loaded %s)\nmessages: %lld stored\n"
		    "outbox: %lld pending, %lld dead\nchannels:\n",
		    SYNCOM_VERSION, (long)getpid(),
		    (long long)(now - ctl->started), ctl->conf->file,
		    control_time(ctl->loaded, t1, sizeof(t1)), msgs, pending,
		    dead);
	}
	i = 0;
	TAILQ_FOREACH(c, &ctl->conf->channels, entry) {
		long long n = 0;
		time_t last = 0;

		for (j = 0; j < nci; j++)
			if (strcmp(ci[j].channel, c->name) == 0) {
				n = ci[j].messages;
				last = ci[j].last;
			}
		if (cs->json) {
			evbuffer_add_printf(out, "%s{\"name\":", i++ ? "," : "");
			control_json_str(out, c->name);
			evbuffer_add(out, ",\"newsgroup\":", 13);
			control_json_str(out, c->newsgroup);
			evbuffer_add(out, ",\"list\":", 8);
			control_json_str(out, c->list);
			evbuffer_add(out, ",\"board\":", 9);
			control_json_str(out, c->board);
			evbuffer_add_printf(out, ",\"direction\":\"%s\","
			    "\"messages\":%lld,\"last\":%lld}",
			    direction_name(c->direction), n, (long long)last);
		} else
			evbuffer_add_printf(out, "  %-16s %s | %s | %s (%s):"
			    " %lld messages, last %s\n", c->name,
			    c->newsgroup != NULL ? c->newsgroup : "-",
			    c->list != NULL ? c->list : "-",
			    c->board != NULL ? c->board : "-",
			    direction_name(c->direction), n,
			    control_time(last, t1, sizeof(t1)));
	}
	if (cs->json) {
		evbuffer_add_printf(out, "],\"sides\":{");
		for (s = 0; s < SIDE_MAX; s++)
			evbuffer_add_printf(out, "%s\"%s\":{\"last_in\":%lld,"
			    "\"last_out\":%lld}", s > 0 ? "," : "",
			    side_name(s), (long long)in[s], (long long)sent[s]);
		evbuffer_add_printf(out, "},\"peers\":{");
		if (ctl->hooks.peers != NULL)
			ctl->hooks.peers(ctl->hooks.arg, out, 1);
		evbuffer_add(out, "}}\n", 3);
	} else {
		evbuffer_add_printf(out, "sides:\n");
		for (s = 0; s < SIDE_MAX; s++)
			evbuffer_add_printf(out, "  %-6s last in %s, last"
			    " delivered %s\n", side_name(s),
			    control_time(in[s], t1, sizeof(t1)),
			    control_time(sent[s], t2, sizeof(t2)));
		if (ctl->hooks.peers != NULL) {
			evbuffer_add_printf(out, "peers:\n");
			ctl->hooks.peers(ctl->hooks.arg, out, 0);
		}
	}
	store_channels_free(ci, nci);
	store_queue_free(qi, nqi);
	control_reply(cs, NULL);
}

static void
control_cmd_queue(struct control_session *cs, char **args, int nargs)
{
	struct evbuffer *out = cs->body;
	struct store_queue_info *qi;
	size_t nqi, i;
	char t1[32];

	if (store_queue(cs->ctl->store, &qi, &nqi) == -1) {
		control_reply(cs, "could not read the store");
		return;
	}
	if (cs->json)
		evbuffer_add(out, "[", 1);
	else if (nqi == 0)
		evbuffer_add_printf(out, "the outbox is empty\n");
	else
		evbuffer_add_printf(out, "%-40s %-8s %8s  %s\n", "target",
		    "state", "count", "oldest");
	for (i = 0; i < nqi; i++) {
		if (cs->json) {
			evbuffer_add_printf(out, "%s{\"target\":", i ? "," : "");
			control_json_str(out, qi[i].target);
			evbuffer_add_printf(out, ",\"state\":\"%s\","
			    "\"count\":%lld,\"oldest\":%lld}",
			    control_state_name(qi[i].state), qi[i].count,
			    (long long)qi[i].oldest);
		} else
			evbuffer_add_printf(out, "%-40s %-8s %8lld  %s\n",
			    qi[i].target, control_state_name(qi[i].state),
			    qi[i].count, control_time(qi[i].oldest, t1,
			    sizeof(t1)));
	}
	if (cs->json)
		evbuffer_add(out, "]\n", 2);
	store_queue_free(qi, nqi);
	control_reply(cs, NULL);
}

static void
control_cmd_dead(struct control_session *cs, char **args, int nargs)
{
	struct evbuffer *out = cs->body;
	struct store_row_info *rows;
	size_t n, i;
	char t1[32];

	if (store_outbox_list(cs->ctl->store, OUTBOX_DEAD, CONTROL_LIST_MAX,
	    &rows, &n) == -1) {
		control_reply(cs, "could not read the store");
		return;
	}
	if (cs->json)
		evbuffer_add(out, "[", 1);
	else if (n == 0)
		evbuffer_add_printf(out, "no dead letters\n");
	for (i = 0; i < n; i++) {
		if (cs->json) {
			evbuffer_add_printf(out, "%s{\"id\":%lld,\"msgid\":",
			    i ? "," : "", (long long)rows[i].id);
			control_json_str(out, rows[i].msgid);
			evbuffer_add(out, ",\"target\":", 10);
			control_json_str(out, rows[i].target);
			evbuffer_add_printf(out, ",\"attempts\":%lld,"
			    "\"created\":%lld,\"updated\":%lld,\"reason\":",
			    rows[i].attempts, (long long)rows[i].created,
			    (long long)rows[i].updated);
			control_json_str(out, rows[i].last_error);
			evbuffer_add(out, "}", 1);
		} else
			evbuffer_add_printf(out, "%lld %s -> %s: %lld attempts,"
			    " dead since %s\n    %s\n    retry with: syncctl"
			    " retry %lld\n", (long long)rows[i].id,
			    rows[i].msgid, rows[i].target, rows[i].attempts,
			    control_time(rows[i].updated, t1, sizeof(t1)),
			    rows[i].last_error != NULL ? rows[i].last_error :
			    "(no reason recorded)", (long long)rows[i].id);
	}
	if (cs->json)
		evbuffer_add(out, "]\n", 2);
	store_row_info_free(rows, n);
	control_reply(cs, NULL);
}

static void
control_cmd_retry(struct control_session *cs, char **args, int nargs)
{
	struct evbuffer *out = cs->body;
	long long id = 0;
	char *end;
	int n;

	if (strcmp(args[0], "all") != 0) {
		id = strtoll(args[0], &end, 10);
		if (*args[0] == '\0' || *end != '\0' || id <= 0) {
			control_reply(cs, "retry: '%s' is not an outbox id or"
			    " 'all'", args[0]);
			return;
		}
	}
	if ((n = store_outbox_retry(cs->ctl->store, id)) == -1) {
		control_reply(cs, "could not write to the store");
		return;
	}
	if (id != 0 && n == 0) {
		control_reply(cs, "retry: no dead letter with id %lld", id);
		return;
	}
	log_info("event=retry session=control:%u id=%s rows=%d", cs->id,
	    args[0], n);
	/* A dead letter's target may be gone from the configuration. */
	outbox_refresh_targets(cs->ctl->outbox);
	outbox_wake(cs->ctl->outbox);
	if (cs->json)
		evbuffer_add_printf(out, "{\"retried\":%d}\n", n);
	else
		evbuffer_add_printf(out, "%d dead letter%s queued again\n", n,
		    n == 1 ? "" : "s");
	control_reply(cs, NULL);
}

static void
control_cmd_reload(struct control_session *cs, char **args, int nargs)
{
	char *err = NULL;

	cs->ctl->hooks.reload(cs->ctl->hooks.arg, &err);
	if (err != NULL) {
		control_reply(cs, "reload failed, the old configuration stays:"
		    " %s", err);
		free(err);
		return;
	}
	if (cs->json) {
		evbuffer_add(cs->body, "{\"reloaded\":", 12);
		control_json_str(cs->body, cs->ctl->conf->file);
		evbuffer_add(cs->body, "}\n", 2);
	} else
		evbuffer_add_printf(cs->body, "reloaded %s\n",
		    cs->ctl->conf->file);
	control_reply(cs, NULL);
}

static void
control_cmd_inject(struct control_session *cs, char **args, int nargs)
{
	long long len;
	char *end;
	int i;

	if (side_from_name(args[0], &cs->source) == -1) {
		control_reply(cs, "inject: unknown source '%s' (news, list or"
		    " forum)", args[0]);
		return;
	}
	len = strtoll(args[1], &end, 10);
	if (*args[1] == '\0' || *end != '\0' || len <= 0) {
		control_reply(cs, "inject: '%s' is not a length", args[1]);
		return;
	}
	if (len > cs->ctl->conf->max_message_size) {
		control_reply(cs, "inject: %lld bytes is larger than"
		    " max-message-size (%lld)", len,
		    cs->ctl->conf->max_message_size);
		return;
	}
	for (i = 2; i < nargs; i++) {
		if (strncmp(args[i], "to=", 3) == 0 && cs->to == NULL)
			cs->to = xstrdup(args[i] + 3);
		else if (strncmp(args[i], "board=", 6) == 0 &&
		    cs->board == NULL)
			cs->board = xstrdup(args[i] + 6);
		else {
			control_reply(cs, "inject: unknown argument '%s'",
			    args[i]);
			return;
		}
	}
	cs->need = len;
	cs->state = CS_BODY;
}

static void
control_routed(void *arg, enum router_result result, const char *reason,
    const char *msgid)
{
	struct control_session *cs = arg;
	struct evbuffer *out;

	if (cs->gone) {
		control_session_free(cs);
		return;
	}
	out = cs->body;
	if (cs->json) {
		evbuffer_add_printf(out, "{\"result\":\"%s\",\"msgid\":",
		    router_result_name(result));
		control_json_str(out, msgid);
		evbuffer_add(out, ",\"reason\":", 10);
		control_json_str(out, reason);
		evbuffer_add(out, "}\n", 2);
	} else
		evbuffer_add_printf(out, "%s %s%s%s\n",
		    router_result_name(result), msgid != NULL ? msgid : "-",
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	control_reply(cs, NULL);
}

/*
 * A notice to post: its text follows, the first line the subject.  The
 * reply is the router's verdict, as for inject.
 */
static void
control_cmd_notice(struct control_session *cs, char **args, int nargs)
{
	long long len;
	char *end;

	if (cs->ctl->hooks.notice == NULL) {
		control_reply(cs, "notice is not available");
		return;
	}
	len = strtoll(args[0], &end, 10);
	if (*args[0] == '\0' || *end != '\0' || len <= 0 ||
	    len > cs->ctl->conf->max_message_size) {
		control_reply(cs, "notice: '%s' is not a length up to"
		    " max-message-size", args[0]);
		return;
	}
	if (nargs == 2) {
		if (strncmp(args[1], "group=", 6) != 0) {
			control_reply(cs, "notice: unknown argument '%s'",
			    args[1]);
			return;
		}
		cs->group = xstrdup(args[1] + 6);
	}
	cs->notice = 1;
	cs->need = len;
	cs->state = CS_BODY;
}

static void
control_cmd_jobs(struct control_session *cs, char **args, int nargs)
{
	if (cs->ctl->hooks.jobs == NULL) {
		control_reply(cs, "jobs are not available");
		return;
	}
	cs->ctl->hooks.jobs(cs->ctl->hooks.arg, cs->body, cs->json);
	control_reply(cs, NULL);
}

static void
control_cmd_run_job(struct control_session *cs, char **args, int nargs)
{
	char *result = NULL;
	int rc;

	if (cs->ctl->hooks.run_job == NULL) {
		control_reply(cs, "jobs are not available");
		return;
	}
	rc = cs->ctl->hooks.run_job(cs->ctl->hooks.arg, args[0], &result);
	if (rc == -1) {
		control_reply(cs, "%s", result != NULL ? result : "failed");
		free(result);
		return;
	}
	if (cs->json) {
		evbuffer_add(cs->body, "{\"result\":", 11);
		control_json_str(cs->body, result);
		evbuffer_add(cs->body, "}\n", 2);
	} else
		evbuffer_add_printf(cs->body, "%s\n", result != NULL ? result :
		    "done");
	free(result);
	control_reply(cs, NULL);
}

/* The whole message is in: hand it to the router. */
static void
control_inject_body(struct control_session *cs)
{
	struct evbuffer *in = bufferevent_get_input(cs->bev);
	struct router_input ri;
	char session[32], *err = NULL;

	if (cs->notice) {
		cs->state = CS_ROUTING;
		bufferevent_disable(cs->bev, EV_READ);
		if (cs->ctl->hooks.notice(cs->ctl->hooks.arg, cs->group,
		    (const char *)evbuffer_pullup(in, cs->need), cs->need,
		    control_routed, cs, &err) == -1) {
			control_reply(cs, "notice: %s", err);
			free(err);
		}
		return;
	}
	memset(&ri, 0, sizeof(ri));
	ri.source = cs->source;
	ri.raw = (const char *)evbuffer_pullup(in, cs->need);
	ri.len = cs->need;
	ri.recipient = cs->to;
	ri.board = cs->board;
	snprintf(session, sizeof(session), "control:%u", cs->id);
	ri.session = session;
	cs->state = CS_ROUTING;
	bufferevent_disable(cs->bev, EV_READ);
	/* The router copies what it keeps; the buffer may go after this. */
	router_submit(cs->ctl->router, &ri, control_routed, cs);
}

/*
 * syncd-milter asks whether the gateway would refuse a message; the
 * answer is one line (the same with --json): "accept", "continue" or
 * "reject CODE X.Y.Z TEXT".
 */
static void
control_cmd_milter_check(struct control_session *cs, char **args, int nargs)
{
	char session[32], *verdict = NULL, *err = NULL;

	snprintf(session, sizeof(session), "control:%u", cs->id);
	if (cs->ctl->hooks.milter_check == NULL) {
		control_reply(cs, "milter-check is not available");
		return;
	}
	if (cs->ctl->hooks.milter_check(cs->ctl->hooks.arg, session, args,
	    nargs, &verdict, &err) == -1) {
		control_reply(cs, "%s", err);
		free(err);
		return;
	}
	evbuffer_add_printf(cs->body, "%s\n", verdict);
	free(verdict);
	control_reply(cs, NULL);
}

/* Split a request line into words; -1 if there are too many. */
static int
control_split(char *line, char **args, int max)
{
	char *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(line, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		args[n++] = w;
	}
	return n;
}

static void
control_request(struct control_session *cs, char *line)
{
	const struct control_command *cmd;
	char *args[CONTROL_WORDS_MAX], *words[CONTROL_WORDS_MAX];
	int n, nargs = 0, i;
	size_t k;

	if ((n = control_split(line, words, CONTROL_WORDS_MAX)) <= 0) {
		control_reply(cs, n == 0 ? "empty request" :
		    "too many arguments");
		return;
	}
	for (i = 1; i < n; i++) {
		if (strcmp(words[i], "--json") == 0)
			cs->json = 1;
		else
			args[nargs++] = words[i];
	}
	for (k = 0; k < sizeof(control_commands) / sizeof(control_commands[0]);
	    k++) {
		cmd = &control_commands[k];
		if (strcmp(cmd->verb, words[0]) != 0)
			continue;
		if (nargs < cmd->args_min || nargs > cmd->args_max) {
			control_reply(cs, "usage: %s", cmd->usage);
			return;
		}
		log_debug("event=control session=control:%u cmd=%s", cs->id,
		    cmd->verb);
		cmd->run(cs, args, nargs);
		return;
	}
	control_reply(cs, "unknown command '%s'", words[0]);
}

static void
control_read(struct bufferevent *bev, void *arg)
{
	struct control_session *cs = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	if (cs->state == CS_REQUEST) {
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
				control_reply(cs, "request line too long");
			return;
		}
		if (len > CONTROL_LINE_MAX) {
			free(line);
			control_reply(cs, "request line too long");
			return;
		}
		control_request(cs, line);
		free(line);
	}
	if (cs->state == CS_BODY && evbuffer_get_length(in) >= cs->need)
		control_inject_body(cs);
}

/* After the reply: throw away whatever the client still sends. */
static void
control_drain(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
control_write(struct bufferevent *bev, void *arg)
{
	struct control_session *cs = arg;

	if (cs->state != CS_REPLYING)
		return;
	/*
	 * The reply is out.  Closing now with unread input (an inject we
	 * refused before reading it) would send a reset that can destroy
	 * the reply in flight: half-close, and read to the client's end.
	 */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	cs->state = CS_CLOSING;
	bufferevent_setcb(bev, control_drain, NULL, control_event, cs);
	bufferevent_enable(bev, EV_READ);
	control_drain(bev, cs);
}

static void
control_event(struct bufferevent *bev, short events, void *arg)
{
	struct control_session *cs = arg;

	if (cs->state == CS_ROUTING) {
		/* The router still holds cs: let its callback free it. */
		bufferevent_free(cs->bev);
		cs->bev = NULL;
		cs->gone = 1;
		return;
	}
	if (events & BEV_EVENT_TIMEOUT)
		log_warnx("event=control session=control:%u result=timeout",
		    cs->id);
	control_session_free(cs);
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct control_session *cs = xcalloc(1, sizeof(*cs));
	struct timeval tv = { CONTROL_TIMEOUT, 0 };

	cs->ctl = ctl;
	cs->id = ++ctl->next_id;
	cs->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cs->bev == NULL) {
		log_warnx("event=control-accept error=bufferevent");
		close(fd);
		free(cs);
		return;
	}
	cs->body = evbuffer_new();
	TAILQ_INSERT_TAIL(&ctl->sessions, cs, entry);
	bufferevent_setcb(cs->bev, control_read, control_write, control_event,
	    cs);
	bufferevent_set_timeouts(cs->bev, &tv, &tv);
	bufferevent_enable(cs->bev, EV_READ);
}

struct control *
control_new(struct event_base *base, int fd, struct store *store,
    struct router *router, struct outbox *outbox,
    const struct control_hooks *hooks)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));

	ctl->base = base;
	TAILQ_INIT(&ctl->sessions);
	ctl->store = store;
	ctl->router = router;
	ctl->outbox = outbox;
	ctl->hooks = *hooks;
	ctl->started = time(NULL);
	ctl->listener = evconnlistener_new(base, control_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->listener == NULL)
		fatalx("control_new: evconnlistener_new failed");
	return ctl;
}

void
control_set_conf(struct control *ctl, struct conf *conf)
{
	conf_unref(&ctl->conf);
	ctl->conf = conf_ref(conf);
	ctl->loaded = time(NULL);
}

/*
 * Stop listening and end the sessions; one waiting for the router keeps
 * its connection, so that its reply still goes out after the commit.
 */
void
control_free(struct control **ctlp)
{
	struct control *ctl = *ctlp;
	struct control_session *cs;

	*ctlp = NULL;
	if (ctl == NULL)
		return;
	while ((cs = TAILQ_FIRST(&ctl->sessions)) != NULL) {
		TAILQ_REMOVE(&ctl->sessions, cs, entry);
		cs->ctl = NULL;
		if (cs->state != CS_ROUTING)
			control_session_free(cs);
	}
	evconnlistener_free(ctl->listener);
	conf_unref(&ctl->conf);
	free(ctl);
}
