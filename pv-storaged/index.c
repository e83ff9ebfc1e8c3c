/*
 * Copyright (c) 2026 The PeerVault developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The SQLite index, pv.db, in WAL mode.  Its schema version lives in
 * PRAGMA user_version; each migration moves it up by one, inside one
 * transaction.
 */

#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "repl.h"
#include "storaged.h"

#define INDEX_VERSION	3

static const char *const index_migrations[INDEX_VERSION] = {
	/* 0 -> 1: the node the index belongs to */
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL) WITHOUT ROWID;",
	/*
	 * 1 -> 2: blobs on this disk, and the entries naming them.  An
	 * entry with a NULL id is a tombstone.  Entries do not reference
	 * blobs: a replicated entry may arrive before its blob.
	 */
	"CREATE TABLE blobs (id TEXT PRIMARY KEY NOT NULL,"
	" file TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" disk_size INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
	" added INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE entries (name TEXT PRIMARY KEY NOT NULL, id TEXT,"
	" size INTEGER NOT NULL, hlc INTEGER NOT NULL,"
	" origin TEXT NOT NULL, mtime INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX entries_by_id ON entries (id);",
	/* 2 -> 3: which other nodes hold a verified copy of a blob */
	"CREATE TABLE holders (id TEXT NOT NULL, node TEXT NOT NULL,"
	" PRIMARY KEY (id, node)) WITHOUT ROWID;",
};

/*
 * Prepared statements, kept for reuse: the index runs the same few
 * statements for every file, and preparing one costs more than running
 * it.  A statement is keyed by its SQL text (the caller's literal) and
 * is lent to one caller at a time; a walk that runs the same statement
 * from its callback gets one of its own, prepared and finalized as
 * before.
 */
#define INDEX_STMT_CACHE	48

static struct index_stmt {
	sqlite3		*db;
	const char	*sql;
	sqlite3_stmt	*st;
	int		 lent;
} index_stmts[INDEX_STMT_CACHE];

static sqlite3_stmt *
index_cached(sqlite3 *db, const char *sql)
{
	struct index_stmt	*c, *empty = NULL;
	sqlite3_stmt		*st;
	size_t			 i;

	for (i = 0; i < INDEX_STMT_CACHE; i++) {
		c = &index_stmts[i];
		if (c->st == NULL) {
			if (empty == NULL)
				empty = c;
			continue;
		}
		if (c->db == db && c->sql == sql && !c->lent) {
			c->lent = 1;
			return (c->st);
		}
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("index: %s", sqlite3_errmsg(db));
		return (NULL);
	}
	if (empty != NULL) {
		empty->db = db;
		empty->sql = sql;
		empty->st = st;
		empty->lent = 1;
	}
	return (st);
}

/* Give back a statement of index_prepare(), ready for its next use. */
static void
index_release(sqlite3_stmt *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < INDEX_STMT_CACHE; i++)
		if (index_stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			index_stmts[i].lent = 0;
			return;
		}
	sqlite3_finalize(st);
}

/* Finalize the kept statements of db, before it is closed. */
static void
index_release_all(sqlite3 *db)
{
	size_t	i;

	for (i = 0; i < INDEX_STMT_CACHE; i++)
		if (index_stmts[i].st != NULL && index_stmts[i].db == db) {
			sqlite3_finalize(index_stmts[i].st);
			memset(&index_stmts[i], 0, sizeof(index_stmts[i]));
		}
}

static int
index_exec(sqlite3 *db, const char *sql)
{
	char	*errmsg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
		log_warnx("index: %s", errmsg ? errmsg : sqlite3_errmsg(db));
		sqlite3_free(errmsg);
		return (-1);
	}
	return (0);
}

static int
index_user_version(sqlite3 *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return (v);
}

static int
index_migrate(sqlite3 *db)
{
	char	sql[64];
	int	v;

	if ((v = index_user_version(db)) == -1)
		return (-1);
	if (v > INDEX_VERSION) {
		log_warnx("index: schema version %d is newer than this "
		    "pv-storaged (%d)", v, INDEX_VERSION);
		return (-1);
	}
	for (; v < INDEX_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
		if (index_exec(db, "BEGIN IMMEDIATE;") == -1)
			return (-1);
		if (index_exec(db, index_migrations[v]) == -1 ||
		    index_exec(db, sql) == -1) {
			index_exec(db, "ROLLBACK;");
			return (-1);
		}
		if (index_exec(db, "COMMIT;") == -1)
			return (-1);
		log_info("index: schema upgraded to version %d", v + 1);
	}
	return (0);
}

