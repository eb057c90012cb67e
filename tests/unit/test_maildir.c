/*
 * test_maildir.c: the Maildir transport: files land in new/ durably, a
 * repeated delivery finds its earlier file (in new/ or, once read, in
 * cur/), failures are reported, and the transport runs on the workers.
 */

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = xcalloc(1, 65536);

	assert_non_null(fp);
	assert_true(fread(buf, 1, 65535, fp) > 0);
	fclose(fp);
	return buf;
}

static int
count_files(const char *dir)
{
	char *cmd = xasprintf("test -d %s && find %s -type f | wc -l", dir,
	    dir);
	FILE *p = popen(cmd, "r");
	int n = 0;

	if (fscanf(p, "%d", &n) != 1)
		n = 0;
	pclose(p);
	free(cmd);
	return n;
}

static void
test_deliver(void **state)
{
	char *dir = test_tmpdir(), *md, *file, *data, *err = NULL;
	struct stat sb;

	md = xasprintf("%s/deep/box", dir);
	assert_int_equal(maildir_deliver(md, "n1", "hello\n", 6, 0, &err), 0);
	assert_null(err);
	file = xasprintf("%s/new/n1", md);
	data = slurp(file);
	assert_string_equal(data, "hello\n");
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640 & ~0);
	free(data);
	free(file);
	file = xasprintf("%s/tmp", md);
	assert_int_equal(count_files(file), 0);
	free(file);

	/* Checked: an existing new/ file counts as delivered. */
	assert_int_equal(maildir_deliver(md, "n1", "other\n", 6, 1, &err), 0);
	file = xasprintf("%s/new/n1", md);
	data = slurp(file);
	assert_string_equal(data, "hello\n");
	free(data);
	free(file);

	/* A reader moved it to cur/ with flags: still found. */
	file = xasprintf("%s/new/n1", md);
	data = xasprintf("%s/cur/n1:2,S", md);
	assert_int_equal(rename(file, data), 0);
	free(file);
	free(data);
	assert_int_equal(maildir_deliver(md, "n1", "again\n", 6, 1, &err), 0);
	assert_int_equal(count_files(md), 1);
	/* A name that merely starts the same is another message. */
	assert_int_equal(maildir_deliver(md, "n", "short\n", 6, 1, &err), 0);
	assert_int_equal(count_files(md), 2);

	free(md);
	test_rmdir(dir);
}

static void
test_failure(void **state)
{
	char *dir = test_tmpdir(), *blocker, *md, *err = NULL;
	FILE *fp;

	blocker = xasprintf("%s/file", dir);
	fp = fopen(blocker, "w");
	fclose(fp);
	md = xasprintf("%s/box", blocker);
	assert_int_equal(maildir_deliver(md, "n1", "x", 1, 0, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "Not a directory"));
	free(err);
	free(md);
	free(blocker);
	test_rmdir(dir);
}

struct done {
	int		 done;
	enum delivery_result result;
};

static void
delivered(struct delivery *d, enum delivery_result result, const char *err)
{
	struct done *r = d->arg;

	r->result = result;
	r->done = 1;
}

/* Through the transport interface and the workers. */
static void
test_transport(void **state)
{
	char *dir = test_tmpdir(), *md, *data;
	struct event_base *base = test_base();
	struct worker *w = worker_new(base, 1);
	struct conf *conf = test_conf("hostname gw.test.example\n"
	    "channel a {\n\tnewsgroup a.b\n\tboard a\n}\n");
	struct transport *t;
	struct outbox_row row = { 7, 1, "<m@x>", "list:a@x.org", 0, 1000,
	    1000 };
	struct delivery d;
	struct done r = { 0, DELIVERY_TEMPFAIL };
	char cmd[512];
	FILE *p;

	md = xasprintf("%s/box", dir);
	t = maildir_transport_new(conf, md, w);
	memset(&d, 0, sizeof(d));
	d.row = &row;
	d.raw = "Message-ID: <m@x>\r\nSubject: s\r\n\r\nbody\r\n";
	d.len = strlen(d.raw);
	d.done = delivered;
	d.arg = &r;
	t->ops->deliver(t, &d);
	assert_int_equal(r.done, 0);
	assert_true(test_loop_until(base, &r.done, 5));
	assert_int_equal(r.result, DELIVERY_OK);

	snprintf(cmd, sizeof(cmd), "cat %s/new/*", md);
	p = popen(cmd, "r");
	data = xcalloc(1, 4096);
	assert_true(fread(data, 1, 4095, p) > 0);
	pclose(p);
	assert_string_equal(data, "X-Syncom-Gateway: gw.test.example\n"
	    "Message-ID: <m@x>\nSubject: s\n\nbody\n");
	free(data);

	/* The same row again, after a crash: no second file. */
	r.done = 0;
	d.recovering = 1;
	t->ops->deliver(t, &d);
	assert_true(test_loop_until(base, &r.done, 5));
	assert_int_equal(r.result, DELIVERY_OK);
	assert_int_equal(count_files(md), 1);

	/* Another target is another file. */
	row.target = "forum:a";
	r.done = 0;
	t->ops->deliver(t, &d);
	assert_true(test_loop_until(base, &r.done, 5));
	assert_int_equal(count_files(md), 2);

	transport_free(&t);
	worker_free(&w);
	conf_unref(&conf);
	event_base_free(base);
	free(md);
	test_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_transport),
	};

	log_init(1, 0, "test_maildir");
	umask(027);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
