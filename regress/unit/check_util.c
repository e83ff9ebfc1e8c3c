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
 * The arithmetic and checks of common/util.c that the daemons decide
 * by: the room a store has under the quota and the reserve, and which
 * file names are valid.
 */

#include <sys/vfs.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "pvd.h"

#define KiB	1024ULL
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)

START_TEST(test_quota_none)
{
	/* no quota: the disk less the reserve */
	ck_assert_uint_eq(quota_room(0, 0, 10 * GiB, 1 * GiB), 9 * GiB);
	ck_assert_uint_eq(quota_room(5 * GiB, 0, 10 * GiB, 1 * GiB),
	    9 * GiB);
	ck_assert_uint_eq(quota_room(0, 0, 10 * GiB, 0), 10 * GiB);
}
END_TEST

START_TEST(test_quota_limits)
{
	/* the quota is the smaller limit */
	ck_assert_uint_eq(quota_room(1 * GiB, 5 * GiB, 100 * GiB, 1 * GiB),
	    4 * GiB);
	/* the disk is */
	ck_assert_uint_eq(quota_room(1 * GiB, 50 * GiB, 3 * GiB, 1 * GiB),
	    2 * GiB);
	/* exactly full */
	ck_assert_uint_eq(quota_room(5 * GiB, 5 * GiB, 100 * GiB, 0), 0);
	ck_assert_uint_eq(quota_room(0, 0, 1 * GiB, 1 * GiB), 0);
	/* one byte left of each */
	ck_assert_uint_eq(quota_room(5 * GiB - 1, 5 * GiB, 100 * GiB, 0), 1);
	ck_assert_uint_eq(quota_room(0, 0, 1 * GiB + 1, 1 * GiB), 1);
}
END_TEST

START_TEST(test_quota_over)
{
	/* a quota set below what is used, a disk under the reserve: 0 */
	ck_assert_uint_eq(quota_room(10 * GiB, 5 * GiB, 100 * GiB, 0), 0);
	ck_assert_uint_eq(quota_room(0, 0, 512 * MiB, 1 * GiB), 0);
	ck_assert_uint_eq(quota_room(UINT64_MAX, 1, UINT64_MAX, 0), 0);
	/* extremes do not wrap */
	ck_assert_uint_eq(quota_room(0, UINT64_MAX, UINT64_MAX, 0),
	    UINT64_MAX);
	ck_assert_uint_eq(quota_room(0, 0, UINT64_MAX, UINT64_MAX), 0);
	ck_assert_uint_eq(quota_room(1, UINT64_MAX, UINT64_MAX, 1),
	    UINT64_MAX - 1);
}
END_TEST

static int
valid(const char *name)
{
	const char	*why = NULL;
	int		 ok;

	ok = name_valid(name, &why);
	if (!ok)
		ck_assert_ptr_nonnull(why);
	return (ok);
}

START_TEST(test_names_valid)
{
	char	buf[PVD_NAME_MAX + 2];

	ck_assert(valid("a"));
	ck_assert(valid("report.pdf"));
	ck_assert(valid("dir/sub dir/file name.txt"));
	ck_assert(valid("caf\xc3\xa9"));		/* é */
	ck_assert(valid("\xe2\x82\xac"));		/* € */
	ck_assert(valid("\xf0\x9f\x98\x80"));		/* U+1F600 */
	ck_assert(valid("\xc2\xa0"));			/* NBSP, not C1 */
	memset(buf, 'x', PVD_NAME_MAX);
	buf[PVD_NAME_MAX] = '\0';
	ck_assert(valid(buf));				/* 1024 bytes */
}
END_TEST

START_TEST(test_names_invalid)
{
	char	buf[PVD_NAME_MAX + 2];

	ck_assert(!valid(""));
	memset(buf, 'x', PVD_NAME_MAX + 1);
	buf[PVD_NAME_MAX + 1] = '\0';
	ck_assert(!valid(buf));				/* 1025 bytes */
	ck_assert(!valid("a\nb"));
	ck_assert(!valid("\t"));
	ck_assert(!valid("\x1b[31m"));
	ck_assert(!valid("del\x7f"));
	ck_assert(!valid("c1\xc2\x85"));		/* U+0085 */
	ck_assert(!valid("\xc3"));			/* truncated */
	ck_assert(!valid("\xc3x"));			/* bad continuation */
	ck_assert(!valid("\x80"));			/* lone continuation */
	ck_assert(!valid("\xc0\xaf"));			/* overlong '/' */
	ck_assert(!valid("\xe0\x80\xaf"));		/* overlong */
	ck_assert(!valid("\xed\xa0\x80"));		/* surrogate */
	ck_assert(!valid("\xf4\x90\x80\x80"));		/* above U+10FFFF */
	ck_assert(!valid("\xfe"));
	ck_assert(!valid("\xff"));
}
END_TEST

