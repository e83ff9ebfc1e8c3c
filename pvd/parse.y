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
 * pvd.conf(5).  It is written in the common subset of bison -y and
 * byacc: no %define, no %destructor, YYSTYPE declared here.
 *
 * Every string the lexer hands to the grammar lives in a list that is
 * freed once at the end of the parse, so the error recovery, which
 * drops tokens without telling anyone, leaks nothing.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"
#include "pvd_conf.h"

#define UNGET_MAX	8
#define ERRMSG_MAX	1024
#define TOKTEXT_MAX	64
#define MACRO_NAME_MAX	64	/* with the NUL */

struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	unsigned int		 serial;	/* tells files apart */
	dev_t			 dev;
	ino_t			 ino;
	int			 lineno;	/* of the next character */
	int			 tokline;	/* of the last token */
	int			 stmtline;	/* of the statement */
	int			 bol;		/* after a newline */
	int			 stmt_ntok;	/* tokens in statement */
	int			 stmt_first;	/* its first token */
	int			 stmt_second;	/* and the second */
	char			 stmt_word[TOKTEXT_MAX];
	char			 toktext[TOKTEXT_MAX];
	int			 unget[UNGET_MAX];
	int			 nunget;
	char			*expand;	/* a macro's value */
	size_t			 expand_pos;
};
TAILQ_HEAD(files, file);

/* A macro; one from -D persists, and the file cannot change it. */
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	char			*name;
	char			*value;
	int			 persist;
};
TAILQ_HEAD(syms, sym);

/* A string handed to the grammar; all are freed after the parse. */
struct tokstr {
	SLIST_ENTRY(tokstr)	 entry;
	char			 s[];
};
SLIST_HEAD(tokstrs, tokstr);

/* Statements that may appear once. */
#define ONCE_ADVERTISE		0x0001
#define ONCE_DATA		0x0002
#define ONCE_KEY		0x0004
#define ONCE_USER		0x0008
#define ONCE_DISCOVER_LOCAL	0x0010
#define ONCE_DISCOVER_PEX	0x0020
#define ONCE_QUOTA		0x0040
#define ONCE_RESERVE		0x0080
#define ONCE_SCRUB		0x0100
#define ONCE_TIMEOUT		0x0200
#define ONCE_TOMBSTONE		0x0400
#define ONCE_METRICS		0x0800
#define ONCE_SOCKET		0x1000

static struct files	 files = TAILQ_HEAD_INITIALIZER(files);
static struct file	*file;
static int		 nfiles;
static unsigned int	 file_serial;
static struct syms	 symhead = TAILQ_HEAD_INITIALIZER(symhead);
static struct tokstrs	 tokstrs = SLIST_HEAD_INITIALIZER(tokstrs);

static struct pv_config	*conf;
static int		 parse_flags;
static int		 errors;
static unsigned int	 seen;
static int		 nlisten;
static int		 nbootstrap;
static char		*metrics_file;	/* where metrics was given */
static int		 metrics_line;

static char		 last_error[ERRMSG_MAX];
static unsigned int	 lasterr_serial;
static int		 lasterr_line;

int		 yyparse(void);
int		 yylex(void);
int		 yyerror(const char *);

static void	 parse_error(const char *, unsigned int, int, const char *,
		    ...) __attribute__((__format__ (printf, 4, 5)));
static void	 lex_error(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static void	 conf_error(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));
static int	 pushfile(const char *, int);
static int	 popfile(void);
static void	 closefile(struct file *);
static int	 lgetc(void);
static int	 igetc(void);
static void	 lungetc(int);
static int	 findeol(void);
static int	 expand_macro(const char *, int);
static int	 settok(int, const char *);
static char	*tokstr_new(const char *);
static void	 tokstr_clear(void);
static int	 symset(const char *, const char *, int);
static const char *symget(const char *);
static void	 symclear(int);
static int	 valid_macro_name(const char *);
static int	 once(unsigned int, const char *);
static char	*numstr(int64_t);
static int	 conf_path(const char *, const char *, char *, size_t);
static int	 conf_size(const char *, const char *, uint64_t *);
static int	 conf_duration(const char *, const char *, uint32_t,
		    uint32_t, uint32_t *);
static int	 conf_numeric(const char *, const char *, char *, size_t);
static int	 conf_host(const char *, const char *, char *, size_t);
static int	 valid_hostname(const char *);
static int	 endpoint_overlap(const struct pv_endpoint *,
		    const struct pv_endpoint *);
static int	 add_listen(const char *, int);
static int	 add_bootstrap(const char *, int);
static void	 check_config(const char *);

typedef struct {
	union {
		int64_t	 number;
		char	*string;
	} v;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED 1

%}

