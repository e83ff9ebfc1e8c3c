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
 * The payloads of the peer protocol (doc/PROTOCOL.md), encoded and
 * decoded without allocating.  A decoder accepts exactly what the
 * matching encoder can produce and nothing else: every length, every
 * reserved bit and every value is checked, so that a payload that
 * decodes also encodes back to the same bytes.  An encoder refuses
 * (returns 0) what a decoder would refuse, so this node never sends a
 * frame that a peer must drop it for.
 */

#include <sys/types.h>
#include <sys/endian.h>

#include <stdint.h>
#include <string.h>

#include "pvd.h"
#include "repl.h"
#include "wire.h"

/* Fixed parts of the variable-length payloads. */
#define HELLO_FIXED	23	/* version, flags, node, port, addrlen */
#define ENTRY_FIXED	68	/* flags 0 namelen id origin size hlc */
#define GET_FIXED	45	/* tag, id, offset, has_header */
#define LOOKUP_FIXED	7	/* tag, found, namelen */
#define BLOB_LEN	21
#define SUMMARY_LEN	(8 + 8 * REPL_BUCKETS)

#define ENTRY_FLAGS	(REPL_F_TOMBSTONE | REPL_F_HAVE)

/* Integers the storage keeps in SQLite (int64) must fit one. */
#define INT64_LIMIT	((uint64_t)INT64_MAX)

struct wire_bounds {
	const char	*name;
	size_t		 min;
	size_t		 max;
};

static const struct wire_bounds wire_bounds[WIRE_TYPE_MAX] = {
	[WIRE_HELLO] =		{ "HELLO", HELLO_FIXED,
				    HELLO_FIXED + WIRE_ADDR_MAX },
	[WIRE_PING] =		{ "PING", 8, 8 },
	[WIRE_PONG] =		{ "PONG", 8, 8 },
	[WIRE_ENTRY] =		{ "ENTRY", ENTRY_FIXED + 1,
				    ENTRY_FIXED + PVD_NAME_MAX },
	[WIRE_SUMMARY] =	{ "SUMMARY", SUMMARY_LEN, SUMMARY_LEN },
	[WIRE_BUCKETS] =	{ "BUCKETS", REPL_BUCKET_BITMAP,
				    REPL_BUCKET_BITMAP },
	[WIRE_GET] =		{ "GET", GET_FIXED,
				    GET_FIXED + REPL_HEADER_LEN },
	[WIRE_BLOB] =		{ "BLOB", BLOB_LEN, BLOB_LEN },
	[WIRE_DATA] =		{ "DATA", 4 + 1, 4 + WIRE_DATA_MAX },
	[WIRE_HAVE] =		{ "HAVE", PVD_ID_LEN, PVD_ID_LEN },
	[WIRE_LOOKUP] =		{ "LOOKUP", LOOKUP_FIXED + 1,
				    LOOKUP_FIXED + PVD_NAME_MAX },
	[WIRE_LOOKUP_REPLY] =	{ "LOOKUP_REPLY", LOOKUP_FIXED + 1,
				    LOOKUP_FIXED + PVD_NAME_MAX },
	[WIRE_CANCEL] =		{ "CANCEL", 4, 4 },
};

static int
id_is_zero(const uint8_t *id)
{
	size_t	i;
	uint8_t	acc = 0;

	for (i = 0; i < PVD_ID_LEN; i++)
		acc |= id[i];
	return (acc == 0);
}

/* An advertised host: printable ASCII without spaces. */
static int
addr_valid(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return (0);
	return (1);
}

/*
 * Copies a name of len bytes (no NUL inside) into name, which holds
 * PVD_NAME_MAX + 1 bytes, and checks it.  -1 for anything name_valid()
 * refuses.
 */
static int
name_copy(char *name, const uint8_t *p, size_t len)
{
	if (len == 0 || len > PVD_NAME_MAX || memchr(p, '\0', len) != NULL)
		return (-1);
	memcpy(name, p, len);
	name[len] = '\0';
	return (name_valid(name, NULL) ? 0 : -1);
}

