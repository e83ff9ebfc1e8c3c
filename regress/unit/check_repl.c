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
 * Replication's pure logic in pv-storaged: the entry digest and bucket
 * of anti-entropy (known answers), summaries and their differences,
 * last-writer-wins and the merge decision, convergence whatever the
 * order, the checks on entries from peers, holders, the wanted list
 * under a quota, tombstone purge and the index schema version 3.
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
#define NODE_A		"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
#define NODE_B		"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
#define NODE_C		"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"

static char	 dir[64];
static sqlite3	*db, *db2;

static const char *
db_path(const char *name)
{
	static char	path[sizeof(dir) + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (path);
}

static void
setup(void)
{
	strlcpy(dir, "/tmp/check_repl.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(index_open(&db, db_path("a.db")), 0);
	ck_assert_int_eq(index_open(&db2, db_path("b.db")), 0);
}

static void
teardown(void)
{
	char	cmd[sizeof(dir) + 16];

	index_close(db);
	index_close(db2);
	db = db2 = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
mkentry(struct index_entry *e, const char *name, const char *id,
    uint64_t size, int64_t hlc, const char *origin)
{
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	strlcpy(e->id, id, sizeof(e->id));
	e->size = size;
	e->hlc = hlc;
	strlcpy(e->origin, origin, sizeof(e->origin));
	e->mtime = 1700000000;
}

static void
mkblob(struct index_blob *b, const char *id, char f, int state)
{
	memset(b, 0, sizeof(b[0]));
	strlcpy(b->id, id, sizeof(b->id));
	memset(b->file, f, PVD_ID_HEXLEN - 1);
	b->size = 10;
	b->disk_size = 10 + 104;
	b->state = state;
}

/* A disk size as pv-storaged's: header and one tag per 64 KiB. */
static uint64_t
disk_of(uint64_t size)
{
	uint64_t	nseg = size / 65536 + (size % 65536 != 0);

	return (size + 88 + 16 * (nseg == 0 ? 1 : nseg));
}

static int
summary_one(const struct index_entry *e, void *arg)
{
	struct repl_entry	r;

	ck_assert_int_eq(index_entry_to_repl(e, &r), 0);
	repl_summary_add(arg, &r);
	return (0);
}

static void
summarise(sqlite3 *d, struct repl_summary *s)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(index_entry_walk_all(d, summary_one, s), 0);
}

static int
nbits(const struct repl_buckets *bk)
{
	int	i, n = 0;

	for (i = 0; i < REPL_BUCKETS; i++)
		n += repl_bucket_isset(bk, i);
	return (n);
}

START_TEST(test_digest_known)
{
	struct repl_entry	e;
	int			i;

	memset(&e, 0, sizeof(e));
	strlcpy(e.name, "a", sizeof(e.name));
	memset(e.origin, 1, sizeof(e.origin));
	e.hlc = 1;
	e.flags = REPL_F_TOMBSTONE;
	ck_assert_uint_eq(repl_entry_digest(&e), 0x51adea6d37d86f6bULL);

	memset(&e, 0, sizeof(e));
	strlcpy(e.name, "docs/report.pdf", sizeof(e.name));
	for (i = 0; i < PVD_ID_LEN; i++)
		e.id[i] = i;
	for (i = 0; i < PVD_NODEID_LEN; i++)
		e.origin[i] = 16 + i;
	e.size = 123456;
	e.hlc = (1700000000000ULL << 16) | 5;
	ck_assert_uint_eq(repl_entry_digest(&e), 0x2521654a12bc59ffULL);

	/* who sent it, whether it has the blob: not part of the version */
	e.flags = REPL_F_HAVE;
	memset(e.node, 0xee, sizeof(e.node));
	e.except = 7;
	ck_assert_uint_eq(repl_entry_digest(&e), 0x2521654a12bc59ffULL);
	e.size++;
	ck_assert_uint_ne(repl_entry_digest(&e), 0x2521654a12bc59ffULL);
}
END_TEST

START_TEST(test_bucket_known)
{
	ck_assert_int_eq(repl_entry_bucket("hello"), 0x2c);
	ck_assert_int_eq(repl_entry_bucket("docs/report.pdf"), 0x71);
}
END_TEST

START_TEST(test_summary_diff)
{
	struct repl_summary	a, b;
	struct repl_buckets	bk;
	struct repl_entry	e;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&e, 0, sizeof(e));
	strlcpy(e.name, "hello", sizeof(e.name));
	e.hlc = 10;
	repl_summary_add(&a, &e);
	ck_assert_uint_eq(a.count, 1);
	repl_summary_diff(&a, &b, &bk);
	ck_assert_int_eq(nbits(&bk), 1);
	ck_assert_int_eq(repl_bucket_isset(&bk, 0x2c), 1);
	ck_assert_int_eq(repl_bucket_isset(&bk, -1), 0);
	ck_assert_int_eq(repl_bucket_isset(&bk, REPL_BUCKETS), 0);

	/* the same entry on both sides: nothing to exchange */
	repl_summary_add(&b, &e);
	repl_summary_diff(&a, &b, &bk);
	ck_assert_int_eq(nbits(&bk), 0);
}
END_TEST

START_TEST(test_lww)
{
	struct repl_entry	a, b;
	struct index_entry	x, y;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.hlc = 5;
	b.hlc = 4;
	memset(b.origin, 0xff, sizeof(b.origin));
	ck_assert_int_gt(repl_lww_cmp(&a, &b), 0);
	ck_assert_int_lt(repl_lww_cmp(&b, &a), 0);
	b.hlc = 5;
	ck_assert_int_lt(repl_lww_cmp(&a, &b), 0);
	memcpy(a.origin, b.origin, sizeof(a.origin));
	ck_assert_int_eq(repl_lww_cmp(&a, &b), 0);

	mkentry(&x, "n", ID_ONES, 1, 5, NODE_A);
	mkentry(&y, "n", ID_TWOS, 1, 4, NODE_B);
	ck_assert_int_gt(index_lww_cmp(&x, &y), 0);
	y.hlc = 5;
	ck_assert_int_lt(index_lww_cmp(&x, &y), 0);
	ck_assert_int_gt(index_lww_cmp(&y, &x), 0);
	strlcpy(y.origin, NODE_A, sizeof(y.origin));
	ck_assert_int_eq(index_lww_cmp(&x, &y), 0);
}
END_TEST

START_TEST(test_merge_decision)
{
	struct index_entry	e, got;
	char			old[PVD_ID_HEXLEN];

	/* a name never seen */
	mkentry(&e, "f", ID_ONES, 10, 100, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 1);
	ck_assert_str_eq(old, "");

	/* the same version again, and an older one: nothing */
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 0);
	mkentry(&e, "f", ID_TWOS, 10, 99, NODE_C);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 0);
	ck_assert_int_eq(index_entry_get(db, "f", &got), 1);
	ck_assert_str_eq(got.id, ID_ONES);

	/* equal clock: the larger origin wins */
	mkentry(&e, "f", ID_TWOS, 20, 100, NODE_B);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 1);
	ck_assert_str_eq(old, ID_ONES);
	mkentry(&e, "f", ID_THREES, 20, 100, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 0);

	/* a newer tombstone wins, and names the blob to collect */
	mkentry(&e, "f", "", 0, 200, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 1);
	ck_assert_str_eq(old, ID_TWOS);
	ck_assert_int_eq(index_entry_get(db, "f", &got), 1);
	ck_assert_str_eq(got.id, "");
	ck_assert_int_eq(index_blob_referenced(db, ID_TWOS), 0);

	/* a live version older than the delete does not bring it back */
	mkentry(&e, "f", ID_TWOS, 20, 150, NODE_C);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 0);
	mkentry(&e, "f", ID_THREES, 30, 300, NODE_C);
	ck_assert_int_eq(index_merge(db, &e, 0, old, sizeof(old)), 1);
	ck_assert_str_eq(old, "");
}
END_TEST

