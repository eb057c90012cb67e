/*
 * forum_db.c: the built-in forum's database: boards, topics, posts,
 * accounts with their mail addresses, and login sessions.
 *
 * The forum is a backend beside the store, not part of it: a site may
 * sync an existing forum instead, whose database is its own, and the
 * built-in one is no different.  It lives in its own SQLite file
 * (forum.db in the data directory) and only this file speaks SQL to it;
 * as in the store: WAL, a busy timeout, schema steps counted by PRAGMA
 * user_version, and statements prepared once for the process's life.
 *
 * A post is stored once per Message-ID.  Its topic is its parent's when a
 * message it refers to (References, last first) is a post of the same
 * board, else a new topic: threads are never merged by subject.  Search
 * runs on an FTS5 index of subject, author and body kept by triggers.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "syncd.h"
#include "forum.h"

/* Statements kept prepared; the SQL text's address is the key. */
#define FORUM_DB_STMTS		64

/* A board's page keys: one for every FORUM_DB_STRIDE topics. */
#define FORUM_DB_STRIDE		30

/*
 * Where a board's list of topics passes each FORUM_DB_STRIDE-th topic:
 * keys[j] is the (last, id) of topic (j + 1) * FORUM_DB_STRIDE - 1 in
 * the board's order, so that a deep page seeks there in the index
 * rather than stepping over every topic before it (OFFSET).  Good while
 * nothing was written: while the database's stamp is the one it was
 * made under.
 */
struct forum_db_keys {
	int64_t		 board;
	struct forum_db_stamp stamp;
	int		 made;
	struct {
		int64_t	 last, id;
	}		*keys;
	size_t		 n;
};

struct forum_db {
	sqlite3		*db;
	struct {
		const char	*sql;
		sqlite3_stmt	*q;
	} stmts[FORUM_DB_STMTS];
	size_t		 nstmts;
	int		 batch;		/* in forum_db_batch's transaction */
	struct forum_db_keys *keys;	/* one per board asked for */
	size_t		 nkeys;
};

static const char *const forum_db_schema[] = {
	/* 1 */
	"CREATE TABLE board ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  newsgroup TEXT,"
	"  list TEXT,"
	"  moderated INTEGER NOT NULL DEFAULT 0,"
	"  topics INTEGER NOT NULL DEFAULT 0,"
	"  posts INTEGER NOT NULL DEFAULT 0,"
	"  last INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE topic ("
	"  id INTEGER PRIMARY KEY,"
	"  board INTEGER NOT NULL REFERENCES board (id),"
	"  subject TEXT NOT NULL,"
	"  author TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  posts INTEGER NOT NULL DEFAULT 0,"
	"  last INTEGER NOT NULL,"
	"  last_author TEXT NOT NULL);"
	"CREATE INDEX topic_board ON topic (board, last DESC, id DESC);"
	"CREATE TABLE account ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  display TEXT NOT NULL,"
	"  hash TEXT NOT NULL,"
	"  role INTEGER NOT NULL DEFAULT 0,"
	"  banned INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE address ("
	"  address TEXT PRIMARY KEY COLLATE NOCASE,"
	"  account INTEGER NOT NULL REFERENCES account (id),"
	"  verified INTEGER NOT NULL DEFAULT 0,"
	"  token TEXT UNIQUE,"
	"  expires INTEGER);"
	"CREATE TABLE post ("
	"  id INTEGER PRIMARY KEY,"
	"  topic INTEGER NOT NULL REFERENCES topic (id),"
	"  parent INTEGER,"
	"  msgid TEXT NOT NULL UNIQUE,"
	"  account INTEGER,"
	"  author TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  attachments TEXT NOT NULL DEFAULT '',"
	"  from_html INTEGER NOT NULL DEFAULT 0,"
	"  source INTEGER NOT NULL,"
	"  date INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  edited INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX post_topic ON post (topic, id);"
	/* Other Message-IDs that name a post: those of its edits. */
	"CREATE TABLE alias ("
	"  msgid TEXT PRIMARY KEY,"
	"  post INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE VIRTUAL TABLE post_fts USING fts5(subject, author, body,"
	"  content='post', content_rowid='id');"
	"CREATE TRIGGER post_ai AFTER INSERT ON post BEGIN"
	"  INSERT INTO post_fts (rowid, subject, author, body)"
	"  VALUES (new.id, new.subject, new.author, new.body); END;"
	"CREATE TRIGGER post_ad AFTER DELETE ON post BEGIN"
	"  INSERT INTO post_fts (post_fts, rowid, subject, author, body)"
	"  VALUES ('delete', old.id, old.subject, old.author, old.body); END;"
	"CREATE TRIGGER post_au AFTER UPDATE OF subject, author, body ON post"
	"  BEGIN"
	"  INSERT INTO post_fts (post_fts, rowid, subject, author, body)"
	"  VALUES ('delete', old.id, old.subject, old.author, old.body);"
	"  INSERT INTO post_fts (rowid, subject, author, body)"
	"  VALUES (new.id, new.subject, new.author, new.body); END;"
	"CREATE TABLE session ("
	"  id TEXT PRIMARY KEY,"
	"  account INTEGER,"
	"  csrf TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  seen INTEGER NOT NULL) WITHOUT ROWID;",
	/* 2: posts waiting for a moderator, as they will go out */
	"CREATE TABLE held ("
	"  post INTEGER PRIMARY KEY REFERENCES post (id),"
	"  board TEXT NOT NULL,"
	"  raw BLOB NOT NULL);",
	/* 3: a board's pages count only topics with posts to show */
	"DROP INDEX topic_board;"
	"CREATE INDEX topic_board ON topic (board, last DESC, id DESC)"
	"  WHERE posts > 0;",
	/* 4: the text as HTML, made once rather than on every view */
	"ALTER TABLE post ADD COLUMN html TEXT;",
	/*
	 * 5: a thread's order (who answers whom, what is shown) from the
	 * index alone, without reading each post's text to reach its state
	 */
	"DROP INDEX post_topic;"
	"CREATE INDEX post_topic ON post"
	"  (topic, id, parent, state);",
};

