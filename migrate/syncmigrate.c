/*
 * syncmigrate: move mailboxes from an old IMAP server to a new one,
 * account by account, again and again until the cut-over: each run
 * copies what is new, brings flags up to date and, when asked, deletes
 * what the old side deleted.  Stopping it at any moment and running it
 * again loses nothing and copies nothing twice.
 *
 *	syncmigrate [-c CONFIG] [-d] run [--sync-deletes] [ACCOUNT...]
 *	syncmigrate [-c CONFIG] verify ACCOUNT...
 *	syncmigrate [-c CONFIG] status
 *
 * Exit status (sysexits.h): 0 done (verify: the servers agree), 1 verify
 * found a difference, 64 usage, 69 a server could not be used, 73 the
 * state file could not be opened, 78 the configuration is wrong.
 */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "common.h"
#include "migrate.h"

static void DEAD
usage(void)
{
	fprintf(stderr,
	    "usage: syncmigrate [-dV] [-c CONFIG] run [--sync-deletes]"
	    " [ACCOUNT...]\n"
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

static int
cmd_run(const struct mig_conf *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sync-deletes", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	struct mig_options opt = { 0 };
	struct mig_stats stats, total = { 0 };
	const struct mig_account **v;
	struct mig_state *st;
	struct timespec t0, t1;
	char *err = NULL;
	size_t n, i, failed = 0;
	double secs;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'D')
			usage();
		opt.sync_deletes = 1;
	}
	if ((v = accounts(conf, argc - optind, argv + optind, &n)) == NULL)
		return EX_USAGE;
	if ((st = mig_state_open(conf->state, &err)) == NULL) {
		fprintf(stderr, "syncmigrate: %s\n", err);
		free(err);
		free(v);
		return EX_CANTCREAT;
	}
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (mig_sync_account(conf, st, v[i], &opt, &stats,
		    &err) == -1) {
			log_warnx("event=account account=%s result=failed"
			    " copied=%lld error=%s", log_q(v[i]->name),
			    stats.copied, log_q(err));
			free(err);
			err = NULL;
			failed++;
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			secs = (t1.tv_sec - t0.tv_sec) +
			    (t1.tv_nsec - t0.tv_nsec) / 1e9;
			log_info("event=account account=%s result=synced"
			    " folders=%lld copied=%lld bytes=%lld matched=%lld"
			    " flags=%lld deleted=%lld refused=%lld"
			    " seconds=%.1f", log_q(v[i]->name), stats.folders,
			    stats.copied, stats.bytes, stats.matched,
			    stats.flagged, stats.deleted, stats.refused, secs);
		}
		total.copied += stats.copied;
		total.bytes += stats.bytes;
		total.refused += stats.refused;
	}
	log_info("event=run accounts=%zu failed=%zu copied=%lld bytes=%lld"
	    " refused=%lld", n, failed, total.copied, total.bytes,
	    total.refused);
	mig_state_close(&st);
	free(v);
	return failed > 0 ? EX_UNAVAILABLE : 0;
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
		rc = cmd_run(conf, argc, argv);
	else if (strcmp(argv[0], "verify") == 0)
		rc = cmd_verify(conf, argc, argv);
	else if (strcmp(argv[0], "status") == 0 && argc == 1)
		rc = cmd_status(conf);
	else
		usage();
	mig_conf_free(&conf);
	return rc;
}
