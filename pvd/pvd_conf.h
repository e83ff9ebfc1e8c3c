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

/* pvd.conf(5): the parser (parse.y) and its printer (printconf.c). */

#ifndef PVD_CONF_H
#define PVD_CONF_H

#include <stdio.h>

struct pv_config;

/* Flags of parse_config(). */
#define PARSE_MISSING_OK	0x01	/* no file: the defaults */
#define PARSE_LOG		0x02	/* errors to log_warnx() */
#define PARSE_QUIET		0x04	/* errors not printed */

/* Bounds of the parser. */
#define PARSE_INCLUDE_MAX	8	/* files open, the first too */
#define PARSE_TOKEN_MAX		8192	/* a word or a string */

/*
 * Parse filename.  Every error is reported as "file:line: message",
 * on stderr unless flags say otherwise.  Returns a new configuration,
 * to be released with config_clear() and free(), or NULL when there
 * was any error.
 */
struct pv_config *parse_config(const char *, int);

/*
 * "name=value" from -D: a macro that the file cannot redefine.  It
 * persists across parse_config() calls.  Returns 0, or -1 for a
 * malformed definition.
 */
int	 cmdline_symset(const char *);

/* The first error of the last parse_config(), "" when there was none. */
const char *parse_last_error(void);

/* The configuration in pvd.conf(5) syntax, parseable again. */
void	 print_config(FILE *, const struct pv_config *);

#endif /* PVD_CONF_H */
