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
	{ { "status" },		ACTION_STATUS,		0, 0, NULL,
	    "show the node, its addresses and its processes" },
	{ { "reload" },		ACTION_RELOAD,		0, 0, NULL,
	    "re-read the configuration" },
	{ { "log", "verbose" },	ACTION_LOG_VERBOSE,	0, 0, NULL,
	    "log debugging messages too" },
	{ { "log", "brief" },	ACTION_LOG_BRIEF,	0, 0, NULL,
	    "stop logging debugging messages" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

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

	nargs = argc - depth;
	if (nargs < cmd->min_args || nargs > cmd->max_args) {
		fprintf(stderr, "%s: ", getprogname());
		print_name(stderr, cmd);
		fprintf(stderr, ": %s\n", nargs < cmd->min_args ?
		    "missing argument" : "too many arguments");
		fprintf(stderr, "usage: %s [-j] [-s socket] ", getprogname());
		print_name(stderr, cmd);
		fprintf(stderr, "%s%s\n", cmd->args != NULL ? " " : "",
		    cmd->args != NULL ? cmd->args : "");
		return (-1);
	}

	res->action = cmd->action;
	res->argc = nargs;
	res->argv = argv + depth;
	return (0);
}
