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
 * pvd.conf(5): the parser, the printer, the configuration helpers of
 * common/config.c and common/util.c.  The files are found under
 * $srcdir/regress/unit/conf.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"
#include "pvd_conf.h"

static char	confdir[PATH_MAX];
static char	tmpdir[PATH_MAX];

static void
setup_dirs(void)
{
	const char	*srcdir, *t;
	int		 n;

	if ((srcdir = getenv("srcdir")) == NULL)
		srcdir = ".";
	n = snprintf(confdir, sizeof(confdir), "%s/regress/unit/conf",
	    srcdir);
	ck_assert(n > 0 && (size_t)n < sizeof(confdir));
	if ((t = getenv("TMPDIR")) == NULL)
		t = "/tmp";
	ck_assert(strlcpy(tmpdir, t, sizeof(tmpdir)) < sizeof(tmpdir));
}

/* Its path in confdir; a static buffer. */
static const char *
conf_file(const char *name)
{
	static char	path[PATH_MAX];
	int		n;

	n = snprintf(path, sizeof(path), "%s/%s", confdir, name);
	ck_assert(n > 0 && (size_t)n < sizeof(path));
	return (path);
}

/* What a whole stream holds, NUL terminated. */
static char *
slurp(FILE *fp)
{
	char	*buf = NULL;
	size_t	 len = 0, n;
	char	 chunk[4096];

	rewind(fp);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf = realloc(buf, len + n + 1);
		ck_assert_ptr_nonnull(buf);
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (buf == NULL) {
		buf = malloc(1);
		ck_assert_ptr_nonnull(buf);
	}
	buf[len] = '\0';
	return (buf);
}

static char *
slurp_file(const char *path)
{
	FILE	*fp;
	char	*s;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	s = slurp(fp);
	fclose(fp);
	return (s);
}

/* parse_config() with its standard error caught in *errs. */
static struct pv_config *
parse_capture(const char *path, int flags, char **errs)
{
	struct pv_config	*conf;
	FILE			*tmp;
	int			 saved;

	ck_assert_ptr_nonnull(tmp = tmpfile());
	fflush(stderr);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fileno(tmp), STDERR_FILENO), -1);
	conf = parse_config(path, flags);
	fflush(stderr);
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	*errs = slurp(tmp);
	fclose(tmp);
	return (conf);
}

static void
free_config(struct pv_config *conf)
{
	config_clear(conf);
	free(conf);
}

/* A file in tmpdir holding text; the path is the caller's to free. */
static char *
write_temp(const char *text)
{
	char	*path;
	FILE	*fp;
	int	 fd;

	ck_assert_int_ne(asprintf(&path, "%s/check_parse.XXXXXX", tmpdir),
	    -1);
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
	return (path);
}

static char *
print_to_string(const struct pv_config *conf)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	print_config(fp, conf);
	ck_assert_int_eq(fclose(fp), 0);
	return (buf);
}

