/*
 * test_store.c: the store: group commit, duplicates, article numbers that
 * survive a restart, outbox order and states, fault injection, and the
 * refusal of a store written by a newer syncd, and a schema step.
 */

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "testutil.h"

struct fixture {
	char		*dir;
	struct event_base *base;
	struct store	*store;
};

struct result {
	int		 done;
	enum store_result result;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	f->dir = test_tmpdir();
	f->base = test_base();
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(&f->store);
	event_base_free(f->base);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

static void
stored(void *arg, enum store_result result, const char *err)
{
	struct result *r = arg;

	r->result = result;
	r->done = 1;
}

static char **
list_of(const char *a, const char *b)
{
	char **v = xcalloc(3, sizeof(*v));

	if (a != NULL)
		v[0] = xstrdup(a);
	if (b != NULL)
		v[1] = xstrdup(b);
	return v;
}

/* A message in channel ch (group grp unless NULL) with targets t1, t2. */
static struct store_msg *
new_msg(const char *msgid, const char *parent, const char *grp,
    const char *t1, const char *t2)
{
	struct store_msg *m = xcalloc(1, sizeof(*m));

	m->msgid = xstrdup(msgid);
	m->source = SIDE_LIST;
	m->arrived = time(NULL);
	m->date = -1;
	m->subject = xstrdup("subject");
	m->parent = parent != NULL ? xstrdup(parent) : NULL;
	m->raw = xasprintf("Message-ID: %s\r\n\r\nbody\r\n", msgid);
	m->len = strlen(m->raw);
	m->channels = list_of("ch", NULL);
	m->nchannels = 1;
	if (grp != NULL) {
		m->groups = list_of(grp, NULL);
		m->ngroups = 1;
	}
	m->targets = list_of(t1, t2);
	m->ntargets = (t1 != NULL) + (t2 != NULL);
	return m;
}

static enum store_result
add(struct fixture *f, struct store_msg *m)
{
	struct result r = { 0, STORE_TEMPFAIL };

	store_add(f->store, m, stored, &r);
	assert_int_equal(r.done, 0);	/* only after the commit */
	assert_true(test_loop_until(f->base, &r.done, 5));
	return r.result;
}

static void
test_add_and_duplicate(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_has_msgid(f->store, "<a@x>"), 0);
	assert_int_equal(add(f, new_msg("<a@x>", NULL, NULL, "t", NULL)),
	    STORE_OK);
	assert_int_equal(store_has_msgid(f->store, "<a@x>"), 1);
	assert_int_equal(add(f, new_msg("<a@x>", NULL, NULL, "t", NULL)),
	    STORE_DUPLICATE);
	assert_int_equal(store_message_count(f->store), 1);
}

/* Two copies in one batch: one commit, the second is the duplicate. */
static void
test_batch(void **state)
{
	struct fixture *f = *state;
	struct result r1 = { 0, STORE_TEMPFAIL }, r2 = { 0, STORE_TEMPFAIL };
	struct result r3 = { 0, STORE_TEMPFAIL };

	store_add(f->store, new_msg("<b@x>", NULL, NULL, "t", NULL), stored,
	    &r1);
	store_add(f->store, new_msg("<b@x>", NULL, NULL, "t", NULL), stored,
	    &r2);
	store_add(f->store, new_msg("<c@x>", NULL, NULL, "t", NULL), stored,
	    &r3);
	assert_true(test_loop_until(f->base, &r3.done, 5));
	assert_true(r1.done && r2.done);
	assert_int_equal(r1.result, STORE_OK);
	assert_int_equal(r2.result, STORE_DUPLICATE);
	assert_int_equal(r3.result, STORE_OK);
	assert_int_equal(store_message_count(f->store), 2);
}

/*
 * The checkpointer copies the WAL back into the database while syncd
 * runs: after a few MB of commits the database file itself has grown.
 */