START_TEST(test_merge_old_tombstone)
{
	struct index_entry	e, got;
	char			old[PVD_ID_HEXLEN];

	/* older than the tombstone lifetime: forgotten, not relearnt */
	mkentry(&e, "gone", "", 0, 100, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 1000, old, sizeof(old)), 0);
	ck_assert_int_eq(index_entry_get(db, "gone", &got), 0);
	/* live entries are not subject to it */
	mkentry(&e, "live", ID_ONES, 1, 100, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 1000, old, sizeof(old)), 1);
	mkentry(&e, "gone", "", 0, 1000, NODE_A);
	ck_assert_int_eq(index_merge(db, &e, 1000, old, sizeof(old)), 1);
}
END_TEST

/* Two nodes merging the same versions in opposite orders agree. */
START_TEST(test_convergence)
{
	struct index_entry	v[6], a, b;
	struct repl_summary	sa, sb;
	struct repl_buckets	bk;
	char			old[PVD_ID_HEXLEN];
	int			i;

	mkentry(&v[0], "x", ID_ONES, 1, 100, NODE_A);
	mkentry(&v[1], "x", ID_TWOS, 2, 100, NODE_B);
	mkentry(&v[2], "x", "", 0, 90, NODE_C);
	mkentry(&v[3], "y", ID_ONES, 1, 50, NODE_A);
	mkentry(&v[4], "y", "", 0, 60, NODE_B);
	mkentry(&v[5], "z", ID_THREES, 3, 70, NODE_C);
	for (i = 0; i < 6; i++)
		ck_assert_int_ne(index_merge(db, &v[i], 0, old, sizeof(old)),
		    -1);
	for (i = 5; i >= 0; i--)
		ck_assert_int_ne(index_merge(db2, &v[i], 0, old, sizeof(old)),
		    -1);
	ck_assert_int_eq(index_entry_get(db, "x", &a), 1);
	ck_assert_int_eq(index_entry_get(db2, "x", &b), 1);
	ck_assert_str_eq(a.id, ID_TWOS);
	ck_assert_str_eq(b.id, ID_TWOS);
	ck_assert_int_eq(index_entry_get(db, "y", &a), 1);
	ck_assert_str_eq(a.id, "");
	summarise(db, &sa);
	summarise(db2, &sb);
	ck_assert_uint_eq(sa.count, 3);
	ck_assert_uint_eq(sb.count, 3);
	repl_summary_diff(&sa, &sb, &bk);
	ck_assert_int_eq(nbits(&bk), 0);

	/* one more version on one side: exactly its bucket differs */
	mkentry(&a, "docs/report.pdf", ID_ONES, 1, 500, NODE_A);
	ck_assert_int_eq(index_merge(db, &a, 0, old, sizeof(old)), 1);
	summarise(db, &sa);
	repl_summary_diff(&sa, &sb, &bk);
	ck_assert_int_eq(nbits(&bk), 1);
	ck_assert_int_eq(repl_bucket_isset(&bk, 0x71), 1);
}
END_TEST

