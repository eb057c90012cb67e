/*
 * syncd.c: the daemon's main, and the one place that wires the sides to
 * the core.
 *
 * Start-up: read the configuration, lock the pidfile (one syncd per
 * configuration), create the data directory and bind the control socket
 * while still root, daemonise unless -f, drop to the configured user, then
 * open the store and start the router, the outbox and the control socket on
 * one libevent loop.  SIGHUP reloads the configuration (a bad one is refused
 * and the old one keeps running); SIGTERM and SIGINT stop accepting, let the
 * deliveries in hand finish for a moment, commit what is queued, close the
 * store and exit 0.
 */

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "syncd.h"
#include "nntp.h"
#include "smtp.h"
#include "forum.h"

/* How long SIGTERM waits for deliveries in flight, in seconds. */
#define SYNCD_STOP_GRACE	3
#define SYNCD_WORKERS		2
/* HTTP requests: the forum's forms are the largest. */
#define SYNCD_HTTP_HEADERS_MAX	(16 * 1024)
#define SYNCD_HTTP_BODY_MAX	(1024 * 1024)
/* Answers: a thread page (about 60 KB) in one write, not four. */
#define SYNCD_HTTP_WRITE_MAX	(256 * 1024)

struct syncd {
	struct event_base *base;
	struct conf	*conf;
	const char	*conf_file;
	struct store	*store;
	struct worker	*worker;
	struct outbox	*outbox;
	struct router	*router;
	struct control	*control;
	struct nntp_server *nntp;
	struct smtp_server *smtp;
	struct forum	*forum;		/* the built-in one, or NULL */
	struct evhttp	*http;		/* the HTTP listeners, or NULL */
	struct notice	*notice;
	struct jobs	*jobs;
	struct tls_server *tls;
	/* One transport per side, and the archive; rebuilt on reload. */
	struct transport *transport[SIDE_MAX];
	struct transport *archive;
	struct transport *forum_mail;
	struct event	*sighup, *sigterm, *sigint;
	struct event	*stop_timer;
	int		 stopping;
	int		 pidfd;
	int		 verbose;	/* -d */
	char		 cwd[4096];	/* where relative paths start */
};

static void
usage(void)
{
	fprintf(stderr, "usage: syncd [-dfnV] [CONFIG]\n"
	    "  -f  stay in the foreground, log to stderr\n"
	    "  -d  log debug messages too\n"
	    "  -n  check CONFIG and print it in canonical form\n"
	    "  -V  print the version\n"
	    "CONFIG defaults to %s/syncd.conf\n", SYNCOM_SYSCONFDIR);
	exit(2);
}

/* The transport for one "deliver"/"archive" line, or NULL for none. */
static struct transport *
syncd_transport_new(struct syncd *sd, struct conf *conf,
    const struct conf_deliver *d)
{
	switch (d->kind) {
	case TRANSPORT_MAILDIR:
		return maildir_transport_new(conf, d->path, sd->worker);
	case TRANSPORT_NNTP:
		return nntp_feed_new(sd->base, conf, sd->store, d->path);
	case TRANSPORT_SMTP:
	case TRANSPORT_LMTP:
		return smtp_client_new(sd->base, conf, d->path,
		    d->kind == TRANSPORT_LMTP);
	case TRANSPORT_BUILTIN:
		return sd->forum != NULL ? forum_transport_new(sd->forum, conf) :
		    NULL;
	case TRANSPORT_NONE:
		break;
	}
	return NULL;
}

/*
 * The transport for d under conf: the running one when its kind and
 * place did not change, so a reload keeps a feed's connection and the
 * deliveries it has in hand (it reads the new conf from now on, which
 * transports only do on the loop); else a new one.
 */
static void
syncd_transport_update(struct syncd *sd, struct transport **tp,
    struct conf *conf, const struct conf_deliver *old,
    const struct conf_deliver *new)
{
	if (*tp != NULL && old != NULL && old->kind == new->kind &&
	    strcmp(old->path, new->path) == 0) {
		conf_unref(&(*tp)->conf);
		(*tp)->conf = conf_ref(conf);
		return;
	}
	transport_free(tp);
	*tp = syncd_transport_new(sd, conf, new);
}