static void
test_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct result r[200];
	struct store_msg *m;
	struct stat st;
	char *path, msgid[64];
	int i, tries;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 200; i++) {
		snprintf(msgid, sizeof(msgid), "<big%d@x>", i);
		m = new_msg(msgid, NULL, NULL, NULL, NULL);
		free(m->raw);
		m->len = 64 * 1024;
		m->raw = xmalloc(m->len + 1);
		memset(m->raw, 'x', m->len);
		m->raw[m->len] = '\0';
		store_add(f->store, m, stored, &r[i]);
		if (i % 20 == 19) {
			assert_true(test_loop_until(f->base, &r[i].done, 10));
			assert_int_equal(r[i].result, STORE_OK);
		}
	}

	path = xasprintf("%s/syncd.db", f->dir);
	for (tries = 0; tries < 100; tries++) {
		assert_int_equal(stat(path, &st), 0);
		if (st.st_size >= 8 * 1024 * 1024)
			break;
		usleep(100 * 1000);
	}
	assert_true(st.st_size >= 8 * 1024 * 1024);
	free(path);
}

static void
test_article_numbers(void **state)
{
	struct fixture *f = *state;
	struct store_msg *m;
	char *err = NULL;

	assert_int_equal(add(f, new_msg("<1@x>", NULL, "g", NULL, NULL)),
	    STORE_OK);
	assert_int_equal(add(f, new_msg("<2@x>", NULL, "g", NULL, NULL)),
	    STORE_OK);
	m = new_msg("<3@x>", NULL, "g", NULL, NULL);
	m->groups = xreallocarray(m->groups, 2, sizeof(char *));
	m->groups[1] = xstrdup("h");
	m->ngroups = 2;
	assert_int_equal(add(f, m), STORE_OK);
	assert_int_equal(store_article_number(f->store, "g", "<1@x>"), 1);
	assert_int_equal(store_article_number(f->store, "g", "<2@x>"), 2);
	assert_int_equal(store_article_number(f->store, "g", "<3@x>"), 3);
	assert_int_equal(store_article_number(f->store, "h", "<3@x>"), 1);
	assert_int_equal(store_article_number(f->store, "h", "<1@x>"), 0);

	/* A duplicate takes no number. */
	assert_int_equal(add(f, new_msg("<2@x>", NULL, "g", NULL, NULL)),
	    STORE_DUPLICATE);

	/* Numbers go on after a restart. */
	store_close(&f->store);
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(add(f, new_msg("<4@x>", NULL, "g", NULL, NULL)),
	    STORE_OK);
	assert_int_equal(store_article_number(f->store, "g", "<4@x>"), 4);
	assert_int_equal(store_article_number(f->store, "g", "<1@x>"), 1);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Due rows over all targets with pending rows; first gets the first. */
static size_t
due(struct fixture *f, time_t now, char *first, size_t size)
{
	struct outbox_row **rows;
	char **targets;
	size_t n, i, nt, t, total = 0;

	assert_int_equal(store_outbox_targets(f->store, &targets, &nt), 0);
	if (nt > 0)
		qsort(targets, nt, sizeof(*targets), by_name);
	if (first != NULL)
		snprintf(first, size, "-");
	for (t = 0; t < nt; t++) {
		assert_int_equal(store_outbox_due(f->store, targets[t], now,
		    100, &rows, &n), 0);
		if (first != NULL && total == 0 && n > 0)
			snprintf(first, size, "%s %s", rows[0]->msgid,
			    rows[0]->target);
		total += n;
		for (i = 0; i < n; i++)
			outbox_row_free(&rows[i]);
		free(rows);
		free(targets[t]);
	}
	free(targets);
	return total;
}

static int64_t
row_id(struct fixture *f, const char *msgid, const char *target)
{
	struct store_row_info *rows;
	size_t n, i;
	int64_t id = 0;

	assert_int_equal(store_outbox_list(f->store, -1, 100, &rows, &n), 0);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].msgid, msgid) == 0 &&
		    strcmp(rows[i].target, target) == 0)
			id = rows[i].id;
	store_row_info_free(rows, n);
	assert_true(id != 0);
	return id;
}