%token	ADVERTISE BOOTSTRAP DATA DISCOVER INCLUDE INTERVAL KEY LIFETIME
%token	LISTEN LOCAL METRICS ON PEER PEX PORT QUOTA RESERVE SCRUB SOCKET
%token	TIMEOUT TOMBSTONE USER
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.number>	port optport
%type	<v.string>	value

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include '\n'
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ yyerrok; }
		;

include		: INCLUDE STRING {
			if (pushfile($2, 1) == -1)
				YYERROR;
		}
		;

varset		: STRING '=' value {
			if (!valid_macro_name($1)) {
				conf_error("invalid macro name \"%s\"", $1);
				YYERROR;
			}
			if (symset($1, $3, 0) == -1) {
				conf_error("macro \"%s\": %s", $1,
				    strerror(errno));
				YYERROR;
			}
		}
		;

value		: STRING
		| NUMBER {
			if (($$ = numstr($1)) == NULL) {
				conf_error("%s", strerror(errno));
				YYERROR;
			}
		}
		;

port		: NUMBER {
			if ($1 < 1 || $1 > 65535) {
				conf_error("invalid port %lld (1 to 65535)",
				    (long long)$1);
				YYERROR;
			}
			$$ = $1;
		}
		| STRING {
			const char	*errstr = NULL;

			if ($1[strspn($1, "0123456789")] != '\0')
				errstr = "invalid";
			else
				$$ = strtonum($1, 1, 65535, &errstr);
			if (errstr != NULL) {
				conf_error("invalid port \"%s\" (1 to 65535)",
				    $1);
				YYERROR;
			}
		}
		;

optport		: /* empty */		{ $$ = PVD_PORT; }
		| PORT port		{ $$ = $2; }
		;