static struct transport *
syncd_resolve(void *arg, const char *target)
{
	struct syncd *sd = arg;
	int side;

	if (strcmp(target, "archive") == 0)
		return sd->archive;
	if ((side = conf_target_side(target)) == -1)
		return NULL;
	return sd->transport[side];
}

/*
 * Relative paths in the configuration are relative to the directory syncd
 * was started in; make them absolute before a daemon's chdir("/").
 */
static void
syncd_absolute(char **path, const char *cwd)
{
	char *abs;

	if (*path == NULL || **path == '/')
		return;
	abs = xasprintf("%s/%s", cwd, *path);
	free(*path);
	*path = abs;
}

static void
syncd_absolute_paths(struct conf *conf, const char *cwd)
{
	int i;

	syncd_absolute(&conf->data_dir, cwd);
	syncd_absolute(&conf->pidfile, cwd);
	syncd_absolute(&conf->control_socket, cwd);
	for (i = 0; i < SIDE_MAX; i++)
		if (conf->deliver[i].kind == TRANSPORT_MAILDIR)
			syncd_absolute(&conf->deliver[i].path, cwd);
	if (conf->archive.kind == TRANSPORT_MAILDIR)
		syncd_absolute(&conf->archive.path, cwd);
}

/*
 * Load the TLS certificate and key of conf, keeping what we have when
 * they cannot be read (after the privilege drop a reload may not).
 */
static void
syncd_tls(struct syncd *sd, const struct conf *conf)
{
	struct tls_server *tls;
	char *err = NULL;

	if (conf->tls_certificate == NULL) {
		if (sd->nntp != NULL)
			nntp_server_set_tls(sd->nntp, NULL);
		tls_server_free(&sd->tls);
		return;
	}
	if ((tls = tls_server_new(conf->tls_certificate, conf->tls_key,
	    &err)) == NULL) {
		log_warnx("event=tls result=%s error=%s", sd->tls != NULL ?
		    "kept-old" : "none", log_q(err));
		free(err);
		return;
	}
	tls_server_free(&sd->tls);
	sd->tls = tls;
	if (sd->nntp != NULL)
		nntp_server_set_tls(sd->nntp, sd->tls);
}

/*
 * The outbox's observer: each recorded delivery outcome passes here once,
 * on the loop.
 */
static void
syncd_outcome(void *arg, const struct outbox_row *row, int state,
    const char *err)
{
	struct syncd *sd = arg;

	metrics_delivery(row->target, row->created, state, time(NULL));
	notice_outcome(sd->notice, row, state, err);
}

/* "syncctl notice": the first line is the subject, the rest the body. */
static int
syncd_notice(void *arg, const char *group, const char *text, size_t len,
    router_cb cb, void *cbarg, char **err_r)
{
	struct syncd *sd = arg;
	char *copy = xstrndup(text, len), *body;
	int rc;

	if (strlen(copy) != len || !utf8_valid(copy, len)) {
		free(copy);
		*err_r = xstrdup("the text is not UTF-8 without NUL bytes");
		return -1;
	}
	body = copy + strcspn(copy, "\n");
	if (*body == '\n')
		*body++ = '\0';
	copy[strcspn(copy, "\r")] = '\0';
	if (*copy == '\0') {
		free(copy);
		*err_r = xstrdup("no subject (the first line of the text)");
		return -1;
	}
	rc = notice_post(sd->notice, group, NULL, copy, body, cb, cbarg,
	    err_r);
	free(copy);
	return rc;
}

static void
syncd_peers(void *arg, struct evbuffer *out, int json)
{
	struct syncd *sd = arg;

	notice_peers(sd->notice, out, json);
}

static void
syncd_jobs(void *arg, struct evbuffer *out, int json)
{
	struct syncd *sd = arg;

	jobs_list(sd->jobs, out, json);
}

static int
syncd_run_job(void *arg, const char *name, char **result_r)
{
	struct syncd *sd = arg;

	return jobs_start(sd->jobs, name, result_r);
}

/* The descriptions are in: the boards take them. */
static void
syncd_described(void *arg, int ok, const char *result)
{
	struct syncd *sd = arg;

	if (sd->forum != NULL)
		forum_set_conf(sd->forum, sd->conf, sd->forum_mail);
	jobs_done(sd->jobs, "descriptions", ok, result);
}