static int
forum_db_error(struct forum_db *fd, const char *what, char **err_r)
{
	if (err_r != NULL)
		*err_r = xasprintf("%s: %s", what, sqlite3_errmsg(fd->db));
	return -1;
}

static int
forum_db_exec(struct forum_db *fd, const char *sql, char **err_r)
{
	char *msg = NULL;

	if (sqlite3_exec(fd->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err_r != NULL)
			*err_r = xstrdup(msg != NULL ? msg : "sqlite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * The prepared statement for sql (a string constant: its address is the
 * key), reset and bound: "t" text, "i" 64-bit integer.  NULL on error.
 */
static sqlite3_stmt *
forum_db_stmt(struct forum_db *fd, const char *sql, const char *types, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	size_t i;

	for (i = 0; i < fd->nstmts; i++) {
		if (fd->stmts[i].sql == sql) {
			q = fd->stmts[i].q;
			break;
		}
	}
	if (q == NULL) {
		if (fd->nstmts == FORUM_DB_STMTS)
			fatalx("forum_db_stmt: more than %d statements",
			    FORUM_DB_STMTS);
		if (sqlite3_prepare_v3(fd->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK) {
			log_warnx("event=forum-db sql=%s error=%s", log_q(sql),
			    log_q(sqlite3_errmsg(fd->db)));
			return NULL;
		}
		fd->stmts[fd->nstmts].sql = sql;
		fd->stmts[fd->nstmts++].q = q;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	va_start(ap, types);
	for (i = 0; types[i] != '\0'; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(q, (int)i + 1, va_arg(ap,
			    const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(q, (int)i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	return q;
}

/* Run a statement that returns nothing: 0, or -1. */
static int
forum_db_run(struct forum_db *fd, sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("event=forum-db error=%s",
		    log_q(sqlite3_errmsg(fd->db)));
		return -1;
	}
	return 0;
}

/* A text column as a new string ("" for NULL). */
static char *
forum_db_text(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	return xstrdup(s != NULL ? (const char *)s : "");
}

/*
 * Every row q gives, filled by fill into a new array of size-octet
 * elements (zeroed first): 0, or -1 when q is NULL or a step failed
 * (with the rows read until then).
 */
static int
forum_db_collect(sqlite3_stmt *q, size_t size, void (*fill)(sqlite3_stmt *,
    void *), void **rows_r, size_t *n_r)
{
	char *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*rows_r = NULL;
	*n_r = 0;
	if (q == NULL)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			rows = xreallocarray(rows, cap, size);
		}
		memset(rows + n * size, 0, size);
		fill(q, rows + n++ * size);
	}
	sqlite3_reset(q);
	*rows_r = rows;
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

struct forum_db *
forum_db_open(const char *dir, char **err_r)
{
	struct forum_db *fd = xcalloc(1, sizeof(*fd));
	sqlite3_stmt *q;
	int version = 0, nsteps, i;
	char *path, *sql;

	path = xasprintf("%s/forum.db", dir);
	if (sqlite3_open(path, &fd->db) != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", path, fd->db != NULL ?
		    sqlite3_errmsg(fd->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(fd->db, 5000);
	/*
	 * FULL: a post is written here before its outbox row is marked
	 * done, so it must survive a power cut as that row would.
	 */
	/*
	 * Pages read posts of several KB each, on overflow pages: map the
	 * file and keep a larger cache than SQLite's 2 MB, so that a
	 * thread's page is read from memory.
	 */
	if (forum_db_exec(fd, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	    "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536;",
	    err_r) == -1)
		goto fail;
	if (sqlite3_prepare_v2(fd->db, "PRAGMA user_version", -1, &q,
	    NULL) != SQLITE_OK) {
		forum_db_error(fd, path, err_r);
		goto fail;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	nsteps = (int)(sizeof(forum_db_schema) / sizeof(forum_db_schema[0]));
	if (version > nsteps) {
		*err_r = xasprintf("%s: made by a newer syncd (schema %d, this"
		    " one knows %d)", path, version, nsteps);
		goto fail;
	}
	for (i = version; i < nsteps; i++) {
		sql = xasprintf("BEGIN; %s PRAGMA user_version=%d; COMMIT;",
		    forum_db_schema[i], i + 1);
		if (forum_db_exec(fd, sql, err_r) == -1) {
			free(sql);
			goto fail;
		}
		free(sql);
	}
	free(path);
	return fd;
fail:
	free(path);
	forum_db_close(&fd);
	return NULL;
}

void
forum_db_close(struct forum_db **fdp)
{
	struct forum_db *fd = *fdp;
	size_t i;

	if (fd == NULL)
		return;
	for (i = 0; i < fd->nstmts; i++)
		sqlite3_finalize(fd->stmts[i].q);
	for (i = 0; i < fd->nkeys; i++)
		free(fd->keys[i].keys);
	free(fd->keys);
	sqlite3_close(fd->db);
	free(fd);
	*fdp = NULL;
}

/*
 * A write transaction, or inside a batch a savepoint of its own: one
 * post that fails takes back only what it wrote.
 */
static int
forum_db_begin(struct forum_db *fd)
{
	return forum_db_exec(fd, fd->batch ? "SAVEPOINT one" :
	    "BEGIN IMMEDIATE", NULL);
}

static int
forum_db_end(struct forum_db *fd, int ok)
{
	if (fd->batch) {
		if (ok && forum_db_exec(fd, "RELEASE one", NULL) == 0)
			return 0;
		forum_db_exec(fd, "ROLLBACK TO one; RELEASE one", NULL);
		return -1;
	}
	if (ok && forum_db_exec(fd, "COMMIT", NULL) == 0)
		return 0;
	forum_db_exec(fd, "ROLLBACK", NULL);
	return -1;
}

int
forum_db_batch_begin(struct forum_db *fd)
{
	if (forum_db_exec(fd, "BEGIN IMMEDIATE", NULL) == -1)
		return -1;
	fd->batch = 1;
	return 0;
}

int
forum_db_batch_end(struct forum_db *fd)
{
	fd->batch = 0;
	if (forum_db_exec(fd, "COMMIT", NULL) == 0)
		return 0;
	forum_db_exec(fd, "ROLLBACK", NULL);
	return -1;
}

static const char sql_read_begin[] = "BEGIN";
static const char sql_read_end[] = "COMMIT";

int
forum_db_read_begin(struct forum_db *fd)
{
	/* In a transaction already (a batch): its reads are one already. */
	if (!sqlite3_get_autocommit(fd->db))
		return 0;
	if (forum_db_run(fd, forum_db_stmt(fd, sql_read_begin, "")) == -1)
		return 0;
	return 1;
}

void
forum_db_read_end(struct forum_db *fd, int began)
{
	if (began && forum_db_run(fd, forum_db_stmt(fd, sql_read_end, "")) ==
	    -1)
		forum_db_exec(fd, "ROLLBACK", NULL);
}

/* Boards. */

static const char sql_board_upsert[] =
    "INSERT INTO board (name, description, newsgroup, list, moderated)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
    " description = excluded.description, newsgroup = excluded.newsgroup,"
    " list = excluded.list, moderated = excluded.moderated";

int
forum_db_board_set(struct forum_db *fd, const char *name,
    const char *description, const char *newsgroup, const char *list,
    int moderated)
{
	return forum_db_run(fd, forum_db_stmt(fd, sql_board_upsert, "tttti",
	    name, description != NULL ? description : "", newsgroup, list,
	    (int64_t)moderated));
}

#define BOARD_COLUMNS "id, name, description, newsgroup, list, moderated," \
	" topics, posts, last"

static void
forum_db_board_row(sqlite3_stmt *q, void *row)
{
	struct forum_board *b = row;

	b->id = sqlite3_column_int64(q, 0);
	b->name = forum_db_text(q, 1);
	b->description = forum_db_text(q, 2);
	b->newsgroup = forum_db_text(q, 3);
	b->list = forum_db_text(q, 4);
	b->moderated = sqlite3_column_int(q, 5);
	b->topics = sqlite3_column_int64(q, 6);
	b->posts = sqlite3_column_int64(q, 7);
	b->last = (time_t)sqlite3_column_int64(q, 8);
}

static const char sql_boards[] =
    "SELECT " BOARD_COLUMNS " FROM board ORDER BY name";

int
forum_db_boards(struct forum_db *fd, struct forum_board **rows_r,
    size_t *n_r)
{
	return forum_db_collect(forum_db_stmt(fd, sql_boards, ""),
	    sizeof(**rows_r), forum_db_board_row, (void **)rows_r, n_r);
}

static const char sql_board[] =
    "SELECT " BOARD_COLUMNS " FROM board WHERE name = ?";
static const char sql_board_id[] =
    "SELECT " BOARD_COLUMNS " FROM board WHERE id = ?";

int
forum_db_board(struct forum_db *fd, const char *name, int64_t id,
    struct forum_board *b)
{
	sqlite3_stmt *q = name != NULL ?
	    forum_db_stmt(fd, sql_board, "t", name) :
	    forum_db_stmt(fd, sql_board_id, "i", id);
	int found = 0;

	memset(b, 0, sizeof(*b));
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		forum_db_board_row(q, b);
		found = 1;
	}
	sqlite3_reset(q);
	return found;
}

void
forum_board_free(struct forum_board *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].description);
		free(rows[i].newsgroup);
		free(rows[i].list);
	}
}

/* Topics. */

#define TOPIC_COLUMNS "id, board, subject, author, created, posts, last," \
	" last_author"

static void
forum_db_topic_row(sqlite3_stmt *q, void *row)
{
	struct forum_topic *t = row;

	t->id = sqlite3_column_int64(q, 0);
	t->board = sqlite3_column_int64(q, 1);
	t->subject = forum_db_text(q, 2);
	t->author = forum_db_text(q, 3);
	t->created = (time_t)sqlite3_column_int64(q, 4);
	t->posts = sqlite3_column_int64(q, 5);
	t->last = (time_t)sqlite3_column_int64(q, 6);
	t->last_author = forum_db_text(q, 7);
}

static const char sql_topics[] =
    "SELECT " TOPIC_COLUMNS " FROM topic WHERE board = ? AND posts > 0"
    " ORDER BY last DESC, id DESC LIMIT ? OFFSET ?";
static const char sql_topics_after[] =
    "SELECT " TOPIC_COLUMNS " FROM topic WHERE board = ? AND posts > 0"
    " AND (last, id) < (?, ?) ORDER BY last DESC, id DESC LIMIT ? OFFSET ?";
static const char sql_topic_keys[] =
    "SELECT last, id FROM topic WHERE board = ? AND posts > 0"
    " ORDER BY last DESC, id DESC";
static const char sql_data_version[] = "PRAGMA data_version";

int
forum_db_stamp(struct forum_db *fd, struct forum_db_stamp *s)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_txn_state(fd->db, NULL) == SQLITE_TXN_WRITE)
		return -1;
	if ((q = forum_db_stmt(fd, sql_data_version, "")) == NULL)
		return -1;
	rc = sqlite3_step(q);
	s->changes = sqlite3_total_changes64(fd->db);
	s->data_version = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
forum_db_stamp_same(const struct forum_db_stamp *a,
    const struct forum_db_stamp *b)
{
	return a->changes == b->changes && a->data_version == b->data_version;
}

/*
 * The board's page keys, made anew when anything was written since
 * (here, or by another connection), or NULL: then the caller counts its
 * way with OFFSET.  Making them reads the board's index once, as one
 * deep page did; a board that takes posts all the time is no slower
 * than before, one that is read more is much faster.
 */
static struct forum_db_keys *
forum_db_keys(struct forum_db *fd, int64_t board)
{
	struct forum_db_keys *k = NULL;
	struct forum_db_stamp now;
	sqlite3_stmt *q;
	size_t i, cap = 0, row;
	int rc;

	if (forum_db_stamp(fd, &now) == -1)
		return NULL;
	for (i = 0; i < fd->nkeys; i++)
		if (fd->keys[i].board == board) {
			k = &fd->keys[i];
			break;
		}
	if (k != NULL && k->made && forum_db_stamp_same(&k->stamp, &now))
		return k;
	if (k == NULL) {
		fd->keys = xreallocarray(fd->keys, fd->nkeys + 1,
		    sizeof(*fd->keys));
		k = &fd->keys[fd->nkeys++];
		memset(k, 0, sizeof(*k));
		k->board = board;
	}
	k->n = 0;
	k->made = 0;
	if ((q = forum_db_stmt(fd, sql_topic_keys, "i", board)) == NULL)
		return NULL;
	row = 0;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (++row % FORUM_DB_STRIDE != 0)
			continue;
		if (k->n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			k->keys = xreallocarray(k->keys, cap,
			    sizeof(*k->keys));
		}
		k->keys[k->n].last = sqlite3_column_int64(q, 0);
		k->keys[k->n++].id = sqlite3_column_int64(q, 1);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return NULL;
	k->stamp = now;
	k->made = 1;
	return k;
}

int
forum_db_topics(struct forum_db *fd, int64_t board, size_t offset,
    size_t limit, struct forum_topic **rows_r, size_t *n_r)
{
	struct forum_db_keys *k;
	size_t j = offset / FORUM_DB_STRIDE;
	sqlite3_stmt *q;

	/*
	 * Past the first stride, from the key before offset: the same
	 * rows as OFFSET would give, as the keys are of this very order.
	 */
	if (j > 0 && (k = forum_db_keys(fd, board)) != NULL) {
		if (j > k->n)
			j = k->n;
		q = j == 0 ? forum_db_stmt(fd, sql_topics, "iii", board,
		    (int64_t)limit, (int64_t)offset) :
		    forum_db_stmt(fd, sql_topics_after, "iiiii", board,
		    k->keys[j - 1].last, k->keys[j - 1].id, (int64_t)limit,
		    (int64_t)(offset - j * FORUM_DB_STRIDE));
	} else
		q = forum_db_stmt(fd, sql_topics, "iii", board,
		    (int64_t)limit, (int64_t)offset);
	return forum_db_collect(q, sizeof(**rows_r), forum_db_topic_row,
	    (void **)rows_r, n_r);
}

static const char sql_topic[] =
    "SELECT " TOPIC_COLUMNS " FROM topic WHERE id = ?";

int
forum_db_topic(struct forum_db *fd, int64_t id, struct forum_topic *t)
{
	sqlite3_stmt *q = forum_db_stmt(fd, sql_topic, "i", id);
	int found = 0;

	memset(t, 0, sizeof(*t));
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		forum_db_topic_row(q, t);
		found = 1;
	}
	sqlite3_reset(q);
	return found;
}

void
forum_topic_free(struct forum_topic *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].subject);
		free(rows[i].author);
		free(rows[i].last_author);
	}
}

