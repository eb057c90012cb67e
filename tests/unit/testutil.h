/*
 * testutil.h: helpers the unit tests share: a private directory, a config
 * from a string, and running the event loop until something happened.
 * Header-only, so every test stays one file.
 */

#ifndef SYNCOM_TESTUTIL_H
#define SYNCOM_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "syncd.h"

static int
testutil_unlink(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A new private directory under /tmp; the caller frees the name. */
static inline char *
test_tmpdir(void)
{
	char *dir = xstrdup("/tmp/syncom-unit.XXXXXX");

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	return dir;
}

static inline void
test_rmdir(char *dir)
{
	nftw(dir, testutil_unlink, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* A parsed configuration, or the test fails with the parser's error. */
static inline struct conf *
test_conf(const char *text)
{
	struct conf *conf;
	char *err = NULL;

	conf = conf_parse("test.conf", text, strlen(text), &err);
	if (conf == NULL) {
		fprintf(stderr, "test_conf: %s\n", err);
		abort();
	}
	return conf;
}

/* An event base ready for threads handing work back. */
static inline struct event_base *
test_base(void)
{
	static int threads;
	struct event_base *base;

	if (!threads++)
		evthread_use_pthreads();
	base = event_base_new();
	return base;
}

/* Run the loop until *flag becomes non-zero, for at most secs seconds. */
static inline int
test_loop_until(struct event_base *base, volatile int *flag, int secs)
{
	int i;

	for (i = 0; i < secs * 100 && !*flag; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (!*flag)
			usleep(10000);
	}
	return *flag;
}

#endif