/*
 * Job descriptions: from Mailman's REST API where mailman-rest is set,
 * else the configuration's; into the boards and LIST NEWSGROUPS.
 */
static int
syncd_job_descriptions(void *arg, char **result_r)
{
	struct syncd *sd = arg;
	const struct conf_channel *c;
	int n = 0;

	if (sd->conf->mailman_rest != NULL) {
		describe_run(sd->base, sd->store, sd->conf, syncd_described, sd);
		return JOB_LATER;
	}
	TAILQ_FOREACH(c, &sd->conf->channels, entry) {
		if (store_description_set(sd->store, c->name, NULL) == -1) {
			*result_r = xstrdup("could not write the store");
			return -1;
		}
		n += c->description != NULL;
	}
	if (sd->forum != NULL)
		forum_set_conf(sd->forum, sd->conf, sd->forum_mail);
	*result_r = xasprintf("%d descriptions from the configuration", n);
	return 0;
}

/* Job expire: articles past their channel's expire leave the group. */
static int
syncd_job_expire(void *arg, char **result_r)
{
	struct syncd *sd = arg;
	const struct conf_channel *c;
	time_t now = time(NULL);
	long long total = 0;
	int n;

	TAILQ_FOREACH(c, &sd->conf->channels, entry) {
		if (c->expire == 0 || c->newsgroup == NULL)
			continue;
		if ((n = store_expire(sd->store, c->newsgroup,
		    now - c->expire)) == -1) {
			*result_r = xasprintf("could not expire %s",
			    c->newsgroup);
			return -1;
		}
		total += n;
	}
	*result_r = xasprintf("%lld articles expired", total);
	return 0;
}

/*
 * Job sweep: delivered outbox rows older than max-age are forgotten, and
 * the forum's idle sessions.
 */
static int
syncd_job_sweep(void *arg, char **result_r)
{
	struct syncd *sd = arg;
	int n;

	if ((n = store_outbox_sweep(sd->store, time(NULL) -
	    sd->conf->max_age)) == -1) {
		*result_r = xstrdup("could not write the store");
		return -1;
	}
	if (sd->forum != NULL && forum_http_sweep(sd->forum) == -1) {
		*result_r = xstrdup("could not write the forum's database");
		return -1;
	}
	*result_r = xasprintf("%d delivered rows forgotten, idle forum"
	    " sessions ended", n);
	return 0;
}

static int
syncd_job_summary(void *arg, char **result_r)
{
	struct syncd *sd = arg;

	return notice_summary(sd->notice, result_r);
}

/*
 * GET /metrics: the counters and gauges for Prometheus (metrics.c).  The
 * listener allows POST for the forum's forms; this page takes GET and
 * HEAD only.
 */
static void
syncd_metrics(struct evhttp_request *req, void *arg)
{
	struct syncd *sd = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	struct metrics_sources src;
	struct evbuffer *out;
	char *err = NULL;
	int code = 200;

	if ((out = evbuffer_new()) == NULL)
		fatalx("event=http error=\"evbuffer_new failed\"");
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		code = 405;
		evhttp_add_header(h, "Allow", "GET, HEAD");
		evbuffer_add_printf(out, "405 only GET and HEAD\n");
	} else {
		memset(&src, 0, sizeof(src));
		src.store = sd->store;
		src.nntp_sessions = sd->nntp != NULL ?
		    nntp_server_sessions(sd->nntp) : 0;
		src.smtp_sessions = sd->smtp != NULL ?
		    smtp_server_sessions(sd->smtp) : 0;
		if (metrics_write(out, &src, &err) == -1) {
			code = 500;
			log_warnx("event=http path=/metrics status=500"
			    " error=%s", log_q(err));
			evbuffer_drain(out, evbuffer_get_length(out));
			evbuffer_add_printf(out, "500 %s\n", err);
			free(err);
		}
	}
	evhttp_add_header(h, "Content-Type", code == 200 ?
	    METRICS_CONTENT_TYPE : "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	log_debug("event=http path=/metrics status=%d bytes=%zu", code,
	    evbuffer_get_length(out));
	http_reply(req, code, code == 200 ? "OK" : code == 405 ?
	    "Method Not Allowed" : "Internal Server Error", out);
	evbuffer_free(out);
}

