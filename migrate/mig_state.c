/*
 * mig_state.c: what syncmigrate has copied, in SQLite, so that a rerun
 * copies only what is new and a run stopped at any moment (even by
 * SIGKILL) resumes without duplicates.
 *
 * As the daemon's store does: WAL, a busy timeout, the schema in steps
 * counted by PRAGMA user_version.  A folder is known by account and old
 * name with both sides' UIDVALIDITY; a copied message by its old UID,
 * with the new UID and the flags both sides had when last synced.  A
 * message copied but not yet recorded here (the process died between
 * APPEND and COMMIT) is found again on the new side by content, so the
 * state may lag the server but never claims more than it has.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common.h"
#include "migrate.h"

struct mig_state {
	sqlite3		*db;
};

static const char *const mig_state_schema[] = {
	/* 1 */
	"CREATE TABLE folder ("
	"  id INTEGER PRIMARY KEY,"
	"  account TEXT NOT NULL,"
	"  old_name TEXT NOT NULL,"
	"  new_name TEXT NOT NULL,"
	"  old_uidvalidity INTEGER NOT NULL,"
	"  new_uidvalidity INTEGER NOT NULL,"
	"  UNIQUE (account, old_name));"
	"CREATE TABLE message ("
	"  folder INTEGER NOT NULL REFERENCES folder (id) ON DELETE CASCADE,"
	"  old_uid INTEGER NOT NULL,"
	"  new_uid INTEGER NOT NULL,"
	"  flags TEXT NOT NULL,"
	"  PRIMARY KEY (folder, old_uid)) WITHOUT ROWID;"
	"CREATE TABLE account ("
	"  name TEXT PRIMARY KEY,"
	"  started INTEGER,"
	"  finished INTEGER,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0);",
	/* 2: sizes for the order, times for the rate, the cut-over */
	"ALTER TABLE account ADD COLUMN size INTEGER;"
	"ALTER TABLE account ADD COLUMN seconds REAL NOT NULL DEFAULT 0;"
	"ALTER TABLE account ADD COLUMN final INTEGER;",
	/* 3: the old folder as last synced whole, for CONDSTORE */
	("ALTER TABLE folder ADD COLUMN old_modseq INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE folder ADD COLUMN old_exists INTEGER NOT NULL DEFAULT 0;"),
};

static int
mig_state_error(struct mig_state *st, const char *what, char **err_r)
{
	*err_r = xasprintf("%s: %s", what, sqlite3_errmsg(st->db));
	return -1;
}

static int
mig_state_exec(struct mig_state *st, const char *sql, char **err_r)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*err_r = xasprintf("%s", msg != NULL ? msg : "sqlite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

struct mig_state *
mig_state_open(const char *path, char **err_r)
{
	struct mig_state *st = xcalloc(1, sizeof(*st));
	sqlite3_stmt *q;
	int version = 0, nsteps, i;
	char *sql;

	if (sqlite3_open(path, &st->db) != SQLITE_OK) {
		*err_r = xasprintf("%s: %s", path, st->db != NULL ?
		    sqlite3_errmsg(st->db) : "out of memory");
		mig_state_close(&st);
		return NULL;
	}
	/* Parallel accounts wait for each other's short writes. */
	sqlite3_busy_timeout(st->db, 60000);
	if (mig_state_exec(st, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err_r) == -1)
		goto fail;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q,
	    NULL) != SQLITE_OK) {
		mig_state_error(st, path, err_r);
		goto fail;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	nsteps = (int)(sizeof(mig_state_schema) / sizeof(mig_state_schema[0]));
	if (version > nsteps) {
		*err_r = xasprintf("%s: made by a newer syncmigrate (schema"
		    " %d, this one knows %d)", path, version, nsteps);
		goto fail;
	}
	for (i = version; i < nsteps; i++) {
		sql = xasprintf("BEGIN; %s PRAGMA user_version=%d; COMMIT;",
		    mig_state_schema[i], i + 1);
		if (mig_state_exec(st, sql, err_r) == -1) {
			free(sql);
			goto fail;
		}
		free(sql);
	}
	return st;
fail:
	mig_state_close(&st);
	return NULL;
}

void
mig_state_close(struct mig_state **stp)
{
	struct mig_state *st = *stp;

	*stp = NULL;
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st);
}

/* A writer from the start: no lock upgrade to deadlock on. */
int
mig_state_begin(struct mig_state *st, char **err_r)
{
	return mig_state_exec(st, "BEGIN IMMEDIATE", err_r);
}

