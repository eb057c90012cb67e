/*
 * store.c: the durable store, and the only file that speaks SQLite.
 *
 * One writer connection lives on the event loop.  Messages and outbox
 * results are queued by store_add() and store_outbox_result() and committed
 * together, in one transaction, by an event activated with the first of
 * them: libevent runs it after every callback already due in this turn of
 * the loop, so arrivals that came in together share the commit.  Only
 * after that commit are the callers told, so a sender is acknowledged only
 * for what is on disk.  Each queued item runs under its own savepoint, so
 * one duplicate does not spoil the batch.
 *
 * The WAL is checkpointed by a thread of our own with its own connection,
 * woken by the writer's WAL hook, so that a commit never waits for a
 * checkpoint.  Schema changes are forward-only steps counted by PRAGMA
 * user_version; a store written by a newer syncd is refused.
 */

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "syncd.h"

#define STORE_FILE		"syncd.db"
#define STORE_BUSY_MS		5000
/* WAL pages after which the checkpointer is woken. */
#define STORE_CKPT_PAGES	1000
/*
 * After a commit failed for want of space, offers of new input are refused
 * at once for this many seconds; then the next one is tried for real, so
 * that syncd finds out by itself when space is back.
 */
#define STORE_FULL_PAUSE	2

/*
 * Schema steps: step i takes user_version i to i + 1.  Append only; never
 * edit a step that has shipped.
 */
static const char *store_schema[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('messages', 0);"
	/* Each message once, by Message-ID, with its raw bytes. */
	"CREATE TABLE message ("
	"  id INTEGER PRIMARY KEY,"
	"  msgid TEXT NOT NULL UNIQUE,"
	"  source INTEGER NOT NULL,"
	"  arrived INTEGER NOT NULL,"
	"  date INTEGER,"
	"  subject TEXT,"
	"  sender TEXT,"
	"  refs TEXT,"
	"  parent TEXT,"
	"  size INTEGER NOT NULL,"
	"  raw BLOB NOT NULL);"
	/* Channel membership: a crosspost is one message in several. */
	"CREATE TABLE membership ("
	"  channel TEXT NOT NULL,"
	"  message INTEGER NOT NULL,"
	"  PRIMARY KEY (channel, message)) WITHOUT ROWID;"
	"CREATE INDEX membership_message ON membership(message);"
	"CREATE TABLE channel_stats ("
	"  channel TEXT PRIMARY KEY,"
	"  messages INTEGER NOT NULL,"
	"  last INTEGER NOT NULL);"
	/* Article numbers per group, never reused. */
	"CREATE TABLE newsgroup ("
	"  name TEXT PRIMARY KEY,"
	"  low INTEGER NOT NULL DEFAULT 1,"
	"  high INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE article ("
	"  newsgroup TEXT NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  message INTEGER NOT NULL,"
	"  PRIMARY KEY (newsgroup, number)) WITHOUT ROWID;"
	"CREATE INDEX article_message ON article(message);"
	/*
	 * One row per message and target; state 0 pending, 1 done, 2 dead.
	 * max-age counts from "since": the creation, or the last retry.
	 */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL,"
	"  target TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  next_try INTEGER NOT NULL,"
	"  updated INTEGER,"
	"  last_error TEXT,"
	"  UNIQUE (message, target));"
	"CREATE INDEX outbox_due ON outbox(target, next_try) WHERE state = 0;"
	"CREATE INDEX outbox_open ON outbox(state, target) WHERE state != 1;"
	"CREATE INDEX outbox_dead ON outbox(id) WHERE state = 2;",
	/*
	 * 1 -> 2: what the news server reads.  Overview fields as the
	 * headers have them (unfolded; rows from before keep NULL and are
	 * read from the raw message), article counts, arrival order.
	 */
	"ALTER TABLE message ADD COLUMN ov_subject TEXT;"
	"ALTER TABLE message ADD COLUMN ov_from TEXT;"
	"ALTER TABLE message ADD COLUMN ov_date TEXT;"
	"ALTER TABLE message ADD COLUMN lines INTEGER;"
	"ALTER TABLE newsgroup ADD COLUMN count INTEGER NOT NULL DEFAULT 0;"
	"UPDATE newsgroup SET count = (SELECT count(*) FROM article"
	"  WHERE article.newsgroup = newsgroup.name);"
	"CREATE INDEX message_arrived ON message(arrived);",
	/*
	 * 2 -> 3: a post to a moderated group waits for the list's
	 * moderators (RFC 5537 section 3.5): held until the list sends it.
	 */
	"ALTER TABLE message ADD COLUMN held INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 3 -> 4: a message its author cancelled (RFC 5537 section 5.3)
	 * stays, so that it is not taken again, but is served no more.
	 */
	"ALTER TABLE message ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 4 -> 5: a channel's description as its list has it (Mailman's
	 * REST API), ahead of the configuration's.
	 */
	"CREATE TABLE description ("
	"  channel TEXT PRIMARY KEY,"
	"  text TEXT NOT NULL,"
	"  updated INTEGER NOT NULL);",
	/*
	 * 5 -> 6: the last arrival from each side (syncctl status) without
	 * reading every message: with a GROUP BY over the table, status
	 * held the loop for over a second on a 1 GB store.
	 */
	"CREATE INDEX message_source_arrived ON message(source, arrived);",
	/*
	 * 6 -> 7: the last arrival from each side as a row in meta, which
	 * every message updates anyway (its count), and no index for it:
	 * that index was one B-tree page more written by every commit.
	 * Messages are never deleted, so the maximum only grows.
	 */
	"INSERT INTO meta SELECT 'last-in:' || source, max(arrived)"
	"  FROM message GROUP BY source;"
	"DROP INDEX message_source_arrived;",
};
#define STORE_SCHEMA_VERSION \
	((int)(sizeof(store_schema) / sizeof(store_schema[0])))

enum store_stmt {
	S_HAS_MSGID,
	S_RELEASE,
	S_INSERT_MESSAGE,
	S_INSERT_MEMBERSHIP,
	S_CHANNEL_STATS,
	S_COUNT_MESSAGE,
	S_LAST_IN_SET,
	S_INSERT_GROUP,
	S_NEXT_ARTICLE,
	S_INSERT_ARTICLE,
	S_INSERT_OUTBOX,
	S_OUTBOX_RESULT,
	S_CANCEL_COUNT,
	S_CANCEL,
	S_CANCELLED,
	S_EXPIRE_COUNT,
	S_EXPIRE,
	S_EXPIRE_LOW,
	S_SWEEP,
	S_LAST_IN,
	S_LAST_OUT,
	S_DESCRIPTION,
	S_DESCRIPTION_SET,
	S_DESCRIPTION_CLEAR,
	S_OUTBOX_DUE,
	S_OUTBOX_TARGETS,
	S_OUTBOX_MAX_ID,
	S_OUTBOX_NEXT,
	S_MESSAGE_RAW,
	S_OUTBOX_RETRY_ONE,
	S_OUTBOX_RETRY_ALL,
	S_OUTBOX_LIST,
	S_OUTBOX_LIST_ALL,
	S_QUEUE,
	S_CHANNELS,
	S_MESSAGE_COUNT,
	S_ARTICLE_NUMBER,
	S_GROUPS,
	S_GROUP,
	S_ART_BY_NUMBER,
	S_MESSAGE_ID,
	S_SHARE_CHANNEL,
	S_ART_NEXT,
	S_ART_PREV,
	S_NUMBERS,
	S_OVERVIEW,
	S_OVERVIEW_MSGID,
	S_XREF,
	S_NEWNEWS,
	S_READ_BEGIN,
	S_READ_END,
	S_MAX
};