/* Posts. */

#define POST_COLUMNS "id, topic, parent, msgid, account, author, address," \
	" subject, body, attachments, from_html, source, date, state, edited," \
	" html"

static void
forum_db_post_row(sqlite3_stmt *q, void *row)
{
	struct forum_post *p = row;

	p->id = sqlite3_column_int64(q, 0);
	p->topic = sqlite3_column_int64(q, 1);
	p->parent = sqlite3_column_int64(q, 2);
	p->msgid = forum_db_text(q, 3);
	p->account = sqlite3_column_int64(q, 4);
	p->author = forum_db_text(q, 5);
	p->address = forum_db_text(q, 6);
	p->subject = forum_db_text(q, 7);
	p->body = forum_db_text(q, 8);
	p->attachments = forum_db_text(q, 9);
	p->from_html = sqlite3_column_int(q, 10);
	p->source = sqlite3_column_int(q, 11);
	p->date = (time_t)sqlite3_column_int64(q, 12);
	p->state = sqlite3_column_int(q, 13);
	p->edited = (time_t)sqlite3_column_int64(q, 14);
	p->html = forum_db_text(q, 15);
}

static const char sql_posts[] =
    "SELECT " POST_COLUMNS " FROM post WHERE topic = ? ORDER BY id";

int
forum_db_posts(struct forum_db *fd, int64_t topic, struct forum_post **rows_r,
    size_t *n_r)
{
	return forum_db_collect(forum_db_stmt(fd, sql_posts, "i", topic),
	    sizeof(**rows_r), forum_db_post_row, (void **)rows_r, n_r);
}

