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
 * The pvctl command table.  Each row is one command: the words that name
 * it, matched by unique prefix one word at a time, the action it maps
 * to, the one-letter options it takes, how many arguments follow the
 * words and the options, and its help text.
 */

#ifndef PVCTL_PARSER_H
#define PVCTL_PARSER_H

enum ctl_action {
	ACTION_NONE,
	ACTION_STATUS,
	ACTION_RELOAD,
	ACTION_LOG_VERBOSE,
	ACTION_LOG_BRIEF,
	ACTION_STORE,
	ACTION_GET,
	ACTION_DELETE,
	ACTION_LIST,
	ACTION_QUOTA,
	ACTION_QUOTA_SET,
	ACTION_SCRUB,
	ACTION_PEERS
};

#define CMD_WORDS_MAX	3

struct ctl_command {
	const char	*words[CMD_WORDS_MAX];	/* unused slots are NULL */
	enum ctl_action	 action;
	const char	*opts;		/* option letters, or NULL */
	int		 min_args;
	int		 max_args;
	const char	*args;		/* synopses, '\n' between, or NULL */
	const char	*help;
};

/* The bit of option letter c in parse_result.opts. */
#define OPT(c)		(1U << ((c) - 'a'))

struct parse_result {
	enum ctl_action	 action;
	unsigned int	 opts;		/* OPT() of each option given */
	int		 argc;		/* arguments after the options */
	char		**argv;
};

int	 parse(int, char *[], struct parse_result *);
int	 parse_is_command(const char *);
void	 parse_help(FILE *);

#endif /* PVCTL_PARSER_H */
