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
 * The SQLite index of pv-storaged: the schema and its version, the node
 * id, blobs, entries and tombstones, usage, batches for the scrub, and a
 * rolled-back transaction leaving nothing.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "storaged.h"

#define ID_ONES		"1111111111111111111111111111111111111111111111111111111111111111"
#define ID_TWOS		"2222222222222222222222222222222222222222222222222222222222222222"
#define ID_THREES	"3333333333333333333333333333333333333333333333333333333333333333"

static char	 dir[64];		/* /tmp/check_index.XXXXXX */
static sqlite3	*db;

static const char *
db_path(void)
{
	static char	path[sizeof(dir) + 8];

	snprintf(path, sizeof(path), "%s/pv.db", dir);
	return (path);
}

static void
setup(void)
{
	strlcpy(dir, "/tmp/check_index.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(index_open(&db, db_path()), 0);
}

static void
teardown(void)
{
	char	cmd[sizeof(dir) + 16];

	index_close(db);
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
mkblob(struct index_blob *b, char c, uint64_t size)
{
	memset(b, 0, sizeof(*b));
	memset(b->id, c, PVD_ID_HEXLEN - 1);
	memset(b->file, c == 'a' ? 'f' : 'e', PVD_ID_HEXLEN - 1);
	b->file[0] = c;
	b->size = size;
	b->disk_size = size + 104;
	b->state = BLOB_OK;
}

static void
mkentry(struct index_entry *e, const char *name, const char *id,
    uint64_t size, int64_t hlc)
{
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	strlcpy(e->id, id, sizeof(e->id));
	e->size = size;
	e->hlc = hlc;
	strlcpy(e->origin, "00112233445566778899aabbccddeeff",
	    sizeof(e->origin));
	e->mtime = 1700000000;
}

START_TEST(test_schema_version)
{
	sqlite3_stmt	*st;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);

	/* opening again migrates nothing and keeps the data */
	ck_assert_int_eq(index_meta_set(db, "k", "v"), 0);
	index_close(db);
	ck_assert_int_eq(index_open(&db, db_path()), 0);
	{
		char	buf[8];

		ck_assert_int_eq(index_meta_get(db, "k", buf, sizeof(buf)), 1);
		ck_assert_str_eq(buf, "v");
	}
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	index_close(db);
	ck_assert_int_eq(index_open(&db, db_path()), -1);
}
END_TEST

START_TEST(test_node_id)
{
	const char	*id;

	id = index_node_id(db, "0123456789abcdef0123456789abcdef");
	ck_assert_ptr_nonnull(id);
	ck_assert_str_eq(id, "0123456789abcdef0123456789abcdef");
	/* the first node id stays: another marker does not replace it */
	id = index_node_id(db, "ffffffffffffffffffffffffffffffff");
	ck_assert_ptr_nonnull(id);
	ck_assert_str_eq(id, "0123456789abcdef0123456789abcdef");
}
END_TEST

START_TEST(test_meta_missing)
{
	char	buf[16];

	ck_assert_int_eq(index_meta_get(db, "nothing", buf, sizeof(buf)), 0);
	ck_assert_int_eq(index_meta_set(db, "quota", "1048576"), 0);
	ck_assert_int_eq(index_meta_set(db, "quota", "2097152"), 0);
	ck_assert_int_eq(index_meta_get(db, "quota", buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "2097152");
}
END_TEST

START_TEST(test_blobs)
{
	struct index_blob	a, b, got;
	uint64_t		used, files;

	mkblob(&a, 'a', 1000);
	mkblob(&b, 'b', 5);
	ck_assert_int_eq(index_blob_get(db, a.id, &got), 0);
	ck_assert_int_eq(index_blob_add(db, &a), 0);
	ck_assert_int_eq(index_blob_add(db, &b), 0);
	ck_assert_int_eq(index_blob_get(db, a.id, &got), 1);
	ck_assert_str_eq(got.file, a.file);
	ck_assert_uint_eq(got.size, 1000);
	ck_assert_uint_eq(got.disk_size, 1104);
	ck_assert_int_eq(got.state, BLOB_OK);
	ck_assert_int_eq(index_blob_file_known(db, a.file), 1);
	ck_assert_int_eq(index_blob_file_known(db, "nope"), 0);

	ck_assert_int_eq(index_usage(db, &used, &files), 0);
	ck_assert_uint_eq(used, 1104 + 109);
	ck_assert_uint_eq(files, 0);

	ck_assert_int_eq(index_blob_set_state(db, a.id, BLOB_DAMAGED), 0);
	ck_assert_int_eq(index_blob_get(db, a.id, &got), 1);
	ck_assert_int_eq(got.state, BLOB_DAMAGED);

	ck_assert_int_eq(index_blob_remove(db, b.id), 0);
	ck_assert_int_eq(index_blob_get(db, b.id, &got), 0);
	ck_assert_int_eq(index_usage(db, &used, &files), 0);
	ck_assert_uint_eq(used, 1104);
}
END_TEST

START_TEST(test_entries_and_tombstones)
{
	struct index_blob	a;
	struct index_entry	e, got;
	uint64_t		used, files;

	mkblob(&a, 'a', 10);
	ck_assert_int_eq(index_blob_add(db, &a), 0);
	ck_assert_int_eq(index_blob_referenced(db, a.id), 0);

	mkentry(&e, "dir/x", a.id, 10, 100);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "y", a.id, 10, 101);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_blob_referenced(db, a.id), 1);
	ck_assert_int_eq(index_usage(db, &used, &files), 0);
	ck_assert_uint_eq(files, 2);

	ck_assert_int_eq(index_entry_get(db, "dir/x", &got), 1);
	ck_assert_str_eq(got.id, a.id);
	ck_assert_int_eq(got.hlc, 100);
	ck_assert_str_eq(got.origin, "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(index_entry_get(db, "dir/none", &got), 0);

	/* a tombstone: the name stays known, with no id */
	mkentry(&e, "dir/x", "", 0, 200);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_entry_get(db, "dir/x", &got), 1);
	ck_assert_str_eq(got.id, "");
	ck_assert_int_eq(got.hlc, 200);
	ck_assert_int_eq(index_blob_referenced(db, a.id), 1);
	mkentry(&e, "y", "", 0, 201);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_blob_referenced(db, a.id), 0);
	ck_assert_int_eq(index_usage(db, &used, &files), 0);
	ck_assert_uint_eq(files, 0);
}
END_TEST