/* Append s to the string in *buf, of *len bytes. */
static void
append(char **buf, size_t *len, const char *s, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	ck_assert_ptr_nonnull(*buf);
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/*
 * The expected errors, one a line: '@' stands for confdir, and '%'
 * for path.
 */
static char *
expand_expected(const char *const *lines, const char *path)
{
	char		*buf = NULL;
	size_t		 len = 0;
	const char	*p;

	append(&buf, &len, "", 0);
	for (; *lines != NULL; lines++) {
		for (p = *lines; *p != '\0'; p++) {
			if (*p == '@')
				append(&buf, &len, confdir, strlen(confdir));
			else if (*p == '%')
				append(&buf, &len, path, strlen(path));
			else
				append(&buf, &len, p, 1);
		}
		append(&buf, &len, "\n", 1);
	}
	return (buf);
}

/* Parse, expect failure with exactly these errors. */
static void
expect_errors(const char *path, const char *const *lines)
{
	struct pv_config	*conf;
	char			*errs, *want, *first;

	conf = parse_capture(path, 0, &errs);
	want = expand_expected(lines, path);
	ck_assert_msg(conf == NULL, "%s parsed", path);
	ck_assert_str_eq(errs, want);
	/* parse_last_error() is the first of them. */
	first = strndup(want, strcspn(want, "\n"));
	ck_assert_ptr_nonnull(first);
	ck_assert_str_eq(parse_last_error(), first);
	free(first);
	free(errs);
	free(want);
}

/* Parse text from a temporary file, expect these errors. */
static void
expect_text_errors(const char *text, const char *const *lines)
{
	char	*path;

	path = write_temp(text);
	expect_errors(path, lines);
	unlink(path);
	free(path);
}

/* Parse text from a temporary file, expect success. */
static struct pv_config *
parse_text(const char *text)
{
	struct pv_config	*conf;
	char			*path, *errs;

	path = write_temp(text);
	conf = parse_capture(path, 0, &errs);
	ck_assert_msg(conf != NULL, "errors: %s", errs);
	ck_assert_str_eq(errs, "");
	unlink(path);
	free(path);
	free(errs);
	return (conf);
}

static const struct pv_endpoint *
nth_endpoint(const struct pv_endpoints *list, int n)
{
	const struct pv_endpoint_entry	*e;

	TAILQ_FOREACH(e, list, entry)
		if (n-- == 0)
			return (&e->ep);
	return (NULL);
}

static int
count_endpoints(const struct pv_endpoints *list)
{
	const struct pv_endpoint_entry	*e;
	int				 n = 0;

	TAILQ_FOREACH(e, list, entry)
		n++;
	return (n);
}

static void
assert_endpoint(const struct pv_endpoints *list, int n, const char *host,
    uint16_t port)
{
	const struct pv_endpoint	*ep;

	ep = nth_endpoint(list, n);
	ck_assert_msg(ep != NULL, "no endpoint %d", n);
	ck_assert_str_eq(ep->host, host);
	ck_assert_uint_eq(ep->port, port);
}

static void
assert_same_config(const struct pv_config *a, const struct pv_config *b)
{
	const struct pv_endpoint_entry	*ea, *eb;

	ck_assert_msg(memcmp(&a->g, &b->g, sizeof(a->g)) == 0,
	    "globals differ");
	ea = TAILQ_FIRST(&a->listen);
	eb = TAILQ_FIRST(&b->listen);
	for (; ea != NULL && eb != NULL; ea = TAILQ_NEXT(ea, entry),
	    eb = TAILQ_NEXT(eb, entry))
		ck_assert(memcmp(&ea->ep, &eb->ep, sizeof(ea->ep)) == 0);
	ck_assert(ea == NULL && eb == NULL);
	ea = TAILQ_FIRST(&a->bootstrap);
	eb = TAILQ_FIRST(&b->bootstrap);
	for (; ea != NULL && eb != NULL; ea = TAILQ_NEXT(ea, entry),
	    eb = TAILQ_NEXT(eb, entry))
		ck_assert(memcmp(&ea->ep, &eb->ep, sizeof(ea->ep)) == 0);
	ck_assert(ea == NULL && eb == NULL);
}

/*
 * pvd -nv: parse, print, parse the printed text, print again.  Both
 * texts and both configurations must be the same.
 */
static void
assert_round_trip(const struct pv_config *conf)
{
	struct pv_config	*again;
	char			*text1, *text2, *path, *errs;

	text1 = print_to_string(conf);
	path = write_temp(text1);
	again = parse_capture(path, 0, &errs);
	ck_assert_msg(again != NULL, "printed config fails: %s\n%s", errs,
	    text1);
	text2 = print_to_string(again);
	ck_assert_str_eq(text1, text2);
	assert_same_config(conf, again);
	free_config(again);
	unlink(path);
	free(path);
	free(errs);
	free(text1);
	free(text2);
}

static void
assert_defaults(const struct pv_config *conf)
{
	const struct pv_globals	*g = &conf->g;

	ck_assert_str_eq(g->data_dir, PVD_DATA_DIR);
	ck_assert_str_eq(g->key_file, PVD_KEY_FILE);
	ck_assert_str_eq(g->user, PVD_USER);
	ck_assert_str_eq(g->socket_path, PVD_SOCKET);
	ck_assert_int_eq(g->has_advertise, 0);
	ck_assert_int_eq(g->has_metrics, 0);
	ck_assert_uint_eq(g->quota, 0);
	ck_assert_uint_eq(g->reserve, PVD_RESERVE_DEFAULT);
	ck_assert_uint_eq(g->scrub_interval, PVD_SCRUB_DEFAULT);
	ck_assert_uint_eq(g->peer_timeout, PVD_TIMEOUT_DEFAULT);
	ck_assert_uint_eq(g->tombstone_lifetime, PVD_TOMBSTONE_DEFAULT);
	ck_assert_uint_eq(g->pex_interval, PVD_PEX_DEFAULT);
	ck_assert_int_eq(g->discover_local, 0);
	ck_assert_int_eq(g->discover_pex, 0);
	ck_assert_int_eq(count_endpoints(&conf->listen), 1);
	assert_endpoint(&conf->listen, 0, "*", PVD_PORT);
	ck_assert_int_eq(count_endpoints(&conf->bootstrap), 0);
}

/* Every statement, each value where it belongs. */
START_TEST(test_full)
{
	struct pv_config	*conf;
	const struct pv_globals	*g;
	char			*errs;

	conf = parse_capture(conf_file("full.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	ck_assert_str_eq(errs, "");
	ck_assert_str_eq(parse_last_error(), "");
	g = &conf->g;

	ck_assert_int_eq(count_endpoints(&conf->listen), 3);
	assert_endpoint(&conf->listen, 0, "192.0.2.10", 3000);
	assert_endpoint(&conf->listen, 1, "2001:db8::1", 3001);
	assert_endpoint(&conf->listen, 2, "*", 4000);
	ck_assert_int_eq(g->has_advertise, 1);
	ck_assert_str_eq(g->advertise.host, "pv.example.org");
	ck_assert_uint_eq(g->advertise.port, 3443);
	ck_assert_str_eq(g->data_dir, "/srv/peervault");
	ck_assert_str_eq(g->key_file, "/etc/peervault/net \"work\".key");
	ck_assert_str_eq(g->user, "_pvtest");
	ck_assert_int_eq(count_endpoints(&conf->bootstrap), 3);
	assert_endpoint(&conf->bootstrap, 0, "seed1.example.org", 3000);
	assert_endpoint(&conf->bootstrap, 1, "seed2.example.org", 3100);
	assert_endpoint(&conf->bootstrap, 2, "198.51.100.7", 3200);
	ck_assert_int_eq(g->discover_local, 1);
	ck_assert_int_eq(g->discover_pex, 1);
	ck_assert_uint_eq(g->pex_interval, 600);
	ck_assert_uint_eq(g->quota, 5ULL << 30);
	ck_assert_uint_eq(g->reserve, 1536ULL << 20);
	ck_assert_uint_eq(g->scrub_interval, 7200);
	ck_assert_uint_eq(g->peer_timeout, 45);
	ck_assert_uint_eq(g->tombstone_lifetime, 90 * 86400);
	ck_assert_int_eq(g->has_metrics, 1);
	ck_assert_str_eq(g->metrics.host, "127.0.0.1");
	ck_assert_uint_eq(g->metrics.port, 9090);
	ck_assert_str_eq(g->socket_path, "/run/peervault/pvd.sock");

	free_config(conf);
	free(errs);
}
END_TEST

/* print_config() of full.conf is full.golden, byte for byte. */
START_TEST(test_golden)
{
	struct pv_config	*conf;
	char			*errs, *text, *golden;

	conf = parse_capture(conf_file("full.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	text = print_to_string(conf);
	golden = slurp_file(conf_file("full.golden"));
	ck_assert_str_eq(text, golden);
	free_config(conf);
	free(errs);
	free(text);
	free(golden);
}
END_TEST

START_TEST(test_round_trip)
{
	struct pv_config	*conf;
	char			*errs;

	conf = parse_capture(conf_file("full.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	assert_round_trip(conf);
	free_config(conf);
	free(errs);

	conf = parse_capture(conf_file("include.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	assert_round_trip(conf);
	free_config(conf);
	free(errs);

	/* Sizes and durations that are no exact larger unit. */
	conf = parse_text("reserve 1025\nquota 3072K\nscrub interval 3601\n"
	    "peer timeout 3600\ntombstone lifetime 86401\n"
	    "discover pex interval 1d\nlisten on ::ffff:10.0.0.1\n"
	    "listen on 0.0.0.0 port 1\nlisten on :: port 2\n"
	    "advertise \"local\" port 65535\nbootstrap \"Mixed.Case.\"\n");
	ck_assert_uint_eq(conf->g.reserve, 1025);
	ck_assert_uint_eq(conf->g.quota, 3 << 20);
	ck_assert_uint_eq(conf->g.tombstone_lifetime, 86401);
	assert_round_trip(conf);
	free_config(conf);
}
END_TEST

/* The default file may be missing: the built-in defaults apply. */
START_TEST(test_missing_ok)
{
	struct pv_config	*conf;
	char			*errs;

	conf = parse_capture(conf_file("no-such-file.conf"), PARSE_MISSING_OK,
	    &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(errs, "");
	assert_defaults(conf);
	assert_round_trip(conf);
	free_config(conf);
	free(errs);
}
END_TEST

/* Any other file must exist. */
START_TEST(test_missing)
{
	static const char *const	 errs[] = {
		"@/no-such-file.conf: No such file or directory", NULL
	};

	expect_errors(conf_file("no-such-file.conf"), errs);
}
END_TEST

/* An empty file, or one of comments: the defaults. */
START_TEST(test_empty)
{
	struct pv_config	*conf;

	conf = parse_text("");
	assert_defaults(conf);
	free_config(conf);
	conf = parse_text("# nothing\n\n   \t\n# here \\\n still a comment\n");
	assert_defaults(conf);
	free_config(conf);
}
END_TEST

/* Every line in error is reported, each with its line. */
START_TEST(test_bad)
{
	static const char *const	 errs[] = {
		"@/bad.conf:2: invalid port 0 (1 to 65535)",
		"@/bad.conf:3: invalid port 65536 (1 to 65535)",
		"@/bad.conf:4: invalid port \"abc\" (1 to 65535)",
		"@/bad.conf:5: data \"relative/path\": not an absolute path",
		"@/bad.conf:7: key specified twice",
		"@/bad.conf:9: duplicate listen on ::1 port 3001",
		"@/bad.conf:10: unknown keyword \"frobnicate\"",
		"@/bad.conf:11: macro \"nosuchmacro\" not defined",
		"@/bad.conf:12: invalid quota \"5X\": a number of bytes, "
		    "or with a K, M, G or T suffix",
		"@/bad.conf:13: reserve 99999999999999999999T is too large",
		"@/bad.conf:14: scrub interval 30s out of range (1m to 30d)",
		"@/bad.conf:15: tombstone lifetime 3651d out of range "
		    "(1d to 3650d)",
		"@/bad.conf:16: include \"@/no-such-file.conf\": "
		    "No such file or directory",
		"@/bad.conf:17: syntax error at \"port\"",
		"@/bad.conf:18: unterminated string",
		"@/bad.conf:20: discover pex interval 5000000000 is too large",
		"@/bad.conf:21: invalid port -1 (1 to 65535)",
		"@/bad.conf:19: metrics listen on ::1 port 3001 conflicts "
		    "with listen on ::1 port 3001",
		NULL
	};

	expect_errors(conf_file("bad.conf"), errs);
}
END_TEST

/* Errors in an included file carry its name and its lines. */
START_TEST(test_include_errors)
{
	static const char *const	 errs[] = {
		"@/include-err-sub.conf:3: invalid user \"bad user\"",
		"@/include-err-sub.conf:4: peer timeout 2h out of range "
		    "(1s to 1h)",
		"@/include-err.conf:4: invalid quota \"5X\": a number of "
		    "bytes, or with a K, M, G or T suffix",
		NULL
	};

	expect_errors(conf_file("include-err.conf"), errs);
}
END_TEST

START_TEST(test_include)
{
	struct pv_config	*conf;
	char			*errs;

	conf = parse_capture(conf_file("include.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	ck_assert_str_eq(conf->g.data_dir, "/srv/main");
	ck_assert_str_eq(conf->g.user, "_sub");
	ck_assert_uint_eq(conf->g.reserve, 0);
	ck_assert_uint_eq(conf->g.quota, 1ULL << 30);
	free_config(conf);
	free(errs);
}
END_TEST

START_TEST(test_include_loop)
{
	static const char *const	 errs[] = {
		"@/loop-b.conf:2: include \"@/loop-a.conf\": include loop",
		NULL
	};

	expect_errors(conf_file("loop-a.conf"), errs);
}
END_TEST

/* Includes nest up to PARSE_INCLUDE_MAX files, the first one too. */
START_TEST(test_include_depth)
{
	struct pv_config	*conf;
	char			*paths[PARSE_INCLUDE_MAX + 2], *text, *want;
	const char		*lines[2];
	int			 i;

	/* paths[i] includes paths[i + 1]; the last one sets the quota. */
	paths[PARSE_INCLUDE_MAX + 1] = write_temp("quota 1T\n");
	for (i = PARSE_INCLUDE_MAX; i >= 0; i--) {
		ck_assert_int_ne(asprintf(&text, "include \"%s\"\n",
		    paths[i + 1]), -1);
		paths[i] = write_temp(text);
		free(text);
	}

	/* Eight files deep. */
	conf = parse_capture(paths[2], 0, &text);
	ck_assert_msg(conf != NULL, "%s", text);
	ck_assert_uint_eq(conf->g.quota, 1ULL << 40);
	free_config(conf);
	free(text);

	/* Nine: the eighth file may not include the ninth. */
	ck_assert_int_ne(asprintf(&want, "%s:1: include \"%s\": nested "
	    "too deeply (%d files)", paths[PARSE_INCLUDE_MAX],
	    paths[PARSE_INCLUDE_MAX + 1], PARSE_INCLUDE_MAX), -1);
	lines[0] = want;
	lines[1] = NULL;
	expect_errors(paths[1], lines);
	free(want);

	for (i = 0; i <= PARSE_INCLUDE_MAX + 1; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
}
END_TEST

START_TEST(test_macros)
{
	struct pv_config	*conf;
	char			*errs;

	conf = parse_capture(conf_file("macros.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	ck_assert_uint_eq(conf->g.quota, 5ULL << 30);
	assert_endpoint(&conf->listen, 0, "127.0.0.1", 4000);
	ck_assert_int_eq(count_endpoints(&conf->listen), 1);
	ck_assert_str_eq(conf->g.data_dir, "/srv/macro");
	/* Not inside quotes. */
	ck_assert_str_eq(conf->g.key_file, "/etc/$where");
	free_config(conf);
	free(errs);

	/* A macro's value is read as tokens: several, and numbers too. */
	conf = parse_text("ep = \"::1 port 4001\"\nlisten on $ep\n"
	    "t = 45\npeer timeout $t\nq=\"2G\"\nq2 = $q\nquota $q2\n");
	assert_endpoint(&conf->listen, 0, "::1", 4001);
	ck_assert_uint_eq(conf->g.peer_timeout, 45);
	ck_assert_uint_eq(conf->g.quota, 2ULL << 30);
	free_config(conf);

	/* The file's macros do not outlive its parse. */
	expect_text_errors("quota $q2\n", (const char *const[]){
	    "%:1: macro \"q2\" not defined", NULL });
}
END_TEST

/* -D defines a macro the file cannot change, for every parse. */
START_TEST(test_cmdline_macros)
{
	struct pv_config	*conf;
	char			*errs;

	ck_assert_int_eq(cmdline_symset("qsize=7M"), 0);
	ck_assert_int_eq(cmdline_symset("lport=4100"), 0);
	ck_assert_int_eq(cmdline_symset("novalue"), -1);
	ck_assert_int_eq(cmdline_symset("bad-name=1"), -1);
	ck_assert_int_eq(cmdline_symset("=1"), -1);
	ck_assert_int_eq(cmdline_symset("nl=a\nb"), -1);
	/* Names of 63 characters at most, as the lexer reads them. */
	ck_assert_int_eq(cmdline_symset("m23456789012345678901234567890"
	    "123456789012345678901234567890123=1"), 0);
	ck_assert_int_eq(cmdline_symset("m23456789012345678901234567890"
	    "1234567890123456789012345678901234=1"), -1);

	conf = parse_capture(conf_file("macros.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	ck_assert_uint_eq(conf->g.quota, 7ULL << 20);
	assert_endpoint(&conf->listen, 0, "127.0.0.1", 4100);
	free_config(conf);
	free(errs);

	/* Again: the -D macros persist. */
	conf = parse_capture(conf_file("macros.conf"), 0, &errs);
	ck_assert_msg(conf != NULL, "%s", errs);
	ck_assert_uint_eq(conf->g.quota, 7ULL << 20);
	free_config(conf);
	free(errs);

	/* And are there without a definition in the file. */
	conf = parse_text("reserve $qsize\nquota $m2345678901234567890123456"
	    "7890123456789012345678901234567890123\n");
	ck_assert_uint_eq(conf->g.reserve, 7ULL << 20);
	ck_assert_uint_eq(conf->g.quota, 1);
	free_config(conf);
}
END_TEST

START_TEST(test_macro_errors)
{
	expect_text_errors("a = \"$b\"\nquota $a\nport = 4\nbad-name = \"x\"\n"
	    "listen on $\nreserve $zz\nok = 1\n",
	    (const char *const[]){
	    "%:2: a macro's value may not use a macro",
	    "%:3: syntax error at \"port\"",
	    "%:4: invalid macro name \"bad-name\"",
	    "%:5: missing macro name after '$'",
	    "%:6: macro \"zz\" not defined",
	    NULL });
	/* A macro referring to itself cannot loop. */
	expect_text_errors("a = \"x $a\"\nuser $a\n", (const char *const[]){
	    "%:2: a macro's value may not use a macro", NULL });
}
END_TEST

/* Errors from the lexer. */
START_TEST(test_lexer_errors)
{
	char	*text, *big;

	/* 8 KiB at most for one token, quoted or not. */
	big = malloc(9001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 9000);
	big[9000] = '\0';
	ck_assert_int_ne(asprintf(&text, "data \"/%s\"\nquota %s\n"
	    "user \"x\"\n", big, big), -1);
	expect_text_errors(text, (const char *const[]){
	    "%:1: string too long", "%:2: string too long", NULL });
	free(text);
	free(big);

	expect_text_errors("data \"/unterminated\nuser 'also\n"
	    "data \"/x\"\n",
	    (const char *const[]){
	    "%:1: unterminated string", "%:2: unterminated string", NULL });
	/* At the end of the file, too. */
	expect_text_errors("quota 1G\nkey \"/a", (const char *const[]){
	    "%:2: unterminated string", NULL });
	expect_text_errors("quota 1G\nreserve 1\001\n", (const char *const[]){
	    "%:2: syntax error at \"\\x01\"", NULL });
	expect_text_errors("quota ( 1G\n{\n", (const char *const[]){
	    "%:1: syntax error at \"(\"", "%:2: syntax error at \"{\"",
	    NULL });
	expect_text_errors("listen on\nlisten\n", (const char *const[]){
	    "%:1: syntax error at end of line",
	    "%:2: syntax error at end of line", NULL });
	expect_text_errors("bogus\nalso bogus\nx =\n", (const char *const[]){
	    "%:1: unknown keyword \"bogus\"",
	    "%:2: unknown keyword \"also\"",
	    "%:3: syntax error at end of line", NULL });
}
END_TEST

/* NUL bytes cannot be written by write_temp(). */
START_TEST(test_nul)
{
	static const char	 text[] = "quota 1G\nreserve 1\0\n"
	    "key \"/a\0b\"\nuser \"x\"\n";
	char			 path[PATH_MAX];
	const char		*lines[3];
	char			*l1, *l2;
	int			 fd;

	ck_assert_int_gt(snprintf(path, sizeof(path), "%s/check_parse.XXXXXX",
	    tmpdir), 0);
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    sizeof(text) - 1);
	close(fd);
	ck_assert_int_ne(asprintf(&l1, "%%:2: invalid character"), -1);
	ck_assert_int_ne(asprintf(&l2, "%%:3: invalid character in string"),
	    -1);
	lines[0] = l1;
	lines[1] = l2;
	lines[2] = NULL;
	expect_errors(path, lines);
	unlink(path);
	free(l1);
	free(l2);
}
END_TEST

/* Continued lines, \r\n, a last line without its newline. */
START_TEST(test_lexer)
{
	struct pv_config	*conf;

	conf = parse_text("listen \\\n  on \\\n  ::1 \\\n port 3001\r\n"
	    "data \"/a \\\"b\\\" c\\\\d\"\r\n"
	    "key '/it\"s'\n"
	    "user \"con\\\ntinued\"\n"
	    "socket /run/pv.sock # bare words may be paths\n"
	    "quota 2g");
	assert_endpoint(&conf->listen, 0, "::1", 3001);
	ck_assert_str_eq(conf->g.data_dir, "/a \"b\" c\\d");
	ck_assert_str_eq(conf->g.key_file, "/it\"s");
	ck_assert_str_eq(conf->g.user, "continued");
	ck_assert_str_eq(conf->g.socket_path, "/run/pv.sock");
	ck_assert_uint_eq(conf->g.quota, 2ULL << 30);
	free_config(conf);
}
END_TEST

/* A line number is right after continued lines. */
START_TEST(test_line_numbers)
{
	expect_text_errors("data \\\n \"/a\"\n\n# c\nquota \\\n 0\nfoo\n",
	    (const char *const[]){
	    "%:5: quota 0 must be more than 0",
	    "%:7: unknown keyword \"foo\"", NULL });
}
END_TEST

/* Every statement given once only, said so when given twice. */
START_TEST(test_twice)
{
	expect_text_errors(
	    "advertise 192.0.2.1\nadvertise 192.0.2.2\n"
	    "data \"/a\"\ndata \"/b\"\n"
	    "key \"/a\"\nkey \"/b\"\n"
	    "user \"a\"\nuser \"b\"\n"
	    "discover local\ndiscover local\n"
	    "discover pex\ndiscover pex interval 1m\n"
	    "quota 1G\nquota 2G\n"
	    "reserve 1G\nreserve 2G\n"
	    "scrub interval 1h\nscrub interval 2h\n"
	    "peer timeout 1s\npeer timeout 2s\n"
	    "tombstone lifetime 1d\ntombstone lifetime 2d\n"
	    "metrics listen on ::1 port 1\nmetrics listen on ::1 port 2\n"
	    "socket \"/a\"\nsocket \"/b\"\n",
	    (const char *const[]){
	    "%:2: advertise specified twice",
	    "%:4: data specified twice",
	    "%:6: key specified twice",
	    "%:8: user specified twice",
	    "%:10: discover local specified twice",
	    "%:12: discover pex specified twice",
	    "%:14: quota specified twice",
	    "%:16: reserve specified twice",
	    "%:18: scrub interval specified twice",
	    "%:20: peer timeout specified twice",
	    "%:22: tombstone lifetime specified twice",
	    "%:24: metrics specified twice",
	    "%:26: socket specified twice",
	    NULL });
}
END_TEST

START_TEST(test_values)
{
	expect_text_errors(
	    "key \"etc/key\"\n"
	    "socket \"run/pvd.sock\"\n"
	    "user \"-x\"\n"
	    "advertise \"bad_host\"\n"
	    "bootstrap \"-x.example\"\n"
	    "bootstrap \"a..b\"\n"
	    "listen on localhost\n"
	    "listen on 10.0.0.256\n"
	    "metrics listen on example.org port 80\n"
	    "quota 0\n"
	    "reserve 1KB\n"
	    "scrub interval 1w\n"
	    "peer timeout 0\n"
	    "tombstone lifetime 23h\n"
	    "discover pex interval 9\n"
	    "listen on ::1 port 99999999999999999999\n"
	    "data \"/\n",
	    (const char *const[]){
	    "%:1: key \"etc/key\": not an absolute path",
	    "%:2: socket \"run/pvd.sock\": not an absolute path",
	    "%:3: invalid user \"-x\"",
	    "%:4: advertise \"bad_host\": not an address or a host name",
	    "%:5: bootstrap \"-x.example\": not an address or a host name",
	    "%:6: bootstrap \"a..b\": not an address or a host name",
	    "%:7: listen on \"localhost\": not a numeric address or *",
	    "%:8: listen on \"10.0.0.256\": not a numeric address or *",
	    "%:9: metrics listen on \"example.org\": not a numeric "
	    "address or *",
	    "%:10: quota 0 must be more than 0",
	    "%:11: invalid reserve \"1KB\": a number of bytes, or with a "
	    "K, M, G or T suffix",
	    "%:12: invalid scrub interval \"1w\": a number of seconds, or "
	    "with an s, m, h or d suffix",
	    "%:13: peer timeout 0 out of range (1s to 1h)",
	    "%:14: tombstone lifetime 23h out of range (1d to 3650d)",
	    "%:15: discover pex interval 9 out of range (10s to 1d)",
	    "%:16: invalid port \"99999999999999999999\" (1 to 65535)",
	    "%:17: unterminated string",
	    NULL });
}
END_TEST

START_TEST(test_bounds)
{
	struct pv_config	*conf;
	char			*text, *p, *path;
	size_t			 len;
	FILE			*fp;
	int			 i;

	/* The extremes that are allowed. */
	conf = parse_text("listen on 127.0.0.1 port 1\n"
	    "listen on 127.0.0.1 port 65535\n"
	    "scrub interval 1m\npeer timeout 1h\n"
	    "tombstone lifetime 3650d\ndiscover pex interval 10s\n"
	    "reserve 0\nquota 16777215T\n");
	ck_assert_uint_eq(conf->g.tombstone_lifetime, 3650U * 86400);
	ck_assert_uint_eq(conf->g.quota, 16777215ULL << 40);
	assert_round_trip(conf);
	free_config(conf);

	expect_text_errors("quota 16777216T\n", (const char *const[]){
	    "%:1: quota 16777216T is too large", NULL });

	/* PVD_LISTEN_MAX listeners and PVD_BOOTSTRAP_MAX peers. */
	ck_assert_ptr_nonnull(fp = open_memstream(&text, &len));
	for (i = 0; i <= PVD_LISTEN_MAX; i++)
		fprintf(fp, "listen on 10.0.0.%d\n", i + 1);
	for (i = 0; i <= PVD_BOOTSTRAP_MAX; i++)
		fprintf(fp, "bootstrap \"h%d.example.org\"\n", i);
	fclose(fp);
	ck_assert_int_ne(asprintf(&p, "%%:%d: too many listen statements "
	    "(%d at most)", PVD_LISTEN_MAX + 1, PVD_LISTEN_MAX), -1);
	ck_assert_int_ne(asprintf(&path, "%%:%d: too many bootstrap "
	    "statements (%d at most)", PVD_LISTEN_MAX + PVD_BOOTSTRAP_MAX + 2,
	    PVD_BOOTSTRAP_MAX), -1);
	expect_text_errors(text, (const char *const[]){ p, path, NULL });
	free(p);
	free(path);
	free(text);

	/* A path of PATH_MAX bytes does not fit with its NUL. */
	p = malloc(PATH_MAX + 1);
	ck_assert_ptr_nonnull(p);
	memset(p, 'a', PATH_MAX);
	p[0] = '/';
	p[PATH_MAX] = '\0';
	ck_assert_int_ne(asprintf(&text, "data \"%s\"\n", p), -1);
	free(p);
	path = write_temp(text);
	free(text);
	conf = parse_capture(path, 0, &text);
	ck_assert_ptr_null(conf);
	ck_assert_ptr_nonnull(strstr(text,
	    ":1: data path too long (4095 bytes at most)"));
	free(text);
	unlink(path);
	free(path);

	/* The socket's path fits sun_path. */
	p = malloc(PVD_SOCKPATH_MAX + 1);
	ck_assert_ptr_nonnull(p);
	memset(p, 's', PVD_SOCKPATH_MAX);
	p[0] = '/';
	p[PVD_SOCKPATH_MAX] = '\0';
	ck_assert_int_ne(asprintf(&text, "socket \"%s\"\n", p), -1);
	expect_text_errors(text, (const char *const[]){
	    "%:1: socket path too long (107 bytes at most)", NULL });
	free(text);
	p[PVD_SOCKPATH_MAX - 1] = '\0';
	ck_assert_int_ne(asprintf(&text, "socket \"%s\"\n", p), -1);
	conf = parse_text(text);
	ck_assert_str_eq(conf->g.socket_path, p);
	free_config(conf);
	free(text);
	free(p);
}
END_TEST

/* Two listeners may not share a port. */
START_TEST(test_overlap)
{
	struct pv_config	*conf;

	expect_text_errors(
	    "listen on * port 3000\nlisten on 127.0.0.1 port 3000\n"
	    "listen on 0.0.0.0 port 3001\nlisten on 10.0.0.1 port 3001\n"
	    "listen on ::1 port 3002\nlisten on :: port 3002\n"
	    "listen on ::1 port 3003\nlisten on ::0:1 port 3003\n",
	    (const char *const[]){
	    "%:2: listen on 127.0.0.1 port 3000 overlaps listen on * "
	    "port 3000",
	    "%:4: listen on 10.0.0.1 port 3001 overlaps listen on 0.0.0.0 "
	    "port 3001",
	    "%:6: listen on :: port 3002 overlaps listen on ::1 port 3002",
	    "%:8: duplicate listen on ::0:1 port 3003",
	    NULL });

	/* The families apart, the ports apart: fine. */
	conf = parse_text("listen on 0.0.0.0\nlisten on ::\n"
	    "listen on 127.0.0.1 port 3001\nlisten on ::1 port 3001\n"
	    "metrics listen on 127.0.0.1 port 3002\n");
	ck_assert_int_eq(count_endpoints(&conf->listen), 4);
	free_config(conf);

	/* Once listen is given, there is no default listener. */
	conf = parse_text("listen on ::1 port 3001\n"
	    "metrics listen on * port 3000\n");
	ck_assert_int_eq(count_endpoints(&conf->listen), 1);
	free_config(conf);

	expect_text_errors("metrics listen on * port 3001\n"
	    "listen on ::1 port 3001\n", (const char *const[]){
	    "%:1: metrics listen on * port 3001 conflicts with listen on ::1 "
	    "port 3001", NULL });
	expect_errors(conf_file("metrics-default.conf"), (const char *const[]){
	    "@/metrics-default.conf:3: metrics listen on 127.0.0.1 port 3000 "
	    "conflicts with listen on * port 3000", NULL });
	expect_text_errors("bootstrap \"seed.example.org\"\n"
	    "bootstrap \"SEED.example.org\" port 3000\n"
	    "bootstrap \"seed.example.org\" port 3001\n"
	    "bootstrap 2001:db8::1\nbootstrap 2001:db8:0::1\n",
	    (const char *const[]){
	    "%:2: duplicate bootstrap \"SEED.example.org\" port 3000",
	    "%:5: duplicate bootstrap \"2001:db8:0::1\" port 3000", NULL });
}
END_TEST

/* PARSE_QUIET: nothing printed, the first error kept. */
START_TEST(test_quiet)
{
	struct pv_config	*conf;
	char			*errs;

	conf = parse_capture(conf_file("bad.conf"), PARSE_QUIET, &errs);
	ck_assert_ptr_null(conf);
	ck_assert_str_eq(errs, "");
	ck_assert_ptr_nonnull(strstr(parse_last_error(),
	    "/bad.conf:2: invalid port 0 (1 to 65535)"));
	free(errs);

	/* A good parse clears it. */
	conf = parse_capture(conf_file("full.conf"), PARSE_QUIET, &errs);
	ck_assert_ptr_nonnull(conf);
	ck_assert_str_eq(parse_last_error(), "");
	free_config(conf);
	free(errs);
}
END_TEST

/* PARSE_LOG: through log_warnx(), which is stderr in debug mode. */
START_TEST(test_log)
{
	struct pv_config	*conf;
	char			*errs, *want;

	log_init(1, LOG_DAEMON);
	log_procinit("check_parse");
	conf = parse_capture(conf_file("loop-a.conf"), PARSE_LOG, &errs);
	ck_assert_ptr_null(conf);
	ck_assert_int_ne(asprintf(&want, "check_parse: %s/loop-b.conf:2: "
	    "include \"%s/loop-a.conf\": include loop\n", confdir, confdir),
	    -1);
	ck_assert_str_eq(errs, want);
	free(errs);
	free(want);
}
END_TEST

/* discover pex without an interval keeps the default one. */
START_TEST(test_pex_default)
{
	struct pv_config	*conf;
	char			*text;

	conf = parse_text("discover pex\n");
	ck_assert_int_eq(conf->g.discover_pex, 1);
	ck_assert_uint_eq(conf->g.pex_interval, PVD_PEX_DEFAULT);
	text = print_to_string(conf);
	ck_assert_ptr_nonnull(strstr(text, "\ndiscover pex interval 5m\n"));
	free(text);
	assert_round_trip(conf);
	free_config(conf);
}
END_TEST

START_TEST(test_not_regular)
{
	expect_errors(confdir, (const char *const[]){
	    "@: not a regular file", NULL });
	expect_text_errors("include \"/dev/null\"\n", (const char *const[]){
	    "%:1: include \"/dev/null\": not a regular file", NULL });
}
END_TEST

START_TEST(test_parse_size)
{
	uint64_t	v;

	ck_assert_int_eq(parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_size("1024", &v), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(parse_size("10M", &v), 0);
	ck_assert_uint_eq(v, 10ULL << 20);
	ck_assert_int_eq(parse_size("5G", &v), 0);
	ck_assert_uint_eq(v, 5ULL << 30);
	ck_assert_int_eq(parse_size("5g", &v), 0);
	ck_assert_uint_eq(v, 5ULL << 30);
	ck_assert_int_eq(parse_size("3k", &v), 0);
	ck_assert_uint_eq(v, 3072);
	ck_assert_int_eq(parse_size("2T", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 40);
	ck_assert_int_eq(parse_size("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse_size("16777215T", &v), 0);

	ck_assert_int_eq(parse_size("18446744073709551616", &v), -1);
	ck_assert_int_eq(parse_size("16777216T", &v), -1);
	ck_assert_int_eq(parse_size("", &v), -1);
	ck_assert_int_eq(parse_size("G", &v), -1);
	ck_assert_int_eq(parse_size("-1", &v), -1);
	ck_assert_int_eq(parse_size("+1", &v), -1);
	ck_assert_int_eq(parse_size(" 1", &v), -1);
	ck_assert_int_eq(parse_size("1 ", &v), -1);
	ck_assert_int_eq(parse_size("5X", &v), -1);
	ck_assert_int_eq(parse_size("5GB", &v), -1);
	ck_assert_int_eq(parse_size("1.5G", &v), -1);
	ck_assert_int_eq(parse_size(NULL, &v), -1);
}
END_TEST

START_TEST(test_parse_duration)
{
	uint32_t	v;

	ck_assert_int_eq(parse_duration("90", &v), 0);
	ck_assert_uint_eq(v, 90);
	ck_assert_int_eq(parse_duration("90s", &v), 0);
	ck_assert_uint_eq(v, 90);
	ck_assert_int_eq(parse_duration("15m", &v), 0);
	ck_assert_uint_eq(v, 900);
	ck_assert_int_eq(parse_duration("1h", &v), 0);
	ck_assert_uint_eq(v, 3600);
	ck_assert_int_eq(parse_duration("180d", &v), 0);
	ck_assert_uint_eq(v, 180 * 86400);
	ck_assert_int_eq(parse_duration("4294967295", &v), 0);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(parse_duration("49710d", &v), 0);

	ck_assert_int_eq(parse_duration("4294967296", &v), -1);
	ck_assert_int_eq(parse_duration("49711d", &v), -1);
	ck_assert_int_eq(parse_duration("99999999999999999999", &v), -1);
	ck_assert_int_eq(parse_duration("", &v), -1);
	ck_assert_int_eq(parse_duration("h", &v), -1);
	ck_assert_int_eq(parse_duration("1H", &v), -1);
	ck_assert_int_eq(parse_duration("1w", &v), -1);
	ck_assert_int_eq(parse_duration("1hh", &v), -1);
	ck_assert_int_eq(parse_duration("-1", &v), -1);
	ck_assert_int_eq(parse_duration(NULL, &v), -1);
}
END_TEST

START_TEST(test_fmt)
{
	char			buf[32];
	struct pv_endpoint	ep;

	fmt_size(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0 B");
	fmt_size(512, buf, sizeof(buf));
	ck_assert_str_eq(buf, "512 B");
	fmt_size(1023, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1023 B");
	fmt_size(1024, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.0 KiB");
	fmt_size(1536, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.5 KiB");
	fmt_size(5ULL << 30, buf, sizeof(buf));
	ck_assert_str_eq(buf, "5.0 GiB");
	fmt_size((1ULL << 20) - 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.0 MiB");
	fmt_size(UINT64_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "16.0 EiB");
	fmt_size(5ULL << 30, buf, 4);
	ck_assert_str_eq(buf, "5.0");

	fmt_duration(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");
	fmt_duration(45, buf, sizeof(buf));
	ck_assert_str_eq(buf, "45s");
	fmt_duration(90, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1m 30s");
	fmt_duration(3600, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1h");
	fmt_duration(3601, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1h");
	fmt_duration(3 * 86400 + 4 * 3600 + 5, buf, sizeof(buf));
	ck_assert_str_eq(buf, "3d 4h");
	fmt_duration(UINT32_MAX, buf, sizeof(buf));
	ck_assert_str_eq(buf, "49710d 6h");

	memset(&ep, 0, sizeof(ep));
	strlcpy(ep.host, "::1", sizeof(ep.host));
	ep.port = 3000;
	ck_assert_str_eq(endpoint_str(&ep), "[::1]:3000");
	strlcpy(ep.host, "192.0.2.1", sizeof(ep.host));
	ck_assert_str_eq(endpoint_str(&ep), "192.0.2.1:3000");
	strlcpy(ep.host, "*", sizeof(ep.host));
	ep.port = 9;
	ck_assert_str_eq(endpoint_str(&ep), "*:9");
	strlcpy(ep.host, "seed.example.org", sizeof(ep.host));
	ck_assert_str_eq(endpoint_str(&ep), "seed.example.org:9");
}
END_TEST

START_TEST(test_config_helpers)
{
	struct pv_config	 conf;
	struct pv_endpoint	 ep;
	char			 buf[4] = { 'a', 'b', 'c', 'd' };

	config_init(&conf);
	ck_assert_int_eq(count_endpoints(&conf.listen), 0);
	ck_assert_str_eq(conf.g.data_dir, PVD_DATA_DIR);

	memset(&ep, 0, sizeof(ep));
	strlcpy(ep.host, "Seed.example.org", sizeof(ep.host));
	ep.port = 1;
	ck_assert_int_eq(config_add_endpoint(&conf.bootstrap, &ep), 0);
	ep.port = 2;
	ck_assert_int_eq(config_add_endpoint(&conf.bootstrap, &ep), 0);
	strlcpy(ep.host, "seed.EXAMPLE.org", sizeof(ep.host));
	errno = 0;
	ck_assert_int_eq(config_add_endpoint(&conf.bootstrap, &ep), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(count_endpoints(&conf.bootstrap), 2);
	config_clear(&conf);
	ck_assert_int_eq(count_endpoints(&conf.bootstrap), 0);
	config_clear(&conf);

	ck_assert_int_eq(strbuf_terminated(buf, sizeof(buf)), 0);
	buf[3] = '\0';
	ck_assert_int_eq(strbuf_terminated(buf, sizeof(buf)), 1);
	ck_assert_int_eq(strbuf_terminated(buf, 3), 0);
}
END_TEST

/* Send one message over a socketpair and receive it. */
static void
imsg_roundtrip(uint32_t type, const void *data, size_t len,
    struct imsgbuf *rd, struct imsgbuf *wr, struct imsg *imsg)
{
	ck_assert_int_ne(imsg_compose(wr, type, 0, 0, -1, data, len), -1);
	ck_assert_int_ne(imsgbuf_flush(wr), -1);
	ck_assert_int_eq(imsgbuf_read(rd), 1);
	ck_assert_int_gt(imsg_get(rd, imsg), 0);
}

START_TEST(test_config_recv)
{
	struct imsgbuf		 rd, wr;
	struct imsg		 imsg;
	struct pv_globals	 g, got;
	struct pv_endpoint	 ep, gotep;
	int			 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(imsgbuf_init(&rd, sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&wr, sv[1]), 0);

	memset(&g, 0, sizeof(g));
	strlcpy(g.data_dir, "/srv", sizeof(g.data_dir));
	g.quota = 42;
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g), &rd, &wr, &imsg);
	memset(&got, 0xff, sizeof(got));
	ck_assert_int_eq(config_recv_globals(&imsg, &got), 0);
	ck_assert(memcmp(&g, &got, sizeof(g)) == 0);
	imsg_free(&imsg);

	/* One byte short, one too many. */
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g) - 1, &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_globals(&imsg, &got), -1);
	imsg_free(&imsg);
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g.data_dir), &rd, &wr,
	    &imsg);
	ck_assert_int_eq(config_recv_endpoint(&imsg, &gotep), -1);
	imsg_free(&imsg);

	/* A string without its NUL, in each array. */
	memset(g.user, 'u', sizeof(g.user));
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g), &rd, &wr, &imsg);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(config_recv_globals(&imsg, &got), -1);
	ck_assert_uint_eq(got.quota, 0);
	imsg_free(&imsg);
	g.user[0] = '\0';
	memset(g.metrics.host, 'h', sizeof(g.metrics.host));
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g), &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_globals(&imsg, &got), -1);
	imsg_free(&imsg);
	g.metrics.host[0] = '\0';
	memset(g.socket_path, 's', sizeof(g.socket_path));
	imsg_roundtrip(IMSG_CONF_START, &g, sizeof(g), &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_globals(&imsg, &got), -1);
	imsg_free(&imsg);

	memset(&ep, 0, sizeof(ep));
	strlcpy(ep.host, "::1", sizeof(ep.host));
	ep.port = 3000;
	imsg_roundtrip(IMSG_CONF_LISTEN, &ep, sizeof(ep), &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_endpoint(&imsg, &gotep), 0);
	ck_assert_str_eq(gotep.host, "::1");
	ck_assert_uint_eq(gotep.port, 3000);
	imsg_free(&imsg);
	memset(ep.host, 'x', sizeof(ep.host));
	imsg_roundtrip(IMSG_CONF_LISTEN, &ep, sizeof(ep), &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_endpoint(&imsg, &gotep), -1);
	imsg_free(&imsg);
	imsg_roundtrip(IMSG_CONF_LISTEN, NULL, 0, &rd, &wr, &imsg);
	ck_assert_int_eq(config_recv_endpoint(&imsg, &gotep), -1);
	imsg_free(&imsg);

	imsgbuf_clear(&rd);
	imsgbuf_clear(&wr);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
parse_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("parse");

	tc = tcase_create("parser");
	tcase_add_checked_fixture(tc, setup_dirs, NULL);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_missing_ok);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_errors);
	tcase_add_test(tc, test_include_loop);
	tcase_add_test(tc, test_include_depth);
	tcase_add_test(tc, test_macros);
	tcase_add_test(tc, test_cmdline_macros);
	tcase_add_test(tc, test_macro_errors);
	tcase_add_test(tc, test_lexer_errors);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_lexer);
	tcase_add_test(tc, test_line_numbers);
	tcase_add_test(tc, test_twice);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_quiet);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_pex_default);
	tcase_add_test(tc, test_not_regular);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_fmt);
	tcase_add_test(tc, test_config_helpers);
	tcase_add_test(tc, test_config_recv);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(parse_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