static const char *store_sql[S_MAX] = {
	[S_HAS_MSGID] = "SELECT held FROM message WHERE msgid = ?1",
	/* RFC 5537 section 5.3: a cancelled article is no longer served. */
	[S_CANCEL_COUNT] = "UPDATE newsgroup SET count = count - 1 WHERE"
	    " name IN (SELECT newsgroup FROM article WHERE message ="
	    " (SELECT id FROM message WHERE msgid = ?1))",
	[S_CANCEL] = "DELETE FROM article WHERE message ="
	    " (SELECT id FROM message WHERE msgid = ?1)",
	[S_CANCELLED] = "UPDATE message SET cancelled = 1 WHERE msgid = ?1",
	/* Expiry takes articles out of a group; the messages stay known. */
	[S_EXPIRE_COUNT] = "UPDATE newsgroup SET count = count - (SELECT"
	    " count(*) FROM article a JOIN message m ON m.id = a.message"
	    " WHERE a.newsgroup = ?1 AND m.arrived < ?2) WHERE name = ?1",
	[S_EXPIRE] = "DELETE FROM article WHERE newsgroup = ?1 AND message IN"
	    " (SELECT id FROM message WHERE arrived < ?2)",
	[S_EXPIRE_LOW] = "UPDATE newsgroup SET low = coalesce((SELECT"
	    " min(number) FROM article WHERE newsgroup = ?1), high + 1)"
	    " WHERE name = ?1",
	[S_SWEEP] = "DELETE FROM outbox WHERE state = 1 AND updated < ?1",
	[S_LAST_IN] = "SELECT value FROM meta WHERE key = 'last-in:' || ?1",
	[S_DESCRIPTION] = "SELECT text FROM description WHERE channel = ?1",
	[S_DESCRIPTION_SET] = "INSERT INTO description (channel, text, updated)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (channel) DO UPDATE SET"
	    " text = excluded.text, updated = excluded.updated",
	[S_DESCRIPTION_CLEAR] = "DELETE FROM description WHERE channel = ?1",
	[S_LAST_OUT] = "SELECT target, max(updated) FROM outbox WHERE state = 1"
	    " GROUP BY target",
	[S_RELEASE] = "UPDATE message SET held = 0 WHERE msgid = ?1"
	    " AND held = 1 RETURNING id",
	[S_INSERT_MESSAGE] = "INSERT INTO message (msgid, source, arrived,"
	    " date, subject, sender, refs, parent, size, raw, ov_subject,"
	    " ov_from, ov_date, lines, held) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
	    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[S_INSERT_MEMBERSHIP] = "INSERT OR IGNORE INTO membership"
	    " (channel, message) VALUES (?1, ?2)",
	[S_CHANNEL_STATS] = "INSERT INTO channel_stats VALUES (?1, 1, ?2)"
	    " ON CONFLICT (channel) DO UPDATE SET messages = messages + 1,"
	    " last = max(last, excluded.last)",
	[S_COUNT_MESSAGE] = "UPDATE meta SET value = value + 1"
	    " WHERE key = 'messages'",
	[S_LAST_IN_SET] = "INSERT INTO meta VALUES ('last-in:' || ?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET"
	    " value = max(value, excluded.value)",
	[S_INSERT_GROUP] = "INSERT OR IGNORE INTO newsgroup (name, created)"
	    " VALUES (?1, ?2)",
	[S_NEXT_ARTICLE] = "UPDATE newsgroup SET high = high + 1,"
	    " count = count + 1 WHERE name = ?1 RETURNING high",
	[S_INSERT_ARTICLE] = "INSERT INTO article (newsgroup, number, message)"
	    " VALUES (?1, ?2, ?3)",
	[S_INSERT_OUTBOX] = "INSERT OR IGNORE INTO outbox (message, target,"
	    " created, since, next_try) VALUES (?1, ?2, ?3, ?3, ?3)",
	[S_OUTBOX_RESULT] = "UPDATE outbox SET state = ?2, attempts ="
	    " attempts + 1, next_try = ?3, updated = ?4, last_error = ?5"
	    " WHERE id = ?1",
	/*
	 * A reply waits while its parent is still pending for the same
	 * target, so no side sees a child before its parent.  Only a parent
	 * stored earlier counts: a message naming itself, or two naming each
	 * other, must not wait for ever.
	 */
	[S_OUTBOX_DUE] = "SELECT o.id, o.message, m.msgid, o.target,"
	    " o.attempts, o.created, o.since FROM outbox o"
	    " JOIN message m ON m.id = o.message"
	    " WHERE o.state = 0 AND o.target = ?3 AND o.next_try <= ?1"
	    " AND NOT EXISTS (SELECT 1 FROM message p"
	    "  JOIN outbox po ON po.message = p.id"
	    "  WHERE p.msgid = m.parent AND p.id < m.id"
	    "  AND po.target = o.target AND po.state = 0)"
	    " ORDER BY o.next_try, o.id LIMIT ?2",
	[S_OUTBOX_TARGETS] = "SELECT DISTINCT target FROM outbox"
	    " WHERE state = 0",
	[S_OUTBOX_MAX_ID] = "SELECT max(id) FROM outbox",
	[S_OUTBOX_NEXT] = "SELECT min(next_try) FROM outbox WHERE state = 0",
	[S_MESSAGE_RAW] = "SELECT raw FROM message WHERE id = ?1",
	[S_OUTBOX_RETRY_ONE] = "UPDATE outbox SET state = 0, next_try = ?2,"
	    " since = ?2, attempts = 0, updated = ?2 WHERE id = ?1"
	    " AND state = 2",
	[S_OUTBOX_RETRY_ALL] = "UPDATE outbox SET state = 0, next_try = ?2,"
	    " since = ?2, attempts = 0, updated = ?2 WHERE state = 2",
	[S_OUTBOX_LIST] = "SELECT o.id, m.msgid, o.target, o.state,"
	    " o.attempts, o.created, o.next_try, o.updated, o.last_error"
	    " FROM outbox o JOIN message m ON m.id = o.message"
	    " WHERE o.state = ?1 ORDER BY o.id DESC LIMIT ?2",
	[S_OUTBOX_LIST_ALL] = "SELECT o.id, m.msgid, o.target, o.state,"
	    " o.attempts, o.created, o.next_try, o.updated, o.last_error"
	    " FROM outbox o JOIN message m ON m.id = o.message"
	    " ORDER BY o.id DESC LIMIT ?2",
	[S_QUEUE] = "SELECT target, state, count(*), min(created) FROM outbox"
	    " WHERE state != 1 GROUP BY target, state ORDER BY target, state",
	[S_CHANNELS] = "SELECT channel, messages, last FROM channel_stats"
	    " ORDER BY channel",
	[S_MESSAGE_COUNT] = "SELECT value FROM meta WHERE key = 'messages'",
	[S_ARTICLE_NUMBER] = "SELECT a.number FROM article a"
	    " JOIN message m ON m.id = a.message"
	    " WHERE a.newsgroup = ?1 AND m.msgid = ?2",
	[S_GROUPS] = "SELECT name, low, high, count, created FROM newsgroup"
	    " ORDER BY name",
	[S_GROUP] = "SELECT name, low, high, count, created FROM newsgroup"
	    " WHERE name = ?1",
	[S_ART_BY_NUMBER] = "SELECT a.message, m.msgid FROM article a"
	    " JOIN message m ON m.id = a.message"
	    " WHERE a.newsgroup = ?1 AND a.number = ?2",
	[S_MESSAGE_ID] = "SELECT id FROM message WHERE msgid = ?1",
	[S_SHARE_CHANNEL] = "SELECT 1 FROM membership a JOIN membership b"
	    " ON b.channel = a.channel WHERE a.message = (SELECT id FROM"
	    " message WHERE msgid = ?1) AND b.message = (SELECT id FROM"
	    " message WHERE msgid = ?2) LIMIT 1",
	[S_ART_NEXT] = "SELECT number FROM article WHERE newsgroup = ?1"
	    " AND number > ?2 ORDER BY number LIMIT 1",
	[S_ART_PREV] = "SELECT number FROM article WHERE newsgroup = ?1"
	    " AND number < ?2 ORDER BY number DESC LIMIT 1",
	[S_NUMBERS] = "SELECT number FROM article WHERE newsgroup = ?1"
	    " AND number BETWEEN ?2 AND ?3 ORDER BY number LIMIT ?4",
	[S_OVERVIEW] = "SELECT a.number, m.id, m.msgid, m.ov_subject,"
	    " m.ov_from, m.ov_date, m.refs, m.size, m.lines, m.arrived"
	    " FROM article a JOIN message m ON m.id = a.message"
	    " WHERE a.newsgroup = ?1 AND a.number BETWEEN ?2 AND ?3"
	    " ORDER BY a.number LIMIT ?4",
	[S_OVERVIEW_MSGID] = "SELECT 0, m.id, m.msgid, m.ov_subject,"
	    " m.ov_from, m.ov_date, m.refs, m.size, m.lines, m.arrived"
	    " FROM message m WHERE m.msgid = ?1 AND m.cancelled = 0",
	[S_XREF] = "SELECT newsgroup, number FROM article WHERE message = ?1"
	    " ORDER BY newsgroup",
	[S_NEWNEWS] = "SELECT m.id, m.msgid, a.newsgroup FROM message m"
	    " JOIN article a ON a.message = m.id"
	    " WHERE m.arrived >= ?1 AND m.id > ?2 ORDER BY m.id LIMIT ?3",
	[S_READ_BEGIN] = "BEGIN",
	[S_READ_END] = "COMMIT",
};