main		: LISTEN ON STRING optport {
			if (add_listen($3, $4) == -1)
				YYERROR;
		}
		| ADVERTISE STRING optport {
			struct pv_endpoint	*ep = &conf->g.advertise;

			if (once(ONCE_ADVERTISE, "advertise") == -1 ||
			    conf_host("advertise", $2, ep->host,
			    sizeof(ep->host)) == -1)
				YYERROR;
			ep->port = $3;
			conf->g.has_advertise = 1;
		}
		| DATA STRING {
			if (once(ONCE_DATA, "data") == -1 ||
			    conf_path("data", $2, conf->g.data_dir,
			    sizeof(conf->g.data_dir)) == -1)
				YYERROR;
		}
		| KEY STRING {
			if (once(ONCE_KEY, "key") == -1 ||
			    conf_path("key", $2, conf->g.key_file,
			    sizeof(conf->g.key_file)) == -1)
				YYERROR;
		}
		| USER STRING {
			size_t	len = strlen($2);

			if (once(ONCE_USER, "user") == -1)
				YYERROR;
			if (len == 0 || len >= sizeof(conf->g.user) ||
			    $2[0] == '-' ||
			    $2[strspn($2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789._-")] !=
			    '\0') {
				conf_error("invalid user \"%s\"", $2);
				YYERROR;
			}
			memset(conf->g.user, 0, sizeof(conf->g.user));
			(void)strlcpy(conf->g.user, $2, sizeof(conf->g.user));
		}
		| BOOTSTRAP STRING optport {
			if (add_bootstrap($2, $3) == -1)
				YYERROR;
		}
		| DISCOVER LOCAL {
			if (once(ONCE_DISCOVER_LOCAL, "discover local") == -1)
				YYERROR;
			conf->g.discover_local = 1;
		}
		| DISCOVER PEX {
			if (once(ONCE_DISCOVER_PEX, "discover pex") == -1)
				YYERROR;
			conf->g.discover_pex = 1;
		}
		| DISCOVER PEX INTERVAL value {
			if (once(ONCE_DISCOVER_PEX, "discover pex") == -1 ||
			    conf_duration("discover pex interval", $4,
			    10, 86400, &conf->g.pex_interval) == -1)
				YYERROR;
			conf->g.discover_pex = 1;
		}
		| QUOTA value {
			if (once(ONCE_QUOTA, "quota") == -1 ||
			    conf_size("quota", $2, &conf->g.quota) == -1)
				YYERROR;
			if (conf->g.quota == 0) {
				conf_error("quota %s must be more than 0", $2);
				YYERROR;
			}
		}
		| RESERVE value {
			if (once(ONCE_RESERVE, "reserve") == -1 ||
			    conf_size("reserve", $2, &conf->g.reserve) == -1)
				YYERROR;
		}
		| SCRUB INTERVAL value {
			if (once(ONCE_SCRUB, "scrub interval") == -1 ||
			    conf_duration("scrub interval", $3, 60,
			    30 * 86400, &conf->g.scrub_interval) == -1)
				YYERROR;
		}
		| PEER TIMEOUT value {
			if (once(ONCE_TIMEOUT, "peer timeout") == -1 ||
			    conf_duration("peer timeout", $3, 1, 3600,
			    &conf->g.peer_timeout) == -1)
				YYERROR;
		}
		| TOMBSTONE LIFETIME value {
			if (once(ONCE_TOMBSTONE, "tombstone lifetime") == -1 ||
			    conf_duration("tombstone lifetime", $3, 86400,
			    3650 * 86400, &conf->g.tombstone_lifetime) == -1)
				YYERROR;
		}
		| METRICS LISTEN ON STRING PORT port {
			struct pv_endpoint	*ep = &conf->g.metrics;

			if (once(ONCE_METRICS, "metrics") == -1 ||
			    conf_numeric("metrics listen on", $4, ep->host,
			    sizeof(ep->host)) == -1)
				YYERROR;
			ep->port = $6;
			conf->g.has_metrics = 1;
			free(metrics_file);
			if ((metrics_file = strdup(file->name)) == NULL) {
				conf_error("%s", strerror(errno));
				YYERROR;
			}
			metrics_line = file->stmtline;
		}
		| SOCKET STRING {
			if (once(ONCE_SOCKET, "socket") == -1 ||
			    conf_path("socket", $2, conf->g.socket_path,
			    sizeof(conf->g.socket_path)) == -1)
				YYERROR;
		}
		;

%%

struct keyword {
	const char	*k_name;
	int		 k_val;
};

/* Sorted: lookup() searches it with bsearch(3). */
static const struct keyword keywords[] = {
	{ "advertise",	ADVERTISE },
	{ "bootstrap",	BOOTSTRAP },
	{ "data",	DATA },
	{ "discover",	DISCOVER },
	{ "include",	INCLUDE },
	{ "interval",	INTERVAL },
	{ "key",	KEY },
	{ "lifetime",	LIFETIME },
	{ "listen",	LISTEN },
	{ "local",	LOCAL },
	{ "metrics",	METRICS },
	{ "on",		ON },
	{ "peer",	PEER },
	{ "pex",	PEX },
	{ "port",	PORT },
	{ "quota",	QUOTA },
	{ "reserve",	RESERVE },
	{ "scrub",	SCRUB },
	{ "socket",	SOCKET },
	{ "timeout",	TIMEOUT },
	{ "tombstone",	TOMBSTONE },
	{ "user",	USER }
};

static int
kw_cmp(const void *k, const void *e)
{
	return (strcmp(k, ((const struct keyword *)e)->k_name));
}

static int
lookup(const char *s)
{
	const struct keyword	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return (p != NULL ? p->k_val : STRING);
}

/*
 * Report "file:line: message" (or "file: message" when line is 0).
 * Only the first error of a line is shown: a lexer error is followed
 * by the parser's own "syntax error" on the same token.
 */
static void
parse_error(const char *fname, unsigned int serial, int line,
    const char *fmt, ...)
{
	char		 buf[ERRMSG_MAX];
	unsigned char	*p;
	va_list		 ap;
	int		 n;

	errors++;
	if (line != 0 && serial == lasterr_serial && line == lasterr_line)
		return;
	lasterr_serial = serial;
	lasterr_line = line;

	if (line != 0)
		n = snprintf(buf, sizeof(buf), "%s:%d: ", fname, line);
	else
		n = snprintf(buf, sizeof(buf), "%s: ", fname);
	if (n >= 0 && (size_t)n < sizeof(buf)) {
		va_start(ap, fmt);
		(void)vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}

	/* The values quoted come from the file: keep the output clean. */
	for (p = (unsigned char *)buf; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';

	if (last_error[0] == '\0')
		(void)strlcpy(last_error, buf, sizeof(last_error));
	if (parse_flags & PARSE_QUIET)
		return;
	if (parse_flags & PARSE_LOG)
		log_warnx("%s", buf);
	else
		fprintf(stderr, "%s\n", buf);
}

/* An error at the token being read. */
static void
lex_error(const char *fmt, ...)
{
	char	msg[ERRMSG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	parse_error(file->name, file->serial, file->tokline, "%s", msg);
}

/* An error in the statement just parsed: its first line. */
static void
conf_error(const char *fmt, ...)
{
	char	msg[ERRMSG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	parse_error(file->name, file->serial, file->stmtline, "%s", msg);
}

/* The parser's own errors, on the token it could not take. */
int
yyerror(const char *msg)
{
	if (strcmp(msg, "syntax error") != 0)
		lex_error("%s", msg);
	else if (file->stmt_first == STRING && file->stmt_second != '=')
		lex_error("unknown keyword \"%s\"", file->stmt_word);
	else if (file->toktext[0] == '\n')
		lex_error("syntax error at end of line");
	else
		lex_error("syntax error at \"%s\"", file->toktext);
	return (0);
}

/* Characters, continued lines already joined. */
static int
lgetc(void)
{
	int	c, next;

	for (;;) {
		if ((c = igetc()) != '\\')
			return (c);
		if ((next = igetc()) != '\n') {
			lungetc(next);
			return (c);
		}
		file->lineno++;
	}
}

/* Raw characters: what was pushed back, a macro's value, the file. */
static int
igetc(void)
{
	int	c;

	if (file->nunget > 0)
		return (file->unget[--file->nunget]);
	if (file->expand != NULL) {
		c = (unsigned char)file->expand[file->expand_pos];
		if (c != '\0') {
			file->expand_pos++;
			return (c);
		}
		free(file->expand);
		file->expand = NULL;
	}
	return (getc(file->stream));
}

static void
lungetc(int c)
{
	if (c == EOF)
		return;
	/* The lexer never pushes back more than a few characters. */
	if (file->nunget >= UNGET_MAX)
		fatalx("%s: unget buffer full", __func__);
	file->unget[file->nunget++] = c;
}

/* After a lexical error: skip to the end of the line, keep the '\n'. */
static int
findeol(void)
{
	int	c;

	while ((c = lgetc()) != '\n' && c != EOF)
		;
	lungetc(c);
	return (settok(ERROR, "error"));
}

/*
 * Read a macro's value next, then a space, so that its last token ends
 * with it, then the character that ended the macro's name and whatever
 * was pushed back: those come after the value.
 */
static int
expand_macro(const char *val, int c)
{
	char	*p;
	size_t	 len;

	len = strlen(val);
	free(file->expand);
	file->expand_pos = 0;
	if ((file->expand = p = malloc(len + 2 + 1 + file->nunget)) == NULL)
		return (-1);
	memcpy(p, val, len);
	p += len;
	*p++ = ' ';
	if (c != EOF)
		*p++ = c;
	while (file->nunget > 0)
		*p++ = file->unget[--file->nunget];
	*p = '\0';
	return (0);
}

/* Is a macro's value being read (the '$' came from inside it)? */
static int
expanding(void)
{
	return (file->expand != NULL &&
	    file->expand[file->expand_pos] != '\0');
}

static int
word_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && c != EOF && strchr("%*+,-./:@^_~", c) != NULL));
}

static int
name_char(int c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_');
}

/*
 * Remember the token for the error messages and where the statement
 * began, and return it.
 */
static int
settok(int tok, const char *text)
{
	if (file->bol) {
		file->stmtline = file->tokline;
		file->stmt_ntok = 0;
		file->stmt_first = tok;
		file->stmt_second = 0;
		(void)strlcpy(file->stmt_word, text, sizeof(file->stmt_word));
	} else if (file->stmt_ntok == 1)
		file->stmt_second = tok;
	file->stmt_ntok++;
	file->bol = (tok == '\n');
	(void)strlcpy(file->toktext, text, sizeof(file->toktext));
	return (tok);
}

int
yylex(void)
{
	char		 buf[PARSE_TOKEN_MAX], text[8];
	const char	*val, *errstr;
	size_t		 len;
	int		 c, quotec, next, tok;

top:
	while ((c = lgetc()) == ' ' || c == '\t' || c == '\r')
		;
	file->tokline = file->lineno;

	if (c == '#')
		while ((c = lgetc()) != '\n' && c != EOF)
			;

	if (c == '$') {
		if (expanding()) {
			lex_error("a macro's value may not use a macro");
			return (findeol());
		}
		len = 0;
		while (name_char(c = lgetc())) {
			if (len >= MACRO_NAME_MAX - 1) {
				lex_error("macro name too long");
				return (findeol());
			}
			buf[len++] = c;
		}
		buf[len] = '\0';
		if (len == 0) {
			lungetc(c);
			lex_error("missing macro name after '$'");
			return (findeol());
		}
		if ((val = symget(buf)) == NULL) {
			lungetc(c);
			lex_error("macro \"%s\" not defined", buf);
			return (findeol());
		}
		if (c == '\0') {
			lex_error("invalid character");
			return (findeol());
		}
		if (expand_macro(val, c) == -1) {
			lex_error("%s", strerror(errno));
			return (findeol());
		}
		goto top;
	}

	switch (c) {
	case '"':
	case '\'':
		quotec = c;
		len = 0;
		for (;;) {
			if ((c = lgetc()) == EOF || c == '\n') {
				lungetc(c);
				lex_error("unterminated string");
				return (findeol());
			}
			if (c == quotec)
				break;
			if (c == '\\') {
				next = igetc();
				if (next == quotec || next == '\\')
					c = next;
				else
					lungetc(next);
			}
			if (c == '\0') {
				lex_error("invalid character in string");
				return (findeol());
			}
			if (len >= sizeof(buf) - 1) {
				lex_error("string too long");
				return (findeol());
			}
			buf[len++] = c;
		}
		buf[len] = '\0';
		if ((yylval.v.string = tokstr_new(buf)) == NULL) {
			lex_error("%s", strerror(errno));
			return (findeol());
		}
		return (settok(STRING, buf));
	case '\n':
		file->lineno++;
		return (settok('\n', "\n"));
	case EOF:
		/* A last line without its newline still ends a statement. */
		if (!file->bol)
			return (settok('\n', "\n"));
		if (popfile() == EOF)
			return (0);
		goto top;
	}

	if (word_char(c)) {
		len = 0;
		do {
			if (len >= sizeof(buf) - 1) {
				lex_error("string too long");
				return (findeol());
			}
			buf[len++] = c;
		} while (word_char(c = lgetc()));
		lungetc(c);
		buf[len] = '\0';

		if (buf[strspn(buf[0] == '-' ? buf + 1 : buf,
		    "0123456789") + (buf[0] == '-')] == '\0' &&
		    strcmp(buf, "-") != 0) {
			yylval.v.number = strtonum(buf, LLONG_MIN, LLONG_MAX,
			    &errstr);
			if (errstr == NULL)
				return (settok(NUMBER, buf));
			/* Too large: the grammar reports it as a value. */
		}
		if ((tok = lookup(buf)) != STRING)
			return (settok(tok, buf));
		if ((yylval.v.string = tokstr_new(buf)) == NULL) {
			lex_error("%s", strerror(errno));
			return (findeol());
		}
		return (settok(STRING, buf));
	}

	if (c == '\0') {
		lex_error("invalid character");
		return (findeol());
	}
	if (c >= 0x20 && c < 0x7f)
		(void)snprintf(text, sizeof(text), "%c", c);
	else
		(void)snprintf(text, sizeof(text), "\\x%02x", c);
	return (settok(c, text));
}

/*
 * Open a file and make it the one being read.  An include names its
 * file relative to the directory of the file that includes it.
 * Returns 0, or -1 after reporting why not.
 */
static int
pushfile(const char *name, int include)
{
	char		 path[PATH_MAX];
	const char	*slash;
	struct file	*f, *nf;
	struct stat	 st;
	int		 fd, n;

	if (include && name[0] != '/' &&
	    (slash = strrchr(file->name, '/')) != NULL) {
		n = snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - file->name), file->name, name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			conf_error("include \"%s\": path too long", name);
			return (-1);
		}
	} else if (strlcpy(path, name, sizeof(path)) >= sizeof(path)) {
		if (include)
			conf_error("include \"%s\": path too long", name);
		else
			parse_error(name, 0, 0, "path too long");
		errno = ENAMETOOLONG;
		return (-1);
	}

	if (include && nfiles >= PARSE_INCLUDE_MAX) {
		conf_error("include \"%s\": nested too deeply (%d files)",
		    path, PARSE_INCLUDE_MAX);
		return (-1);
	}

	/* Non-blocking, so that a FIFO cannot hang the open. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		n = errno;
		if (include)
			conf_error("include \"%s\": %s", path, strerror(n));
		else if (n != ENOENT || !(parse_flags & PARSE_MISSING_OK))
			parse_error(path, 0, 0, "%s", strerror(n));
		errno = n;
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (include)
			conf_error("include \"%s\": not a regular file", path);
		else
			parse_error(path, 0, 0, "not a regular file");
		close(fd);
		errno = EINVAL;
		return (-1);
	}
	TAILQ_FOREACH(f, &files, entry) {
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			conf_error("include \"%s\": include loop", path);
			close(fd);
			errno = ELOOP;
			return (-1);
		}
	}

	if ((nf = calloc(1, sizeof(*nf))) == NULL ||
	    (nf->name = strdup(path)) == NULL ||
	    fcntl(fd, F_SETFL, 0) == -1 ||
	    (nf->stream = fdopen(fd, "r")) == NULL) {
		n = errno;
		if (include)
			conf_error("include \"%s\": %s", path, strerror(n));
		else
			parse_error(path, 0, 0, "%s", strerror(n));
		close(fd);
		if (nf != NULL)
			free(nf->name);
		free(nf);
		errno = n;
		return (-1);
	}
	nf->serial = ++file_serial;
	nf->dev = st.st_dev;
	nf->ino = st.st_ino;
	nf->lineno = 1;
	nf->bol = 1;
	TAILQ_INSERT_TAIL(&files, nf, entry);
	nfiles++;
	file = nf;

	/*
	 * The grammar wants the '\n' that ends the include statement,
	 * and may take it from here, before the included file begins:
	 * give it one, which brings the line number to 1.
	 */
	if (include) {
		nf->lineno = 0;
		lungetc('\n');
	}
	return (0);
}

