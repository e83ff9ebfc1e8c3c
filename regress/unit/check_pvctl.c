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
 * The pure parts of pvctl: the rule for file names (name_valid() in
 * common/util.c), names made from paths, the quota percentage, and the
 * command table's options and words.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "pvd.h"
#include "parser.h"
#include "pvctl.h"

/* name_valid() and the reason it gives. */
static void
assert_name(const char *name, int valid, const char *want)
{
	const char	*why = NULL;

	ck_assert_int_eq(name_valid(name, &why), valid);
	if (valid)
		ck_assert_ptr_null(why);
	else
		ck_assert_str_eq(why, want);
}

START_TEST(test_name_valid)
{
	assert_name("a", 1, NULL);
	assert_name("photos/2026/ete.jpg", 1, NULL);
	assert_name("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 1,
	    NULL);
	assert_name(" leading and trailing ", 1, NULL);
	assert_name("/abs/../x", 1, NULL);
	assert_name("\xc2\xa0", 1, NULL);		/* U+00A0: not C1 */
	assert_name("\xef\xbf\xbf", 1, NULL);		/* U+FFFF */
	assert_name("\xf4\x8f\xbf\xbf", 1, NULL);	/* U+10FFFF */
	assert_name("", 0, "name is empty");
	assert_name("a\tb", 0, "name contains a control character");
	assert_name("a\nb", 0, "name contains a control character");
	assert_name("\x1f", 0, "name contains a control character");
	assert_name("a\x7f", 0, "name contains a control character");
	assert_name("\xc2\x80", 0, "name contains a control character");
	assert_name("x\xc2\x9f", 0, "name contains a control character");
	assert_name("\x80", 0, "name is not valid UTF-8");
	assert_name("a\xc3", 0, "name is not valid UTF-8");
	assert_name("\xc0\xaf", 0, "name is not valid UTF-8");	/* overlong */
	assert_name("\xe0\x80\xaf", 0, "name is not valid UTF-8");
	assert_name("\xed\xa0\x80", 0, "name is not valid UTF-8"); /* D800 */
	assert_name("\xf4\x90\x80\x80", 0, "name is not valid UTF-8");
	assert_name("\xf5\x80\x80\x80", 0, "name is not valid UTF-8");
	assert_name("\xff", 0, "name is not valid UTF-8");
	assert_name("\xe6\x97", 0, "name is not valid UTF-8");
	ck_assert_int_eq(name_valid("", NULL), 0);
}
END_TEST

START_TEST(test_name_length)
{
	char	 name[PVD_NAME_MAX + 8];
	int	 i;

	memset(name, 'x', sizeof(name));
	name[PVD_NAME_MAX] = '\0';
	assert_name(name, 1, NULL);
	name[PVD_NAME_MAX] = 'x';
	name[PVD_NAME_MAX + 1] = '\0';
	assert_name(name, 0, "name longer than 1024 bytes");

	/* 1024 bytes of three-byte characters, less one: 1023 is fine. */
	for (i = 0; i + 3 <= PVD_NAME_MAX; i += 3)
		memcpy(name + i, "\xe6\x97\xa5", 3);
	name[i] = '\0';
	assert_name(name, 1, NULL);
	/* A character cut at the limit is two faults; length comes first. */
	memcpy(name + i, "\xe6\x97\xa5", 3);
	name[i + 3] = '\0';
	assert_name(name, 0, "name longer than 1024 bytes");
}
END_TEST

