/*
 * syncmigrate: move mailboxes from an old IMAP server to a new one,
 * account by account, again and again until the cut-over: each run
 * copies what is new, brings flags up to date and, when asked, deletes
 * what the old side deleted.  Stopping it at any moment and running it
 * again loses nothing and copies nothing twice.
 *
 *	syncmigrate [-c CONFIG] [-d] run [--sync-deletes]
 *	    [--window HH:MM-HH:MM] [--parallel N] [--max-rate MSGS]
 *	    [--max-bytes SIZE] [--report FILE] [--notify SOCKET] [ACCOUNT...]
 *	syncmigrate [-c CONFIG] final ACCOUNT...
 *	syncmigrate [-c CONFIG] plan [ACCOUNT...]
 *	syncmigrate [-c CONFIG] verify ACCOUNT...
 *	syncmigrate [-c CONFIG] status
 *
 * With a window (--window or the configuration's), accounts go smallest
 * first; one of big-account size or more only inside the window; at the
 * window's end no new message is copied and the run ends, for the next
 * night to carry on.  --notify posts the night's report through syncd's
 * control socket as a notice to the technik group.
 *
 * Exit status (sysexits.h): 0 done (verify: the servers agree), 1 verify
 * found a difference, 64 usage, 69 a server could not be used, 73 the
 * state file could not be opened, 78 the configuration is wrong.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "migrate.h"

static void DEAD
usage(void)
{
	fprintf(stderr,
	    "usage: syncmigrate [-dV] [-c CONFIG] run [--sync-deletes]"
	    " [--window HH:MM-HH:MM]\n"
	    "           [--parallel N] [--max-rate MSGS] [--max-bytes SIZE]"
	    " [--report FILE]\n"
	    "           [--notify SOCKET] [ACCOUNT...]\n"
	    "       syncmigrate [-dV] [-c CONFIG] final ACCOUNT...\n"
	    "       syncmigrate [-dV] [-c CONFIG] plan [ACCOUNT...]\n"
	    "       syncmigrate [-dV] [-c CONFIG] verify ACCOUNT...\n"
	    "       syncmigrate [-dV] [-c CONFIG] status\n"
	    "CONFIG defaults to %s/syncmigrate.conf\n", SYNCOM_SYSCONFDIR);
	exit(EX_USAGE);
}

/* The accounts named, or all of them; NULL after an unknown name. */
static const struct mig_account **
accounts(const struct mig_conf *conf, int argc, char **argv, size_t *n)
{
	const struct mig_account **v;
	const struct mig_account *a;
	int i;

	*n = 0;
	if (argc == 0) {
		TAILQ_FOREACH(a, &conf->accounts, entry)
			(*n)++;
		v = xcalloc(*n + 1, sizeof(*v));
		*n = 0;
		TAILQ_FOREACH(a, &conf->accounts, entry)
			v[(*n)++] = a;
		return v;
	}
	v = xcalloc(argc + 1, sizeof(*v));
	for (i = 0; i < argc; i++) {
		if ((v[i] = mig_conf_account(conf, argv[i])) == NULL) {
			fprintf(stderr, "syncmigrate: no account %s in the"
			    " configuration\n", argv[i]);
			free(v);
			return NULL;
		}
	}
	*n = argc;
	return v;
}

/* --report: the night's report, a line per event, appended. */
static const char *report_path;

static void report(const char *, ...) PRINTFLIKE(1, 2);

/*
 * One line to the report, in one write(2), so that the lines of
 * --parallel's processes do not mix.
 */