/*
 * Slowloris on HTTP.  evhttp's timeout counts from the last byte read,
 * and it has no limit on the time a request's head may take, so a client
 * sending a byte every few seconds kept its connection for ever.  Every
 * connection's input gets this callback: evhttp takes the head a line
 * at a time and the body as it comes, so input that waits with nothing
 * taken for http-timeout is a line too slow to finish, and the socket is
 * shut down; evhttp then reads its end and closes the connection as any
 * other.  The moment the wait began is kept per descriptor: a table
 * rather than a record per connection, which evhttp gives us no way to
 * free.  An addition to empty input starts a wait afresh, so what a
 * closed connection left in its slot never counts against a new one.
 */
static time_t	*syncd_http_since;
static size_t	 syncd_http_nsince;
static long long syncd_http_timeout;

static void
syncd_http_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct bufferevent *bev = arg;
	evutil_socket_t fd = bufferevent_getfd(bev);
	struct timespec ts;
	size_t n;

	if (fd < 0)
		return;
	if ((size_t)fd >= syncd_http_nsince) {
		n = (size_t)fd + 1024;
		syncd_http_since = xreallocarray(syncd_http_since, n,
		    sizeof(*syncd_http_since));
		memset(syncd_http_since + syncd_http_nsince, 0,
		    (n - syncd_http_nsince) * sizeof(*syncd_http_since));
		syncd_http_nsince = n;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (info->n_deleted > 0 || evbuffer_get_length(in) == 0) {
		syncd_http_since[fd] = 0;
		return;
	}
	if (info->orig_size == 0 || syncd_http_since[fd] == 0) {
		syncd_http_since[fd] = ts.tv_sec > 0 ? ts.tv_sec : 1;
		return;
	}
	if (ts.tv_sec - syncd_http_since[fd] >= syncd_http_timeout) {
		log_info("event=http fd=%d result=slow", (int)fd);
		syncd_http_since[fd] = 0;
		shutdown(fd, SHUT_RDWR);
	}
}

