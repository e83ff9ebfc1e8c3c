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
 * File names made from paths: the base name of a file to store, and
 * PREFIX/relative path for the files under a directory.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "pvctl.h"

/* The last component of path, without trailing slashes. */
void
base_name(const char *path, char *buf, size_t len)
{
	const char	*e, *b;

	for (e = path + strlen(path); e > path && e[-1] == '/'; e--)
		;
	for (b = e; b > path && b[-1] != '/'; b--)
		;
	(void)snprintf(buf, len, "%.*s", (int)(e - b), b);
}

/*
 * Join a prefix and a relative path into a file name: components
 * separated by one '/', without empty or "." components.  Returns -1
 * when the name would not fit in len bytes.
 */
int
name_join(const char *prefix, const char *rel, char *buf, size_t len)
{
	const char	*parts[2] = { prefix, rel };
	const char	*p;
	size_t		 n, used = 0;
	int		 i;

	if (len == 0)
		return (-1);
	buf[0] = '\0';
	for (i = 0; i < 2; i++) {
		for (p = parts[i]; p != NULL && *p != '\0'; p += n) {
			if (*p == '/') {
				n = 1;
				continue;
			}
			n = strcspn(p, "/");
			if (n == 1 && *p == '.')
				continue;
			if (used + (used > 0) + n >= len)
				return (-1);
			if (used > 0)
				buf[used++] = '/';
			memcpy(buf + used, p, n);
			used += n;
			buf[used] = '\0';
		}
	}
	return (0);
}