static int
walk_collect(const struct index_entry *e, void *arg)
{
	char	*out = arg;

	strlcat(out, e->name, 256);
	strlcat(out, ",", 256);
	return (0);
}

static int
walk_stop(const struct index_entry *e, void *arg)
{
	(*(int *)arg)++;
	return (-1);
}

START_TEST(test_walk)
{
	struct index_entry	e;
	char			out[256] = "";
	int			n = 0;

	mkentry(&e, "b", ID_ONES, 1, 1);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "a", ID_TWOS, 1, 2);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "gone", "", 0, 3);
	ck_assert_int_eq(index_entry_put(db, &e), 0);

	/* live entries only, in name order */
	ck_assert_int_eq(index_entry_walk(db, walk_collect, out), 0);
	ck_assert_str_eq(out, "a,b,");
	ck_assert_int_eq(index_entry_walk(db, walk_stop, &n), 0);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* In a walk's callback: the same walk again, and a lookup of the name. */
static int
walk_nested(const struct index_entry *e, void *arg)
{
	struct index_entry	 got;
	char			 inner[256] = "";
	int			*n = arg;

	ck_assert_int_eq(index_entry_walk(db, walk_collect, inner), 0);
	ck_assert_str_eq(inner, "a,b,");
	ck_assert_int_eq(index_entry_get(db, e->name, &got), 1);
	ck_assert_str_eq(got.name, e->name);
	(*n)++;
	return (0);
}

/*
 * The index keeps its statements prepared: one stopped part way, one
 * in use by a walk whose callback runs it again, and one of another
 * database all give what a fresh statement would.
 */