static void
closefile(struct file *f)
{
	TAILQ_REMOVE(&files, f, entry);
	nfiles--;
	fclose(f->stream);
	free(f->name);
	free(f->expand);
	free(f);
}

/* At the end of an included file, go back to the one including it. */
static int
popfile(void)
{
	struct file	*prev;

	if ((prev = TAILQ_PREV(file, files, entry)) == NULL)
		return (EOF);
	closefile(file);
	file = prev;
	return (0);
}

static char *
tokstr_new(const char *s)
{
	struct tokstr	*t;
	size_t		 len = strlen(s) + 1;

	if ((t = malloc(sizeof(*t) + len)) == NULL)
		return (NULL);
	memcpy(t->s, s, len);
	SLIST_INSERT_HEAD(&tokstrs, t, entry);
	return (t->s);
}

static void
tokstr_clear(void)
{
	struct tokstr	*t;

	while ((t = SLIST_FIRST(&tokstrs)) != NULL) {
		SLIST_REMOVE_HEAD(&tokstrs, entry);
		free(t);
	}
}

static char *
numstr(int64_t n)
{
	char	buf[32];

	(void)snprintf(buf, sizeof(buf), "%lld", (long long)n);
	return (tokstr_new(buf));
}

/* What the lexer can read after a '$'. */
static int
valid_macro_name(const char *s)
{
	size_t	len;

	len = strlen(s);
	if (len == 0 || len >= MACRO_NAME_MAX)
		return (0);
	for (; *s != '\0'; s++)
		if (!name_char((unsigned char)*s))
			return (0);
	return (1);
}

