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
 * The interactive shell: pvctl with no command on a terminal.  Each
 * line is split into words as a shell would (quotes keep spaces) and
 * run exactly as the same words on the command line, in a child
 * process of its own with a new connection, so that an error ends that
 * command and never the shell.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvd.h"
#include "parser.h"
#include "pvctl.h"

#define SHELL_PROMPT	"PeerVault> "
#define HISTORY_FILE	".pvctl_history"
#define HISTORY_SIZE	1000

static volatile sig_atomic_t	 interrupted;

static void	 shell_sigint(int);
static char	*prompt(EditLine *);
static int	 history_path(char *, size_t);
static void	 history_save(History *, const char *);
static void	 shell_run(int, const char **);

/* ^C at the prompt drops the line being typed, as in a shell. */
static void
shell_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static char *
prompt(EditLine *el)
{
	(void)el;
	return (SHELL_PROMPT);
}

/* ~/.pvctl_history, when $HOME is set. */
static int
history_path(char *buf, size_t len)
{
	const char	*home;
	int		 n;

	if ((home = getenv("HOME")) == NULL || *home == '\0')
		return (-1);
	n = snprintf(buf, len, "%s/%s", home, HISTORY_FILE);
	if (n < 0 || (size_t)n >= len)
		return (-1);
	return (0);
}

/*
 * Saved after every command, so that a shell that is killed keeps its
 * history; created private, since names of files are in it.  A home
 * that cannot be written keeps the history in memory only.
 */
static void
history_save(History *hist, const char *path)
{
	HistEvent	 ev;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1)
		return;
	close(fd);
	(void)history(hist, &ev, H_SAVE, path);
}

int
shell(void)
{
	struct sigaction sa;
	EditLine	*el;
	History		*hist;
	HistEvent	 ev;
	Tokenizer	*tok;
	const char	*line, **argv;
	char		 histfile[PATH_MAX], *copy;
	size_t		 len;
	int		 argc, count, have_file;

	if ((hist = history_init()) == NULL)
		errx(1, "history_init failed");
	(void)history(hist, &ev, H_SETSIZE, HISTORY_SIZE);
	(void)history(hist, &ev, H_SETUNIQUE, 1);
	have_file = history_path(histfile, sizeof(histfile)) == 0;
	if (have_file)
		(void)history(hist, &ev, H_LOAD, histfile);

	if ((el = el_init(getprogname(), stdin, stdout, stderr)) == NULL)
		errx(1, "el_init failed");
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_PROMPT, prompt);
	el_set(el, EL_HIST, history, hist);
	el_set(el, EL_SIGNAL, 1);
	(void)el_source(el, NULL);
	if ((tok = tok_init(NULL)) == NULL)
		errx(1, "tok_init failed");

	/* Without SA_RESTART, so that el_gets() returns on ^C. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = shell_sigint;
	if (sigaction(SIGINT, &sa, NULL) == -1)
		err(1, "sigaction");

	for (;;) {
		interrupted = 0;
		line = el_gets(el, &count);
		if (interrupted) {
			printf("\n");
			continue;
		}
		if (line == NULL || count <= 0) {
			/* End of input: leave on a line of its own. */
			printf("\n");
			break;
		}
		if (line[strspn(line, " \t\n")] == '\0')
			continue;

		/* Kept even when it does not parse, to be fixed. */
		if ((copy = strdup(line)) == NULL)
			err(1, NULL);
		len = strlen(copy);
		if (len > 0 && copy[len - 1] == '\n')
			copy[len - 1] = '\0';
		(void)history(hist, &ev, H_ENTER, copy);
		free(copy);
		if (have_file)
			history_save(hist, histfile);

		tok_reset(tok);
		if (tok_str(tok, line, &argc, &argv) != 0) {
			fprintf(stderr, "Unmatched quote\n");
			continue;
		}
		if (argc == 0)
			continue;

		if (strcmp(argv[0], "quit") == 0 ||
		    strcmp(argv[0], "exit") == 0)
			break;
		if (strcmp(argv[0], "help") == 0 ||
		    strcmp(argv[0], "?") == 0) {
			parse_help(stdout);
			continue;
		}
		if (!parse_is_command(argv[0])) {
			fprintf(stderr, "Unknown command: ");
			print_clean(stderr, argv[0]);
			fprintf(stderr, "\n");
			continue;
		}
		shell_run(argc, argv);
	}

	tok_end(tok);
	el_end(el);
	history_end(hist);
	return (0);
}

/*
 * Run one command in a child.  The shell ignores ^C meanwhile, so that
 * it stops the command (which cleans up after itself) and not the
 * shell.
 */
static void
shell_run(int argc, const char **argv)
{
	struct sigaction sa, oint, oquit;
	pid_t		 pid;
	int		 status;

	fflush(stdout);
	fflush(stderr);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGINT, &sa, &oint) == -1 ||
	    sigaction(SIGQUIT, &sa, &oquit) == -1)
		err(1, "sigaction");

	switch ((pid = fork())) {
	case -1:
		warn("fork");
		break;
	case 0:
		sa.sa_handler = SIG_DFL;
		if (sigaction(SIGINT, &sa, NULL) == -1 ||
		    sigaction(SIGQUIT, &sa, NULL) == -1)
			err(1, "sigaction");
		/* The parser only reads the words. */
		exit(ctl_run(argc, (char **)argv));
	default:
		while (waitpid(pid, &status, 0) == -1)
			if (errno != EINTR)
				err(1, "waitpid");
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)
			printf("\n");
		break;
	}

	if (sigaction(SIGINT, &oint, NULL) == -1 ||
	    sigaction(SIGQUIT, &oquit, NULL) == -1)
		err(1, "sigaction");
}