/* The length of a name this side may send, or 0 when it may not. */
static size_t
name_len(const char *name)
{
	size_t	len;

	len = strnlen(name, PVD_NAME_MAX + 1);
	if (len == 0 || len > PVD_NAME_MAX || !name_valid(name, NULL))
		return (0);
	return (len);
}

size_t
wire_max_len(uint16_t type)
{
	if (type >= WIRE_TYPE_MAX || wire_bounds[type].name == NULL)
		return (0);
	return (wire_bounds[type].max);
}

size_t
wire_min_len(uint16_t type)
{
	if (type >= WIRE_TYPE_MAX || wire_bounds[type].name == NULL)
		return (0);
	return (wire_bounds[type].min);
}

const char *
wire_type_name(uint16_t type)
{
	if (type >= WIRE_TYPE_MAX || wire_bounds[type].name == NULL)
		return ("unknown");
	return (wire_bounds[type].name);
}

/*
 * The type and length are filled in even for a bad header, so that the
 * caller can name what it drops.
 */
int
wire_hdr_parse(const uint8_t *p, uint16_t *type, uint32_t *len)
{
	*len = be32dec(p);
	*type = be16dec(p + 4);
	if (be16dec(p + 6) != 0 || wire_max_len(*type) == 0)
		return (-1);
	if (*len < wire_min_len(*type) || *len > wire_max_len(*type))
		return (-1);
	return (0);
}

void
wire_hdr_build(uint8_t *p, uint16_t type, uint32_t len)
{
	be32enc(p, len);
	be16enc(p + 4, type);
	be16enc(p + 6, 0);
}

size_t
wire_enc_hello(uint8_t *buf, size_t size, const struct wire_hello *h)
{
	size_t	alen, len;

	alen = strnlen(h->addr, sizeof(h->addr));
	if (alen > WIRE_ADDR_MAX ||
	    !addr_valid((const uint8_t *)h->addr, alen) ||
	    h->version != WIRE_VERSION || h->port == 0)
		return (0);
	len = HELLO_FIXED + alen;
	if (size < len)
		return (0);
	be16enc(buf, h->version);
	be16enc(buf + 2, 0);
	memcpy(buf + 4, h->node, PVD_NODEID_LEN);
	be16enc(buf + 20, h->port);
	buf[22] = alen;
	memcpy(buf + HELLO_FIXED, h->addr, alen);
	return (len);
}

/*
 * The version is filled in before anything is refused, so that the
 * caller can say which version a peer speaks.
 */
int
wire_dec_hello(const uint8_t *p, size_t len, struct wire_hello *h)
{
	size_t	alen;

	memset(h, 0, sizeof(*h));
	if (len < 2)
		return (-1);
	h->version = be16dec(p);
	if (h->version != WIRE_VERSION || len < HELLO_FIXED)
		return (-1);
	alen = p[22];
	if (len != HELLO_FIXED + alen || be16dec(p + 2) != 0)
		return (-1);
	memcpy(h->node, p + 4, PVD_NODEID_LEN);
	h->port = be16dec(p + 20);
	if (h->port == 0 || !addr_valid(p + HELLO_FIXED, alen))
		return (-1);
	memcpy(h->addr, p + HELLO_FIXED, alen);
	h->addr[alen] = '\0';
	return (0);
}

size_t
wire_enc_entry(uint8_t *buf, size_t size, const struct repl_entry *e)
{
	size_t	nlen, len;
	int	zero;

	zero = id_is_zero(e->id);
	if ((e->flags & ~ENTRY_FLAGS) != 0 ||
	    zero != ((e->flags & REPL_F_TOMBSTONE) != 0) ||
	    (zero && (e->flags & REPL_F_HAVE)) ||
	    e->size > INT64_LIMIT || e->hlc > INT64_LIMIT)
		return (0);
	if ((nlen = name_len(e->name)) == 0)
		return (0);
	len = ENTRY_FIXED + nlen;
	if (size < len)
		return (0);
	buf[0] = e->flags;
	buf[1] = 0;
	be16enc(buf + 2, nlen);
	memcpy(buf + 4, e->id, PVD_ID_LEN);
	memcpy(buf + 36, e->origin, PVD_NODEID_LEN);
	be64enc(buf + 52, e->size);
	be64enc(buf + 60, e->hlc);
	memcpy(buf + ENTRY_FIXED, e->name, nlen);
	return (len);
}