/* evhttp's bufferevent for a new connection, with the callback above. */
static struct bufferevent *
syncd_http_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;
	/* libevent writes at most 16 KB at a time unless told. */
	bufferevent_set_max_single_write(bev, SYNCD_HTTP_WRITE_MAX);
	if (evbuffer_add_cb(bufferevent_get_input(bev), syncd_http_input,
	    bev) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

/*
 * The HTTP listeners: /metrics is ours, every other page the forum's
 * (which registers itself when it runs).
 */
static void
syncd_http(struct syncd *sd, const struct conf *conf, const int *fds,
    size_t n)
{
	size_t i;
	int one = 1;

	if ((sd->http = evhttp_new(sd->base)) == NULL)
		fatalx("event=start error=\"evhttp_new failed\"");
	evhttp_set_allowed_methods(sd->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(sd->http, SYNCD_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(sd->http, SYNCD_HTTP_BODY_MAX);
	/* Like the listeners themselves, fixed until a restart. */
	evhttp_set_timeout(sd->http, (int)conf->http_timeout);
	syncd_http_timeout = conf->http_timeout;
	evhttp_set_bevcb(sd->http, syncd_http_bev, NULL);
	if (evhttp_set_cb(sd->http, "/metrics", syncd_metrics, sd) != 0)
		fatalx("event=start error=\"cannot serve /metrics\"");
	for (i = 0; i < n; i++) {
		/*
		 * A page larger than a segment went out in pieces, and its
		 * last one waited for the client's delayed ACK (40 ms): no
		 * Nagle.  Accepted sockets inherit it from the listener.
		 */
		if (setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) == -1)
			log_warn("event=start listen=http setsockopt");
		if (evhttp_accept_socket(sd->http, fds[i]) == -1)
			fatal("event=start error=\"cannot serve HTTP\"");
	}
}

/* Make conf the running configuration. */
static void
syncd_apply(struct syncd *sd, struct conf *conf)
{
	char *err = NULL;
	int i;

	for (i = 0; i < SIDE_MAX; i++)
		syncd_transport_update(sd, &sd->transport[i], conf,
		    sd->conf != NULL ? &sd->conf->deliver[i] : NULL,
		    &conf->deliver[i]);
	syncd_transport_update(sd, &sd->archive, conf,
	    sd->conf != NULL ? &sd->conf->archive : NULL, &conf->archive);
	syncd_transport_update(sd, &sd->forum_mail, conf,
	    sd->conf != NULL ? &sd->conf->forum_mail : NULL, &conf->forum_mail);
	if (sd->forum != NULL)
		forum_set_conf(sd->forum, conf, sd->forum_mail);
	router_set_conf(sd->router, conf);
	notice_set_conf(sd->notice, conf);
	jobs_set_conf(sd->jobs, conf);
	outbox_set_conf(sd->outbox, conf);
	if (sd->control != NULL)
		control_set_conf(sd->control, conf);
	if (sd->nntp != NULL)
		nntp_server_set_conf(sd->nntp, conf);
	if (sd->smtp != NULL &&
	    smtp_server_set_conf(sd->smtp, conf, &err) == -1) {
		if (sd->conf == NULL)
			fatalx("event=start blacklist=%s error=%s",
			    log_q(conf->blacklist), log_q(err));
		log_warnx("event=reload blacklist=%s result=kept-old error=%s",
		    log_q(conf->blacklist), log_q(err));
		free(err);
	}
	if (sd->conf != NULL)
		syncd_tls(sd, conf);
	log_setverbose(conf->log_verbose || sd->verbose);
	conf_unref(&sd->conf);
	sd->conf = conf_ref(conf);
	outbox_wake(sd->outbox);
}

static void
syncd_reload(void *arg, char **err_r)
{
	struct syncd *sd = arg;
	struct conf *conf;
	char *err = NULL, *fixed;

	if ((conf = conf_load(sd->conf_file, &err)) == NULL) {
		log_warnx("event=reload result=refused error=%s", log_q(err));
		if (err_r != NULL)
			*err_r = err;
		else
			free(err);
		return;
	}
	syncd_absolute_paths(conf, sd->cwd);
	if ((fixed = conf_restart_changes(sd->conf, conf)) != NULL) {
		log_warnx("event=reload settings=%s result=ignored"
		    " reason=\"takes effect after a restart\"", fixed);
		free(fixed);
	}
	syncd_apply(sd, conf);
	log_info("event=reload result=ok config=%s channels=%zu",
	    log_q(sd->conf_file), conf->nchannels);
	conf_unref(&conf);
}

/* syncd-milter's milter-check: the mail side knows the answer. */
static int
syncd_milter_check(void *arg, const char *session, char *const *words,
    int nwords, char **verdict_r, char **err_r)
{
	struct syncd *sd = arg;

	if (sd->smtp == NULL) {
		*err_r = xstrdup("syncd is stopping");
		return -1;
	}
	return smtp_server_check(sd->smtp, sd->store, session, words, nwords,
	    verdict_r, err_r);
}

static void
syncd_stop_check(evutil_socket_t fd, short events, void *arg)
{
	struct syncd *sd = arg;
	struct timeval tv = { 0, 50000 };
	static int ticks;

	if (outbox_inflight(sd->outbox) == 0 ||
	    ++ticks > SYNCD_STOP_GRACE * 20) {
		event_base_loopexit(sd->base, NULL);
		return;
	}
	evtimer_add(sd->stop_timer, &tv);
}

static void
syncd_signal(evutil_socket_t sig, short events, void *arg)
{
	struct syncd *sd = arg;

	if (sig == SIGHUP) {
		if (sd->stopping) {
			log_info("event=signal signal=HUP action=ignored"
			    " reason=stopping");
			return;
		}
		log_info("event=signal signal=HUP action=reload");
		syncd_reload(sd, NULL);
		return;
	}
	if (sd->stopping)
		return;
	sd->stopping = 1;
	log_info("event=signal signal=%s action=stop inflight=%zu",
	    sig == SIGTERM ? "TERM" : "INT", outbox_inflight(sd->outbox));
	control_free(&sd->control);
	nntp_server_free(&sd->nntp);
	smtp_server_free(&sd->smtp);
	outbox_stop(sd->outbox);
	syncd_stop_check(-1, 0, sd);
}

/* Open and lock the pidfile: a second syncd on the same one gives up. */
static int
syncd_pidfile_lock(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		fatal("event=start pidfile=%s", log_q(path));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("event=start pidfile=%s error=\"another syncd"
			    " is running with this configuration\"",
			    log_q(path));
		fatal("event=start pidfile=%s", log_q(path));
	}
	return fd;
}

static void
syncd_pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, n, 0) != n)
		fatal("event=start pidfile=write");
}