void
mig_state_rollback(struct mig_state *st)
{
	char *err = NULL;

	if (mig_state_exec(st, "ROLLBACK", &err) == -1)
		free(err);
}

int
mig_state_commit(struct mig_state *st, char **err_r)
{
	return mig_state_exec(st, "COMMIT", err_r);
}

/* Run a one-shot statement with the given bindings ("t" text, "i" int). */
static int
mig_state_run(struct mig_state *st, const char *sql, const char *types,
    char **err_r, ...)
{
	sqlite3_stmt *q;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return mig_state_error(st, sql, err_r);
	va_start(ap, err_r);
	for (i = 0; types[i] != '\0'; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(q, i + 1, va_arg(ap, const char *),
			    -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(q, i + 1, va_arg(ap, long long));
	}
	va_end(ap);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return mig_state_error(st, sql, err_r);
	return 0;
}

int
mig_state_folder(struct mig_state *st, const char *account,
    const char *old_name, const char *new_name, uint32_t old_uidvalidity,
    uint32_t new_uidvalidity, struct mig_folder *f, char **err_r)
{
	sqlite3_stmt *q;
	int found = 0;

	memset(f, 0, sizeof(*f));
	if (sqlite3_prepare_v2(st->db, "SELECT id, old_uidvalidity,"
	    " new_uidvalidity, old_modseq, old_exists FROM folder"
	    " WHERE account = ? AND old_name = ?", -1, &q, NULL) != SQLITE_OK)
		return mig_state_error(st, "folder", err_r);
	sqlite3_bind_text(q, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, old_name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		found = 1;
		f->id = sqlite3_column_int64(q, 0);
		f->old_uidvalidity = (uint32_t)sqlite3_column_int64(q, 1);
		f->new_uidvalidity = (uint32_t)sqlite3_column_int64(q, 2);
		f->old_modseq = (uint64_t)sqlite3_column_int64(q, 3);
		f->old_exists = (uint32_t)sqlite3_column_int64(q, 4);
	}
	sqlite3_finalize(q);
	if (found && f->old_uidvalidity == old_uidvalidity &&
	    f->new_uidvalidity == new_uidvalidity)
		return 0;
	if (found) {
		/* RFC 3501 section 2.3.1.1: the old UIDs are void. */
		if (mig_state_run(st, "DELETE FROM message WHERE folder = ?",
		    "i", err_r, (long long)f->id) == -1 ||
		    mig_state_run(st, "UPDATE folder SET old_uidvalidity = ?,"
		    " new_uidvalidity = ?, new_name = ?, old_modseq = 0,"
		    " old_exists = 0 WHERE id = ?", "iiti",
		    err_r, (long long)old_uidvalidity,
		    (long long)new_uidvalidity, new_name, (long long)f->id) ==
		    -1)
			return -1;
	} else {
		if (mig_state_run(st, "INSERT INTO folder (account, old_name,"
		    " new_name, old_uidvalidity, new_uidvalidity) VALUES (?,"
		    " ?, ?, ?, ?)", "tttii", err_r, account, old_name,
		    new_name, (long long)old_uidvalidity,
		    (long long)new_uidvalidity) == -1)
			return -1;
		f->id = sqlite3_last_insert_rowid(st->db);
	}
	f->old_uidvalidity = old_uidvalidity;
	f->new_uidvalidity = new_uidvalidity;
	f->old_modseq = 0;
	f->old_exists = 0;
	return 0;
}

int
mig_state_synced(struct mig_state *st, int64_t folder, uint64_t old_modseq,
    uint32_t old_exists, char **err_r)
{
	return mig_state_run(st, "UPDATE folder SET old_modseq = ?,"
	    " old_exists = ? WHERE id = ?", "iii", err_r,
	    (long long)old_modseq, (long long)old_exists, (long long)folder);
}

int
mig_state_copied(struct mig_state *st, int64_t folder,
    struct mig_copied **out, size_t *n, char **err_r)
{
	sqlite3_stmt *q;
	struct mig_copied *v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT old_uid, new_uid, flags FROM"
	    " message WHERE folder = ? ORDER BY old_uid", -1, &q, NULL) !=
	    SQLITE_OK)
		return mig_state_error(st, "messages", err_r);
	sqlite3_bind_int64(q, 1, folder);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[*n].old_uid = (uint32_t)sqlite3_column_int64(q, 0);
		v[*n].new_uid = (uint32_t)sqlite3_column_int64(q, 1);
		v[*n].flags = xstrdup((const char *)sqlite3_column_text(q, 2));
		(*n)++;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		mig_state_copied_free(v, *n);
		*n = 0;
		return mig_state_error(st, "messages", err_r);
	}
	*out = v;
	return 0;
}