static void
result(struct fixture *f, int64_t id, int state, time_t next,
    const char *err)
{
	struct result r = { 0, STORE_TEMPFAIL };

	store_outbox_result(f->store, id, state, next, err, stored, &r);
	assert_true(test_loop_until(f->base, &r.done, 5));
	assert_int_equal(r.result, STORE_OK);
}

/* A reply waits for its parent, per target. */
static void
test_parent_first(void **state)
{
	struct fixture *f = *state;
	/* Rows are due from their creation; look a little later. */
	time_t start = time(NULL), now = start + 5;
	char first[128];

	assert_int_equal(add(f, new_msg("<p@x>", NULL, NULL, "t1", "t2")),
	    STORE_OK);
	assert_int_equal(add(f, new_msg("<c@x>", "<p@x>", NULL, "t1", "t2")),
	    STORE_OK);
	/* An orphan's parent is unknown: it need not wait. */
	assert_int_equal(add(f, new_msg("<o@x>", "<unknown@x>", NULL, "t1",
	    NULL)), STORE_OK);
	assert_int_equal(due(f, now, first, sizeof(first)), 3);
	assert_string_equal(first, "<p@x> t1");

	result(f, row_id(f, "<p@x>", "t1"), OUTBOX_DONE, 0, NULL);
	/* t1: the child is free; t2: the parent still waits. */
	assert_int_equal(due(f, now, NULL, 0), 3);
	result(f, row_id(f, "<p@x>", "t2"), OUTBOX_DEAD, 0, "gone");
	/* A dead parent does not hold its children back forever. */
	assert_int_equal(due(f, now, NULL, 0), 3);
	assert_in_range(store_outbox_next(f->store), start, start + 2);
}

/*
 * Found in review: a message naming itself as parent, or two naming each
 * other, waited for ever.  Only a parent stored earlier holds a row back.
 */
static void
test_parent_cycles(void **state)
{
	struct fixture *f = *state;
	time_t now = time(NULL) + 5;

	assert_int_equal(add(f, new_msg("<self@x>", "<self@x>", NULL, "t",
	    NULL)), STORE_OK);
	assert_int_equal(add(f, new_msg("<a@x>", "<b@x>", NULL, "t", NULL)),
	    STORE_OK);
	assert_int_equal(add(f, new_msg("<b@x>", "<a@x>", NULL, "t", NULL)),
	    STORE_OK);
	/* self and a are free; b waits for a, stored before it. */
	assert_int_equal(due(f, now, NULL, 0), 2);
	result(f, row_id(f, "<a@x>", "t"), OUTBOX_DONE, 0, NULL);
	assert_int_equal(due(f, now, NULL, 0), 2);
}