START_TEST(test_entry_checks)
{
	struct repl_entry	r;
	struct index_entry	e, back;
	const char		*why;

	mkentry(&e, "docs/a", ID_ONES, 42, 7, NODE_A);
	ck_assert_int_eq(index_entry_to_repl(&e, &r), 0);
	ck_assert_uint_eq(r.flags, 0);
	ck_assert_uint_eq(r.id[0], 0x11);
	ck_assert_uint_eq(r.origin[0], 0x0a);
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), 0);
	ck_assert_str_eq(back.name, "docs/a");
	ck_assert_str_eq(back.id, ID_ONES);
	ck_assert_str_eq(back.origin, NODE_A);
	ck_assert_uint_eq(back.size, 42);
	ck_assert_int_eq(back.hlc, 7);

	/* HAVE is fine, other bits are not */
	r.flags = REPL_F_HAVE;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), 0);
	r.flags = 0x80;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);
	ck_assert_ptr_nonnull(why);

	/* a tombstone flag must come with a zero id, and the other way */
	r.flags = REPL_F_TOMBSTONE;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);
	memset(r.id, 0, sizeof(r.id));
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), 0);
	ck_assert_str_eq(back.id, "");
	r.flags = 0;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);

	/* names: control characters, empty, not terminated */
	mkentry(&e, "ok", ID_ONES, 1, 1, NODE_A);
	ck_assert_int_eq(index_entry_to_repl(&e, &r), 0);
	strlcpy(r.name, "bad\001name", sizeof(r.name));
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);
	r.name[0] = '\0';
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);
	memset(r.name, 'x', sizeof(r.name));
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);

	/* figures the index cannot hold */
	strlcpy(r.name, "ok", sizeof(r.name));
	r.hlc = (uint64_t)INT64_MAX + 1;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);
	r.hlc = 1;
	r.size = UINT64_MAX;
	ck_assert_int_eq(index_entry_from_repl(&r, &back, &why), -1);

	/* a damaged row does not travel */
	mkentry(&e, "ok", "xyz", 1, 1, NODE_A);
	ck_assert_int_eq(index_entry_to_repl(&e, &r), -1);
}
END_TEST

