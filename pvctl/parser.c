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

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/*
 * Adding a command is one row here (and its request and output).
 * Rows are listed in the order "valid commands" shows them.
 */
static const struct ctl_command commands[] = {
	{ { "status" },		ACTION_STATUS,		NULL, 0, 0, NULL,
	    "show the node, its addresses and its processes" },
	{ { "peers" },		ACTION_PEERS,		NULL, 0, 0, NULL,
	    "show the peers: address, node, state, traffic" },
	{ { "store" },		ACTION_STORE,		"r", 1, 2,
	    "FILE [NAME]\n-r DIR [PREFIX]",
	    "store a file (- for standard input), or the files under DIR" },
	{ { "get" },		ACTION_GET,		NULL, 1, 2,
	    "NAME [FILE]",
	    "write a file to FILE or to standard output" },
	{ { "delete" },		ACTION_DELETE,		"f", 1, 1,
	    "[-f] NAME",
	    "delete a file on every node" },
	{ { "list" },		ACTION_LIST,		NULL, 0, 0, NULL,
	    "list the files stored on this node" },
	{ { "quota" },		ACTION_QUOTA,		NULL, 0, 0, NULL,
	    "show the space used, the quota and what is available" },
	{ { "quota", "set" },	ACTION_QUOTA_SET,	NULL, 1, 1,
	    "SIZE|none",
	    "change the quota (K, M, G or T suffix; none: no quota)" },
	{ { "scrub" },		ACTION_SCRUB,		NULL, 0, 0, NULL,
	    "verify every stored blob now and report" },
	{ { "reload" },		ACTION_RELOAD,		NULL, 0, 0, NULL,
	    "re-read the configuration" },
	{ { "log", "verbose" },	ACTION_LOG_VERBOSE,	NULL, 0, 0, NULL,
	    "log debugging messages too" },
	{ { "log", "brief" },	ACTION_LOG_BRIEF,	NULL, 0, 0, NULL,
	    "stop logging debugging messages" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))
#define SYNOPSIS_MAX	128

enum match {
	MATCH_NONE,
	MATCH_ONE,
	MATCH_AMBIGUOUS
};

static const char	*cmd_word(const struct ctl_command *, int);
static enum match	 match_word(const char *, int, int *);
static const struct ctl_command *complete_at(const int *, int);
static void		 print_name(FILE *, const struct ctl_command *);
static void		 print_valid(const int *);
static void		 print_ambiguous(const char *, int, const int *);
static void		 cmd_name(const struct ctl_command *, char *, size_t);
static int		 synopsis(const struct ctl_command *, const char **,
			    char *, size_t);
static int		 parse_options(const struct ctl_command *, int *,
			    char ***, unsigned int *);
static void		 print_usage(const struct ctl_command *);

static const char *
cmd_word(const struct ctl_command *cmd, int depth)
{
	if (depth >= CMD_WORDS_MAX)
		return (NULL);
	return (cmd->words[depth]);
}

/*
 * Keep alive only the rows whose word at this depth matches: an exact
 * match wins, otherwise the word must be a prefix of exactly one
 * distinct table word.  alive changes only with MATCH_ONE.
 */
static enum match
match_word(const char *word, int depth, int *alive)
{
	const char	*w, *matched = NULL;
	size_t		 i, len;
	int		 ambiguous = 0, exact = 0;

	if ((len = strlen(word)) == 0)
		return (MATCH_NONE);

	for (i = 0; i < NCOMMANDS && !exact; i++) {
		if (!alive[i] || (w = cmd_word(&commands[i], depth)) == NULL)
			continue;
		if (strcmp(w, word) == 0) {
			matched = w;
			exact = 1;
		}
	}
	for (i = 0; i < NCOMMANDS && !exact; i++) {
		if (!alive[i] || (w = cmd_word(&commands[i], depth)) == NULL)
			continue;
		if (strncmp(w, word, len) != 0)
			continue;
		if (matched == NULL)
			matched = w;
		else if (strcmp(matched, w) != 0)
			ambiguous = 1;
	}
	if (ambiguous)
		return (MATCH_AMBIGUOUS);
	if (matched == NULL)
		return (MATCH_NONE);

	for (i = 0; i < NCOMMANDS; i++) {
		w = cmd_word(&commands[i], depth);
		if (w == NULL || strcmp(w, matched) != 0)
			alive[i] = 0;
	}
	return (MATCH_ONE);
}