int
index_open(sqlite3 **dbp, const char *path)
{
	if (sqlite3_open_v2(path, dbp, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		return (-1);
	sqlite3_busy_timeout(*dbp, 5000);
	if (index_exec(*dbp, "PRAGMA journal_mode = WAL;") == -1 ||
	    index_exec(*dbp, "PRAGMA synchronous = FULL;") == -1 ||
	    index_exec(*dbp, "PRAGMA foreign_keys = ON;") == -1 ||
	    index_migrate(*dbp) == -1)
		return (-1);
	return (0);
}

/*
 * The node the index belongs to; a new index takes the given one.
 * Returns a pointer valid until the next call, or NULL on error.
 */
const char *
index_node_id(sqlite3 *db, const char *marker_id)
{
	static char	 id[PVD_NODEID_HEXLEN];
	sqlite3_stmt	*st;
	const char	*v;
	int		 rc;

	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO meta (key, value) "
	    "VALUES ('node_id', ?1)", -1, &st, NULL) != SQLITE_OK)
		return (NULL);
	sqlite3_bind_text(st, 1, marker_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (NULL);

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = "
	    "'node_id'", -1, &st, NULL) != SQLITE_OK)
		return (NULL);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (v = (const char *)sqlite3_column_text(st, 0)) == NULL) {
		sqlite3_finalize(st);
		return (NULL);
	}
	strlcpy(id, v, sizeof(id));
	sqlite3_finalize(st);
	return (id);
}

void
index_close(sqlite3 *db)
{
	if (db != NULL) {
		index_release_all(db);
		sqlite3_close(db);
	}
}

/* One statement, prepared and bound from a format of 't'ext, 'i'nt64. */
static sqlite3_stmt *
index_prepare(sqlite3 *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	const char	*s;
	int		 i, rc = SQLITE_OK;

	if ((st = index_cached(db, sql)) == NULL)
		return (NULL);
	va_start(ap, fmt);
	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 't':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, s, -1, SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		log_warnx("index: bind: %s", sqlite3_errmsg(db));
		index_release(st);
		return (NULL);
	}
	return (st);
}

/* Run a statement that returns no row. */
static int
index_done(sqlite3 *db, sqlite3_stmt *st)
{
	int	rc;

	if (st == NULL)
		return (-1);
	rc = sqlite3_step(st);
	index_release(st);
	if (rc != SQLITE_DONE) {
		log_warnx("index: %s", sqlite3_errmsg(db));
		return (-1);
	}
	return (0);
}

static void
index_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const char	*s = (const char *)sqlite3_column_text(st, col);

	strlcpy(buf, s ? s : "", len);
}

int
index_begin(sqlite3 *db)
{
	return (index_done(db, index_prepare(db, "BEGIN IMMEDIATE", "")));
}

int
index_commit(sqlite3 *db)
{
	return (index_done(db, index_prepare(db, "COMMIT", "")));
}

void
index_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		index_exec(db, "ROLLBACK;");
}

int
index_meta_get(sqlite3 *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT value FROM meta WHERE key = ?1",
	    "t", key)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		index_text(st, 0, buf, len);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

int
index_meta_set(sqlite3 *db, const char *key, const char *value)
{
	return (index_done(db, index_prepare(db, "INSERT OR REPLACE INTO "
	    "meta (key, value) VALUES (?1, ?2)", "tt", key, value)));
}

static void
index_blob_row(sqlite3_stmt *st, struct index_blob *b)
{
	index_text(st, 0, b->id, sizeof(b->id));
	index_text(st, 1, b->file, sizeof(b->file));
	b->size = sqlite3_column_int64(st, 2);
	b->disk_size = sqlite3_column_int64(st, 3);
	b->state = sqlite3_column_int(st, 4);
}

#define BLOB_COLUMNS	"id, file, size, disk_size, state"

/* 1: found, 0: not there, -1: error. */
int
index_blob_get(sqlite3 *db, const char *id, struct index_blob *b)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT " BLOB_COLUMNS " FROM blobs "
	    "WHERE id = ?1", "t", id)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		index_blob_row(st, b);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

int
index_blob_add(sqlite3 *db, const struct index_blob *b)
{
	return (index_done(db, index_prepare(db, "INSERT OR REPLACE INTO "
	    "blobs (id, file, size, disk_size, state, added) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6)", "ttiiii", b->id, b->file,
	    (int64_t)b->size, (int64_t)b->disk_size, (int64_t)b->state,
	    (int64_t)time(NULL))));
}