static void
forum_db_thread_row(sqlite3_stmt *q, void *row)
{
	struct forum_post *p = row;

	p->id = sqlite3_column_int64(q, 0);
	p->topic = sqlite3_column_int64(q, 1);
	p->parent = sqlite3_column_int64(q, 2);
	p->state = sqlite3_column_int(q, 3);
}

/* From the index post_topic alone. */
static const char sql_thread[] =
    "SELECT id, topic, parent, state FROM post WHERE topic = ? ORDER BY id";

int
forum_db_thread(struct forum_db *fd, int64_t topic, struct forum_post **rows_r,
    size_t *n_r)
{
	return forum_db_collect(forum_db_stmt(fd, sql_thread, "i", topic),
	    sizeof(**rows_r), forum_db_thread_row, (void **)rows_r, n_r);
}

static const char sql_post[] =
    "SELECT " POST_COLUMNS " FROM post WHERE id = ?";
static const char sql_post_msgid[] =
    "SELECT " POST_COLUMNS " FROM post WHERE msgid = ? UNION ALL"
    " SELECT " POST_COLUMNS " FROM post WHERE id ="
    " (SELECT post FROM alias WHERE msgid = ?) LIMIT 1";

int
forum_db_post(struct forum_db *fd, int64_t id, const char *msgid,
    struct forum_post *p)
{
	sqlite3_stmt *q = msgid != NULL ?
	    forum_db_stmt(fd, sql_post_msgid, "tt", msgid, msgid) :
	    forum_db_stmt(fd, sql_post, "i", id);
	int found = 0;