/* Define a macro; a -D one (persist) wins over the file's. */
static int
symset(const char *name, const char *value, int persist)
{
	struct sym	*sym;
	char		*v;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(sym->name, name) == 0)
			break;
	if (sym != NULL && sym->persist && !persist)
		return (0);
	if ((v = strdup(value)) == NULL)
		return (-1);
	if (sym == NULL) {
		if ((sym = calloc(1, sizeof(*sym))) == NULL ||
		    (sym->name = strdup(name)) == NULL) {
			free(sym);
			free(v);
			return (-1);
		}
		TAILQ_INSERT_TAIL(&symhead, sym, entry);
	} else
		free(sym->value);
	sym->value = v;
	sym->persist = persist;
	return (0);
}

static const char *
symget(const char *name)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(sym->name, name) == 0)
			return (sym->value);
	return (NULL);
}

/* Forget the file's macros, or all of them. */
static void
symclear(int all)
{
	struct sym	*sym, *next;

	TAILQ_FOREACH_SAFE(sym, &symhead, entry, next) {
		if (sym->persist && !all)
			continue;
		TAILQ_REMOVE(&symhead, sym, entry);
		free(sym->name);
		free(sym->value);
		free(sym);
	}
}

int
cmdline_symset(const char *s)
{
	const char	*eq;
	char		*name;
	int		 ret;

	if ((eq = strchr(s, '=')) == NULL)
		return (-1);
	if ((name = strndup(s, eq - s)) == NULL)
		return (-1);
	ret = -1;
	/* A value is read as a line of the file: it may not hold one. */
	if (valid_macro_name(name) && strchr(eq + 1, '\n') == NULL &&
	    strlen(eq + 1) < PARSE_TOKEN_MAX)
		ret = symset(name, eq + 1, 1);
	free(name);
	return (ret);
}

