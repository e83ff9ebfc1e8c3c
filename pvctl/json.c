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
 * A small streaming JSON writer: one document at a time, objects and
 * arrays nested up to JSON_DEPTH_MAX, strings, integers, booleans and
 * null.  Misuse (a key inside an array, unbalanced containers) is a
 * bug in pvctl and ends it.
 */

#include <err.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pvd.h"
#include "pvctl.h"

#define JSON_DEPTH_MAX	16
#define JSON_INDENT	2

enum json_container {
	JSON_OBJECT,
	JSON_ARRAY
};

struct json_level {
	enum json_container	 type;
	unsigned int		 count;		/* members written so far */
};

struct json_doc {
	FILE			*fp;
	int			 depth;
	int			 written;	/* the top value is out */
	struct json_level	 level[JSON_DEPTH_MAX];
};

static struct json_doc	 doc;

static void	 json_newline(int);
static void	 json_put_string(const char *);
static void	 json_member(const char *);
static void	 json_open(const char *, enum json_container, int);
static void	 json_close(enum json_container, int);

void
json_start(FILE *fp)
{
	if (doc.fp != NULL)
		errx(1, "json: a document is already open");
	doc.fp = fp;
	doc.depth = 0;
	doc.written = 0;
}

/* Returns 0, or -1 when the document could not be written out. */
int
json_finish(void)
{
	FILE	*fp = doc.fp;

	if (fp == NULL || doc.depth != 0 || !doc.written)
		errx(1, "json: document not complete");
	doc.fp = NULL;
	fputc('\n', fp);
	if (fflush(fp) == EOF || ferror(fp))
		return (-1);
	return (0);
}

static void
json_newline(int depth)
{
	fprintf(doc.fp, "\n%*s", depth * JSON_INDENT, "");
}

/*
 * Returns the length of the well-formed UTF-8 sequence at p (1 for
 * ASCII), or 0 at the terminating NUL and where the bytes are not
 * UTF-8: a stray continuation byte, an overlong form, a surrogate, a
 * code point above U+10FFFF or a truncated sequence.  It never reads
 * past a NUL, since a NUL is never a continuation byte.
 */
size_t
utf8_seqlen(const unsigned char *p)
{
	size_t	len;

	/* a sequence is at most 4 bytes, and a NUL ends it */
	if (p[0] == '\0' || utf8_decode(p, p + strnlen((const char *)p, 4),
	    &len) == -1)
		return (0);
	return (len);
}

/*
 * Escapes what JSON requires and passes UTF-8 through; bytes that are
 * not UTF-8 become U+FFFD, so the document always parses.
 */
static void
json_put_string(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	fputc('"', doc.fp);
	for (; *p != '\0'; p += n) {
		n = 1;
		switch (*p) {
		case '"':
			fputs("\\\"", doc.fp);
			break;
		case '\\':
			fputs("\\\\", doc.fp);
			break;
		case '\b':
			fputs("\\b", doc.fp);
			break;
		case '\f':
			fputs("\\f", doc.fp);
			break;
		case '\n':
			fputs("\\n", doc.fp);
			break;
		case '\r':
			fputs("\\r", doc.fp);
			break;
		case '\t':
			fputs("\\t", doc.fp);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(doc.fp, "\\u%04x", *p);
			else if ((n = utf8_seqlen(p)) == 0) {
				fputs("\\ufffd", doc.fp);
				n = 1;
			} else
				fwrite(p, 1, n, doc.fp);
			break;
		}
	}
	fputc('"', doc.fp);
}

/* Everything up to a value: the comma, the indentation and the key. */
static void
json_member(const char *key)
{
	struct json_level	*l;

	if (doc.fp == NULL)
		errx(1, "json: no document open");
	if (doc.depth == 0) {
		if (doc.written || key != NULL)
			errx(1, "json: misplaced top-level value");
		doc.written = 1;
		return;
	}
	l = &doc.level[doc.depth - 1];
	if (l->type == JSON_OBJECT && key == NULL)
		errx(1, "json: object member without a key");
	if (l->type == JSON_ARRAY && key != NULL)
		errx(1, "json: array element with a key");
	if (l->count++ > 0)
		fputc(',', doc.fp);
	json_newline(doc.depth);
	if (key != NULL) {
		json_put_string(key);
		fputs(": ", doc.fp);
	}
}

static void
json_open(const char *key, enum json_container type, int c)
{
	json_member(key);
	if (doc.depth == JSON_DEPTH_MAX)
		errx(1, "json: nested too deep");
	doc.level[doc.depth].type = type;
	doc.level[doc.depth].count = 0;
	doc.depth++;
	fputc(c, doc.fp);
}

static void
json_close(enum json_container type, int c)
{
	if (doc.fp == NULL || doc.depth == 0 ||
	    doc.level[doc.depth - 1].type != type)
		errx(1, "json: unbalanced %c", c);
	doc.depth--;
	if (doc.level[doc.depth].count > 0)
		json_newline(doc.depth);
	fputc(c, doc.fp);
}

void
json_object_open(const char *key)
{
	json_open(key, JSON_OBJECT, '{');
}

void
json_object_close(void)
{
	json_close(JSON_OBJECT, '}');
}

void
json_array_open(const char *key)
{
	json_open(key, JSON_ARRAY, '[');
}

void
json_array_close(void)
{
	json_close(JSON_ARRAY, ']');
}

void
json_string(const char *key, const char *value)
{
	json_member(key);
	json_put_string(value);
}

void
json_int(const char *key, int64_t value)
{
	json_member(key);
	fprintf(doc.fp, "%" PRId64, value);
}

void
json_uint(const char *key, uint64_t value)
{
	json_member(key);
	fprintf(doc.fp, "%" PRIu64, value);
}

void
json_bool(const char *key, int value)
{
	json_member(key);
	fputs(value ? "true" : "false", doc.fp);
}

void
json_null(const char *key)
{
	json_member(key);
	fputs("null", doc.fp);
}