enum store_op_kind {
	OP_ADD,
	OP_RELEASE,
	OP_RESULT
};

struct store_op {
	TAILQ_ENTRY(store_op) entry;
	enum store_op_kind kind;
	struct store_msg *msg;		/* OP_ADD */
	int64_t		 id;		/* OP_RESULT */
	int		 state;
	time_t		 next_try;
	char		*err;
	store_cb	 cb;
	void		*arg;
	enum store_result result;
};
TAILQ_HEAD(store_ops, store_op);

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*stmt[S_MAX];
	struct event	*commit_ev;
	struct store_ops queue;
	int		 fail_commits;
	/* The data directory is full: since when, and the last failure. */
	time_t		 full_since;
	time_t		 full_last;
	unsigned long	 full_failures;

	/* The checkpointer thread and what it shares with the loop. */
	pthread_t	 ckpt_thread;
	pthread_mutex_t	 ckpt_lock;
	pthread_cond_t	 ckpt_cond;
	int		 ckpt_wanted;
	int		 ckpt_stop;

	/* A read transaction of store_read_begin() is open. */
	int		 reading;
};

static void	 store_commit(evutil_socket_t, short, void *);

/* Seconds, monotonic, for timing commits. */
static double
store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
store_exec(sqlite3 *db, const char *sql, char **err_r)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err_r = xasprintf("%s", msg != NULL ? msg :
		    sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Bring the schema up to STORE_SCHEMA_VERSION, one step per transaction. */
static int
store_migrate(struct store *store, char **err_r)
{
	sqlite3_stmt *st;
	char *sql, *err = NULL;
	int version;

	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		*err_r = xasprintf("reading the schema version: %s",
		    sqlite3_errmsg(store->db));
		sqlite3_finalize(st);
		return -1;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	if (version > STORE_SCHEMA_VERSION) {
		*err_r = xasprintf("%s has schema version %d, written by a"
		    " newer syncd; this one (%s) knows up to version %d:"
		    " refusing to open it", store->path, version,
		    SYNCOM_VERSION, STORE_SCHEMA_VERSION);
		return -1;
	}
	for (; version < STORE_SCHEMA_VERSION; version++) {
		sql = xasprintf("BEGIN IMMEDIATE; %s; PRAGMA user_version = %d;"
		    " COMMIT;", store_schema[version], version + 1);
		if (store_exec(store->db, sql, &err) == -1) {
			*err_r = xasprintf("upgrading %s to schema version"
			    " %d: %s", store->path, version + 1, err);
			free(err);
			free(sql);
			sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		free(sql);
		log_info("event=schema-upgrade store=%s version=%d",
		    log_q(store->path), version + 1);
	}
	return 0;
}

/* The WAL hook: runs on the writer after each commit. */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *store = arg;

	if (pages >= STORE_CKPT_PAGES) {
		pthread_mutex_lock(&store->ckpt_lock);
		store->ckpt_wanted = 1;
		pthread_cond_signal(&store->ckpt_cond);
		pthread_mutex_unlock(&store->ckpt_lock);
	}
	return SQLITE_OK;
}

/*
 * The checkpointer: copies the WAL back into the database on its own
 * connection, so that the writer on the loop never pays for it.  PASSIVE
 * never blocks the writer; when it cannot finish it is simply tried again.
 */
static void *
store_checkpointer(void *arg)
{
	struct store *store = arg;
	struct timespec deadline;
	sqlite3 *db;
	char *err;
	int rc, logged, done, failing = 0;

	if (sqlite3_open_v2(store->path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		log_warnx("event=checkpointer-open store=%s error=%s",
		    log_q(store->path), log_q(sqlite3_errmsg(db)));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	/*
	 * A connection learns that the database is in WAL mode only when it
	 * first reads it; until then a checkpoint does nothing and reports
	 * -1 frames.
	 */
	if (store_exec(db, "SELECT count(*) FROM sqlite_schema;", &err) == -1) {
		log_warnx("event=checkpointer-open store=%s error=%s",
		    log_q(store->path), log_q(err));
		free(err);
	}

	pthread_mutex_lock(&store->ckpt_lock);
	while (!store->ckpt_stop) {
		if (!store->ckpt_wanted) {
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_sec += 30;
			pthread_cond_timedwait(&store->ckpt_cond,
			    &store->ckpt_lock, &deadline);
			if (store->ckpt_stop)
				break;
		}
		store->ckpt_wanted = 0;
		pthread_mutex_unlock(&store->ckpt_lock);
		rc = sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &logged, &done);
		/*
		 * A full disk fails every checkpoint until space is back:
		 * say so once, and once when it works again.
		 */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			if (!failing++)
				log_warnx("event=checkpoint store=%s error=%s",
				    log_q(store->path),
				    log_q(sqlite3_errmsg(db)));
			else
				log_debug("event=checkpoint error=%s",
				    log_q(sqlite3_errmsg(db)));
		} else {
			if (failing)
				log_info("event=checkpoint store=%s"
				    " result=working-again failures=%d",
				    log_q(store->path), failing);
			failing = 0;
			log_debug("event=checkpoint wal-pages=%d copied=%d",
			    logged, done);
		}
		pthread_mutex_lock(&store->ckpt_lock);
	}
	pthread_mutex_unlock(&store->ckpt_lock);
	sqlite3_close(db);
	return NULL;
}

struct store *
store_open(const char *dir, struct event_base *base, char **err_r)
{
	struct store *store;
	char *err = NULL;
	int i;

	store = xcalloc(1, sizeof(*store));
	TAILQ_INIT(&store->queue);
	store->path = xasprintf("%s/%s", dir, STORE_FILE);
	pthread_mutex_init(&store->ckpt_lock, NULL);
	pthread_cond_init(&store->ckpt_cond, NULL);

	/*
	 * NOMUTEX: this connection is the loop's alone (the checkpointer
	 * opens its own, and worker jobs touch nothing of the loop's), so
	 * SQLite need not lock it around every call; reading a group's
	 * overview made tens of such calls per article.
	 */
	if (sqlite3_open_v2(store->path, &store->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*err_r = xasprintf("opening %s: %s", store->path,
		    sqlite3_errmsg(store->db));
		goto fail;
	}
	sqlite3_busy_timeout(store->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(store->db, 1);
	/*
	 * page_size only takes on a new database, before WAL; 8 KiB pages
	 * hold typical 2-4 KiB messages with less overflow.  FULL makes each
	 * commit durable before we acknowledge it.  Checkpoints are ours; a
	 * WAL that grew in a burst is cut back to 64 MiB when it restarts.
	 * temp_store: statement journals (each queued item's savepoint) in
	 * memory; in a temporary file, one was made, written and unlinked
	 * for every commit.  Not by SQLITE_CONFIG_STMTJRNL_SPILL: it is for
	 * the whole process (forum.db too), and SQLite 3.40 fails a write
	 * with SQLITE_FULL when a journal kept in memory up to so large a
	 * threshold spills to its file (tests/integration/forum_burst.sh
	 * says why; the forum's batches did, in the end-to-end benchmark).
	 */
	if (store_exec(store->db, "PRAGMA page_size = 8192;"
	    " PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
	    " PRAGMA wal_autocheckpoint = 0;"
	    " PRAGMA journal_size_limit = 67108864;"
	    " PRAGMA temp_store = MEMORY;", &err) == -1) {
		*err_r = xasprintf("setting up %s: %s", store->path, err);
		free(err);
		goto fail;
	}
	if (store_migrate(store, err_r) == -1)
		goto fail;
	for (i = 0; i < S_MAX; i++)
		if (sqlite3_prepare_v3(store->db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store->stmt[i], NULL) !=
		    SQLITE_OK) {
			*err_r = xasprintf("preparing statement %d: %s", i,
			    sqlite3_errmsg(store->db));
			goto fail;
		}
	sqlite3_wal_hook(store->db, store_wal_hook, store);

	store->commit_ev = event_new(base, -1, 0, store_commit, store);

	if ((errno = pthread_create(&store->ckpt_thread, NULL,
	    store_checkpointer, store)) != 0) {
		*err_r = xasprintf("starting the checkpointer: %s",
		    strerror(errno));
		goto fail;
	}
	return store;

fail:
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(store->stmt[i]);
	if (store->commit_ev != NULL)
		event_free(store->commit_ev);
	sqlite3_close(store->db);
	pthread_mutex_destroy(&store->ckpt_lock);
	pthread_cond_destroy(&store->ckpt_cond);
	free(store->path);
	free(store);
	return NULL;
}

void
store_close(struct store **storep)
{
	struct store *store = *storep;
	int i;

	*storep = NULL;
	if (store == NULL)
		return;
	store_flush(store);

	pthread_mutex_lock(&store->ckpt_lock);
	store->ckpt_stop = 1;
	pthread_cond_signal(&store->ckpt_cond);
	pthread_mutex_unlock(&store->ckpt_lock);
	pthread_join(store->ckpt_thread, NULL);

	/* Leave a short WAL behind for the next start. */
	if (sqlite3_wal_checkpoint_v2(store->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
		log_warnx("event=store-close checkpoint=failed error=%s",
		    log_q(sqlite3_errmsg(store->db)));
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(store->stmt[i]);
	if (sqlite3_close(store->db) != SQLITE_OK)
		log_warnx("event=store-close error=%s",
		    log_q(sqlite3_errmsg(store->db)));
	event_free(store->commit_ev);
	pthread_mutex_destroy(&store->ckpt_lock);
	pthread_cond_destroy(&store->ckpt_cond);
	free(store->path);
	free(store);
}

/* A prepared statement, reset and with its bindings cleared. */
static sqlite3_stmt *
store_stmt(struct store *store, enum store_stmt which)
{
	sqlite3_stmt *st = store->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static void
store_bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
}

static char *
store_column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s == NULL ? NULL : xstrdup((const char *)s);
}

/* Run a statement that returns no rows; the SQLite result code. */
static int
store_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
store_read_error(struct store *store, sqlite3_stmt *st)
{
	log_warnx("event=store-read error=%s", log_q(sqlite3_errmsg(store->db)));
	sqlite3_reset(st);
	return -1;
}

int
store_has_msgid(struct store *store, const char *msgid)
{
	sqlite3_stmt *st = store_stmt(store, S_HAS_MSGID);
	int rc;

	store_bind_text(st, 1, msgid);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_read_error(store, st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 0))
		rc = 2;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rc == 2 ? 2 : 1;
}

/*
 * Where message id goes: its channels, article numbers in its groups, and
 * outbox rows for its targets.  stats counts it in the channels' numbers
 * (not again when a held message is released).
 */
static int
store_place(struct store *store, int64_t id, const struct store_msg *m,
    time_t now, int stats)
{
	sqlite3_stmt *st;
	int64_t number;
	size_t i;
	int rc;

	for (i = 0; i < m->nchannels; i++) {
		st = store_stmt(store, S_INSERT_MEMBERSHIP);
		store_bind_text(st, 1, m->channels[i]);
		sqlite3_bind_int64(st, 2, id);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
		if (!stats)
			continue;
		st = store_stmt(store, S_CHANNEL_STATS);
		store_bind_text(st, 1, m->channels[i]);
		sqlite3_bind_int64(st, 2, m->arrived);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
	}
	for (i = 0; i < m->ngroups; i++) {
		st = store_stmt(store, S_INSERT_GROUP);
		store_bind_text(st, 1, m->groups[i]);
		sqlite3_bind_int64(st, 2, now);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
		st = store_stmt(store, S_NEXT_ARTICLE);
		store_bind_text(st, 1, m->groups[i]);
		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			sqlite3_reset(st);
			return rc == SQLITE_DONE ? SQLITE_INTERNAL : rc;
		}
		number = sqlite3_column_int64(st, 0);
		/* RETURNING rows are only final once the step is done. */
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
		st = store_stmt(store, S_INSERT_ARTICLE);
		store_bind_text(st, 1, m->groups[i]);
		sqlite3_bind_int64(st, 2, number);
		sqlite3_bind_int64(st, 3, id);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
	}
	for (i = 0; i < m->ntargets; i++) {
		st = store_stmt(store, S_INSERT_OUTBOX);
		sqlite3_bind_int64(st, 1, id);
		store_bind_text(st, 2, m->targets[i]);
		sqlite3_bind_int64(st, 3, now);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Insert one message, and place it. */
static int
store_apply_add(struct store *store, const struct store_msg *m, time_t now)
{
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	st = store_stmt(store, S_INSERT_MESSAGE);
	store_bind_text(st, 1, m->msgid);
	sqlite3_bind_int(st, 2, m->source);
	sqlite3_bind_int64(st, 3, m->arrived);
	if (m->date != -1)
		sqlite3_bind_int64(st, 4, m->date);
	store_bind_text(st, 5, m->subject);
	store_bind_text(st, 6, m->from);
	store_bind_text(st, 7, m->refs);
	store_bind_text(st, 8, m->parent);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->len);
	sqlite3_bind_blob64(st, 10, m->raw, m->len, SQLITE_STATIC);
	store_bind_text(st, 11, m->ov_subject);
	store_bind_text(st, 12, m->ov_from);
	store_bind_text(st, 13, m->ov_date);
	sqlite3_bind_int64(st, 14, m->lines);
	sqlite3_bind_int(st, 15, m->held);
	if ((rc = store_step_done(st)) != SQLITE_OK)
		return rc;
	/* Before the next INSERT (into meta) moves it on. */
	id = sqlite3_last_insert_rowid(store->db);
	if ((rc = store_step_done(store_stmt(store, S_COUNT_MESSAGE))) !=
	    SQLITE_OK)
		return rc;
	st = store_stmt(store, S_LAST_IN_SET);
	sqlite3_bind_int(st, 1, m->source);
	sqlite3_bind_int64(st, 2, m->arrived);
	if ((rc = store_step_done(st)) != SQLITE_OK)
		return rc;
	if (m->cancels != NULL) {
		st = store_stmt(store, S_CANCEL_COUNT);
		store_bind_text(st, 1, m->cancels);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
		st = store_stmt(store, S_CANCEL);
		store_bind_text(st, 1, m->cancels);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
		st = store_stmt(store, S_CANCELLED);
		store_bind_text(st, 1, m->cancels);
		if ((rc = store_step_done(st)) != SQLITE_OK)
			return rc;
	}
	return store_place(store, id, m, now, 1);
}

/*
 * A held message comes back approved: place it now.  Held by nobody (a
 * second copy, or released already) is a duplicate.
 */
static int
store_apply_release(struct store *store, const struct store_msg *m,
    time_t now)
{
	sqlite3_stmt *st = store_stmt(store, S_RELEASE);
	int64_t id;
	int rc;

	store_bind_text(st, 1, m->msgid);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? SQLITE_CONSTRAINT_UNIQUE : rc;
	}
	id = sqlite3_column_int64(st, 0);
	if ((rc = store_step_done(st)) != SQLITE_OK)
		return rc;
	return store_place(store, id, m, now, 0);
}

static int
store_apply_result(struct store *store, const struct store_op *op,
    time_t now)
{
	sqlite3_stmt *st = store_stmt(store, S_OUTBOX_RESULT);

	sqlite3_bind_int64(st, 1, op->id);
	sqlite3_bind_int(st, 2, op->state);
	sqlite3_bind_int64(st, 3, op->next_try);
	sqlite3_bind_int64(st, 4, now);
	store_bind_text(st, 5, op->err);
	return store_step_done(st);
}

static void
store_op_free(struct store_op *op)
{
	store_msg_free(&op->msg);
	free(op->err);
	free(op);
}

/*
 * Did this failure come from a full disk (or a full quota)?  SQLite says
 * SQLITE_FULL when a write finds no space, but a failed fsync() or
 * growing the WAL index come back as I/O errors with ENOSPC behind them.
 */
static int
store_full_error(struct store *store, int rc)
{
	int e;

	if ((rc & 0xff) == SQLITE_FULL)
		return 1;
	if ((rc & 0xff) != SQLITE_IOERR)
		return 0;
	e = sqlite3_system_errno(store->db);
	return e == ENOSPC || e == EDQUOT;
}

/*
 * The data directory's state after a commit: full is said once when it
 * fills (and every sender hears "data directory full"), once when a new
 * message is committed again; the failures in between are only counted,
 * so that a full disk under a steady stream of input does not flood the
 * log.  An outcome that fits in the WAL's old space proves no room.
 */
static void
store_full_state(struct store *store, int full, int committed,
    const char *failure, size_t n, time_t now)
{
	if (full) {
		store->full_last = now;
		store->full_failures++;
		if (store->full_since != 0) {
			log_debug("event=commit-failed items=%zu error=%s", n,
			    log_q(failure));
			return;
		}
		store->full_since = now;
		log_warnx("event=store-full store=%s error=%s note=\"data"
		    " directory full: new input is refused with temporary"
		    " replies until space is freed; syncd goes on by itself"
		    " then\"", log_q(store->path), log_q(failure));
	} else if (committed && store->full_since != 0) {
		log_info("event=store-writable store=%s full-for=%llds"
		    " failed-commits=%lu", log_q(store->path),
		    (long long)(now - store->full_since),
		    store->full_failures);
		store->full_since = 0;
		store->full_failures = 0;
	}
}

/*
 * Commit everything queued in one transaction, then tell every caller.
 * When the transaction as a whole fails (a full disk, an I/O error) every
 * item that was not a duplicate fails with STORE_TEMPFAIL: nothing of it
 * was kept, and the sender will try again.
 */
static void
store_commit(evutil_socket_t fd, short events, void *arg)
{
	struct store *store = arg;
	struct store_ops batch;
	struct store_op *op;
	const char *failure = NULL;
	char failbuf[256], fullbuf[300];
	time_t now = time(NULL);
	double t0;
	size_t n = 0;
	int rc, full = 0, added = 0;

	TAILQ_INIT(&batch);
	TAILQ_CONCAT(&batch, &store->queue, entry);
	TAILQ_FOREACH(op, &batch, entry)
		n++;
	if (n == 0)
		return;
	t0 = store_now();

	if ((rc = sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		full = store_full_error(store, sqlite3_extended_errcode(
		    store->db));
		snprintf(failbuf, sizeof(failbuf), "%s",
		    sqlite3_errmsg(store->db));
		failure = failbuf;
		goto done;
	}
	TAILQ_FOREACH(op, &batch, entry) {
		sqlite3_exec(store->db, "SAVEPOINT op", NULL, NULL, NULL);
		rc = op->kind == OP_ADD ? store_apply_add(store, op->msg, now) :
		    op->kind == OP_RELEASE ? store_apply_release(store,
		    op->msg, now) : store_apply_result(store, op, now);
		if (rc == SQLITE_OK) {
			sqlite3_exec(store->db, "RELEASE op", NULL, NULL, NULL);
			op->result = STORE_OK;
			added |= op->kind != OP_RESULT;
			continue;
		}
		if (store_full_error(store, rc))
			full = 1;
		if (sqlite3_get_autocommit(store->db)) {
			/* SQLite rolled the whole transaction back. */
			failure = sqlite3_errstr(rc);
			goto done;
		}
		sqlite3_exec(store->db, "ROLLBACK TO op; RELEASE op", NULL,
		    NULL, NULL);
		if (rc == SQLITE_CONSTRAINT_UNIQUE && op->kind != OP_RESULT)
			op->result = STORE_DUPLICATE;
		else {
			op->result = STORE_TEMPFAIL;
			log_warnx("event=store-write error=%s",
			    log_q(sqlite3_errstr(rc)));
		}
	}
	if (store->fail_commits > 0) {
		/* Fault injection: the commit fails as on a full disk. */
		store->fail_commits--;
		failure = "database or disk is full (fault injected)";
		full = 1;
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	} else if (sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		if (store_full_error(store, sqlite3_extended_errcode(
		    store->db)))
			full = 1;
		snprintf(failbuf, sizeof(failbuf), "%s",
		    sqlite3_errmsg(store->db));
		failure = failbuf;
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	}

done:
	if (failure != NULL && full) {
		/* What the senders hear, in their 4xx replies. */
		snprintf(fullbuf, sizeof(fullbuf), "data directory full: %s",
		    failure);
		failure = fullbuf;
	}
	store_full_state(store, full, failure == NULL && added,
	    failure != NULL ? failure : "data directory full", n, now);
	if (failure != NULL && !full)
		log_warnx("event=commit-failed items=%zu error=%s", n,
		    log_q(failure));
	else if (failure == NULL)
		log_debug("event=commit items=%zu ms=%.2f", n,
		    (store_now() - t0) * 1000);
	while ((op = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, op, entry);
		/*
		 * Even a duplicate fails with the batch: the copy it
		 * duplicated may have been in this very transaction.
		 */
		if (failure != NULL)
			op->result = STORE_TEMPFAIL;
		if (op->cb != NULL)
			op->cb(op->arg, op->result,
			    op->result == STORE_TEMPFAIL ? (failure != NULL ?
			    failure : "could not write to the store") : NULL);
		store_op_free(op);
	}
}

static void
store_enqueue(struct store *store, struct store_op *op)
{
	if (TAILQ_EMPTY(&store->queue))
		event_active(store->commit_ev, EV_TIMEOUT, 0);
	TAILQ_INSERT_TAIL(&store->queue, op, entry);
}

void
store_add(struct store *store, struct store_msg *msg, store_cb cb, void *arg)
{
	struct store_op *op = xcalloc(1, sizeof(*op));

	op->kind = OP_ADD;
	op->msg = msg;
	op->cb = cb;
	op->arg = arg;
	store_enqueue(store, op);
}

void
store_release(struct store *store, struct store_msg *msg, store_cb cb,
    void *arg)
{
	struct store_op *op = xcalloc(1, sizeof(*op));

	op->kind = OP_RELEASE;
	op->msg = msg;
	op->cb = cb;
	op->arg = arg;
	store_enqueue(store, op);
}

void
store_outbox_result(struct store *store, int64_t id, int state,
    time_t next_try, const char *err, store_cb cb, void *arg)
{
	struct store_op *op = xcalloc(1, sizeof(*op));

	op->kind = OP_RESULT;
	op->id = id;
	op->state = state;
	op->next_try = next_try;
	op->err = err != NULL ? xstrdup(err) : NULL;
	op->cb = cb;
	op->arg = arg;
	store_enqueue(store, op);
}

void
store_flush(struct store *store)
{
	if (!TAILQ_EMPTY(&store->queue))
		event_del(store->commit_ev);
	store_commit(-1, 0, store);
}

int
store_full(struct store *store)
{
	return store->full_since != 0 &&
	    time(NULL) - store->full_last < STORE_FULL_PAUSE;
}

void
store_fail_commits(struct store *store, int n)
{
	store->fail_commits = n;
}

void
store_msg_free(struct store_msg **msgp)
{
	struct store_msg *m = *msgp;
	size_t i;

	*msgp = NULL;
	if (m == NULL)
		return;
	free(m->msgid);
	free(m->subject);
	free(m->from);
	free(m->refs);
	free(m->parent);
	free(m->cancels);
	free(m->raw);
	free(m->ov_subject);
	free(m->ov_from);
	free(m->ov_date);
	for (i = 0; i < m->nchannels; i++)
		free(m->channels[i]);
	free(m->channels);
	for (i = 0; i < m->ngroups; i++)
		free(m->groups[i]);
	free(m->groups);
	for (i = 0; i < m->ntargets; i++)
		free(m->targets[i]);
	free(m->targets);
	free(m);
}

void
outbox_row_free(struct outbox_row **rowp)
{
	struct outbox_row *row = *rowp;

	*rowp = NULL;
	if (row == NULL)
		return;
	free(row->msgid);
	free(row->target);
	free(row);
}


/*
 * Step st to its end, one element of size bytes per row filled by fill.
 * On a read error the rows so far are still handed back, for the caller
 * to free with its own function.
 */
static int
store_collect(struct store *store, sqlite3_stmt *st, size_t size,
    void (*fill)(sqlite3_stmt *, void *), void **rows_r, size_t *n_r)
{
	char *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			rows = xreallocarray(rows, cap, size);
		}
		memset(rows + n * size, 0, size);
		fill(st, rows + n * size);
		n++;
	}
	*rows_r = rows;
	*n_r = n;
	if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return 0;
}

static void
store_fill_due(sqlite3_stmt *st, void *elem)
{
	struct outbox_row *row = xcalloc(1, sizeof(*row));

	row->id = sqlite3_column_int64(st, 0);
	row->message = sqlite3_column_int64(st, 1);
	row->msgid = store_column_text(st, 2);
	row->target = store_column_text(st, 3);
	row->attempts = sqlite3_column_int64(st, 4);
	row->created = sqlite3_column_int64(st, 5);
	row->since = sqlite3_column_int64(st, 6);
	*(struct outbox_row **)elem = row;
}

int
store_outbox_due(struct store *store, const char *target, time_t now,
    size_t limit, struct outbox_row ***rows_r, size_t *n_r)
{
	sqlite3_stmt *st = store_stmt(store, S_OUTBOX_DUE);

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	store_bind_text(st, 3, target);
	if (store_collect(store, st, sizeof(**rows_r), store_fill_due,
	    (void **)rows_r, n_r) == -1) {
		while (*n_r > 0)
			outbox_row_free(&(*rows_r)[--*n_r]);
		free(*rows_r);
		*rows_r = NULL;
		return -1;
	}
	return 0;
}

static void
store_fill_target(sqlite3_stmt *st, void *elem)
{
	*(char **)elem = store_column_text(st, 0);
}

int
store_outbox_targets(struct store *store, char ***targets_r, size_t *n_r)
{
	if (store_collect(store, store_stmt(store, S_OUTBOX_TARGETS),
	    sizeof(**targets_r), store_fill_target, (void **)targets_r,
	    n_r) == -1) {
		while (*n_r > 0)
			free((*targets_r)[--*n_r]);
		free(*targets_r);
		*targets_r = NULL;
		return -1;
	}
	return 0;
}

int64_t
store_outbox_max_id(struct store *store)
{
	sqlite3_stmt *st = store_stmt(store, S_OUTBOX_MAX_ID);
	int64_t id = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

time_t
store_outbox_next(struct store *store)
{
	sqlite3_stmt *st = store_stmt(store, S_OUTBOX_NEXT);
	time_t next = -1;

	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		next = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return next;
}

int
store_message_raw(struct store *store, int64_t message, char **raw_r,
    size_t *len_r)
{
	sqlite3_stmt *st = store_stmt(store, S_MESSAGE_RAW);
	int rc;

	sqlite3_bind_int64(st, 1, message);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE) {
			sqlite3_reset(st);
			return -1;
		}
		return store_read_error(store, st);
	}
	*len_r = sqlite3_column_bytes(st, 0);
	*raw_r = xmemdup(sqlite3_column_blob(st, 0), *len_r);
	sqlite3_reset(st);
	return 0;
}