	memset(p, 0, sizeof(*p));
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		forum_db_post_row(q, p);
		found = 1;
	}
	sqlite3_reset(q);
	return found;
}

void
forum_post_free(struct forum_post *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].msgid);
		free(rows[i].author);
		free(rows[i].address);
		free(rows[i].subject);
		free(rows[i].body);
		free(rows[i].attachments);
		free(rows[i].html);
	}
}

static const char sql_parent[] =
    "SELECT post.id, post.topic, topic.board FROM post JOIN topic ON"
    " topic.id = post.topic WHERE post.msgid = ?";
static const char sql_topic_new[] =
    "INSERT INTO topic (board, subject, author, created, last, last_author)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_post_new[] =
    "INSERT INTO post (topic, parent, msgid, account, author, address,"
    " subject, body, attachments, from_html, source, date, state, html)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_held_new[] =
    "INSERT INTO held (post, board, raw) VALUES (?, ?, ?)";
static const char sql_topic_count[] =
    "UPDATE topic SET posts = posts + ?, last = max(last, ?),"
    " last_author = CASE WHEN ? >= last THEN ? ELSE last_author END"
    " WHERE id = ?";
static const char sql_board_count[] =
    "UPDATE board SET posts = posts + ?, topics = topics + ?,"
    " last = max(last, ?) WHERE id = ?";
static const char sql_msgid_known[] =
    "SELECT 1 FROM post WHERE msgid = ? UNION ALL"
    " SELECT 1 FROM alias WHERE msgid = ?";

int
forum_db_post_add(struct forum_db *fd, const struct forum_new_post *np,
    int64_t *id_r, int64_t *topic_r)
{
	sqlite3_stmt *q;
	int64_t parent = 0, topic = 0, id, board = np->board, b;
	size_t i;
	int known, ok = 0, visible = np->state == FORUM_POST_VISIBLE, rel;

	*id_r = *topic_r = 0;
	if (forum_db_begin(fd) == -1)
		return -1;
	if ((q = forum_db_stmt(fd, sql_msgid_known, "tt", np->msgid,
	    np->msgid)) == NULL)
		goto done;
	known = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_reset(q);
	if (known) {
		forum_db_end(fd, 1);
		return 0;
	}
	/*
	 * RFC 5322 section 3.6.4: the last reference is the parent.  A
	 * crosspost is one post, on the board it reached first; a reply
	 * to it through another of its channels joins its topic there.  A
	 * parent that only another channel carries does not: that reply
	 * starts a topic of its own, as it does in its group.
	 */
	for (i = np->nrefs; i > 0 && parent == 0; i--) {
		if ((q = forum_db_stmt(fd, sql_parent, "t",
		    np->refs[i - 1])) == NULL)
			goto done;
		if (sqlite3_step(q) == SQLITE_ROW) {
			parent = sqlite3_column_int64(q, 0);
			topic = sqlite3_column_int64(q, 1);
			b = sqlite3_column_int64(q, 2);
			sqlite3_reset(q);
			rel = b == np->board ? 1 : np->related == NULL ? 0 :
			    np->related(np->related_arg, np->refs[i - 1]);
			if (rel == -1)
				goto done;
			if (rel == 1)
				board = b;
			else
				parent = topic = 0;
		} else
			sqlite3_reset(q);
	}
	if (topic == 0) {
		if (forum_db_run(fd, forum_db_stmt(fd, sql_topic_new, "ittiit",
		    np->board, np->subject, np->author, (int64_t)np->date,
		    (int64_t)np->date, np->author)) == -1)
			goto done;
		topic = sqlite3_last_insert_rowid(fd->db);
	}
	if (forum_db_run(fd, forum_db_stmt(fd, sql_post_new, "iititttttiiiit",
	    topic, parent, np->msgid, np->account, np->author, np->address,
	    np->subject, np->body, np->attachments != NULL ? np->attachments :
	    "", (int64_t)np->from_html, (int64_t)np->source, (int64_t)np->date,
	    (int64_t)np->state, np->html)) == -1)
		goto done;
	id = sqlite3_last_insert_rowid(fd->db);
	if (np->state == FORUM_POST_HELD) {
		if ((q = forum_db_stmt(fd, sql_held_new, "it", id,
		    np->board_name)) == NULL)
			goto done;
		sqlite3_bind_blob64(q, 3, np->raw, np->len, SQLITE_TRANSIENT);
		if (forum_db_run(fd, q) == -1)
			goto done;
	}
	if (forum_db_run(fd, forum_db_stmt(fd, sql_topic_count, "iiiti",
	    (int64_t)visible, visible ? (int64_t)np->date : (int64_t)0,
	    visible ? (int64_t)np->date : (int64_t)-1, np->author, topic)) ==
	    -1 ||
	    forum_db_run(fd, forum_db_stmt(fd, sql_board_count, "iiii",
	    (int64_t)visible, (int64_t)(visible && parent == 0),
	    visible ? (int64_t)np->date : (int64_t)0, board)) == -1)
		goto done;
	*id_r = id;
	*topic_r = topic;
	ok = 1;
done:
	if (forum_db_end(fd, ok) == -1)
		return -1;
	return 1;
}