START_TEST(test_holders)
{
	uint8_t			nodes[REPL_WANT_HOLDERS][PVD_NODEID_LEN];
	struct index_entry	e;

	ck_assert_int_eq(index_holder_add(db, ID_ONES, NODE_A), 0);
	ck_assert_int_eq(index_holder_add(db, ID_ONES, NODE_A), 0);
	ck_assert_int_eq(index_holder_add(db, ID_ONES, NODE_B), 0);
	ck_assert_int_eq(index_holder_add(db, ID_TWOS, NODE_C), 0);
	ck_assert_int_eq(index_holder_count(db, ID_ONES, NODE_C), 2);
	/* ourselves do not count: the local blob does */
	ck_assert_int_eq(index_holder_count(db, ID_ONES, NODE_A), 1);
	ck_assert_int_eq(index_holder_count(db, ID_THREES, NODE_A), 0);
	ck_assert_int_eq(index_holders(db, ID_ONES, NODE_C, nodes,
	    REPL_WANT_HOLDERS), 2);
	ck_assert_uint_eq(nodes[0][0], 0x0a);
	ck_assert_uint_eq(nodes[1][0], 0x0b);
	ck_assert_int_eq(index_holders(db, ID_ONES, NODE_C, nodes, 1), 1);

	/* only blobs some entry names keep their holders */
	mkentry(&e, "one", ID_ONES, 1, 1, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_holders_prune(db), 1);
	ck_assert_int_eq(index_holder_count(db, ID_TWOS, NODE_A), 0);
	ck_assert_int_eq(index_holder_count(db, ID_ONES, NODE_C), 2);
}
END_TEST

START_TEST(test_wanted)
{
	struct repl_wanted	w;
	struct index_entry	e;
	struct index_blob	b;

	/* ones: here; twos: missing, older; threes: damaged, newer */
	mkentry(&e, "here", ID_ONES, 1000, 10, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkblob(&b, ID_ONES, 'a', BLOB_OK);
	ck_assert_int_eq(index_blob_add(db, &b), 0);
	mkentry(&e, "missing", ID_TWOS, 100000, 20, NODE_B);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "missing-too", ID_TWOS, 100000, 40, NODE_B);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "damaged", ID_THREES, 5000, 30, NODE_C);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkblob(&b, ID_THREES, 'c', BLOB_DAMAGED);
	ck_assert_int_eq(index_blob_add(db, &b), 0);
	mkentry(&e, "deleted", "", 0, 50, NODE_C);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_holder_add(db, ID_TWOS, NODE_B), 0);
	ck_assert_int_eq(index_holder_add(db, ID_TWOS, NODE_A), 0);

	ck_assert_int_eq(index_wanted(db, UINT64_MAX / 2, disk_of, NODE_A,
	    &w), 0);
	ck_assert_uint_eq(w.pending, 2);
	ck_assert_uint_eq(w.blocked, 0);
	ck_assert_uint_eq(w.nwant, 2);
	ck_assert_uint_eq(w.more, 0);
	/* oldest entry first, each once, with holders other than us */
	ck_assert_uint_eq(w.want[0].id[0], 0x22);
	ck_assert_uint_eq(w.want[0].size, 100000);
	ck_assert_uint_eq(w.want[0].nholders, 1);
	ck_assert_uint_eq(w.want[0].holders[0][0], 0x0b);
	ck_assert_uint_eq(w.want[1].id[0], 0x33);
	ck_assert_uint_eq(w.want[1].nholders, 0);

	/* room for the first only: the second is blocked */
	ck_assert_int_eq(index_wanted(db, disk_of(100000) + 10, disk_of,
	    NODE_A, &w), 0);
	ck_assert_uint_eq(w.pending, 2);
	ck_assert_uint_eq(w.nwant, 1);
	ck_assert_uint_eq(w.want[0].id[0], 0x22);
	ck_assert_uint_eq(w.blocked, 1);
	ck_assert_uint_eq(w.blocked_need, disk_of(5000));

	/* no room at all: both blocked, none listed */
	ck_assert_int_eq(index_wanted(db, 0, disk_of, NODE_A, &w), 0);
	ck_assert_uint_eq(w.nwant, 0);
	ck_assert_uint_eq(w.blocked, 2);
	ck_assert_uint_eq(w.blocked_need, disk_of(100000) + disk_of(5000));

	/* the repaired blob is no longer wanted */
	mkblob(&b, ID_THREES, 'c', BLOB_OK);
	ck_assert_int_eq(index_blob_add(db, &b), 0);
	ck_assert_int_eq(index_wanted(db, UINT64_MAX / 2, disk_of, NODE_A,
	    &w), 0);
	ck_assert_uint_eq(w.pending, 1);
	ck_assert_uint_eq(w.nwant, 1);
}
END_TEST