int
store_expire(struct store *store, const char *group, time_t before)
{
	static const enum store_stmt steps[] = {
		S_EXPIRE_COUNT, S_EXPIRE, S_EXPIRE_LOW
	};
	sqlite3_stmt *st;
	char *err = NULL, *rb_err = NULL;
	size_t i;
	int n = 0;

	if (store_exec(store->db, "BEGIN IMMEDIATE", &err) == -1)
		goto fail;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		st = store_stmt(store, steps[i]);
		store_bind_text(st, 1, group);
		if (steps[i] != S_EXPIRE_LOW)
			sqlite3_bind_int64(st, 2, before);
		if (store_step_done(st) != SQLITE_OK) {
			err = xstrdup(sqlite3_errmsg(store->db));
			goto rollback;
		}
		if (steps[i] == S_EXPIRE)
			n = sqlite3_changes(store->db);
	}
	if (store_exec(store->db, "COMMIT", &err) == 0)
		return n;
rollback:
	if (store_exec(store->db, "ROLLBACK", &rb_err) == -1)
		free(rb_err);
fail:
	log_warnx("event=store-write error=%s", log_q(err));
	free(err);
	return -1;
}

int
store_last(struct store *store, time_t in[SIDE_MAX], time_t out[SIDE_MAX])
{
	sqlite3_stmt *st;
	int side, rc;

	memset(in, 0, SIDE_MAX * sizeof(*in));
	memset(out, 0, SIDE_MAX * sizeof(*out));
	/* No row: nothing came from that side yet. */
	for (side = 0; side < SIDE_MAX; side++) {
		st = store_stmt(store, S_LAST_IN);
		sqlite3_bind_int(st, 1, side);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			in[side] = (time_t)sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			return store_read_error(store, st);
		sqlite3_reset(st);
	}
	st = store_stmt(store, S_LAST_OUT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		side = conf_target_side((const char *)sqlite3_column_text(st,
		    0));
		if (side >= 0 && out[side] < sqlite3_column_int64(st, 1))
			out[side] = (time_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	return 0;
}

char *
store_description(struct store *store, const char *channel)
{
	sqlite3_stmt *st = store_stmt(store, S_DESCRIPTION);
	char *text = NULL;
	int rc;

	store_bind_text(st, 1, channel);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		text = store_column_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_read_error(store, st);
	return text;
}

int
store_description_set(struct store *store, const char *channel,
    const char *text)
{
	sqlite3_stmt *st = store_stmt(store, text != NULL ? S_DESCRIPTION_SET :
	    S_DESCRIPTION_CLEAR);

	store_bind_text(st, 1, channel);
	if (text != NULL) {
		store_bind_text(st, 2, text);
		sqlite3_bind_int64(st, 3, time(NULL));
	}
	if (store_step_done(st) != SQLITE_OK) {
		log_warnx("event=store-write error=%s",
		    log_q(sqlite3_errmsg(store->db)));
		return -1;
	}
	return 0;
}

int
store_outbox_sweep(struct store *store, time_t before)
{
	sqlite3_stmt *st = store_stmt(store, S_SWEEP);

	sqlite3_bind_int64(st, 1, before);
	if (store_step_done(st) != SQLITE_OK) {
		log_warnx("event=store-write error=%s",
		    log_q(sqlite3_errmsg(store->db)));
		return -1;
	}
	return sqlite3_changes(store->db);
}

int
store_outbox_retry(struct store *store, int64_t id)
{
	sqlite3_stmt *st = store_stmt(store, id != 0 ? S_OUTBOX_RETRY_ONE :
	    S_OUTBOX_RETRY_ALL);

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, time(NULL));
	if (store_step_done(st) != SQLITE_OK) {
		log_warnx("event=store-write error=%s",
		    log_q(sqlite3_errmsg(store->db)));
		return -1;
	}
	return sqlite3_changes(store->db);
}

static void
store_fill_row_info(sqlite3_stmt *st, void *elem)
{
	struct store_row_info *r = elem;

	r->id = sqlite3_column_int64(st, 0);
	r->msgid = store_column_text(st, 1);
	r->target = store_column_text(st, 2);
	r->state = sqlite3_column_int(st, 3);
	r->attempts = sqlite3_column_int64(st, 4);
	r->created = sqlite3_column_int64(st, 5);
	r->next_try = sqlite3_column_int64(st, 6);
	r->updated = sqlite3_column_int64(st, 7);
	r->last_error = store_column_text(st, 8);
}

int
store_outbox_list(struct store *store, int state, size_t limit,
    struct store_row_info **rows_r, size_t *n_r)
{
	sqlite3_stmt *st = store_stmt(store, state < 0 ? S_OUTBOX_LIST_ALL :
	    S_OUTBOX_LIST);

	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	if (store_collect(store, st, sizeof(**rows_r), store_fill_row_info,
	    (void **)rows_r, n_r) == -1) {
		store_row_info_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
store_row_info_free(struct store_row_info *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].msgid);
		free(rows[i].target);
		free(rows[i].last_error);
	}
	free(rows);
}