START_TEST(test_statement_reuse)
{
	struct index_entry	 e;
	struct index_blob	 b;
	sqlite3			*db2;
	char			 out[256] = "", path[sizeof(dir) + 8];
	int			 i, n = 0;

	mkentry(&e, "b", ID_ONES, 1, 1);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "a", ID_TWOS, 1, 2);
	ck_assert_int_eq(index_entry_put(db, &e), 0);

	ck_assert_int_eq(index_entry_walk(db, walk_stop, &n), 0);
	ck_assert_int_eq(index_entry_walk(db, walk_collect, out), 0);
	ck_assert_str_eq(out, "a,b,");
	n = 0;
	ck_assert_int_eq(index_entry_walk(db, walk_nested, &n), 0);
	ck_assert_int_eq(n, 2);

	/* a second index, used and closed between uses of the first */
	snprintf(path, sizeof(path), "%s/pv2.db", dir);
	ck_assert_int_eq(index_open(&db2, path), 0);
	ck_assert_int_eq(index_entry_get(db2, "a", &e), 0);
	mkblob(&b, 'c', 3);
	ck_assert_int_eq(index_blob_add(db2, &b), 0);
	index_close(db2);
	ck_assert_int_eq(index_entry_get(db, "a", &e), 1);
	ck_assert_int_eq(index_blob_get(db, b.id, &b), 0);

	/* many runs of one statement, with and without a transaction */
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(index_begin(db), 0);
		mkentry(&e, "a", ID_TWOS, i, 10 + i);
		ck_assert_int_eq(index_entry_put(db, &e), 0);
		ck_assert_int_eq(index_commit(db), 0);
	}
	ck_assert_int_eq(index_entry_get(db, "a", &e), 1);
	ck_assert_uint_eq(e.size, 999);
}
END_TEST

START_TEST(test_batches)
{
	struct index_blob	b, batch[4];
	char			cursor[PVD_ID_HEXLEN] = "";
	int			i, n, total = 0;

	for (i = 0; i < 10; i++) {
		mkblob(&b, "0123456789"[i], i);
		ck_assert_int_eq(index_blob_add(db, &b), 0);
	}
	while ((n = index_blob_batch(db, cursor, batch, 4)) > 0) {
		ck_assert_int_le(n, 4);
		for (i = 0; i < n; i++)
			ck_assert_str_gt(batch[i].id, cursor);
		strlcpy(cursor, batch[n - 1].id, sizeof(cursor));
		total += n;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(total, 10);
}
END_TEST

START_TEST(test_rollback)
{
	struct index_blob	a, got;

	mkblob(&a, 'a', 10);
	ck_assert_int_eq(index_begin(db), 0);
	ck_assert_int_eq(index_blob_add(db, &a), 0);
	index_rollback(db);
	ck_assert_int_eq(index_blob_get(db, a.id, &got), 0);
	/* a rollback outside a transaction does nothing */
	index_rollback(db);
	ck_assert_int_eq(index_begin(db), 0);
	ck_assert_int_eq(index_blob_add(db, &a), 0);
	ck_assert_int_eq(index_commit(db), 0);
	ck_assert_int_eq(index_blob_get(db, a.id, &got), 1);
}
END_TEST

START_TEST(test_hostile_names)
{
	struct index_entry	e, got;
	const char		*names[] = {
		"'; DROP TABLE entries; --",
		"a\"b",
		"\xc3\xa9t\xc3\xa9/r\xc3\xa9sum\xc3\xa9.pdf",
	};
	size_t			i;
	char			name[PVD_NAME_MAX + 1];

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		mkentry(&e, names[i], ID_THREES, 1, 1);
		ck_assert_int_eq(index_entry_put(db, &e), 0);
		ck_assert_int_eq(index_entry_get(db, names[i], &got), 1);
		ck_assert_str_eq(got.name, names[i]);
	}
	memset(name, 'n', PVD_NAME_MAX);
	name[PVD_NAME_MAX] = '\0';
	mkentry(&e, name, "", 0, 1);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_entry_get(db, name, &got), 1);
	ck_assert_uint_eq(strlen(got.name), PVD_NAME_MAX);
}
END_TEST

static Suite *
index_suite(void)
{
	Suite	*s = suite_create("index");
	TCase	*tc = tcase_create("index");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schema_version);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_node_id);
	tcase_add_test(tc, test_meta_missing);
	tcase_add_test(tc, test_blobs);
	tcase_add_test(tc, test_entries_and_tombstones);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_statement_reuse);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_rollback);
	tcase_add_test(tc, test_hostile_names);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(index_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
