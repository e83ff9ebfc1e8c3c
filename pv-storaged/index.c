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
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "storaged.h"

#define INDEX_VERSION	1

static const char *const index_migrations[INDEX_VERSION] = {
	/* 0 -> 1: the node the index belongs to */
	"CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL) WITHOUT ROWID;",
};

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
	if (db != NULL)
		sqlite3_close(db);
}