/*
 * The node and except fields are not on the wire: they are left zero
 * for the caller to fill in.
 */
int
wire_dec_entry(const uint8_t *p, size_t len, struct repl_entry *e)
{
	size_t	nlen;
	int	zero;

	memset(e, 0, sizeof(*e));
	if (len < ENTRY_FIXED + 1 || len > ENTRY_FIXED + PVD_NAME_MAX)
		return (-1);
	nlen = be16dec(p + 2);
	if (len != ENTRY_FIXED + nlen || p[1] != 0 ||
	    (p[0] & ~ENTRY_FLAGS) != 0)
		return (-1);
	e->flags = p[0];
	memcpy(e->id, p + 4, PVD_ID_LEN);
	zero = id_is_zero(e->id);
	if (zero != ((e->flags & REPL_F_TOMBSTONE) != 0) ||
	    (zero && (e->flags & REPL_F_HAVE)))
		return (-1);
	memcpy(e->origin, p + 36, PVD_NODEID_LEN);
	e->size = be64dec(p + 52);
	e->hlc = be64dec(p + 60);
	if (e->size > INT64_LIMIT || e->hlc > INT64_LIMIT)
		return (-1);
	return (name_copy(e->name, p + ENTRY_FIXED, nlen));
}

size_t
wire_enc_summary(uint8_t *buf, size_t size, const struct repl_summary *s)
{
	size_t	i;

	if (size < SUMMARY_LEN)
		return (0);
	be64enc(buf, s->count);
	for (i = 0; i < REPL_BUCKETS; i++)
		be64enc(buf + 8 + 8 * i, s->digest[i]);
	return (SUMMARY_LEN);
}

int
wire_dec_summary(const uint8_t *p, size_t len, struct repl_summary *s)
{
	size_t	i;

	memset(s, 0, sizeof(*s));
	if (len != SUMMARY_LEN)
		return (-1);
	s->count = be64dec(p);
	for (i = 0; i < REPL_BUCKETS; i++)
		s->digest[i] = be64dec(p + 8 + 8 * i);
	return (0);
}

size_t
wire_enc_buckets(uint8_t *buf, size_t size, const struct repl_buckets *b)
{
	if (size < REPL_BUCKET_BITMAP)
		return (0);
	memcpy(buf, b->bitmap, REPL_BUCKET_BITMAP);
	return (REPL_BUCKET_BITMAP);
}

int
wire_dec_buckets(const uint8_t *p, size_t len, struct repl_buckets *b)
{
	memset(b, 0, sizeof(*b));
	if (len != REPL_BUCKET_BITMAP)
		return (-1);
	memcpy(b->bitmap, p, REPL_BUCKET_BITMAP);
	return (0);
}

size_t
wire_enc_get(uint8_t *buf, size_t size, const struct wire_get *g)
{
	size_t	len;

	if (g->has_header > 1 || g->offset > INT64_LIMIT)
		return (0);
	len = GET_FIXED + (g->has_header ? REPL_HEADER_LEN : 0);
	if (size < len)
		return (0);
	be32enc(buf, g->tag);
	memcpy(buf + 4, g->id, PVD_ID_LEN);
	be64enc(buf + 36, g->offset);
	buf[44] = g->has_header;
	if (g->has_header)
		memcpy(buf + GET_FIXED, g->header, REPL_HEADER_LEN);
	return (len);
}

int
wire_dec_get(const uint8_t *p, size_t len, struct wire_get *g)
{
	memset(g, 0, sizeof(*g));
	if (len != GET_FIXED && len != GET_FIXED + REPL_HEADER_LEN)
		return (-1);
	g->tag = be32dec(p);
	memcpy(g->id, p + 4, PVD_ID_LEN);
	g->offset = be64dec(p + 36);
	g->has_header = p[44];
	if (g->has_header > 1 || g->offset > INT64_LIMIT ||
	    len != GET_FIXED + (g->has_header ? REPL_HEADER_LEN : 0))
		return (-1);
	if (g->has_header)
		memcpy(g->header, p + GET_FIXED, REPL_HEADER_LEN);
	return (0);
}

