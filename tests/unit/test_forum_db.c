/*
 * test_forum_db.c: the forum's database where it keeps more than the
 * rows: a board's deep pages, read from page keys it remembers, must be
 * what OFFSET gives, after every kind of write (its own, another
 * connection's, one rolled back); a thread's order read from the index;
 * and schema 4 databases upgraded to the index that holds it.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common.h"
#include "forum.h"
#include "testutil.h"

/* Posts per page in these tests: not the stride, to cross its edges. */
#define PAGE	7

struct env {
	char		*dir;
	char		*path;
	struct forum_db	*fd;
	sqlite3		*other;		/* a second connection, as sqlite3(1) */
	int64_t		 board;
	int		 n;		/* posts made */
};

static struct env *
env_new(void)
{
	struct env *e = xcalloc(1, sizeof(*e));
	struct forum_board b;
	char *err = NULL;

	e->dir = test_tmpdir();
	e->path = xasprintf("%s/forum.db", e->dir);
	e->fd = forum_db_open(e->dir, &err);
	if (e->fd == NULL)
		fail_msg("forum_db_open: %s", err);
	assert_int_equal(forum_db_board_set(e->fd, "b", "a board", "b.group",
	    NULL, 0), 0);
	assert_int_equal(forum_db_board(e->fd, "b", 0, &b), 1);
	e->board = b.id;
	forum_board_free(&b, 1);
	assert_int_equal(sqlite3_open(e->path, &e->other), SQLITE_OK);
	sqlite3_busy_timeout(e->other, 5000);
	return e;
}

static void
env_free(struct env *e)
{
	sqlite3_close(e->other);
	forum_db_close(&e->fd);
	free(e->path);
	test_rmdir(e->dir);
	free(e);
}

/*
 * A post dated date, a reply to <p{parent}@t> when parent >= 0; its
 * Message-ID is <p{n}@t>, n counting from 0.
 */
static int64_t
post(struct env *e, int parent, time_t date)
{
	struct forum_new_post np;
	char *msgid, *ref = NULL, *refs[1];
	int64_t id, topic;

	memset(&np, 0, sizeof(np));
	msgid = xasprintf("<p%d@t>", e->n++);
	if (parent >= 0) {
		ref = xasprintf("<p%d@t>", parent);
		refs[0] = ref;
		np.refs = refs;
		np.nrefs = 1;
	}
	np.board = e->board;
	np.msgid = msgid;
	np.author = "Anna";
	np.address = "anna@example.org";
	np.subject = "a subject";
	np.body = "text\n";
	np.html = "<p>text</p>";
	np.attachments = "";
	np.source = SIDE_NEWS;
	np.date = date;
	np.state = FORUM_POST_VISIBLE;
	assert_int_equal(forum_db_post_add(e->fd, &np, &id, &topic), 1);
	free(msgid);
	free(ref);
	return id;
}

/* The topic ids OFFSET gives, read by the other connection. */
static size_t
reference(struct env *e, size_t offset, size_t limit, int64_t *ids)
{
	sqlite3_stmt *q;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(e->other, "SELECT id FROM topic"
	    " WHERE board = ? AND posts > 0 ORDER BY last DESC, id DESC"
	    " LIMIT ? OFFSET ?", -1, &q, NULL), SQLITE_OK);
	sqlite3_bind_int64(q, 1, e->board);
	sqlite3_bind_int64(q, 2, (int64_t)limit);
	sqlite3_bind_int64(q, 3, (int64_t)offset);
	while (sqlite3_step(q) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return n;
}

/* Every page of PAGE (and each offset with a few rows) as OFFSET has it. */
static void
check_pages(struct env *e)
{
	struct forum_topic *t;
	int64_t ids[PAGE + 1];
	size_t n, m, i, offset;

	for (offset = 0; offset < (size_t)e->n + 2 * PAGE; offset++) {
		assert_int_equal(forum_db_topics(e->fd, e->board, offset,
		    PAGE + 1, &t, &n), 0);
		m = reference(e, offset, PAGE + 1, ids);
		if (n != m)
			fail_msg("offset %zu: %zu topics, OFFSET gives %zu",
			    offset, n, m);
		for (i = 0; i < n; i++)
			if (t[i].id != ids[i])
				fail_msg("offset %zu row %zu: topic %lld,"
				    " OFFSET gives %lld", offset, i,
				    (long long)t[i].id, (long long)ids[i]);
		forum_topic_free(t, n);
		free(t);
	}
}