int
index_blob_set_state(sqlite3 *db, const char *id, int state)
{
	return (index_done(db, index_prepare(db, "UPDATE blobs SET state = "
	    "?2 WHERE id = ?1", "ti", id, (int64_t)state)));
}

int
index_blob_remove(sqlite3 *db, const char *id)
{
	return (index_done(db, index_prepare(db, "DELETE FROM blobs WHERE "
	    "id = ?1", "t", id)));
}

/* Is file (a name under blobs/) one the index knows?  1, 0 or -1. */
int
index_blob_file_known(sqlite3 *db, const char *file)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT 1 FROM blobs WHERE file = ?1",
	    "t", file)) == NULL)
		return (-1);
	rc = sqlite3_step(st);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/*
 * Up to limit blobs after id `after' (in id order), for work in bounded
 * batches.  Returns how many were stored in out, or -1.
 */
int
index_blob_batch(sqlite3 *db, const char *after, struct index_blob *out,
    int limit)
{
	sqlite3_stmt	*st;
	int		 n = 0, rc;

	if ((st = index_prepare(db, "SELECT " BLOB_COLUMNS " FROM blobs "
	    "WHERE id > ?1 ORDER BY id LIMIT ?2", "ti", after,
	    (int64_t)limit)) == NULL)
		return (-1);
	while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		index_blob_row(st, &out[n++]);
	index_release(st);
	return (n);
}

/* Is any live entry naming blob id?  1, 0 or -1. */
int
index_blob_referenced(sqlite3 *db, const char *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT 1 FROM entries WHERE id = ?1 "
	    "LIMIT 1", "t", id)) == NULL)
		return (-1);
	rc = sqlite3_step(st);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* Bytes the blobs take on disk, and how many live entries there are. */
int
index_usage(sqlite3 *db, uint64_t *used, uint64_t *files)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT (SELECT COALESCE(SUM(disk_size), "
	    "0) FROM blobs), (SELECT COUNT(*) FROM entries WHERE id IS NOT "
	    "NULL)", "")) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*used = sqlite3_column_int64(st, 0);
		*files = sqlite3_column_int64(st, 1);
	}
	index_release(st);
	return (rc == SQLITE_ROW ? 0 : -1);
}

static void
index_entry_row(sqlite3_stmt *st, struct index_entry *e)
{
	index_text(st, 0, e->name, sizeof(e->name));
	index_text(st, 1, e->id, sizeof(e->id));
	e->size = sqlite3_column_int64(st, 2);
	e->hlc = sqlite3_column_int64(st, 3);
	index_text(st, 4, e->origin, sizeof(e->origin));
	e->mtime = sqlite3_column_int64(st, 5);
}

#define ENTRY_COLUMNS	"name, id, size, hlc, origin, mtime"

/* The entry of name, tombstones included (id ""): 1, 0 or -1. */
int
index_entry_get(sqlite3 *db, const char *name, struct index_entry *e)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT " ENTRY_COLUMNS " FROM entries "
	    "WHERE name = ?1", "t", name)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		index_entry_row(st, e);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

int
index_entry_put(sqlite3 *db, const struct index_entry *e)
{
	return (index_done(db, index_prepare(db, "INSERT OR REPLACE INTO "
	    "entries (" ENTRY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    "ttiiti", e->name, e->id[0] != '\0' ? e->id : NULL,
	    (int64_t)e->size, e->hlc, e->origin, e->mtime)));
}

static int
index_entry_walk_where(sqlite3 *db, const char *sql,
    int (*cb)(const struct index_entry *, void *), void *arg)
{
	struct index_entry	 e;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = index_prepare(db, sql, "")) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		index_entry_row(st, &e);
		if (cb(&e, arg) == -1)
			break;
	}
	index_release(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1);
}

/* Every live entry in name order; cb returning -1 stops the walk. */
int
index_entry_walk(sqlite3 *db, int (*cb)(const struct index_entry *, void *),
    void *arg)
{
	return (index_entry_walk_where(db, "SELECT " ENTRY_COLUMNS " FROM "
	    "entries WHERE id IS NOT NULL ORDER BY name", cb, arg));
}

/* Every entry, tombstones too, in name order. */
int
index_entry_walk_all(sqlite3 *db,
    int (*cb)(const struct index_entry *, void *), void *arg)
{
	return (index_entry_walk_where(db, "SELECT " ENTRY_COLUMNS " FROM "
	    "entries ORDER BY name", cb, arg));
}

/*
 * Up to limit entries, tombstones too, with names after `after' in name
 * order.  Returns how many were stored in out, or -1.
 */