const char *
parse_last_error(void)
{
	return (last_error);
}

static int
once(unsigned int what, const char *name)
{
	if (seen & what) {
		conf_error("%s specified twice", name);
		return (-1);
	}
	seen |= what;
	return (0);
}

static int
conf_path(const char *what, const char *s, char *dst, size_t size)
{
	if (s[0] != '/') {
		conf_error("%s \"%s\": not an absolute path", what, s);
		return (-1);
	}
	/* Zero-filled: the structure travels whole to the children. */
	memset(dst, 0, size);
	if (strlcpy(dst, s, size) >= size) {
		conf_error("%s path too long (%zu bytes at most)", what,
		    size - 1);
		return (-1);
	}
	return (0);
}

/* Digits and at most one letter: a number too large, not a typo. */
static int
looks_numeric(const char *s, const char *suffixes)
{
	size_t	n;

	if ((n = strspn(s, "0123456789")) == 0)
		return (0);
	return (s[n] == '\0' ||
	    (s[n + 1] == '\0' && strchr(suffixes, s[n]) != NULL));
}

static int
conf_size(const char *what, const char *s, uint64_t *out)
{
	if (parse_size(s, out) == 0)
		return (0);
	if (looks_numeric(s, "kKmMgGtT"))
		conf_error("%s %s is too large", what, s);
	else
		conf_error("invalid %s \"%s\": a number of bytes, "
		    "or with a K, M, G or T suffix", what, s);
	return (-1);
}