static void
assert_join(const char *prefix, const char *rel, const char *want)
{
	char	 buf[PVD_NAME_MAX + 1];

	ck_assert_int_eq(name_join(prefix, rel, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, want);
}

START_TEST(test_name_join)
{
	assert_join("photos", "/a/b.jpg", "photos/a/b.jpg");
	assert_join("photos/", "a/b.jpg", "photos/a/b.jpg");
	assert_join("photos//2026/", "//a//b.jpg", "photos/2026/a/b.jpg");
	assert_join("./photos/.", "./a/./b", "photos/a/b");
	assert_join("", "a/b", "a/b");
	assert_join(".", "a", "a");
	assert_join("/abs", "x", "abs/x");
	assert_join("p", "../x", "p/../x");
	assert_join("p", ".hidden", "p/.hidden");
	assert_join("p", "...", "p/...");
}
END_TEST

START_TEST(test_name_join_long)
{
	char	 small[8];

	ck_assert_int_eq(name_join("abc", "def", small, sizeof(small)), 0);
	ck_assert_str_eq(small, "abc/def");
	ck_assert_int_eq(name_join("abc", "defg", small, sizeof(small)), -1);
	ck_assert_int_eq(name_join("abcdefgh", "", small, sizeof(small)), -1);
}
END_TEST

START_TEST(test_base_name)
{
	char	 buf[64];

	base_name("/tmp/a/file.txt", buf, sizeof(buf));
	ck_assert_str_eq(buf, "file.txt");
	base_name("file.txt", buf, sizeof(buf));
	ck_assert_str_eq(buf, "file.txt");
	base_name("dir/sub//", buf, sizeof(buf));
	ck_assert_str_eq(buf, "sub");
	base_name("/", buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	base_name("./x", buf, sizeof(buf));
	ck_assert_str_eq(buf, "x");
}
END_TEST

START_TEST(test_quota_percent)
{
	ck_assert_uint_eq(quota_percent(0, 100), 0);
	ck_assert_uint_eq(quota_percent(50, 100), 50);
	ck_assert_uint_eq(quota_percent(99, 100), 99);
	ck_assert_uint_eq(quota_percent(100, 100), 100);
	ck_assert_uint_eq(quota_percent(112, 100), 112);
	ck_assert_uint_eq(quota_percent(1, 3), 33);
	ck_assert_uint_eq(quota_percent(5, 0), 0);
	/* No overflow with the largest sizes. */
	ck_assert_uint_eq(quota_percent(UINT64_MAX, UINT64_MAX), 100);
	ck_assert_uint_eq(quota_percent(UINT64_MAX - 1, UINT64_MAX), 99);
	ck_assert_uint_eq(quota_percent(UINT64_MAX / 2, UINT64_MAX / 4 + 1),
	    199);
	ck_assert_uint_eq(quota_percent(UINT64_MAX, 1), UINT_MAX);
	ck_assert_uint_eq(quota_percent(1ULL << 40, 1ULL << 30), 102400);
}
END_TEST

/* parse() of a command line given as one string of words. */
static int
parse_line(const char *line, struct parse_result *res, char **buf,
    char **argv, int max)
{
	char	*p, *w;
	int	 argc = 0;

	if ((*buf = strdup(line)) == NULL)
		return (-2);
	for (p = *buf; (w = strsep(&p, " ")) != NULL && argc < max;)
		if (*w != '\0')
			argv[argc++] = w;
	return (parse(argc, argv, res));
}

static void
assert_parse(const char *line, int ok, enum ctl_action action,
    unsigned int opts, int nargs, const char *arg0)
{
	struct parse_result	 res;
	char			*buf, *argv[8];
	int			 r;

	r = parse_line(line, &res, &buf, argv, 8);
	ck_assert_msg(r == (ok ? 0 : -1), "parse \"%s\" gave %d", line, r);
	if (ok) {
		ck_assert_int_eq(res.action, action);
		ck_assert_uint_eq(res.opts, opts);
		ck_assert_int_eq(res.argc, nargs);
		if (arg0 != NULL)
			ck_assert_str_eq(res.argv[0], arg0);
	}
	free(buf);
}

START_TEST(test_parse_commands)
{
	assert_parse("store a.txt", 1, ACTION_STORE, 0, 1, "a.txt");
	assert_parse("store a.txt name", 1, ACTION_STORE, 0, 2, "a.txt");
	assert_parse("store - name", 1, ACTION_STORE, 0, 2, "-");
	assert_parse("store -r dir", 1, ACTION_STORE, OPT('r'), 1, "dir");
	assert_parse("store -r dir prefix", 1, ACTION_STORE, OPT('r'), 2,
	    "dir");
	assert_parse("store -- -r", 1, ACTION_STORE, 0, 1, "-r");
	assert_parse("store", 0, 0, 0, 0, NULL);
	assert_parse("store -r", 0, 0, 0, 0, NULL);
	assert_parse("store -x a", 0, 0, 0, 0, NULL);
	assert_parse("store a b c", 0, 0, 0, 0, NULL);
	assert_parse("get n", 1, ACTION_GET, 0, 1, "n");
	assert_parse("get n -", 1, ACTION_GET, 0, 2, "n");
	assert_parse("get -n", 1, ACTION_GET, 0, 1, "-n");
	assert_parse("delete n", 1, ACTION_DELETE, 0, 1, "n");
	assert_parse("delete -f n", 1, ACTION_DELETE, OPT('f'), 1, "n");
	assert_parse("del -f n", 1, ACTION_DELETE, OPT('f'), 1, "n");
	assert_parse("delete -- -f", 1, ACTION_DELETE, 0, 1, "-f");
	assert_parse("delete -f", 0, 0, 0, 0, NULL);
	assert_parse("delete -r n", 0, 0, 0, 0, NULL);
	assert_parse("list", 1, ACTION_LIST, 0, 0, NULL);
	assert_parse("li", 1, ACTION_LIST, 0, 0, NULL);
	assert_parse("list x", 0, 0, 0, 0, NULL);
	assert_parse("quota", 1, ACTION_QUOTA, 0, 0, NULL);
	assert_parse("quota set 5G", 1, ACTION_QUOTA_SET, 0, 1, "5G");
	assert_parse("q s none", 1, ACTION_QUOTA_SET, 0, 1, "none");
	assert_parse("quota set", 0, 0, 0, 0, NULL);
	assert_parse("scrub", 1, ACTION_SCRUB, 0, 0, NULL);
	assert_parse("sc", 1, ACTION_SCRUB, 0, 0, NULL);
	assert_parse("stat", 1, ACTION_STATUS, 0, 0, NULL);
	assert_parse("sto f", 1, ACTION_STORE, 0, 1, "f");
	assert_parse("st", 0, 0, 0, 0, NULL);		/* status, store */
	assert_parse("s", 0, 0, 0, 0, NULL);
	assert_parse("l", 0, 0, 0, 0, NULL);		/* log, list */
	assert_parse("log v", 1, ACTION_LOG_VERBOSE, 0, 0, NULL);
	assert_parse("lo b", 1, ACTION_LOG_BRIEF, 0, 0, NULL);
	assert_parse("frobnicate", 0, 0, 0, 0, NULL);
}
END_TEST

START_TEST(test_parse_is_command)
{
	ck_assert_int_eq(parse_is_command("status"), 1);
	ck_assert_int_eq(parse_is_command("st"), 1);
	ck_assert_int_eq(parse_is_command("s"), 1);
	ck_assert_int_eq(parse_is_command("quota"), 1);
	ck_assert_int_eq(parse_is_command("frob"), 0);
	ck_assert_int_eq(parse_is_command("statusx"), 0);
	ck_assert_int_eq(parse_is_command("set"), 0);
	ck_assert_int_eq(parse_is_command(""), 0);
}
END_TEST

START_TEST(test_parse_help)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&text, &len));
	parse_help(fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_ptr_nonnull(strstr(text, "  store FILE [NAME]"));
	ck_assert_ptr_nonnull(strstr(text, "\n  store -r DIR [PREFIX]\n"));
	ck_assert_ptr_nonnull(strstr(text, "  delete [-f] NAME"));
	ck_assert_ptr_nonnull(strstr(text, "  quota set SIZE|none"));
	ck_assert_ptr_nonnull(strstr(text, "  help "));
	ck_assert_ptr_nonnull(strstr(text, "  quit "));
	free(text);
}
END_TEST

static Suite *
pvctl_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("pvctl");
	tc = tcase_create("names");
	tcase_add_test(tc, test_name_valid);
	tcase_add_test(tc, test_name_length);
	tcase_add_test(tc, test_name_join);
	tcase_add_test(tc, test_name_join_long);
	tcase_add_test(tc, test_base_name);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, test_quota_percent);
	suite_add_tcase(s, tc);
	tc = tcase_create("parser");
	tcase_add_test(tc, test_parse_commands);
	tcase_add_test(tc, test_parse_is_command);
	tcase_add_test(tc, test_parse_help);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(pvctl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