/* The folder a file lives in must exist; what we make is searchable. */
static void
syncd_mkparent(const char *file)
{
	char *dir = xstrdup(file), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (file_mkdirs(dir, 0755) == -1)
			fatal("event=start mkdir=%s", log_q(dir));
	}
	free(dir);
}

/*
 * The data directory belongs to the user and is private; parents we make
 * stay searchable, so that user can reach it.
 */
static void
syncd_data_dir(const char *dir, uid_t uid, gid_t gid)
{
	if (file_mkdirs(dir, 0755) == -1)
		fatal("event=start data-dir=%s", log_q(dir));
	if (geteuid() == 0 && chown(dir, uid, gid) == -1)
		fatal("event=start data-dir=%s chown", log_q(dir));
	if (chmod(dir, 0750) == -1)
		fatal("event=start data-dir=%s chmod", log_q(dir));
}

/* Become the configured user for good. */
static void
syncd_drop_privileges(const struct passwd *pw)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("event=start drop-privileges=%s", log_q(pw->pw_name));
	if (pw->pw_uid != 0 && setuid(0) != -1)
		fatalx("event=start drop-privileges=%s error=\"could regain"
		    " root\"", log_q(pw->pw_name));
	log_info("event=privileges user=%s uid=%ld gid=%ld",
	    log_q(pw->pw_name), (long)pw->pw_uid, (long)pw->pw_gid);
}