static void
test_deep_pages(void **state)
{
	struct env *e = env_new();
	int i;

	(void)state;
	/* Ties on the date, so that the id decides too. */
	for (i = 0; i < 200; i++)
		post(e, -1, 1000000 + (i / 3) * 60);
	check_pages(e);
	/* A reply takes an old topic to the top. */
	post(e, 17, 2000000);
	check_pages(e);
	/* A topic whose only post is deleted leaves the list. */
	assert_int_equal(forum_db_post_state(e->fd, 100,
	    FORUM_POST_DELETED), 0);
	check_pages(e);
	/* Written by another connection: PRAGMA data_version tells. */
	assert_int_equal(sqlite3_exec(e->other, "UPDATE topic SET last = 5"
	    " WHERE id IN (3, 150, 151)", NULL, NULL, NULL), SQLITE_OK);
	check_pages(e);
	/*
	 * Written in a batch: read inside it by OFFSET (what it wrote may
	 * yet be rolled back), the keys made anew once it is committed.
	 */
	check_pages(e);
	assert_int_equal(forum_db_batch_begin(e->fd), 0);
	post(e, 40, 3000000);
	{
		struct forum_topic *t;
		size_t n;

		assert_int_equal(forum_db_topics(e->fd, e->board, 2 * PAGE,
		    PAGE, &t, &n), 0);
		assert_int_equal(n, PAGE);
		forum_topic_free(t, n);
		free(t);
	}
	assert_int_equal(forum_db_batch_end(e->fd), 0);
	check_pages(e);
	env_free(e);
}

static void
test_thread(void **state)
{
	struct env *e = env_new();
	struct forum_post *brief, *full;
	size_t nb, nf, i;
	int64_t first;

	(void)state;
	first = post(e, -1, 1000);
	post(e, 0, 1100);
	post(e, 0, 1200);
	post(e, 1, 1300);
	post(e, -1, 1400);		/* another topic */
	post(e, 3, 1500);
	assert_int_equal(forum_db_post_state(e->fd, first + 2,
	    FORUM_POST_DELETED), 0);
	assert_int_equal(forum_db_thread(e->fd, 1, &brief, &nb), 0);
	assert_int_equal(forum_db_posts(e->fd, 1, &full, &nf), 0);
	assert_int_equal(nb, 5);
	assert_int_equal(nb, nf);
	for (i = 0; i < nb; i++) {
		assert_int_equal(brief[i].id, full[i].id);
		assert_int_equal(brief[i].topic, full[i].topic);
		assert_int_equal(brief[i].parent, full[i].parent);
		assert_int_equal(brief[i].state, full[i].state);
		assert_null(brief[i].body);
	}
	assert_int_equal(brief[2].state, FORUM_POST_DELETED);
	forum_post_free(brief, nb);
	free(brief);
	forum_post_free(full, nf);
	free(full);
	env_free(e);
}

/* The statement's query plan in one line. */
static char *
plan(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	char *s = xstrdup(""), *t;
	char *x = xasprintf("EXPLAIN QUERY PLAN %s", sql);

	assert_int_equal(sqlite3_prepare_v2(db, x, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW) {
		t = xasprintf("%s%s;", s, sqlite3_column_text(q, 3));
		free(s);
		s = t;
	}
	sqlite3_finalize(q);
	free(x);
	return s;
}

static int
user_version(sqlite3 *db)
{
	sqlite3_stmt *q;
	int v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q,
	    NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void
test_upgrade(void **state)
{
	struct env *e = env_new();
	struct forum_post *p;
	char *err = NULL, *s;
	size_t n;
	int v5;

	(void)state;
	post(e, -1, 1000);
	post(e, 0, 1100);
	v5 = user_version(e->other);
	assert_true(v5 >= 5);
	/* Back to schema 4 as it was: its index, its number. */
	forum_db_close(&e->fd);
	assert_int_equal(sqlite3_exec(e->other, "DROP INDEX post_topic;"
	    " CREATE INDEX post_topic ON post (topic, id);"
	    " PRAGMA user_version = 4", NULL, NULL, NULL), SQLITE_OK);
	s = plan(e->other, "SELECT id, topic, parent, state FROM post"
	    " WHERE topic = 1 ORDER BY id");
	assert_null(strstr(s, "COVERING INDEX"));
	free(s);
	e->fd = forum_db_open(e->dir, &err);
	if (e->fd == NULL)
		fail_msg("forum_db_open: %s", err);
	assert_int_equal(user_version(e->other), v5);
	/* A new connection: EXPLAIN does not look for a changed schema. */
	sqlite3_close(e->other);
	assert_int_equal(sqlite3_open(e->path, &e->other), SQLITE_OK);
	s = plan(e->other, "SELECT id, topic, parent, state FROM post"
	    " WHERE topic = 1 ORDER BY id");
	if (strstr(s, "COVERING INDEX post_topic") == NULL)
		fail_msg("a thread's order is not read from the index: %s", s);
	free(s);
	assert_int_equal(forum_db_thread(e->fd, 1, &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[1].parent, p[0].id);
	forum_post_free(p, n);
	free(p);
	env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_pages),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_upgrade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