static void
store_fill_queue(sqlite3_stmt *st, void *elem)
{
	struct store_queue_info *r = elem;

	r->target = store_column_text(st, 0);
	r->state = sqlite3_column_int(st, 1);
	r->count = sqlite3_column_int64(st, 2);
	r->oldest = sqlite3_column_int64(st, 3);
}

int
store_queue(struct store *store, struct store_queue_info **rows_r,
    size_t *n_r)
{
	if (store_collect(store, store_stmt(store, S_QUEUE), sizeof(**rows_r),
	    store_fill_queue, (void **)rows_r, n_r) == -1) {
		store_queue_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
store_queue_free(struct store_queue_info *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].target);
	free(rows);
}

static void
store_fill_channel(sqlite3_stmt *st, void *elem)
{
	struct store_channel_info *r = elem;

	r->channel = store_column_text(st, 0);
	r->messages = sqlite3_column_int64(st, 1);
	r->last = sqlite3_column_int64(st, 2);
}

int
store_channels(struct store *store, struct store_channel_info **rows_r,
    size_t *n_r)
{
	if (store_collect(store, store_stmt(store, S_CHANNELS),
	    sizeof(**rows_r), store_fill_channel, (void **)rows_r, n_r) == -1) {
		store_channels_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
store_channels_free(struct store_channel_info *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].channel);
	free(rows);
}