static void
syncd_daemonize(void)
{
	int fd, i;

	/*
	 * Fork twice: the first child leads a new session, the second is
	 * no session leader and so can never take a terminal again.
	 */
	for (i = 0; i < 2; i++) {
		switch (fork()) {
		case -1:
			fatal("event=start fork");
		case 0:
			break;
		default:
			_exit(0);
		}
		if (i == 0 && setsid() == -1)
			fatal("event=start setsid");
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* Free what the loop used, once nothing runs any more. */
static void
syncd_free(struct syncd *sd)
{
	int i;

	jobs_free(&sd->jobs);
	notice_free(&sd->notice);
	router_free(&sd->router);
	outbox_free(&sd->outbox);
	control_free(&sd->control);
	nntp_server_free(&sd->nntp);
	smtp_server_free(&sd->smtp);
	tls_server_free(&sd->tls);
	for (i = 0; i < SIDE_MAX; i++)
		transport_free(&sd->transport[i]);
	transport_free(&sd->archive);
	forum_free(&sd->forum);
	if (sd->http != NULL)
		evhttp_free(sd->http);
	transport_free(&sd->forum_mail);
	event_free(sd->sighup);
	event_free(sd->sigterm);
	event_free(sd->sigint);
	event_free(sd->stop_timer);
	conf_unref(&sd->conf);
	event_base_free(sd->base);
	close(sd->pidfd);
}

int
main(int argc, char *argv[])
{
	struct syncd sd;
	struct control_hooks hooks;
	struct passwd *pw = NULL;
	struct group *gr;
	struct conf *conf;
	char *err = NULL, *abs_file = NULL;
	size_t inflight;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct nntp_listener *listeners;
	struct smtp_listener *mail_listeners;
	int *http_listeners;
	int ch, foreground = 0, verbose = 0, check = 0, ctlfd, fd;
	size_t i, nnews = 0, nmail = 0, nhttp = 0;

	while ((ch = getopt(argc, argv, "dfnV")) != -1) {
		switch (ch) {
		case 'd':
			verbose = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("syncd %s\n", SYNCOM_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage();

	memset(&sd, 0, sizeof(sd));
	sd.verbose = verbose;
	sd.conf_file = argc == 1 ? argv[0] : SYNCOM_SYSCONFDIR "/syncd.conf";
	log_init(1, verbose, "syncd");

	if ((conf = conf_load(sd.conf_file, &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	if (check) {
		conf_print(conf, stdout);
		conf_unref(&conf);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	/* The file is read again on SIGHUP, after chdir("/"). */
	if (getcwd(sd.cwd, sizeof(sd.cwd)) == NULL)
		fatal("event=start getcwd");
	if (*sd.conf_file != '/') {
		abs_file = xasprintf("%s/%s", sd.cwd, sd.conf_file);
		sd.conf_file = abs_file;
	}
	syncd_absolute_paths(conf, sd.cwd);

	if (conf->user != NULL) {
		if ((pw = getpwnam(conf->user)) == NULL)
			fatalx("event=start user=%s error=\"no such user\"",
			    log_q(conf->user));
		if (geteuid() != 0 && geteuid() != pw->pw_uid)
			fatalx("event=start user=%s error=\"only root can"
			    " become another user\"", log_q(conf->user));
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else if (geteuid() == 0)
		log_warnx("event=start user=root warning=\"no 'user' set:"
		    " running as root\"");
	if (conf->control_group != NULL) {
		if ((gr = getgrnam(conf->control_group)) == NULL)
			fatalx("event=start control-group=%s error=\"no such"
			    " group\"", log_q(conf->control_group));
		gid = gr->gr_gid;
	}

	umask(027);
	syncd_mkparent(conf->pidfile);
	syncd_mkparent(conf->control_socket);
	sd.pidfd = syncd_pidfile_lock(conf->pidfile);
	syncd_data_dir(conf->data_dir, uid, pw != NULL ? pw->pw_gid : gid);
	if ((ctlfd = control_listen(conf->control_socket, uid, gid, &err)) ==
	    -1)
		fatalx("event=start control-socket=%s error=%s",
		    log_q(conf->control_socket), log_q(err));
	/* Bound as root: a privileged port stays ours after the drop. */
	listeners = xcalloc(conf->nlistens + 1, sizeof(*listeners));
	mail_listeners = xcalloc(conf->nlistens + 1, sizeof(*mail_listeners));
	http_listeners = xcalloc(conf->nlistens + 1, sizeof(*http_listeners));
	for (i = 0; i < conf->nlistens; i++) {
		if ((fd = listen_tcp(conf->listens[i].address, &err)) == -1)
			fatalx("event=start listen=%s error=%s",
			    log_q(conf->listens[i].address), log_q(err));
		switch (conf->listens[i].proto) {
		case LISTEN_NNTP:
		case LISTEN_NNTPS:
			listeners[nnews].fd = fd;
			listeners[nnews++].tls =
			    conf->listens[i].proto == LISTEN_NNTPS;
			break;
		case LISTEN_LMTP:
		case LISTEN_SMTP:
			mail_listeners[nmail].fd = fd;
			mail_listeners[nmail++].lmtp =
			    conf->listens[i].proto == LISTEN_LMTP;
			break;
		case LISTEN_HTTP:
			http_listeners[nhttp++] = fd;
			break;
		}
	}
	/* The key is usually root's alone: load it now. */
	syncd_tls(&sd, conf);
	if (conf->tls_certificate != NULL && sd.tls == NULL)
		fatalx("event=start error=\"cannot load tls-certificate and"
		    " tls-key\"");

	if (!foreground) {
		syncd_daemonize();
		log_init(0, verbose, "syncd");
	}
	/* flock belongs to the open file, so it survives the forks. */
	syncd_pidfile_write(sd.pidfd);
	if (pw != NULL && geteuid() == 0)
		syncd_drop_privileges(pw);
	if (chdir("/") == -1)
		fatal("event=start chdir");

	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() == -1)
		fatalx("event=start error=\"libevent has no pthreads support\"");
	if ((sd.base = event_base_new()) == NULL)
		fatalx("event=start error=\"event_base_new failed\"");

	if ((sd.store = store_open(conf->data_dir, sd.base, &err)) == NULL)
		fatalx("event=start store=%s error=%s", log_q(conf->data_dir),
		    log_q(err));
	sd.worker = worker_new(sd.base, SYNCD_WORKERS);
	sd.outbox = outbox_new(sd.base, sd.store, syncd_resolve, &sd);
	outbox_set_observer(sd.outbox, syncd_outcome, &sd);
	metrics_start(time(NULL));
	sd.router = router_new(sd.store, sd.outbox);
	sd.notice = notice_new(sd.base, sd.store, sd.router);
	sd.jobs = jobs_new(sd.base);
	jobs_add(sd.jobs, "descriptions", "*/30 * * * *",
	    syncd_job_descriptions, &sd);
	jobs_add(sd.jobs, "expire", "15 3 * * *", syncd_job_expire, &sd);
	jobs_add(sd.jobs, "sweep", "45 3 * * *", syncd_job_sweep, &sd);
	jobs_add(sd.jobs, "summary", "0 7 * * *", syncd_job_summary, &sd);
	hooks.reload = syncd_reload;
	hooks.milter_check = syncd_milter_check;
	hooks.notice = syncd_notice;
	hooks.jobs = syncd_jobs;
	hooks.peers = syncd_peers;
	hooks.run_job = syncd_run_job;
	hooks.arg = &sd;
	sd.nntp = nntp_server_new(sd.base, sd.store, sd.router, listeners,
	    nnews);
	free(listeners);
	sd.smtp = smtp_server_new(sd.base, sd.router, sd.worker,
	    mail_listeners, nmail);
	free(mail_listeners);
	if (nhttp > 0)
		syncd_http(&sd, conf, http_listeners, nhttp);
	free(http_listeners);
	if (conf->deliver[SIDE_FORUM].kind == TRANSPORT_BUILTIN &&
	    (sd.forum = forum_new(sd.base, sd.store, sd.router,
	    conf->data_dir, sd.http, &err)) == NULL)
		fatalx("event=start forum=%s error=%s", log_q(conf->data_dir),
		    log_q(err));
	if (sd.forum != NULL)
		nntp_server_set_auth(sd.nntp, forum_nntp_auth, sd.forum);
	nntp_server_set_tls(sd.nntp, sd.tls);
	sd.control = control_new(sd.base, ctlfd, sd.store, sd.router,
	    sd.outbox, &hooks);
	syncd_apply(&sd, conf);
	conf_unref(&conf);
	notice_started(sd.notice);

	sd.sighup = evsignal_new(sd.base, SIGHUP, syncd_signal, &sd);
	sd.sigterm = evsignal_new(sd.base, SIGTERM, syncd_signal, &sd);
	sd.sigint = evsignal_new(sd.base, SIGINT, syncd_signal, &sd);
	evsignal_add(sd.sighup, NULL);
	evsignal_add(sd.sigterm, NULL);
	evsignal_add(sd.sigint, NULL);
	sd.stop_timer = evtimer_new(sd.base, syncd_stop_check, &sd);

	log_info("event=start version=%s pid=%ld config=%s data-dir=%s"
	    " control-socket=%s channels=%zu", SYNCOM_VERSION, (long)getpid(),
	    log_q(sd.conf_file), log_q(sd.conf->data_dir),
	    log_q(sd.conf->control_socket), sd.conf->nchannels);

	event_base_dispatch(sd.base);

	/*
	 * Stopping.  Deliveries still in flight after the grace time are
	 * left pending: the next start makes them, and the transports
	 * recognise a copy they already made.  Their worker threads may
	 * still run, so then nothing they could touch is freed.
	 */
	inflight = outbox_inflight(sd.outbox);
	if (inflight == 0)
		worker_free(&sd.worker);
	store_close(&sd.store);
	if (unlink(sd.conf->control_socket) == -1 && errno != ENOENT)
		log_warn("event=stop control-socket=%s",
		    log_q(sd.conf->control_socket));
	if (unlink(sd.conf->pidfile) == -1 && errno != ENOENT)
		log_warn("event=stop pidfile=%s", log_q(sd.conf->pidfile));
	if (inflight > 0) {
		log_info("event=stop result=clean left-pending=%zu", inflight);
		_exit(0);
	}
	syncd_free(&sd);
	free(abs_file);
	log_info("event=stop result=clean");
	return 0;
}