/* A retried dead letter's age starts again, so max-age gives it time. */
static void
test_retry_since(void **state)
{
	struct fixture *f = *state;
	struct outbox_row **rows;
	size_t n;
	int64_t id;

	assert_int_equal(add(f, new_msg("<old@x>", NULL, NULL, "t", NULL)),
	    STORE_OK);
	id = row_id(f, "<old@x>", "t");
	result(f, id, OUTBOX_DEAD, 0, "gone");
	sleep(1);
	assert_int_equal(store_outbox_retry(f->store, id), 1);
	assert_int_equal(store_outbox_due(f->store, "t", time(NULL) + 5, 10,
	    &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(rows[0]->since > rows[0]->created);
	assert_int_equal(rows[0]->attempts, 0);
	outbox_row_free(&rows[0]);
	free(rows);
}

static void
test_retry_later_and_dead(void **state)
{
	struct fixture *f = *state;
	struct store_row_info *rows;
	struct store_queue_info *qi;
	time_t now = time(NULL);
	int64_t id;
	size_t n;

	assert_int_equal(add(f, new_msg("<r@x>", NULL, NULL, "t", NULL)),
	    STORE_OK);
	id = row_id(f, "<r@x>", "t");
	result(f, id, OUTBOX_PENDING, now + 100, "try later");
	assert_int_equal(due(f, now, NULL, 0), 0);
	assert_int_equal(due(f, now + 100, NULL, 0), 1);
	assert_int_equal(store_outbox_next(f->store), now + 100);

	result(f, id, OUTBOX_DEAD, 0, "no such list");
	assert_int_equal(due(f, now + 1000, NULL, 0), 0);
	assert_int_equal(store_outbox_next(f->store), -1);
	assert_int_equal(store_outbox_list(f->store, OUTBOX_DEAD, 10, &rows,
	    &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].msgid, "<r@x>");
	assert_string_equal(rows[0].last_error, "no such list");
	assert_int_equal(rows[0].attempts, 2);
	store_row_info_free(rows, n);

	assert_int_equal(store_queue(f->store, &qi, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(qi[0].target, "t");
	assert_int_equal(qi[0].state, OUTBOX_DEAD);
	assert_int_equal(qi[0].count, 1);
	store_queue_free(qi, n);

	assert_int_equal(store_outbox_retry(f->store, id + 1), 0);
	assert_int_equal(store_outbox_retry(f->store, id), 1);
	assert_int_equal(due(f, time(NULL) + 5, NULL, 0), 1);
	assert_int_equal(store_outbox_retry(f->store, 0), 0);
}

static void
test_raw_and_channels(void **state)
{
	struct fixture *f = *state;
	struct store_channel_info *ci;
	struct outbox_row **rows;
	char *raw;
	size_t len, n;

	assert_int_equal(add(f, new_msg("<raw@x>", NULL, NULL, "t", NULL)),
	    STORE_OK);
	assert_int_equal(store_outbox_due(f->store, "t", time(NULL) + 5, 10,
	    &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_message_raw(f->store, rows[0]->message, &raw,
	    &len), 0);
	assert_int_equal(len, strlen("Message-ID: <raw@x>\r\n\r\nbody\r\n"));
	assert_memory_equal(raw, "Message-ID: <raw@x>\r\n\r\nbody\r\n", len);
	free(raw);
	assert_int_equal(store_message_raw(f->store, rows[0]->message + 99,
	    &raw, &len), -1);
	outbox_row_free(&rows[0]);
	free(rows);

	assert_int_equal(store_channels(f->store, &ci, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ci[0].channel, "ch");
	assert_int_equal(ci[0].messages, 1);
	assert_true(ci[0].last > 0);
	store_channels_free(ci, n);
}

/* A crosspost shares a channel with a reply through either channel. */
static void
test_share_channel(void **state)
{
	struct fixture *f = *state;
	struct store_msg *m;

	m = new_msg("<cross@x>", NULL, NULL, "t", NULL);
	m->channels = xreallocarray(m->channels, 3, sizeof(*m->channels));
	m->channels[1] = xstrdup("other");
	m->channels[2] = NULL;
	m->nchannels = 2;
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<reply@x>", "<cross@x>", NULL, "t", NULL);
	free(m->channels[0]);
	m->channels[0] = xstrdup("other");
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<elsewhere@x>", NULL, NULL, "t", NULL);
	free(m->channels[0]);
	m->channels[0] = xstrdup("third");
	assert_int_equal(add(f, m), STORE_OK);

	assert_int_equal(store_share_channel(f->store, "<reply@x>",
	    "<cross@x>"), 1);
	assert_int_equal(store_share_channel(f->store, "<cross@x>",
	    "<reply@x>"), 1);
	assert_int_equal(store_share_channel(f->store, "<elsewhere@x>",
	    "<cross@x>"), 0);
	assert_int_equal(store_share_channel(f->store, "<reply@x>",
	    "<unknown@x>"), 0);
}

/* The newest arrival from each side, and none from a side with none. */
static void
test_last_in(void **state)
{
	struct fixture *f = *state;
	struct store_msg *m;
	time_t in[SIDE_MAX], out[SIDE_MAX];

	m = new_msg("<news@x>", NULL, NULL, NULL, NULL);
	m->source = SIDE_NEWS;
	m->arrived = 1000;
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<list2@x>", NULL, NULL, NULL, NULL);
	m->arrived = 2000;
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<list1@x>", NULL, NULL, NULL, NULL);
	m->arrived = 1500;
	assert_int_equal(add(f, m), STORE_OK);
	assert_int_equal(store_last(f->store, in, out), 0);
	assert_int_equal(in[SIDE_NEWS], 1000);
	assert_int_equal(in[SIDE_LIST], 2000);
	assert_int_equal(in[SIDE_FORUM], 0);
	assert_int_equal(out[SIDE_NEWS], 0);
}

/*
 * Found in review: two copies in one batch whose commit fails.  The first
 * was rolled back, so the second must not be acknowledged as a duplicate.
 */
static void
test_fault_duplicate(void **state)
{
	struct fixture *f = *state;
	struct result r1 = { 0, STORE_OK }, r2 = { 0, STORE_OK };

	store_fail_commits(f->store, 1);
	store_add(f->store, new_msg("<fd@x>", NULL, NULL, "t", NULL), stored,
	    &r1);
	store_add(f->store, new_msg("<fd@x>", NULL, NULL, "t", NULL), stored,
	    &r2);
	assert_true(test_loop_until(f->base, &r2.done, 5));
	assert_int_equal(r1.result, STORE_TEMPFAIL);
	assert_int_equal(r2.result, STORE_TEMPFAIL);
	assert_int_equal(store_has_msgid(f->store, "<fd@x>"), 0);
}

/* A failed commit: every caller hears TEMPFAIL and nothing is kept. */
static void
test_fault(void **state)
{
	struct fixture *f = *state;
	struct result r1 = { 0, STORE_OK }, r2 = { 0, STORE_OK };

	store_fail_commits(f->store, 1);
	store_add(f->store, new_msg("<f1@x>", NULL, "g", "t", NULL), stored,
	    &r1);
	store_add(f->store, new_msg("<f2@x>", NULL, "g", "t", NULL), stored,
	    &r2);
	assert_true(test_loop_until(f->base, &r2.done, 5));
	assert_int_equal(r1.result, STORE_TEMPFAIL);
	assert_int_equal(r2.result, STORE_TEMPFAIL);
	assert_int_equal(store_has_msgid(f->store, "<f1@x>"), 0);
	assert_int_equal(store_message_count(f->store), 0);
	/* The next commit works, and numbering did not skip. */
	assert_int_equal(add(f, new_msg("<f1@x>", NULL, "g", "t", NULL)),
	    STORE_OK);
	assert_int_equal(store_article_number(f->store, "g", "<f1@x>"), 1);
}

/*
 * A full disk is a state: said once, refused offers meanwhile
 * (store_full), and over with the next commit that works.
 */
static void
test_full_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_full(f->store), 0);
	store_fail_commits(f->store, 2);
	assert_int_equal(add(f, new_msg("<full1@x>", NULL, "g", "t", NULL)),
	    STORE_TEMPFAIL);
	assert_int_equal(store_full(f->store), 1);
	assert_int_equal(add(f, new_msg("<full1@x>", NULL, "g", "t", NULL)),
	    STORE_TEMPFAIL);
	assert_int_equal(store_full(f->store), 1);
	/* Space is back: the next message goes in, and offers are welcome. */
	assert_int_equal(add(f, new_msg("<full1@x>", NULL, "g", "t", NULL)),
	    STORE_OK);
	assert_int_equal(store_full(f->store), 0);
	assert_int_equal(store_article_number(f->store, "g", "<full1@x>"), 1);
}

/*
 * Set PRAGMA user_version straight in the file header (offset 60, big
 * endian) and return what it was.
 */
static uint32_t
user_version(const char *dir, uint32_t v)
{
	unsigned char be[4] = { v >> 24, v >> 16, v >> 8, v }, old[4];
	char *path = xasprintf("%s/syncd.db", dir);
	int fd = open(path, O_RDWR);

	assert_true(fd != -1);
	assert_int_equal(pread(fd, old, 4, 60), 4);
	assert_int_equal(pwrite(fd, be, 4, 60), 4);
	close(fd);
	free(path);
	return (uint32_t)old[0] << 24 | old[1] << 16 | old[2] << 8 | old[3];
}

static void
test_newer_schema(void **state)
{
	struct fixture *f = *state;
	uint32_t version;
	char *err = NULL;

	assert_int_equal(add(f, new_msg("<s@x>", NULL, NULL, "t", NULL)),
	    STORE_OK);
	store_close(&f->store);
	version = user_version(f->dir, 99);
	assert_true(version >= 1);
	f->store = store_open(f->dir, f->base, &err);
	assert_null(f->store);
	assert_non_null(err);
	assert_non_null(strstr(err, "schema version 99, written by a newer"
	    " syncd"));
	free(err);

	/* Put the real version back: the store opens with its data. */
	user_version(f->dir, version);
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(store_has_msgid(f->store, "<s@x>"), 1);
}

/* sql on the store's file, outside the store; an integer result or -1. */
static int64_t
sql(const char *dir, const char *text)
{
	char *path = xasprintf("%s/syncd.db", dir);
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	free(path);
	return v;
}

/*
 * Schema step 6 -> 7: the last arrival per side moves from an index on
 * message into meta.  A store as version 6 left it (the index, no rows in
 * meta) opens with the same answers from store_last, and without the
 * index.
 */
static void
test_upgrade_last_in(void **state)
{
	struct fixture *f = *state;
	time_t in[SIDE_MAX], out[SIDE_MAX];
	struct store_msg *m;
	char *err = NULL;

	m = new_msg("<u-news@x>", NULL, NULL, NULL, NULL);
	m->source = SIDE_NEWS;
	m->arrived = 1000;
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<u-list2@x>", NULL, NULL, NULL, NULL);
	m->arrived = 2000;
	assert_int_equal(add(f, m), STORE_OK);
	m = new_msg("<u-list1@x>", NULL, NULL, NULL, NULL);
	m->arrived = 1500;
	assert_int_equal(add(f, m), STORE_OK);
	store_close(&f->store);

	sql(f->dir, "DELETE FROM meta WHERE key LIKE 'last-in:%'");
	sql(f->dir, "CREATE INDEX message_source_arrived ON"
	    " message(source, arrived)");
	sql(f->dir, "PRAGMA user_version = 6");
	if ((f->store = store_open(f->dir, f->base, &err)) == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(sql(f->dir, "PRAGMA user_version"), 7);
	assert_int_equal(sql(f->dir, "SELECT count(*) FROM sqlite_schema"
	    " WHERE name = 'message_source_arrived'"), 0);
	assert_int_equal(store_last(f->store, in, out), 0);
	assert_int_equal(in[SIDE_NEWS], 1000);
	assert_int_equal(in[SIDE_LIST], 2000);
	assert_int_equal(in[SIDE_FORUM], 0);

	/* And the rows go on from there. */
	m = new_msg("<u-list3@x>", NULL, NULL, NULL, NULL);
	m->arrived = 2500;
	assert_int_equal(add(f, m), STORE_OK);
	assert_int_equal(store_last(f->store, in, out), 0);
	assert_int_equal(in[SIDE_LIST], 2500);
	assert_int_equal(in[SIDE_NEWS], 1000);
}

/* The first of the overview rows from article 4 on. */
static void
check_overview_n4(const struct store_overview *o, void *arg)
{
	if ((*(int *)arg)++ > 0)
		return;
	assert_int_equal(o->number, 4);
	assert_string_equal(o->msgid, "<n4@x>");
	assert_string_equal(o->subject, "Subject 4");
	assert_int_equal(o->lines, 4);
	assert_null(o->refs);
	assert_true(o->bytes > 0);
}

/* What the news server reads: groups, numbers, overview, Xref, NEWNEWS. */
static void
test_news_reads(void **state)
{
	struct fixture *f = *state;
	struct store_group g, *groups;
	struct store_overview *one;
	int rows;
	struct store_xref *xr;
	struct store_newnews *nn;
	struct store_msg *m;
	long long *nums;
	int64_t message;
	char *msgid;
	size_t n;
	int i;

	assert_int_equal(store_group_create(f->store, "empty.group"), 0);
	assert_int_equal(store_group(f->store, "empty.group", &g), 1);
	assert_int_equal(g.low, 1);
	assert_int_equal(g.high, 0);
	assert_int_equal(g.count, 0);
	free(g.name);
	assert_int_equal(store_group(f->store, "no.such", &g), 0);

	for (i = 1; i <= 5; i++) {
		char id[32];

		snprintf(id, sizeof(id), "<n%d@x>", i);
		m = new_msg(id, NULL, "g", NULL, NULL);
		m->ov_subject = xasprintf("Subject %d", i);
		m->ov_from = xstrdup("A <a@x>");
		m->ov_date = xstrdup("Sun, 29 Nov 2026 10:00:00 +0000");
		m->lines = i;
		if (i == 3) {
			m->groups = xreallocarray(m->groups, 2,
			    sizeof(char *));
			m->groups[1] = xstrdup("h");
			m->ngroups = 2;
		}
		assert_int_equal(add(f, m), STORE_OK);
	}
	assert_int_equal(store_groups(f->store, &groups, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(groups[0].name, "empty.group");
	assert_string_equal(groups[1].name, "g");
	assert_int_equal(groups[1].count, 5);
	assert_int_equal(groups[1].high, 5);
	assert_int_equal(groups[2].count, 1);
	store_groups_free(groups, n);

	assert_int_equal(store_article(f->store, "g", 2, &message, &msgid), 1);
	assert_string_equal(msgid, "<n2@x>");
	free(msgid);
	assert_int_equal(store_article(f->store, "g", 9, &message, &msgid), 0);
	assert_int_equal(store_message_id(f->store, "<n3@x>", &message), 1);
	assert_int_equal(store_message_id(f->store, "<nope@x>", &message), 0);

	assert_int_equal(store_article_step(f->store, "g", 2, 1), 3);
	assert_int_equal(store_article_step(f->store, "g", 2, 0), 1);
	assert_int_equal(store_article_step(f->store, "g", 5, 1), 0);
	assert_int_equal(store_article_step(f->store, "g", 1, 0), 0);

	assert_int_equal(store_numbers(f->store, "g", 2, 4, 100, &nums, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(nums[0], 2);
	assert_int_equal(nums[2], 4);
	free(nums);
	assert_int_equal(store_numbers(f->store, "g", 1, 100, 2, &nums, &n), 0);
	assert_int_equal(n, 2);
	free(nums);

	rows = 0;
	assert_int_equal(store_overview_each(f->store, "g", 4, 100, 100,
	    check_overview_n4, &rows), 2);
	assert_int_equal(store_overview_msgid(f->store, "<n5@x>", &one), 1);
	assert_int_equal(one->number, 0);
	assert_string_equal(one->subject, "Subject 5");
	store_overview_free(one, 1);

	assert_int_equal(store_message_id(f->store, "<n3@x>", &message), 1);
	assert_int_equal(store_xref(f->store, message, &xr, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(xr[0].group, "g");
	assert_int_equal(xr[0].number, 3);
	assert_string_equal(xr[1].group, "h");
	assert_int_equal(xr[1].number, 1);
	store_xref_free(xr, n);

	assert_int_equal(store_newnews(f->store, 0, 0, 100, &nn, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(nn[0].msgid, "<n1@x>");
	message = nn[2].message;
	store_newnews_free(nn, n);
	assert_int_equal(store_newnews(f->store, 0, message, 100, &nn, &n), 0);
	assert_true(n < 6);
	store_newnews_free(nn, n);
	assert_int_equal(store_newnews(f->store, time(NULL) + 10, 0, 100, &nn,
	    &n), 0);
	assert_int_equal(n, 0);
	store_newnews_free(nn, n);
}

static void
test_open_failure(void **state)
{
	struct event_base *base = test_base();
	char *err = NULL;

	assert_null(store_open("/nonexistent/dir", base, &err));
	assert_non_null(strstr(err, "/nonexistent/dir/syncd.db"));
	free(err);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_article_numbers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parent_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_later_and_dead,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_and_channels, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_share_channel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_last_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_cycles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_since, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fault_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_last_in, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_news_reads, setup,
		    teardown),
		cmocka_unit_test(test_open_failure),
	};

	log_init(1, 0, "test_store");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