long long
store_message_count(struct store *store)
{
	sqlite3_stmt *st = store_stmt(store, S_MESSAGE_COUNT);
	long long n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

long long
store_article_number(struct store *store, const char *group,
    const char *msgid)
{
	sqlite3_stmt *st = store_stmt(store, S_ARTICLE_NUMBER);
	long long n = 0;

	store_bind_text(st, 1, group);
	store_bind_text(st, 2, msgid);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/*
 * What the news server reads.  Each function answers one question with
 * one prepared statement; lists are read in bounded slices (a limit and a
 * starting point), so a reader's OVER of a huge range never holds a
 * statement, or the loop, for long.
 */

int
store_group_create(struct store *store, const char *name)
{
	sqlite3_stmt *st = store_stmt(store, S_INSERT_GROUP);

	store_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, time(NULL));
	if (store_step_done(st) != SQLITE_OK) {
		log_warnx("event=store-write error=%s",
		    log_q(sqlite3_errmsg(store->db)));
		return -1;
	}
	return 0;
}

static void
store_fill_group(sqlite3_stmt *st, void *elem)
{
	struct store_group *g = elem;

	g->name = store_column_text(st, 0);
	g->low = sqlite3_column_int64(st, 1);
	g->high = sqlite3_column_int64(st, 2);
	g->count = sqlite3_column_int64(st, 3);
	g->created = sqlite3_column_int64(st, 4);
}

int
store_groups(struct store *store, struct store_group **rows_r, size_t *n_r)
{
	if (store_collect(store, store_stmt(store, S_GROUPS), sizeof(**rows_r),
	    store_fill_group, (void **)rows_r, n_r) == -1) {
		store_groups_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

int
store_group(struct store *store, const char *name, struct store_group *g)
{
	sqlite3_stmt *st = store_stmt(store, S_GROUP);
	int rc;

	store_bind_text(st, 1, name);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		store_fill_group(st, g);
	else if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

void
store_groups_free(struct store_group *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].name);
	free(rows);
}

/*
 * One read transaction for the several statements of one answer (an
 * ARTICLE reads the article's number, its bytes and its Xref).  Each
 * statement on its own is a transaction of its own, and each takes and
 * drops SQLite's file locks (fcntl) on the database and its WAL index:
 * a third of the CPU time of serving articles went there.  The answer
 * also reads one snapshot.  Only for reads on the loop, where no commit
 * can come in between; a failure only leaves the statements to run on
 * their own.
 */
void
store_read_begin(struct store *store)
{
	sqlite3_stmt *st;

	if (store->reading || !sqlite3_get_autocommit(store->db))
		return;
	st = store_stmt(store, S_READ_BEGIN);
	store->reading = sqlite3_step(st) == SQLITE_DONE;
	sqlite3_reset(st);
}

void
store_read_end(struct store *store)
{
	sqlite3_stmt *st;

	if (!store->reading)
		return;
	store->reading = 0;
	st = store_stmt(store, S_READ_END);
	if (sqlite3_step(st) != SQLITE_DONE && !sqlite3_get_autocommit(
	    store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_reset(st);
}

int
store_article(struct store *store, const char *group, long long number,
    int64_t *message_r, char **msgid_r)
{
	sqlite3_stmt *st = store_stmt(store, S_ART_BY_NUMBER);
	int rc;

	store_bind_text(st, 1, group);
	sqlite3_bind_int64(st, 2, number);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*message_r = sqlite3_column_int64(st, 0);
		*msgid_r = store_column_text(st, 1);
	} else if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

int
store_message_id(struct store *store, const char *msgid, int64_t *message_r)
{
	sqlite3_stmt *st = store_stmt(store, S_MESSAGE_ID);
	int rc;

	store_bind_text(st, 1, msgid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*message_r = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

int
store_share_channel(struct store *store, const char *a, const char *b)
{
	sqlite3_stmt *st = store_stmt(store, S_SHARE_CHANNEL);
	int rc;

	store_bind_text(st, 1, a);
	store_bind_text(st, 2, b);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW && rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

long long
store_article_step(struct store *store, const char *group, long long number,
    int forward)
{
	sqlite3_stmt *st = store_stmt(store, forward ? S_ART_NEXT : S_ART_PREV);
	long long next = 0;
	int rc;

	store_bind_text(st, 1, group);
	sqlite3_bind_int64(st, 2, number);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		next = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return next;
}

static void
store_fill_number(sqlite3_stmt *st, void *elem)
{
	*(long long *)elem = sqlite3_column_int64(st, 0);
}

int
store_numbers(struct store *store, const char *group, long long low,
    long long high, size_t limit, long long **nums_r, size_t *n_r)
{
	sqlite3_stmt *st = store_stmt(store, S_NUMBERS);

	store_bind_text(st, 1, group);
	sqlite3_bind_int64(st, 2, low);
	sqlite3_bind_int64(st, 3, high);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	if (store_collect(store, st, sizeof(**nums_r), store_fill_number,
	    (void **)nums_r, n_r) == -1) {
		free(*nums_r);
		*nums_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

/* A row of S_OVERVIEW or S_OVERVIEW_MSGID, its strings SQLite's own. */
static void
store_overview_columns(sqlite3_stmt *st, struct store_overview *o)
{
	o->number = sqlite3_column_int64(st, 0);
	o->message = sqlite3_column_int64(st, 1);
	o->msgid = (char *)sqlite3_column_text(st, 2);
	o->subject = (char *)sqlite3_column_text(st, 3);
	o->from = (char *)sqlite3_column_text(st, 4);
	o->date = (char *)sqlite3_column_text(st, 5);
	o->refs = (char *)sqlite3_column_text(st, 6);
	o->bytes = sqlite3_column_int64(st, 7);
	o->lines = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, 8);
	o->arrived = sqlite3_column_int64(st, 9);
}

/*
 * Each row handed to fn as it is read, with SQLite's own strings, valid
 * only during the call: an OVER of a whole group would otherwise copy
 * every column of every row only to free it after one line.  The number
 * of rows, or -1.
 */
int
store_overview_each(struct store *store, const char *group, long long low,
    long long high, size_t limit,
    void (*fn)(const struct store_overview *, void *), void *arg)
{
	sqlite3_stmt *st = store_stmt(store, S_OVERVIEW);
	struct store_overview o;
	int rc, n = 0;

	store_bind_text(st, 1, group);
	sqlite3_bind_int64(st, 2, low);
	sqlite3_bind_int64(st, 3, high);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_overview_columns(st, &o);
		fn(&o, arg);
		n++;
	}
	if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return n;
}

int
store_overview_msgid(struct store *store, const char *msgid,
    struct store_overview **row_r)
{
	sqlite3_stmt *st = store_stmt(store, S_OVERVIEW_MSGID);
	int rc;

	*row_r = NULL;
	store_bind_text(st, 1, msgid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*row_r = xcalloc(1, sizeof(**row_r));
		store_overview_columns(st, *row_r);
		(*row_r)->msgid = store_column_text(st, 2);
		(*row_r)->subject = store_column_text(st, 3);
		(*row_r)->from = store_column_text(st, 4);
		(*row_r)->date = store_column_text(st, 5);
		(*row_r)->refs = store_column_text(st, 6);
	} else if (rc != SQLITE_DONE)
		return store_read_error(store, st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW;
}

void
store_overview_free(struct store_overview *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].msgid);
		free(rows[i].subject);
		free(rows[i].from);
		free(rows[i].date);
		free(rows[i].refs);
	}
	free(rows);
}

static void
store_fill_xref(sqlite3_stmt *st, void *elem)
{
	struct store_xref *x = elem;

	x->group = store_column_text(st, 0);
	x->number = sqlite3_column_int64(st, 1);
}

int
store_xref(struct store *store, int64_t message, struct store_xref **rows_r,
    size_t *n_r)
{
	sqlite3_stmt *st = store_stmt(store, S_XREF);

	sqlite3_bind_int64(st, 1, message);
	if (store_collect(store, st, sizeof(**rows_r), store_fill_xref,
	    (void **)rows_r, n_r) == -1) {
		store_xref_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
store_xref_free(struct store_xref *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(rows[i].group);
	free(rows);
}

static void
store_fill_newnews(sqlite3_stmt *st, void *elem)
{
	struct store_newnews *r = elem;

	r->message = sqlite3_column_int64(st, 0);
	r->msgid = store_column_text(st, 1);
	r->group = store_column_text(st, 2);
}

int
store_newnews(struct store *store, time_t since, int64_t after, size_t limit,
    struct store_newnews **rows_r, size_t *n_r)
{
	sqlite3_stmt *st = store_stmt(store, S_NEWNEWS);

	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	if (store_collect(store, st, sizeof(**rows_r), store_fill_newnews,
	    (void **)rows_r, n_r) == -1) {
		store_newnews_free(*rows_r, *n_r);
		*rows_r = NULL;
		*n_r = 0;
		return -1;
	}
	return 0;
}

void
store_newnews_free(struct store_newnews *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].msgid);
		free(rows[i].group);
	}
	free(rows);
}