/*
 * writeback_step() starts the writeback of each WRITEBACK_STEP written,
 * lets the step before go from the cache, and never changes a byte.
 */
START_TEST(test_writeback_steps)
{
	struct writeback	 wb = { 0, 0 };
	static uint8_t		 buf[1024 * 1024], back[1024 * 1024];
	char			 path[] = "/var/tmp/check_util.XXXXXX";
	uint64_t		 done = 0;
	size_t			 i;
	int			 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	unlink(path);
	for (i = 0; i < 20; i++) {
		memset(buf, 'a' + (int)i, sizeof(buf));
		ck_assert_int_eq(write(fd, buf, sizeof(buf)),
		    (ssize_t)sizeof(buf));
		done += sizeof(buf);
		writeback_step(fd, &wb, done);
		/* the writeback runs a step behind what was written */
		ck_assert_uint_le(wb.started, done);
		ck_assert_uint_lt(done - wb.started, WRITEBACK_STEP);
		ck_assert_uint_eq(wb.started % sizeof(buf), 0);
		/* and what leaves the cache a step behind that */
		ck_assert_uint_le(wb.dropped, wb.started);
		if (wb.started >= 2 * WRITEBACK_STEP)
			ck_assert_uint_gt(wb.dropped, 0);
	}
	ck_assert_uint_eq(wb.started, 16 * sizeof(buf));
	ck_assert_uint_eq(wb.dropped, 8 * sizeof(buf));
	for (i = 0; i < 20; i++) {
		memset(buf, 'a' + (int)i, sizeof(buf));
		ck_assert_int_eq(pread(fd, back, sizeof(back),
		    (off_t)(i * sizeof(back))), (ssize_t)sizeof(back));
		ck_assert(memcmp(buf, back, sizeof(buf)) == 0);
	}
	close(fd);
}
END_TEST

/*
 * fs_local() takes the filesystems that answer in bounded time and names
 * the others: /proc, a pipe (pipefs, by its number), a tmpfs.
 */
START_TEST(test_fs_local)
{
	struct statfs	sf;
	char		name[FS_NAME_MAX];
	int		fd, p[2];

	ck_assert_int_ne(fd = open("/proc/self/status", O_RDONLY), -1);
	ck_assert_int_eq(fs_local(fd, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "proc");
	close(fd);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fs_local(p[0], name, sizeof(name)), 0);
	ck_assert_str_eq(name, "type 0x50495045");
	close(p[0]);
	close(p[1]);

	/* a name cut short stays terminated */
	ck_assert_int_ne(fd = open("/proc/self/status", O_RDONLY), -1);
	ck_assert_int_eq(fs_local(fd, name, 3), 0);
	ck_assert_str_eq(name, "pr");
	close(fd);

	ck_assert_int_eq(fs_local(-1, name, sizeof(name)), -1);

	/* the kernel's own files: sizes that say nothing */
	ck_assert_int_eq(fs_sizeless("proc"), 1);
	ck_assert_int_eq(fs_sizeless("sysfs"), 1);
	ck_assert_int_eq(fs_sizeless("cgroup2"), 1);
	ck_assert_int_eq(fs_sizeless("fuse"), 0);
	ck_assert_int_eq(fs_sizeless("nfs"), 0);
	ck_assert_int_eq(fs_sizeless("ext4"), 0);
	ck_assert_int_eq(fs_sizeless("type 0x50495045"), 0);
	ck_assert_int_eq(fs_sizeless(""), 0);

	/* /dev/shm is a tmpfs on most systems; where it is, it counts */
	if ((fd = open("/dev/shm", O_RDONLY | O_DIRECTORY)) != -1) {
		if (fstatfs(fd, &sf) == 0 && sf.f_type == 0x01021994) {
			ck_assert_int_eq(fs_local(fd, name, sizeof(name)), 1);
			ck_assert_str_eq(name, "tmpfs");
		}
		close(fd);
	}
}
END_TEST

static Suite *
util_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc = tcase_create("quota");

	tcase_add_test(tc, test_quota_none);
	tcase_add_test(tc, test_quota_limits);
	tcase_add_test(tc, test_quota_over);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_names_valid);
	tcase_add_test(tc, test_names_invalid);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	tcase_add_test(tc, test_writeback_steps);
	tcase_add_test(tc, test_fs_local);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(util_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