START_TEST(test_wanted_batch)
{
	struct repl_wanted	w;
	struct index_entry	e;
	char			name[32], id[PVD_ID_HEXLEN];
	int			i;

	ck_assert_int_eq(index_begin(db), 0);
	for (i = 0; i < REPL_WANT_BATCH + 6; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		snprintf(id, sizeof(id), "%064x", i + 1);
		mkentry(&e, name, id, 1, 100 + i, NODE_B);
		ck_assert_int_eq(index_entry_put(db, &e), 0);
	}
	ck_assert_int_eq(index_commit(db), 0);
	ck_assert_int_eq(index_wanted(db, UINT64_MAX / 2, disk_of, NODE_A,
	    &w), 0);
	ck_assert_uint_eq(w.pending, REPL_WANT_BATCH + 6);
	ck_assert_uint_eq(w.nwant, REPL_WANT_BATCH);
	ck_assert_uint_eq(w.more, 1);
	ck_assert_uint_eq(w.want[0].id[31], 1);
	ck_assert_uint_eq(w.want[REPL_WANT_BATCH - 1].id[31],
	    REPL_WANT_BATCH);
}
END_TEST

START_TEST(test_id_size)
{
	struct index_entry	e;
	uint64_t		size = 0;

	ck_assert_int_eq(index_id_size(db, ID_ONES, &size), 0);
	mkentry(&e, "a", ID_ONES, 77, 1, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_id_size(db, ID_ONES, &size), 1);
	ck_assert_uint_eq(size, 77);
	ck_assert_int_eq(index_blob_local(db, ID_ONES), 0);
}
END_TEST

START_TEST(test_tombstone_purge)
{
	struct index_entry	e, got;

	mkentry(&e, "old-delete", "", 0, 100, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "new-delete", "", 0, 1000, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "old-file", ID_ONES, 1, 100, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(index_tombstone_purge(db, 500), 1);
	ck_assert_int_eq(index_entry_get(db, "old-delete", &got), 0);
	ck_assert_int_eq(index_entry_get(db, "new-delete", &got), 1);
	ck_assert_int_eq(index_entry_get(db, "old-file", &got), 1);
	ck_assert_int_eq(index_tombstone_purge(db, 500), 0);
}
END_TEST

START_TEST(test_batches_with_tombstones)
{
	struct index_entry	e, out[2];
	int			n;

	mkentry(&e, "a", ID_ONES, 1, 1, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "b", "", 0, 2, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	mkentry(&e, "c", ID_TWOS, 1, 3, NODE_A);
	ck_assert_int_eq(index_entry_put(db, &e), 0);
	ck_assert_int_eq(n = index_entry_batch(db, "", out, 2), 2);
	ck_assert_str_eq(out[0].name, "a");
	ck_assert_str_eq(out[1].name, "b");
	ck_assert_str_eq(out[1].id, "");
	ck_assert_int_eq(index_entry_batch(db, out[n - 1].name, out, 2), 1);
	ck_assert_str_eq(out[0].name, "c");
	ck_assert_int_eq(index_entry_batch(db, "c", out, 2), 0);
}
END_TEST

START_TEST(test_schema_v3)
{
	sqlite3_stmt	*st;

	/* an index of version 2 gains the holders table */
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE holders; "
	    "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
	index_close(db);
	ck_assert_int_eq(index_open(&db, db_path("a.db")), 0);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1,
	    &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	ck_assert_int_eq(index_holder_add(db, ID_ONES, NODE_A), 0);
	ck_assert_int_eq(index_holder_count(db, ID_ONES, NODE_B), 1);
}
END_TEST

static Suite *
repl_suite(void)
{
	Suite	*s = suite_create("repl");
	TCase	*tc = tcase_create("repl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_digest_known);
	tcase_add_test(tc, test_bucket_known);
	tcase_add_test(tc, test_summary_diff);
	tcase_add_test(tc, test_lww);
	tcase_add_test(tc, test_merge_decision);
	tcase_add_test(tc, test_merge_old_tombstone);
	tcase_add_test(tc, test_convergence);
	tcase_add_test(tc, test_entry_checks);
	tcase_add_test(tc, test_holders);
	tcase_add_test(tc, test_wanted);
	tcase_add_test(tc, test_wanted_batch);
	tcase_add_test(tc, test_id_size);
	tcase_add_test(tc, test_tombstone_purge);
	tcase_add_test(tc, test_batches_with_tombstones);
	tcase_add_test(tc, test_schema_v3);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(repl_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
