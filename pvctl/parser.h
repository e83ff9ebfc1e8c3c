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
 * to, how many arguments follow the words, and its help text.
 */

#ifndef PVCTL_PARSER_H
#define PVCTL_PARSER_H

enum ctl_action {
	ACTION_NONE,
	ACTION_STATUS,
	ACTION_RELOAD,
	ACTION_LOG_VERBOSE,
	ACTION_LOG_BRIEF
};

#define CMD_WORDS_MAX	3

struct ctl_command {
	const char	*words[CMD_WORDS_MAX];	/* unused slots are NULL */
	enum ctl_action	 action;
	int		 min_args;
	int		 max_args;
	const char	*args;		/* synopsis of the arguments, or NULL */
	const char	*help;
};

struct parse_result {
	enum ctl_action	 action;
	int		 argc;		/* arguments after the command words */
	char		**argv;
};

int	 parse(int, char *[], struct parse_result *);

#endif /* PVCTL_PARSER_H */