static int
conf_duration(const char *what, const char *s, uint32_t min, uint32_t max,
    uint32_t *out)
{
	char		 lo[16], hi[16];
	uint32_t	 v;

	if (parse_duration(s, &v) == -1) {
		if (looks_numeric(s, "smhd"))
			conf_error("%s %s is too large", what, s);
		else
			conf_error("invalid %s \"%s\": a number of seconds, "
			    "or with an s, m, h or d suffix", what, s);
		return (-1);
	}
	if (v < min || v > max) {
		fmt_duration(min, lo, sizeof(lo));
		fmt_duration(max, hi, sizeof(hi));
		conf_error("%s %s out of range (%s to %s)", what, s, lo, hi);
		return (-1);
	}
	*out = v;
	return (0);
}

/*
 * A numeric address, or "*" for any, in its canonical form, so that
 * "::0001" and "::1" are seen to be the same.
 */
static int
conf_numeric(const char *what, const char *s, char *dst, size_t size)
{
	struct in6_addr	 in6;
	struct in_addr	 in;
	const char	*p = NULL;

	memset(dst, 0, size);
	if (strcmp(s, "*") == 0)
		p = (strlcpy(dst, s, size) < size) ? dst : NULL;
	else if (inet_pton(AF_INET, s, &in) == 1)
		p = inet_ntop(AF_INET, &in, dst, size);
	else if (inet_pton(AF_INET6, s, &in6) == 1)
		p = inet_ntop(AF_INET6, &in6, dst, size);
	if (p == NULL) {
		conf_error("%s \"%s\": not a numeric address or *", what, s);
		return (-1);
	}
	return (0);
}

/* A numeric address (canonical form) or a host name. */
static int
conf_host(const char *what, const char *s, char *dst, size_t size)
{
	struct in6_addr	 in6;
	struct in_addr	 in;

	memset(dst, 0, size);
	if (inet_pton(AF_INET, s, &in) == 1) {
		if (inet_ntop(AF_INET, &in, dst, size) != NULL)
			return (0);
	} else if (inet_pton(AF_INET6, s, &in6) == 1) {
		if (inet_ntop(AF_INET6, &in6, dst, size) != NULL)
			return (0);
	} else if (valid_hostname(s) && strlcpy(dst, s, size) < size)
		return (0);
	conf_error("%s \"%s\": not an address or a host name", what, s);
	return (-1);
}

/*
 * RFC 1123 host names: labels of letters, digits and '-', 1 to 63
 * long, no '-' at either end; a final dot is allowed.  A last label of
 * digits only would be a mistyped address.
 */
static int
valid_hostname(const char *s)
{
	const char	*label = s;
	size_t		 len = strlen(s), n;
	int		 digits = 1;

	if (len == 0 || len > 253 || s[0] == '.')
		return (0);
	for (;;) {
		n = strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-");
		if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			return (0);
		digits = (strspn(label, "0123456789") == n);
		if (label[n] == '\0')
			break;
		if (label[n] != '.')
			return (0);
		label += n + 1;
		if (*label == '\0')
			break;
	}
	return (!digits);
}

static int
is_any(const char *host, int family)
{
	if (strcmp(host, "*") == 0)
		return (1);
	if (family == AF_INET)
		return (strcmp(host, "0.0.0.0") == 0);
	return (strcmp(host, "::") == 0);
}

/*
 * Would two sockets on these endpoints fight over the port?  "*" is
 * every address of both families, 0.0.0.0 every IPv4 one and :: every
 * IPv6 one (the IPv6 sockets are bound IPV6_V6ONLY).  The hosts are
 * in the canonical form of conf_numeric().
 */
static int
endpoint_overlap(const struct pv_endpoint *a, const struct pv_endpoint *b)
{
	int	fa, fb;

	if (a->port != b->port)
		return (0);
	if (strcmp(a->host, b->host) == 0)
		return (1);
	if (strcmp(a->host, "*") == 0 || strcmp(b->host, "*") == 0)
		return (1);
	fa = strchr(a->host, ':') != NULL ? AF_INET6 : AF_INET;
	fb = strchr(b->host, ':') != NULL ? AF_INET6 : AF_INET;
	if (fa != fb)
		return (0);
	return (is_any(a->host, fa) || is_any(b->host, fb));
}