/* The live row that has no more words after depth of them, if any. */
static const struct ctl_command *
complete_at(const int *alive, int depth)
{
	size_t	 i;

	for (i = 0; i < NCOMMANDS; i++)
		if (alive[i] && cmd_word(&commands[i], depth) == NULL)
			return (&commands[i]);
	return (NULL);
}

static void
print_name(FILE *fp, const struct ctl_command *cmd)
{
	const char	*w;
	int		 depth;

	for (depth = 0; (w = cmd_word(cmd, depth)) != NULL; depth++)
		fprintf(fp, "%s%s", depth > 0 ? " " : "", w);
}

static void
print_valid(const int *alive)
{
	size_t	 i;
	int	 first = 1;

	fprintf(stderr, "valid commands: ");
	for (i = 0; i < NCOMMANDS; i++) {
		if (!alive[i])
			continue;
		if (!first)
			fprintf(stderr, ", ");
		print_name(stderr, &commands[i]);
		first = 0;
	}
	fprintf(stderr, "\n");
}

static void
print_ambiguous(const char *word, int depth, const int *alive)
{
	const char	*w, *prev;
	size_t		 i, j, len;
	int		 first = 1, seen;

	len = strlen(word);
	fprintf(stderr, "%s: ambiguous command: %s (could be: ",
	    getprogname(), word);
	for (i = 0; i < NCOMMANDS; i++) {
		if (!alive[i] || (w = cmd_word(&commands[i], depth)) == NULL ||
		    strncmp(w, word, len) != 0)
			continue;
		/* "log verbose" and "log brief" both offer "log" once. */
		for (seen = 0, j = 0; j < i && !seen; j++) {
			prev = cmd_word(&commands[j], depth);
			seen = alive[j] && prev != NULL &&
			    strcmp(prev, w) == 0;
		}
		if (seen)
			continue;
		fprintf(stderr, "%s%s", first ? "" : ", ", w);
		first = 0;
	}
	fprintf(stderr, ")\n");
}

/*
 * Match argv against the table.  On success fill res and return 0;
 * otherwise say why on stderr and return -1.  It never exits, so that
 * an interactive shell can go on after a typo.
 */
int
parse(int argc, char *argv[], struct parse_result *res)
{
	const struct ctl_command *cmd;
	int		 alive[NCOMMANDS];
	size_t		 i;
	int		 d, depth, nargs;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < NCOMMANDS; i++)
		alive[i] = 1;

	for (depth = 0; depth < argc; depth++) {
		switch (match_word(argv[depth], depth, alive)) {
		case MATCH_ONE:
			continue;
		case MATCH_AMBIGUOUS:
			print_ambiguous(argv[depth], depth, alive);
			return (-1);
		case MATCH_NONE:
			break;
		}
		/* Not a command word: an argument, if a command ends here. */
		if (complete_at(alive, depth) != NULL)
			break;
		warnx("unknown command: %s", argv[depth]);
		print_valid(alive);
		return (-1);
	}

	if ((cmd = complete_at(alive, depth)) == NULL) {
		fprintf(stderr, "%s: incomplete command:", getprogname());
		for (i = 0; i < NCOMMANDS && !alive[i]; i++)
			;
		for (d = 0; d < depth; d++)
			fprintf(stderr, " %s", cmd_word(&commands[i], d));
		fprintf(stderr, "\n");
		print_valid(alive);
		return (-1);
	}

	argc -= depth;
	argv += depth;
	if (parse_options(cmd, &argc, &argv, &res->opts) == -1)
		return (-1);
	nargs = argc;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "%s: ", getprogname());
		print_name(stderr, cmd);
		fprintf(stderr, ": %s\n", nargs < cmd->min_args ?
		    "missing argument" : "too many arguments");
		print_usage(cmd);
		return (-1);
	}

	res->action = cmd->action;
	res->argc = nargs;
	res->argv = argv;
	return (0);
}

/*
 * The options of a command come right after its words: "-f", "-rf",
 * "--" to end them.  Only a command with options has any, so that the
 * names given to the others may start with '-'; "-" alone is an
 * argument (standard input or output).
 */