static const char sql_post_state[] =
    "UPDATE post SET state = ? WHERE id = ?";
static const char sql_topic_recount[] =
    "UPDATE topic SET posts = (SELECT count(*) FROM post WHERE topic ="
    " topic.id AND state = 0), last = coalesce((SELECT max(date) FROM"
    " post WHERE topic = topic.id AND state = 0), last) WHERE id = ?";
static const char sql_board_recount[] =
    "UPDATE board SET posts = (SELECT coalesce(sum(posts), 0) FROM topic"
    " WHERE board = board.id), topics = (SELECT count(*) FROM topic WHERE"
    " board = board.id AND posts > 0) WHERE id = (SELECT board FROM topic"
    " WHERE id = ?)";

int
forum_db_post_state(struct forum_db *fd, int64_t id, int state)
{
	struct forum_post p;
	int ok = 0;

	if (forum_db_post(fd, id, NULL, &p) != 1)
		return -1;
	if (forum_db_begin(fd) == -1)
		goto out;
	ok = forum_db_run(fd, forum_db_stmt(fd, sql_post_state, "ii",
	    (int64_t)state, id)) == 0 &&
	    forum_db_run(fd, forum_db_stmt(fd, sql_topic_recount, "i",
	    p.topic)) == 0 &&
	    forum_db_run(fd, forum_db_stmt(fd, sql_board_recount, "i",
	    p.topic)) == 0;
	ok = forum_db_end(fd, ok) == 0;
out:
	forum_post_free(&p, 1);
	return ok ? 0 : -1;
}

static const char sql_post_edit[] =
    "UPDATE post SET subject = ?, body = ?, html = ?, edited = ?"
    " WHERE id = ?";
static const char sql_alias_new[] =
    "INSERT OR IGNORE INTO alias (msgid, post) VALUES (?, ?)";

int
forum_db_post_edit(struct forum_db *fd, int64_t id, const char *msgid,
    const char *subject, const char *body, const char *html, time_t when)
{
	int ok;

	if (forum_db_begin(fd) == -1)
		return -1;
	ok = forum_db_run(fd, forum_db_stmt(fd, sql_post_edit, "tttii",
	    subject, body, html, (int64_t)when, id)) == 0 &&
	    (msgid == NULL || forum_db_run(fd, forum_db_stmt(fd,
	    sql_alias_new, "ti", msgid, id)) == 0);
	return forum_db_end(fd, ok);
}

static const char sql_search[] =
    "SELECT post.id, post.topic, post.parent, post.msgid, post.account,"
    " post.author, post.address, post.subject,"
    " snippet(post_fts, 2, '', '', '...', 24), '', post.from_html,"
    " post.source, post.date, post.state, post.edited, ''"
    " FROM post_fts JOIN post ON post.id = post_fts.rowid"
    " JOIN topic ON topic.id = post.topic"
    " WHERE post_fts MATCH ? AND topic.board = ? AND post.state = 0"
    " ORDER BY post_fts.rowid DESC LIMIT ?";

int
forum_db_search(struct forum_db *fd, int64_t board, const char *words,
    size_t limit, struct forum_post **rows_r, size_t *n_r)
{
	char *query, *o;
	const char *s;
	int rc;

	*rows_r = NULL;
	*n_r = 0;
	/*
	 * Each word becomes a quoted FTS5 string, so that what a visitor
	 * types is searched for, never parsed as query syntax.  A word of
	 * n octets takes at most 2n + 2 (its quotes doubled, and quoted),
	 * and the space before it was a separator: 4 per octet will do.
	 */
	o = query = xmalloc(4 * strlen(words) + 1);
	for (s = words; *s != '\0';) {
		size_t len = strcspn(s, " \t\r\n"), i;

		if (len == 0) {
			s++;
			continue;
		}
		if (o != query)
			*o++ = ' ';
		*o++ = '"';
		for (i = 0; i < len; i++) {
			if (s[i] == '"')
				*o++ = '"';
			*o++ = s[i];
		}
		*o++ = '"';
		s += len;
	}
	*o = '\0';
	if (*query == '\0') {
		free(query);
		return 0;
	}
	rc = forum_db_collect(forum_db_stmt(fd, sql_search, "tii", query,
	    board, (int64_t)limit), sizeof(**rows_r), forum_db_post_row,
	    (void **)rows_r, n_r);
	free(query);
	return rc;
}

/* The moderation queue. */

static const char sql_held[] =
    "SELECT " POST_COLUMNS " FROM post WHERE state = 1 ORDER BY id"
    " LIMIT ?";

int
forum_db_held(struct forum_db *fd, size_t limit, struct forum_post **rows_r,
    size_t *n_r)
{
	return forum_db_collect(forum_db_stmt(fd, sql_held, "i",
	    (int64_t)limit), sizeof(**rows_r), forum_db_post_row,
	    (void **)rows_r, n_r);
}