static int
add_listen(const char *host, int port)
{
	struct pv_endpoint		 ep;
	struct pv_endpoint_entry	*e;

	memset(&ep, 0, sizeof(ep));
	if (conf_numeric("listen on", host, ep.host, sizeof(ep.host)) == -1)
		return (-1);
	ep.port = port;
	TAILQ_FOREACH(e, &conf->listen, entry) {
		if (strcmp(e->ep.host, ep.host) == 0 &&
		    e->ep.port == ep.port) {
			conf_error("duplicate listen on %s port %d", host,
			    port);
			return (-1);
		}
		if (endpoint_overlap(&e->ep, &ep)) {
			conf_error("listen on %s port %d overlaps listen on "
			    "%s port %u", host, port, e->ep.host, e->ep.port);
			return (-1);
		}
	}
	if (nlisten >= PVD_LISTEN_MAX) {
		conf_error("too many listen statements (%d at most)",
		    PVD_LISTEN_MAX);
		return (-1);
	}
	if (config_add_endpoint(&conf->listen, &ep) == -1) {
		conf_error("listen on %s: %s", host, strerror(errno));
		return (-1);
	}
	nlisten++;
	return (0);
}

static int
add_bootstrap(const char *host, int port)
{
	struct pv_endpoint	ep;

	memset(&ep, 0, sizeof(ep));
	if (conf_host("bootstrap", host, ep.host, sizeof(ep.host)) == -1)
		return (-1);
	ep.port = port;
	if (nbootstrap >= PVD_BOOTSTRAP_MAX) {
		conf_error("too many bootstrap statements (%d at most)",
		    PVD_BOOTSTRAP_MAX);
		return (-1);
	}
	if (config_add_endpoint(&conf->bootstrap, &ep) == -1) {
		if (errno == EEXIST)
			conf_error("duplicate bootstrap \"%s\" port %d", host,
			    port);
		else
			conf_error("bootstrap \"%s\": %s", host,
			    strerror(errno));
		return (-1);
	}
	nbootstrap++;
	return (0);
}

/* What can be checked only once the whole file is read. */
static void
check_config(const char *filename)
{
	struct pv_endpoint		 any;
	struct pv_endpoint_entry	*e;

	if (TAILQ_EMPTY(&conf->listen)) {
		memset(&any, 0, sizeof(any));
		(void)strlcpy(any.host, "*", sizeof(any.host));
		any.port = PVD_PORT;
		if (config_add_endpoint(&conf->listen, &any) == -1)
			parse_error(filename, 0, 0, "%s", strerror(errno));
	}
	if (!conf->g.has_metrics)
		return;
	TAILQ_FOREACH(e, &conf->listen, entry) {
		if (endpoint_overlap(&e->ep, &conf->g.metrics)) {
			parse_error(metrics_file, 0, metrics_line,
			    "metrics listen on %s port %u conflicts with "
			    "listen on %s port %u", conf->g.metrics.host,
			    conf->g.metrics.port, e->ep.host, e->ep.port);
			break;
		}
	}
}

struct pv_config *
parse_config(const char *filename, int flags)
{
	struct pv_config	*c;
	struct file		*f;

	last_error[0] = '\0';
	if ((c = malloc(sizeof(*c))) == NULL) {
		(void)snprintf(last_error, sizeof(last_error), "%s: %s",
		    filename, strerror(errno));
		if (!(flags & PARSE_QUIET))
			fprintf(stderr, "%s\n", last_error);
		return (NULL);
	}
	config_init(c);

	conf = c;
	parse_flags = flags;
	errors = 0;
	seen = 0;
	nlisten = nbootstrap = 0;
	lasterr_serial = 0;
	lasterr_line = 0;
	metrics_file = NULL;
	metrics_line = 0;
	file = NULL;

	if (pushfile(filename, 0) == 0) {
		if (yyparse() != 0 && errors == 0)
			parse_error(filename, 0, 0, "cannot parse");
		while ((f = TAILQ_FIRST(&files)) != NULL)
			closefile(f);
		file = NULL;
		check_config(filename);
	} else if (errno == ENOENT && (flags & PARSE_MISSING_OK))
		check_config(filename);

	tokstr_clear();
	symclear(0);
	free(metrics_file);
	metrics_file = NULL;
	conf = NULL;

	if (errors != 0) {
		config_clear(c);
		free(c);
		return (NULL);
	}
	return (c);
}