int
index_entry_batch(sqlite3 *db, const char *after, struct index_entry *out,
    int limit)
{
	sqlite3_stmt	*st;
	int		 n = 0, rc = SQLITE_DONE;

	if ((st = index_prepare(db, "SELECT " ENTRY_COLUMNS " FROM entries "
	    "WHERE name > ?1 ORDER BY name LIMIT ?2", "ti", after,
	    (int64_t)limit)) == NULL)
		return (-1);
	while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		index_entry_row(st, &out[n++]);
	index_release(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1);
}

/*
 * Last writer wins: the larger hlc, then the larger origin (lowercase
 * hex of equal length sorts as the bytes do).  > 0 when a is newer.
 */
int
index_lww_cmp(const struct index_entry *a, const struct index_entry *b)
{
	int	c;

	if (a->hlc != b->hlc)
		return (a->hlc > b->hlc ? 1 : -1);
	c = strcmp(a->origin, b->origin);
	return (c > 0 ? 1 : c < 0 ? -1 : 0);
}

/*
 * Take a version of a name from a peer when it is newer than ours.  A
 * tombstone older than `oldest' (an hlc) is ignored: this node may
 * already have forgotten the delete, and must not learn it again.
 * Returns 1 when e was written, with the id the replaced version named
 * (or "") in oldid; 0 when it was not newer; -1 on error.
 */
int
index_merge(sqlite3 *db, const struct index_entry *e, int64_t oldest,
    char *oldid, size_t len)
{
	struct index_entry	cur;
	int			rc;

	if (len > 0)
		oldid[0] = '\0';
	if (e->id[0] == '\0' && e->hlc < oldest)
		return (0);
	if ((rc = index_entry_get(db, e->name, &cur)) == -1)
		return (-1);
	if (rc == 1 && index_lww_cmp(e, &cur) <= 0)
		return (0);
	if (index_entry_put(db, e) == -1)
		return (-1);
	if (rc == 1)
		strlcpy(oldid, cur.id, len);
	return (1);
}

/* Forget the tombstones older than `oldest' (an hlc); how many, -1. */
int
index_tombstone_purge(sqlite3 *db, int64_t oldest)
{
	if (index_done(db, index_prepare(db, "DELETE FROM entries WHERE "
	    "id IS NULL AND hlc < ?1", "i", oldest)) == -1)
		return (-1);
	return (sqlite3_changes(db));
}

/* An index entry as it travels; -1 if its hex fields are damaged. */
int
index_entry_to_repl(const struct index_entry *e, struct repl_entry *r)
{
	memset(r, 0, sizeof(*r));
	if (strlcpy(r->name, e->name, sizeof(r->name)) >= sizeof(r->name) ||
	    hex_decode(e->origin, r->origin, sizeof(r->origin)) == -1)
		return (-1);
	if (e->id[0] == '\0')
		r->flags = REPL_F_TOMBSTONE;
	else if (hex_decode(e->id, r->id, sizeof(r->id)) == -1)
		return (-1);
	r->size = e->size;
	r->hlc = e->hlc;
	return (0);
}

/*
 * An entry from a peer, checked: a valid name, known flags only, an
 * all-zero id exactly when it is a tombstone, figures that fit the
 * index.  On failure *why says what is wrong.
 */
int
index_entry_from_repl(const struct repl_entry *r, struct index_entry *e,
    const char **why)
{
	static const uint8_t	zero[PVD_ID_LEN];
	int			tomb;

	*why = NULL;
	if (!strbuf_terminated(r->name, sizeof(r->name)) ||
	    !name_valid(r->name, why)) {
		if (*why == NULL)
			*why = "bad name";
		return (-1);
	}
	if ((r->flags & ~(REPL_F_TOMBSTONE | REPL_F_HAVE)) != 0) {
		*why = "unknown flags";
		return (-1);
	}
	tomb = (r->flags & REPL_F_TOMBSTONE) != 0;
	if (tomb != (memcmp(r->id, zero, sizeof(zero)) == 0)) {
		*why = "tombstone flag and id disagree";
		return (-1);
	}
	if (r->hlc > INT64_MAX || r->size > INT64_MAX) {
		*why = "size or clock out of range";
		return (-1);
	}
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, r->name, sizeof(e->name));
	if (!tomb)
		hex_encode(r->id, sizeof(r->id), e->id, sizeof(e->id));
	hex_encode(r->origin, sizeof(r->origin), e->origin,
	    sizeof(e->origin));
	e->size = r->size;
	e->hlc = r->hlc;
	e->mtime = time(NULL);
	return (0);
}