static const char sql_held_get[] =
    "SELECT board, raw FROM held WHERE post = ?";
static const char sql_held_delete[] = "DELETE FROM held WHERE post = ?";

int
forum_db_held_get(struct forum_db *fd, int64_t post, char **board_r,
    char **raw_r, size_t *len_r)
{
	sqlite3_stmt *q = forum_db_stmt(fd, sql_held_get, "i", post);
	int found = 0;

	*board_r = *raw_r = NULL;
	*len_r = 0;
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		*board_r = forum_db_text(q, 0);
		*len_r = (size_t)sqlite3_column_bytes(q, 1);
		*raw_r = xmemdup(sqlite3_column_blob(q, 1), *len_r + 1);
		(*raw_r)[*len_r] = '\0';
		found = 1;
	}
	sqlite3_reset(q);
	return found;
}

int
forum_db_held_done(struct forum_db *fd, int64_t post, int state)
{
	int ok, held = 0;

	if (forum_db_begin(fd) == -1)
		return -1;
	ok = forum_db_run(fd, forum_db_stmt(fd, sql_held_delete, "i",
	    post)) == 0;
	if (ok)
		held = sqlite3_changes(fd->db) > 0;
	if (forum_db_end(fd, ok) == -1)
		return -1;
	if (held && forum_db_post_state(fd, post, state) == -1)
		return -1;
	return held;
}

/* Accounts. */

#define ACCOUNT_COLUMNS "account.id, account.name, account.display," \
	" account.hash, account.role, account.banned, account.created," \
	" (SELECT address FROM address WHERE address.account = account.id" \
	" ORDER BY verified DESC LIMIT 1)," \
	" (SELECT max(verified) FROM address WHERE" \
	" address.account = account.id)"

static void
forum_db_account_row(sqlite3_stmt *q, void *row)
{
	struct forum_account *a = row;

	a->id = sqlite3_column_int64(q, 0);
	a->name = forum_db_text(q, 1);
	a->display = forum_db_text(q, 2);
	a->hash = forum_db_text(q, 3);
	a->role = sqlite3_column_int(q, 4);
	a->banned = sqlite3_column_int(q, 5);
	a->created = (time_t)sqlite3_column_int64(q, 6);
	a->address = forum_db_text(q, 7);
	a->verified = sqlite3_column_int(q, 8);
}

static const char sql_account_name[] =
    "SELECT " ACCOUNT_COLUMNS " FROM account WHERE name = ?";
static const char sql_account_id[] =
    "SELECT " ACCOUNT_COLUMNS " FROM account WHERE id = ?";
static const char sql_account_address[] =
    "SELECT " ACCOUNT_COLUMNS " FROM account JOIN address ON"
    " address.account = account.id WHERE address.address = ? AND"
    " address.verified = 1";

int
forum_db_account(struct forum_db *fd, const char *name, int64_t id,
    const char *address, struct forum_account *a)
{
	sqlite3_stmt *q;
	int found = 0;

	memset(a, 0, sizeof(*a));
	if (name != NULL)
		q = forum_db_stmt(fd, sql_account_name, "t", name);
	else if (address != NULL)
		q = forum_db_stmt(fd, sql_account_address, "t", address);
	else
		q = forum_db_stmt(fd, sql_account_id, "i", id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		forum_db_account_row(q, a);
		found = 1;
	}
	sqlite3_reset(q);
	return found;
}

void
forum_account_clear(struct forum_account *a)
{
	free(a->name);
	free(a->display);
	free(a->hash);
	free(a->address);
	memset(a, 0, sizeof(*a));
}

static const char sql_name_taken[] =
    "SELECT 1 FROM account WHERE name = ?";
static const char sql_address_taken[] =
    "SELECT 1 FROM address WHERE address = ?";
static const char sql_account_new[] =
    "INSERT INTO account (name, display, hash, role, created)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_address_new[] =
    "INSERT INTO address (address, account, token, expires)"
    " VALUES (?, ?, ?, ?)";
static const char sql_accounts_any[] = "SELECT 1 FROM account LIMIT 1";
/*
 * Unconfirmed accounts a registration replaces: the same name and
 * address (the link got lost: a new one is sent), or either of them
 * once the link has expired.
 */
static const char sql_stale[] =
    "SELECT a.id FROM account a JOIN address d ON d.account = a.id"
    " WHERE d.verified = 0 AND ((a.name = ?1 AND d.address = ?2) OR"
    " ((a.name = ?1 OR d.address = ?2) AND d.expires < ?3)) AND NOT EXISTS"
    " (SELECT 1 FROM address v WHERE v.account = a.id AND v.verified = 1)";
static const char sql_stale_address[] =
    "DELETE FROM address WHERE account = ?";
static const char sql_stale_account[] = "DELETE FROM account WHERE id = ?";