void
mig_state_copied_free(struct mig_copied *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].flags);
	free(v);
}

int
mig_state_put(struct mig_state *st, int64_t folder, uint32_t old_uid,
    uint32_t new_uid, const char *flags, char **err_r)
{
	return mig_state_run(st, "INSERT OR REPLACE INTO message (folder,"
	    " old_uid, new_uid, flags) VALUES (?, ?, ?, ?)", "iiit", err_r,
	    (long long)folder, (long long)old_uid, (long long)new_uid, flags);
}

int
mig_state_forget(struct mig_state *st, int64_t folder, uint32_t old_uid,
    char **err_r)
{
	return mig_state_run(st, "DELETE FROM message WHERE folder = ? AND"
	    " old_uid = ?", "ii", err_r, (long long)folder,
	    (long long)old_uid);
}

int
mig_state_account(struct mig_state *st, const char *account, int done,
    long long bytes, double seconds, char **err_r)
{
	long long now = (long long)time(NULL);

	if (!done)
		return mig_state_run(st, "INSERT INTO account (name, started)"
		    " VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET started"
		    " = excluded.started", "ti", err_r, account, now);
	/* Seconds in milliseconds: the binding takes integers. */
	return mig_state_run(st, "UPDATE account SET finished = ?, messages"
	    " = (SELECT count(*) FROM message JOIN folder ON folder = id"
	    " WHERE folder.account = ?), bytes = bytes + ?, seconds ="
	    " seconds + ? / 1000.0 WHERE name = ?", "itiit", err_r, now,
	    account, bytes, (long long)(seconds * 1000), account);
}

int
mig_state_size(struct mig_state *st, const char *account, long long size,
    char **err_r)
{
	return mig_state_run(st, "INSERT INTO account (name, size) VALUES"
	    " (?, ?) ON CONFLICT (name) DO UPDATE SET size = excluded.size",
	    "ti", err_r, account, size);
}

int
mig_state_final(struct mig_state *st, const char *account, char **err_r)
{
	return mig_state_run(st, "UPDATE account SET final = ? WHERE name"
	    " = ?", "it", err_r, (long long)time(NULL), account);
}

double
mig_state_rate(struct mig_state *st)
{
	sqlite3_stmt *q;
	double rate = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT sum(bytes) / sum(seconds)"
	    " FROM account WHERE seconds > 1", -1, &q, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(q) == SQLITE_ROW)
		rate = sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	return rate;
}

static void
mig_state_time(char *buf, size_t size, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
mig_state_print(struct mig_state *st, const struct mig_conf *conf,
    char **err_r)
{
	const struct mig_account *a;
	sqlite3_stmt *q;
	char started[32], finished[48];
	const char *state;

	if (sqlite3_prepare_v2(st->db, "SELECT started, finished, messages,"
	    " bytes, final FROM account WHERE name = ? AND started IS NOT"
	    " NULL", -1, &q, NULL) != SQLITE_OK)
		return mig_state_error(st, "accounts", err_r);
	printf("%-24s %-12s %10s %12s  %s\n", "account", "state", "messages",
	    "bytes", "last synced");
	TAILQ_FOREACH(a, &conf->accounts, entry) {
		sqlite3_reset(q);
		sqlite3_bind_text(q, 1, a->name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW) {
			printf("%-24s %-12s %10s %12s  %s\n", a->name,
			    "not started", "-", "-", "-");
			continue;
		}
		mig_state_time(started, sizeof(started),
		    sqlite3_column_int64(q, 0));
		if (sqlite3_column_type(q, 1) == SQLITE_NULL ||
		    sqlite3_column_int64(q, 1) < sqlite3_column_int64(q, 0)) {
			state = "in progress";
			snprintf(finished, sizeof(finished), "(started %s)",
			    started);
		} else {
			state = sqlite3_column_type(q, 4) != SQLITE_NULL ?
			    "final" : "synced";
			mig_state_time(finished, sizeof(finished),
			    sqlite3_column_int64(q, 1));
		}
		printf("%-24s %-12s %10lld %12lld  %s\n", a->name, state,
		    (long long)sqlite3_column_int64(q, 2),
		    (long long)sqlite3_column_int64(q, 3), finished);
	}
	sqlite3_finalize(q);
	return 0;
}