size_t
wire_enc_blob(uint8_t *buf, size_t size, const struct wire_blob *b)
{
	if (b->status > WIRE_BLOB_BUSY || b->offset > b->total ||
	    b->total > INT64_LIMIT)
		return (0);
	if (size < BLOB_LEN)
		return (0);
	be32enc(buf, b->tag);
	buf[4] = b->status;
	be64enc(buf + 5, b->total);
	be64enc(buf + 13, b->offset);
	return (BLOB_LEN);
}

int
wire_dec_blob(const uint8_t *p, size_t len, struct wire_blob *b)
{
	memset(b, 0, sizeof(*b));
	if (len != BLOB_LEN)
		return (-1);
	b->tag = be32dec(p);
	b->status = p[4];
	b->total = be64dec(p + 5);
	b->offset = be64dec(p + 13);
	if (b->status > WIRE_BLOB_BUSY || b->offset > b->total ||
	    b->total > INT64_LIMIT)
		return (-1);
	return (0);
}

size_t
wire_enc_lookup(uint8_t *buf, size_t size, const struct wire_lookup *l)
{
	size_t	nlen, len;

	if (l->found > 1 || (nlen = name_len(l->name)) == 0)
		return (0);
	len = LOOKUP_FIXED + nlen;
	if (size < len)
		return (0);
	be32enc(buf, l->tag);
	buf[4] = l->found;
	be16enc(buf + 5, nlen);
	memcpy(buf + LOOKUP_FIXED, l->name, nlen);
	return (len);
}

int
wire_dec_lookup(const uint8_t *p, size_t len, struct wire_lookup *l)
{
	size_t	nlen;

	memset(l, 0, sizeof(*l));
	if (len < LOOKUP_FIXED + 1 || len > LOOKUP_FIXED + PVD_NAME_MAX)
		return (-1);
	l->tag = be32dec(p);
	l->found = p[4];
	nlen = be16dec(p + 5);
	if (l->found > 1 || len != LOOKUP_FIXED + nlen)
		return (-1);
	return (name_copy(l->name, p + LOOKUP_FIXED, nlen));
}

size_t
wire_enc_u32(uint8_t *buf, size_t size, uint32_t v)
{
	if (size < 4)
		return (0);
	be32enc(buf, v);
	return (4);
}

int
wire_dec_u32(const uint8_t *p, size_t len, uint32_t *v)
{
	*v = 0;
	if (len != 4)
		return (-1);
	*v = be32dec(p);
	return (0);
}

size_t
wire_enc_u64(uint8_t *buf, size_t size, uint64_t v)
{
	if (size < 8)
		return (0);
	be64enc(buf, v);
	return (8);
}

int
wire_dec_u64(const uint8_t *p, size_t len, uint64_t *v)
{
	*v = 0;
	if (len != 8)
		return (-1);
	*v = be64dec(p);
	return (0);
}

size_t
wire_enc_id(uint8_t *buf, size_t size, const uint8_t *id)
{
	if (size < PVD_ID_LEN)
		return (0);
	memcpy(buf, id, PVD_ID_LEN);
	return (PVD_ID_LEN);
}

int
wire_dec_id(const uint8_t *p, size_t len, uint8_t *id)
{
	if (len != PVD_ID_LEN)
		return (-1);
	memcpy(id, p, PVD_ID_LEN);
	return (0);
}

int
wire_dec_data(const uint8_t *p, size_t len, uint32_t *tag,
    const uint8_t **data, size_t *datalen)
{
	*tag = 0;
	*data = NULL;
	*datalen = 0;
	if (len < 4 + 1 || len > 4 + WIRE_DATA_MAX)
		return (-1);
	*tag = be32dec(p);
	*data = p + 4;
	*datalen = len - 4;
	return (0);
}