/* 1 if q finds a row, 0 if not, -1 on error. */
static int
forum_db_exists(sqlite3_stmt *q)
{
	int rc;

	if (q == NULL)
		return -1;
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Drop the unconfirmed accounts that name and address replace. */
static int
forum_db_drop_stale(struct forum_db *fd, const char *name,
    const char *address)
{
	sqlite3_stmt *q;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc = 0;

	if ((q = forum_db_stmt(fd, sql_stale, "tti", name, address,
	    (int64_t)time(NULL))) == NULL)
		return -1;
	while (sqlite3_step(q) == SQLITE_ROW) {
		ids = xreallocarray(ids, n + 1, sizeof(*ids));
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	for (i = 0; i < n && rc == 0; i++) {
		log_info("event=forum-register account=%lld result=replaced"
		    " reason=unconfirmed", (long long)ids[i]);
		if (forum_db_run(fd, forum_db_stmt(fd, sql_stale_address, "i",
		    ids[i])) == -1 || forum_db_run(fd, forum_db_stmt(fd,
		    sql_stale_account, "i", ids[i])) == -1)
			rc = -1;
	}
	free(ids);
	return rc;
}

int
forum_db_account_add(struct forum_db *fd, const char *name,
    const char *display, const char *hash, const char *address,
    const char *token, time_t expires, int64_t *id_r)
{
	int taken, first, ok = 0;

	*id_r = 0;
	if (forum_db_begin(fd) == -1)
		return -1;
	if (forum_db_drop_stale(fd, name, address) == -1) {
		forum_db_end(fd, 0);
		return -1;
	}
	if ((taken = forum_db_exists(forum_db_stmt(fd, sql_name_taken, "t",
	    name))) != 0) {
		forum_db_end(fd, 0);
		return taken == 1 ? FORUM_TAKEN_NAME : -1;
	}
	if ((taken = forum_db_exists(forum_db_stmt(fd, sql_address_taken, "t",
	    address))) != 0) {
		forum_db_end(fd, 0);
		return taken == 1 ? FORUM_TAKEN_ADDRESS : -1;
	}
	/* The first account made runs the forum. */
	if ((first = forum_db_exists(forum_db_stmt(fd, sql_accounts_any,
	    ""))) == -1)
		goto done;
	if (forum_db_run(fd, forum_db_stmt(fd, sql_account_new, "tttii", name,
	    display, hash, (int64_t)(first ? FORUM_ROLE_MEMBER :
	    FORUM_ROLE_ADMIN), (int64_t)time(NULL))) == -1)
		goto done;
	*id_r = sqlite3_last_insert_rowid(fd->db);
	ok = forum_db_run(fd, forum_db_stmt(fd, sql_address_new, "titi",
	    address, *id_r, token, (int64_t)expires)) == 0;
done:
	return forum_db_end(fd, ok) == 0 ? 0 : -1;
}

static const char sql_confirm[] =
    "UPDATE address SET verified = 1, token = NULL, expires = NULL"
    " WHERE token = ? AND expires >= ? RETURNING account";

int
forum_db_confirm(struct forum_db *fd, const char *token, time_t now,
    int64_t *account_r)
{
	sqlite3_stmt *q = forum_db_stmt(fd, sql_confirm, "ti", token,
	    (int64_t)now);
	int rc, found = 0;

	*account_r = 0;
	if (q == NULL)
		return -1;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*account_r = sqlite3_column_int64(q, 0);
		found = 1;
		rc = sqlite3_step(q);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? found : -1;
}

static const char sql_accounts[] =
    "SELECT " ACCOUNT_COLUMNS " FROM account ORDER BY name LIMIT ? OFFSET ?";

int
forum_db_accounts(struct forum_db *fd, size_t offset, size_t limit,
    struct forum_account **rows_r, size_t *n_r)
{
	return forum_db_collect(forum_db_stmt(fd, sql_accounts, "ii",
	    (int64_t)limit, (int64_t)offset), sizeof(**rows_r),
	    forum_db_account_row, (void **)rows_r, n_r);
}

static const char sql_account_update[] =
    "UPDATE account SET role = ?, banned = ? WHERE id = ?";

int
forum_db_account_set(struct forum_db *fd, int64_t id, int role, int banned)
{
	return forum_db_run(fd, forum_db_stmt(fd, sql_account_update, "iii",
	    (int64_t)role, (int64_t)banned, id));
}

/* Sessions. */

static const char sql_session_new[] =
    "INSERT INTO session (id, account, csrf, created, seen)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_session_get[] =
    "SELECT account, csrf, seen FROM session WHERE id = ?";
static const char sql_session_seen[] =
    "UPDATE session SET seen = ? WHERE id = ?";
static const char sql_session_delete[] =
    "DELETE FROM session WHERE id = ?";
static const char sql_session_expire[] =
    "DELETE FROM session WHERE seen < ?";

int
forum_db_session_add(struct forum_db *fd, const char *id, int64_t account,
    const char *csrf, time_t now)
{
	return forum_db_run(fd, forum_db_stmt(fd, sql_session_new, "titii",
	    id, account, csrf, (int64_t)now, (int64_t)now));
}

int
forum_db_session(struct forum_db *fd, const char *id, time_t now,
    time_t idle, int64_t *account_r, char **csrf_r)
{
	sqlite3_stmt *q = forum_db_stmt(fd, sql_session_get, "t", id);
	time_t seen = 0;
	int found = 0;

	*account_r = 0;
	*csrf_r = NULL;
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		*account_r = sqlite3_column_int64(q, 0);
		*csrf_r = forum_db_text(q, 1);
		seen = (time_t)sqlite3_column_int64(q, 2);
		found = 1;
	}
	sqlite3_reset(q);
	if (found && seen + idle < now) {
		free(*csrf_r);
		*csrf_r = NULL;
		*account_r = 0;
		forum_db_session_delete(fd, id);
		return 0;
	}
	/* Refresh the idle clock at most once a minute: reads stay reads. */
	if (found && seen + 60 < now)
		forum_db_run(fd, forum_db_stmt(fd, sql_session_seen, "it",
		    (int64_t)now, id));
	return found;
}

int
forum_db_session_delete(struct forum_db *fd, const char *id)
{
	return forum_db_run(fd, forum_db_stmt(fd, sql_session_delete, "t",
	    id));
}

int
forum_db_session_expire(struct forum_db *fd, time_t before)
{
	return forum_db_run(fd, forum_db_stmt(fd, sql_session_expire, "i",
	    (int64_t)before));
}