/* Is blob id here and verified?  1, 0 or -1. */
int
index_blob_local(sqlite3 *db, const char *id)
{
	struct index_blob	b;
	int			rc;

	if ((rc = index_blob_get(db, id, &b)) != 1)
		return (rc);
	return (b.state == BLOB_OK);
}

/*
 * Does a live entry name blob id?  1 with its size (plaintext), 0 or
 * -1.
 */
int
index_id_size(sqlite3 *db, const char *id, uint64_t *size)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = index_prepare(db, "SELECT size FROM entries WHERE id = ?1 "
	    "ORDER BY size DESC LIMIT 1", "t", id)) == NULL)
		return (-1);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*size = sqlite3_column_int64(st, 0);
	index_release(st);
	return (rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1);
}

/* Node holds a verified copy of blob id. */
int
index_holder_add(sqlite3 *db, const char *id, const char *node)
{
	return (index_done(db, index_prepare(db, "INSERT OR IGNORE INTO "
	    "holders (id, node) VALUES (?1, ?2)", "tt", id, node)));
}

/* How many nodes other than `self' hold blob id, or -1. */
int
index_holder_count(sqlite3 *db, const char *id, const char *self)
{
	sqlite3_stmt	*st;
	int		 n = -1;

	if ((st = index_prepare(db, "SELECT COUNT(*) FROM holders WHERE "
	    "id = ?1 AND node <> ?2", "tt", id, self)) == NULL)
		return (-1);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	index_release(st);
	return (n);
}

/* Up to max holders of blob id other than `self', in binary; or -1. */
int
index_holders(sqlite3 *db, const char *id, const char *self,
    uint8_t (*out)[PVD_NODEID_LEN], int max)
{
	sqlite3_stmt	*st;
	const char	*node;
	int		 n = 0, rc = SQLITE_DONE;

	if ((st = index_prepare(db, "SELECT node FROM holders WHERE id = ?1 "
	    "AND node <> ?2 ORDER BY node LIMIT ?3", "tti", id, self,
	    (int64_t)max)) == NULL)
		return (-1);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		node = (const char *)sqlite3_column_text(st, 0);
		if (node != NULL &&
		    hex_decode(node, out[n], PVD_NODEID_LEN) == 0)
			n++;
	}
	index_release(st);
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1);
}

/* Forget the holders of blobs no entry names any more; how many, -1. */
int
index_holders_prune(sqlite3 *db)
{
	if (index_done(db, index_prepare(db, "DELETE FROM holders WHERE id "
	    "NOT IN (SELECT id FROM entries WHERE id IS NOT NULL)",
	    "")) == -1)
		return (-1);
	return (sqlite3_changes(db));
}

/*
 * The blobs that live entries name and that are not here verified
 * (missing, or damaged), oldest entry first.  Each takes disk(size)
 * bytes; those that fit in avail, counted in order, are listed in w (up
 * to REPL_WANT_BATCH, with up to REPL_WANT_HOLDERS holders other than
 * `self'), the others are blocked.  Returns 0 or -1.
 */
int
index_wanted(sqlite3 *db, uint64_t avail, uint64_t (*disk)(uint64_t),
    const char *self, struct repl_wanted *w)
{
	struct repl_want	*rw;
	sqlite3_stmt		*st;
	const char		*id;
	uint64_t		 size, need;
	int			 rc, n;

	memset(w, 0, sizeof(*w));
	if ((st = index_prepare(db, "SELECT e.id, MAX(e.size), MIN(e.hlc) "
	    "AS first FROM entries e LEFT JOIN blobs b ON b.id = e.id "
	    "WHERE e.id IS NOT NULL AND (b.id IS NULL OR b.state <> 0) "
	    "GROUP BY e.id ORDER BY first, e.id", "")) == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((id = (const char *)sqlite3_column_text(st, 0)) == NULL)
			continue;
		size = sqlite3_column_int64(st, 1);
		w->pending++;
		need = disk(size);
		if (need == 0 || need > avail) {
			w->blocked++;
			w->blocked_need += need;
			continue;
		}
		avail -= need;
		if (w->nwant == REPL_WANT_BATCH) {
			w->more = 1;
			continue;
		}
		rw = &w->want[w->nwant];
		if (hex_decode(id, rw->id, sizeof(rw->id)) == -1)
			continue;
		rw->size = size;
		if ((n = index_holders(db, id, self, rw->holders,
		    REPL_WANT_HOLDERS)) == -1) {
			index_release(st);
			return (-1);
		}
		rw->nholders = n;
		w->nwant++;
	}
	index_release(st);
	return (rc == SQLITE_DONE ? 0 : -1);
}