static void
report(const char *fmt, ...)
{
	va_list ap;
	char *line, *full, stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int fd;

	if (report_path == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		fatal("report");
	va_end(ap);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if ((fd = open(report_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640)) == -1) {
		log_warn("event=report path=%s", log_q(report_path));
		free(line);
		return;
	}
	full = xasprintf("%s %s\n", stamp, line);
	if (write(fd, full, strlen(full)) == -1)
		log_warn("event=report path=%s", log_q(report_path));
	close(fd);
	free(full);
	free(line);
}

/*
 * --notify: the report of this run (its lines from offset on) as a
 * notice through syncd's control socket ("notice LENGTH", then the
 * subject line and the text; control.c).  syncd not being there is no
 * failure of the run: the report file has it all.
 */
static void
report_notify(const char *socket_path, off_t offset, const char *subject)
{
	struct sockaddr_un sun;
	struct timeval tv = { 30, 0 };
	char *text = NULL, *req, reply[512];
	size_t len = 0;
	ssize_t n;
	FILE *fp;
	int fd = -1;

	if ((fp = fopen(report_path, "r")) != NULL) {
		if (fseeko(fp, offset, SEEK_SET) == 0) {
			text = xmalloc(64 * 1024 + 1);
			len = fread(text, 1, 64 * 1024, fp);
			text[len] = '\0';
		}
		fclose(fp);
	}
	req = xasprintf("%s\n%s", subject, text != NULL ? text : "");
	free(text);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	strcpy(sun.sun_path, socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	text = xasprintf("notice %zu\n%s", strlen(req), req);
	n = write(fd, text, strlen(text));
	free(text);
	if (n == -1)
		goto fail;
	shutdown(fd, SHUT_WR);
	if ((n = read(fd, reply, sizeof(reply) - 1)) <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		goto fail;
	}
	reply[n] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (strcmp(reply, "ok") == 0)
		log_info("event=notify socket=%s result=posted",
		    log_q(socket_path));
	else
		log_warnx("event=notify socket=%s result=refused reason=%s",
		    log_q(socket_path), log_q(reply));
	close(fd);
	free(req);
	return;
fail:
	log_warn("event=notify socket=%s result=not-posted",
	    log_q(socket_path));
	if (fd != -1)
		close(fd);
	free(req);
}

/* Attempts at one account in one run, and the pause between them. */
#define RUN_ATTEMPTS	3
#define RUN_PAUSE	5

/* An account with its size, for the night's order. */
struct job {
	const struct mig_account *a;
	long long	 bytes, messages;
};

static int
job_cmp(const void *x, const void *y)
{
	const struct job *a = x, *b = y;

	return a->bytes < b->bytes ? -1 : a->bytes > b->bytes;
}

/* Minutes after midnight, local time. */
static int
minute_of(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_hour * 60 + tm.tm_min;
}

static int
in_window(const struct mig_conf *conf, time_t t)
{
	int m = minute_of(t), s = conf->window_start, e = conf->window_end;

	if (s < 0)
		return 1;
	return s < e ? m >= s && m < e : m >= s || m < e;
}

/* When the window that holds t ends. */
static time_t
window_end(const struct mig_conf *conf, time_t t)
{
	struct tm tm;
	time_t end;

	localtime_r(&t, &tm);
	tm.tm_hour = conf->window_end / 60;
	tm.tm_min = conf->window_end % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((end = mktime(&tm)) <= t) {
		tm.tm_mday++;
		tm.tm_isdst = -1;
		end = mktime(&tm);
	}
	return end;
}

/*
 * The accounts named (all without names) with their sizes on the old
 * server, smallest first; NULL on an unknown name (said on stderr).  A
 * single account is only measured when one_too says so: nothing to
 * order, and its listing would cost a rerun as much as the rerun.
 */
static struct job *
jobs(const struct mig_conf *conf, struct mig_state *st, int argc,
    char **argv, int one_too, size_t *n)
{
	const struct mig_account **v;
	struct job *j;
	char *err = NULL;
	size_t i;

	if ((v = accounts(conf, argc, argv, n)) == NULL)
		return NULL;
	j = xcalloc(*n + 1, sizeof(*j));
	for (i = 0; i < *n; i++) {
		j[i].a = v[i];
		if (*n == 1 && !one_too)
			break;
		if (mig_sync_size(conf, v[i], &j[i].bytes, &j[i].messages,
		    &err) == -1 || mig_state_size(st, v[i]->name,
		    j[i].bytes, &err) == -1) {
			/* Measured again at its turn, and failing then. */
			log_warnx("event=size account=%s error=%s",
			    log_q(v[i]->name), log_q(err));
			free(err);
			err = NULL;
			j[i].bytes = -1;
		}
	}
	free(v);
	if (*n > 1)
		qsort(j, *n, sizeof(*j), job_cmp);
	return j;
}

/*
 * One account's run, logged: 0 synced, 1 stopped at the window's end,
 * -1 failed.
 */
static int
run_one(const struct mig_conf *conf, struct mig_state *st,
    const struct job *j, const struct mig_options *opt, int final,
    struct mig_stats *stats)
{
	char *err = NULL;
	int attempt, rc;

	/*
	 * A dropped connection or a server restart: try again after a
	 * pause; the state makes every attempt carry on from the last.
	 */
	for (attempt = 1; (rc = mig_sync_account(conf, st, j->a, opt, stats,
	    &err)) < 0; attempt++) {
		if (rc == -1 || attempt == RUN_ATTEMPTS || (opt->deadline != 0 &&
		    time(NULL) + RUN_PAUSE >= opt->deadline)) {
			log_warnx("event=account account=%s result=failed"
			    " attempts=%d error=%s", log_q(j->a->name),
			    attempt, log_q(err));
			report("%s: FAILED after %d attempt%s: %s",
			    j->a->name, attempt, attempt == 1 ? "" : "s", err);
			free(err);
			return -1;
		}
		log_warnx("event=account account=%s result=retrying"
		    " attempt=%d retry-in=%d error=%s", log_q(j->a->name),
		    attempt, RUN_PAUSE, log_q(err));
		free(err);
		err = NULL;
		sleep(RUN_PAUSE);
	}
	log_info("event=account account=%s result=%s folders=%lld"
	    " copied=%lld bytes=%lld matched=%lld flags=%lld deleted=%lld"
	    " refused=%lld", log_q(j->a->name), stats->stopped ?
	    "stopped-at-window-end" : "synced", stats->folders, stats->copied,
	    stats->bytes, stats->matched, stats->flagged, stats->deleted,
	    stats->refused);
	report("%s: %s, %lld messages copied (%.1f MB), %lld found there"
	    " already, %lld flag changes, %lld deletions, %lld refused by the"
	    " new server", j->a->name, stats->stopped ? "stopped at the"
	    " window's end, to be continued" : final ? "synced for the"
	    " cut-over" : "synced", stats->copied, stats->bytes / 1e6,
	    stats->matched, stats->flagged, stats->deleted, stats->refused);
	if (stats->stopped)
		return 1;
	if (final && mig_state_final(st, j->a->name, &err) == -1) {
		log_warnx("event=final account=%s error=%s",
		    log_q(j->a->name), log_q(err));
		free(err);
	}
	return 0;
}

/*
 * The same in a child process of its own, for --parallel: its own state
 * connection (SQLite's must not cross a fork), its result as the exit
 * status (0, 1, 2 for -1).
 */
static pid_t
run_child(const struct mig_conf *conf, const struct job *j,
    const struct mig_options *opt, int final)
{
	struct mig_stats stats;
	struct mig_state *st;
	char *err = NULL;
	pid_t pid;
	int rc;

	if ((pid = fork()) != 0)
		return pid;
	if ((st = mig_state_open(conf->state, &err)) == NULL) {
		log_warnx("event=account account=%s result=failed error=%s",
		    log_q(j->a->name), log_q(err));
		_exit(2);
	}
	rc = run_one(conf, st, j, opt, final, &stats);
	mig_state_close(&st);
	_exit(rc == -1 ? 2 : rc);
}

static int
cmd_run(struct mig_conf *conf, int argc, char **argv, int final)
{
	static const struct option longopts[] = {
		{ "sync-deletes", no_argument, NULL, 'D' },
		{ "window", required_argument, NULL, 'w' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "max-rate", required_argument, NULL, 'r' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "report", required_argument, NULL, 'R' },
		{ "notify", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	const char *notify = NULL;
	char tmp_report[] = "/tmp/syncmigrate-report.XXXXXX", *subject;
	struct stat sb;
	off_t report_start = 0;
	int tmp_fd = -1;
	struct mig_options opt = { 0 };
	struct mig_stats stats;
	struct mig_state *st;
	struct job *j;
	char *err = NULL, *end;
	size_t n, i, failed = 0, waiting = 0, done = 0, running = 0;
	long parallel = 1;
	time_t now;
	pid_t pid;
	int ch, opened_in_window, status, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			opt.sync_deletes = 1;
			break;
		case 'w':
			if (mig_conf_window(optarg, &conf->window_start,
			    &conf->window_end) == -1) {
				fprintf(stderr, "syncmigrate: --window '%s' is"
				    " not HH:MM-HH:MM\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'R':
			report_path = optarg;
			break;
		case 'N':
			notify = optarg;
			break;
		case 'p':
			parallel = strtol(optarg, &end, 10);
			if (*end != '\0' || parallel < 1 || parallel > 64) {
				fprintf(stderr, "syncmigrate: --parallel '%s'"
				    " is not 1 to 64\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'r':
		case 'b':
			if (mig_conf_size(optarg, ch == 'r' ? &opt.max_msgs :
			    &opt.max_bytes) == -1) {
				fprintf(stderr, "syncmigrate: --%s '%s' is not"
				    " a rate\n", ch == 'r' ? "max-rate" :
				    "max-bytes", optarg);
				return EX_USAGE;
			}
			break;
		default:
			usage();
		}
	}
	/* The cut-over's last delta takes the deletions too. */
	if (final)
		opt.sync_deletes = 1;
	/* The limits are for the whole run: each account gets its share. */
	opt.max_msgs /= parallel;
	opt.max_bytes /= parallel;
	opt.progress = parallel == 1 && isatty(STDERR_FILENO);
	/* The notice is the report: keep one, in a file of our own if need be. */
	if (notify != NULL && report_path == NULL) {
		if ((tmp_fd = mkstemp(tmp_report)) == -1) {
			fprintf(stderr, "syncmigrate: %s: %s\n", tmp_report,
			    strerror(errno));
			return EX_CANTCREAT;
		}
		report_path = tmp_report;
	}
	if (report_path != NULL && stat(report_path, &sb) == 0)
		report_start = sb.st_size;
	if ((st = mig_state_open(conf->state, &err)) == NULL) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
		rc = EX_CANTCREAT;
		goto out;
	}
	if ((j = jobs(conf, st, argc - optind, argv + optind,
	    conf->window_start >= 0, &n)) == NULL) {
		mig_state_close(&st);
		rc = EX_USAGE;
		goto out;
	}
	opened_in_window = conf->window_start >= 0 &&
	    in_window(conf, time(NULL));
	report("%s of %zu account%s started", final ? "final run" : "run", n,
	    n == 1 ? "" : "s");
	for (i = 0; i < n || running > 0;) {
		/* A free slot and work that may start now: start it. */
		if (i < n && running < (size_t)parallel) {
			now = time(NULL);
			if (opened_in_window && !in_window(conf, now)) {
				/* The night is over: the next carries on. */
				log_info("event=window result=closed left=%zu",
				    n - i);
				report("the window closed; %zu account%s left"
				    " for the next night", n - i, n - i == 1 ?
				    "" : "s");
				waiting += n - i;
				i = n;
				continue;
			}
			if (conf->window_start >= 0 && !final &&
			    j[i].bytes >= conf->big && !in_window(conf, now)) {
				log_info("event=account account=%s bytes=%lld"
				    " result=waiting reason=\"a large account,"
				    " it waits for the window\"",
				    log_q(j[i].a->name), j[i].bytes);
				report("%s: waits for the window (%.1f MB)",
				    j[i].a->name, j[i].bytes / 1e6);
				waiting++;
				i++;
				continue;
			}
			opt.deadline = conf->window_start >= 0 && !final &&
			    in_window(conf, now) ? window_end(conf, now) : 0;
			opt.size = j[i].bytes;
			if (parallel == 1) {
				rc = run_one(conf, st, &j[i], &opt, final,
				    &stats);
				failed += rc == -1;
				waiting += rc == 1;
				done += rc == 0;
			} else if ((pid = run_child(conf, &j[i], &opt,
			    final)) == -1) {
				log_warn("event=account account=%s"
				    " result=failed error=fork",
				    log_q(j[i].a->name));
				failed++;
			} else
				running++;
			i++;
			continue;
		}
		/* Wait for a child to end. */
		if ((pid = wait(&status)) == -1)
			break;
		running--;
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 2;
		failed += rc == 2;
		waiting += rc == 1;
		done += rc == 0;
	}
	log_info("event=run accounts=%zu synced=%zu waiting=%zu failed=%zu",
	    n, done, waiting, failed);
	report("done: %zu synced, %zu waiting, %zu failed", done, waiting,
	    failed);
	if (notify != NULL) {
		subject = xasprintf("Migration %s: %zu synced, %zu waiting,"
		    " %zu failed", final ? "cut-over" : "night", done, waiting,
		    failed);
		report_notify(notify, report_start, subject);
		free(subject);
	}
	mig_state_close(&st);
	free(j);
	rc = failed > 0 ? EX_UNAVAILABLE : 0;
out:
	if (tmp_fd != -1) {
		unlink(tmp_report);
		close(tmp_fd);
		report_path = NULL;
	}
	return rc;
}

/* The night's order and how long each account should take. */
static int
cmd_plan(const struct mig_conf *conf, int argc, char **argv)
{
	struct mig_state *st;
	struct job *j;
	char *err = NULL;
	double rate, secs, total = 0;
	size_t n, i;

	if ((st = mig_state_open(conf->state, &err)) == NULL) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
		return EX_CANTCREAT;
	}
	if ((j = jobs(conf, st, argc - 1, argv + 1, 1, &n)) == NULL) {
		mig_state_close(&st);
		return EX_USAGE;
	}
	/* Until a run has measured one: 10 MB/s, a guess said as such. */
	if ((rate = mig_state_rate(st)) <= 0)
		rate = 10e6;
	printf("%-24s %10s %14s %10s  %s\n", "account", "messages", "bytes",
	    "estimate", "when");
	for (i = 0; i < n; i++) {
		secs = j[i].bytes > 0 ? j[i].bytes / rate : 0;
		total += secs;
		printf("%-24s %10lld %14lld %9.0fs  %s\n", j[i].a->name,
		    j[i].messages, j[i].bytes, secs, j[i].bytes < 0 ?
		    "(could not measure)" : conf->window_start >= 0 &&
		    j[i].bytes >= conf->big ? "in the window" : "any time");
	}
	printf("total %.0fs at %.1f MB/s (%s); a rerun copies only what is"
	    " new\n", total, rate / 1e6, mig_state_rate(st) > 0 ? "measured"
	    : "assumed");
	mig_state_close(&st);
	free(j);
	return 0;
}

static int
cmd_verify(const struct mig_conf *conf, int argc, char **argv)
{
	const struct mig_account **v;
	char *err = NULL;
	size_t n, i;
	int rc, worst = 0;

	if (argc < 2)
		usage();
	if ((v = accounts(conf, argc - 1, argv + 1, &n)) == NULL)
		return EX_USAGE;
	for (i = 0; i < n; i++) {
		if ((rc = mig_sync_verify(conf, v[i], &err)) == -1) {
			fprintf(stderr, "syncmigrate: %s: %s\n", v[i]->name,
			    err);
			free(err);
			err = NULL;
			worst = EX_UNAVAILABLE;
		} else if (rc == 1 && worst == 0)
			worst = 1;
	}
	free(v);
	return worst;
}

static int
cmd_status(const struct mig_conf *conf)
{
	struct mig_state *st;
	char *err = NULL;
	int rc;

	if ((st = mig_state_open(conf->state, &err)) == NULL) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
		return EX_CANTCREAT;
	}
	rc = mig_state_print(st, conf, &err);
	if (rc == -1) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
	}
	mig_state_close(&st);
	return rc == -1 ? EX_SOFTWARE : 0;
}

int
main(int argc, char *argv[])
{
	const char *path = SYNCOM_SYSCONFDIR "/syncmigrate.conf";
	struct mig_conf *conf;
	char *err = NULL;
	int ch, debug = 0, rc;

	/* libetpan writes without MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "+c:dV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("syncmigrate %s\n", SYNCOM_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_init(1, debug, "syncmigrate");
	if ((conf = mig_conf_load(path, &err)) == NULL) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
		return EX_CONFIG;
	}
	if (strcmp(argv[0], "run") == 0)
		rc = cmd_run(conf, argc, argv, 0);
	else if (strcmp(argv[0], "final") == 0 && argc >= 2)
		rc = cmd_run(conf, argc, argv, 1);
	else if (strcmp(argv[0], "plan") == 0)
		rc = cmd_plan(conf, argc, argv);
	else if (strcmp(argv[0], "verify") == 0)
		rc = cmd_verify(conf, argc, argv);
	else if (strcmp(argv[0], "status") == 0 && argc == 1)
		rc = cmd_status(conf);
	else
		usage();
	mig_conf_free(&conf);
	return rc;
}