static int
parse_options(const struct ctl_command *cmd, int *argc, char ***argv,
    unsigned int *opts)
{
	const char	*a;

	*opts = 0;
	if (cmd->opts == NULL)
		return (0);
	while (*argc > 0 && (*argv)[0][0] == '-' && (*argv)[0][1] != '\0') {
		a = (*argv)[0];
		(*argc)--;
		(*argv)++;
		if (strcmp(a, "--") == 0)
			break;
		for (a++; *a != '\0'; a++) {
			if (*a < 'a' || *a > 'z' ||
			    strchr(cmd->opts, *a) == NULL) {
				fprintf(stderr, "%s: ", getprogname());
				print_name(stderr, cmd);
				fprintf(stderr, ": unknown option -- %c\n",
				    isprint((unsigned char)*a) ? *a : '?');
				print_usage(cmd);
				return (-1);
			}
			*opts |= OPT(*a);
		}
	}
	return (0);
}

/*
 * One synopsis of a command, "words arguments", into buf; *args starts
 * at cmd->args and moves to the next synopsis, NULL after the last.
 * Returns the length of the synopsis.
 */
static int
synopsis(const struct ctl_command *cmd, const char **args, char *buf,
    size_t len)
{
	const char	*a = *args;
	size_t		 n, used;

	cmd_name(cmd, buf, len);
	used = strlen(buf);
	if (a != NULL) {
		n = strcspn(a, "\n");
		if (used + 1 + n >= len)
			errx(1, "command synopsis too long");
		buf[used++] = ' ';
		memcpy(buf + used, a, n);
		used += n;
		buf[used] = '\0';
		*args = a[n] == '\n' ? a + n + 1 : NULL;
	}
	return ((int)used);
}

/* The usage of a command: each synopsis on its own line. */
static void
print_usage(const struct ctl_command *cmd)
{
	const char	*a = cmd->args;
	char		 line[SYNOPSIS_MAX];
	const char	*first = "usage:";

	do {
		(void)synopsis(cmd, &a, line, sizeof(line));
		fprintf(stderr, "%-6s %s [-j] [-s socket] %s\n", first,
		    getprogname(), line);
		first = "";
	} while (a != NULL);
}

/*
 * Whether word could start a command: a prefix of a first command
 * word, even an ambiguous one.  The shell says "Unknown command" for
 * the others.
 */
int
parse_is_command(const char *word)
{
	size_t	 i, len;

	if ((len = strlen(word)) == 0)
		return (0);
	for (i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].words[0], word, len) == 0)
			return (1);
	return (0);
}

/* The words of a command, space-separated, in buf. */
static void
cmd_name(const struct ctl_command *cmd, char *buf, size_t len)
{
	const char	*w;
	int		 d;

	buf[0] = '\0';
	for (d = 0; (w = cmd_word(cmd, d)) != NULL; d++)
		if ((d > 0 && strlcat(buf, " ", len) >= len) ||
		    strlcat(buf, w, len) >= len)
			errx(1, "command name too long");
}

/* The shell's help: every command with its synopses and help text. */
void
parse_help(FILE *fp)
{
	const char	*a;
	char		 line[SYNOPSIS_MAX];
	size_t		 i;
	int		 width = 0, w;

	for (i = 0; i < NCOMMANDS; i++) {
		a = commands[i].args;
		do {
			if ((w = synopsis(&commands[i], &a, line,
			    sizeof(line))) > width)
				width = w;
		} while (a != NULL);
	}

	/* The help text goes beside the first synopsis. */
	for (i = 0; i < NCOMMANDS; i++) {
		a = commands[i].args;
		(void)synopsis(&commands[i], &a, line, sizeof(line));
		fprintf(fp, "  %-*s  %s\n", width, line, commands[i].help);
		while (a != NULL) {
			(void)synopsis(&commands[i], &a, line, sizeof(line));
			fprintf(fp, "  %s\n", line);
		}
	}
	fprintf(fp, "  %-*s  %s\n", width, "help", "show this list");
	fprintf(fp, "  %-*s  %s\n", width, "quit",
	    "leave the shell (also exit or end of input)");
}
