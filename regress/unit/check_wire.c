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
 * The peer protocol codec of pv-netd/wire.c: every payload type round
 * trips, and every decoder refuses what the protocol forbids: short and
 * long payloads, inconsistent lengths, reserved bits, bad names and
 * addresses, out-of-range values; and the frame header refuses unknown
 * types, reserved bits and lengths beyond the type's bounds.
 */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvd.h"
#include "repl.h"
#include "wire.h"

static uint8_t	buf[WIRE_FRAME_MAX + 64];

/* Names no decoder may accept, each with its length. */
static const struct {
	const char	*bytes;
	size_t		 len;
} bad_names[] = {
	{ "a\0b", 3 },			/* NUL */
	{ "\0", 1 },
	{ "a\x01", 2 },			/* C0 */
	{ "\n", 1 },
	{ "a\x7f", 2 },			/* DEL */
	{ "\xc2\x85", 2 },		/* C1: U+0085 */
	{ "\xff", 1 },			/* never UTF-8 */
	{ "\xc0\xaf", 2 },		/* overlong '/' */
	{ "\xe2\x82", 2 },		/* truncated */
	{ "\xed\xa0\x80", 3 },		/* surrogate */
	{ "\xf4\x90\x80\x80", 4 },	/* above U+10FFFF */
	{ "\x80x", 2 },			/* stray continuation */
};

static void
entry_fill(struct repl_entry *e, const char *name, int tombstone)
{
	size_t	i;

	memset(e, 0, sizeof(*e));
	ck_assert_uint_lt(strlcpy(e->name, name, sizeof(e->name)),
	    sizeof(e->name));
	if (!tombstone) {
		for (i = 0; i < sizeof(e->id); i++)
			e->id[i] = 0x80 + i;
		e->flags = REPL_F_HAVE;
		e->size = 123456789012ULL;
	} else
		e->flags = REPL_F_TOMBSTONE;
	for (i = 0; i < sizeof(e->origin); i++)
		e->origin[i] = 0x10 + i;
	e->hlc = (1770000000000ULL << 16) | 7;
}

static size_t
entry_enc(const struct repl_entry *e)
{
	size_t	len;

	len = wire_enc_entry(buf, sizeof(buf), e);
	ck_assert_uint_ne(len, 0);
	return (len);
}

static void
hello_fill(struct wire_hello *h, const char *addr)
{
	size_t	i;

	memset(h, 0, sizeof(*h));
	h->version = WIRE_VERSION;
	for (i = 0; i < sizeof(h->node); i++)
		h->node[i] = 0xf0 ^ i;
	h->port = 3000;
	ck_assert_uint_lt(strlcpy(h->addr, addr, sizeof(h->addr)),
	    sizeof(h->addr));
}

static size_t
lookup_enc(const char *name, uint8_t found)
{
	struct wire_lookup	l;
	size_t			len;

	memset(&l, 0, sizeof(l));
	l.tag = 0xdeadbeef;
	l.found = found;
	ck_assert_uint_lt(strlcpy(l.name, name, sizeof(l.name)),
	    sizeof(l.name));
	len = wire_enc_lookup(buf, sizeof(buf), &l);
	ck_assert_uint_ne(len, 0);
	return (len);
}

START_TEST(test_bounds)
{
	uint16_t	t;

	ck_assert_uint_eq(wire_min_len(WIRE_HELLO), 23);
	ck_assert_uint_eq(wire_max_len(WIRE_HELLO), 278);
	ck_assert_uint_eq(wire_min_len(WIRE_PING), 8);
	ck_assert_uint_eq(wire_max_len(WIRE_PONG), 8);
	ck_assert_uint_eq(wire_min_len(WIRE_ENTRY), 69);
	ck_assert_uint_eq(wire_max_len(WIRE_ENTRY), 1092);
	ck_assert_uint_eq(wire_min_len(WIRE_SUMMARY), 2056);
	ck_assert_uint_eq(wire_max_len(WIRE_SUMMARY), 2056);
	ck_assert_uint_eq(wire_min_len(WIRE_BUCKETS), 32);
	ck_assert_uint_eq(wire_max_len(WIRE_BUCKETS), 32);
	ck_assert_uint_eq(wire_min_len(WIRE_GET), 45);
	ck_assert_uint_eq(wire_max_len(WIRE_GET), 133);
	ck_assert_uint_eq(wire_min_len(WIRE_BLOB), 21);
	ck_assert_uint_eq(wire_max_len(WIRE_BLOB), 21);
	ck_assert_uint_eq(wire_min_len(WIRE_DATA), 5);
	ck_assert_uint_eq(wire_max_len(WIRE_DATA), 65540);
	ck_assert_uint_eq(wire_max_len(WIRE_HAVE), 32);
	ck_assert_uint_eq(wire_min_len(WIRE_LOOKUP), 8);
	ck_assert_uint_eq(wire_max_len(WIRE_LOOKUP), 1031);
	ck_assert_uint_eq(wire_min_len(WIRE_LOOKUP_REPLY), 8);
	ck_assert_uint_eq(wire_max_len(WIRE_LOOKUP_REPLY), 1031);
	ck_assert_uint_eq(wire_min_len(WIRE_CANCEL), 4);
	ck_assert_uint_eq(wire_max_len(WIRE_CANCEL), 4);
	ck_assert_uint_eq(wire_max_len(0), 0);
	ck_assert_uint_eq(wire_min_len(0), 0);
	ck_assert_uint_eq(wire_max_len(WIRE_TYPE_MAX), 0);
	ck_assert_uint_eq(wire_max_len(0xffff), 0);
	ck_assert_str_eq(wire_type_name(0), "unknown");
	ck_assert_str_eq(wire_type_name(0xffff), "unknown");
	ck_assert_str_eq(wire_type_name(WIRE_HELLO), "HELLO");
	ck_assert_str_eq(wire_type_name(WIRE_LOOKUP_REPLY), "LOOKUP_REPLY");
	for (t = 1; t < WIRE_TYPE_MAX; t++) {
		ck_assert_uint_gt(wire_min_len(t), 0);
		ck_assert_uint_le(wire_min_len(t), wire_max_len(t));
		ck_assert_uint_le(wire_max_len(t), WIRE_FRAME_MAX);
		ck_assert_str_ne(wire_type_name(t), "unknown");
	}
}
END_TEST

START_TEST(test_header)
{
	uint8_t		h[WIRE_HDR_LEN];
	uint16_t	t, type;
	uint32_t	len;

	wire_hdr_build(h, WIRE_DATA, 65540);
	ck_assert_mem_eq(h, "\x00\x01\x00\x04\x00\x09\x00\x00", 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), 0);
	ck_assert_uint_eq(type, WIRE_DATA);
	ck_assert_uint_eq(len, 65540);

	/* every type at its bounds, and one beyond each */
	for (t = 1; t < WIRE_TYPE_MAX; t++) {
		wire_hdr_build(h, t, wire_min_len(t));
		ck_assert_int_eq(wire_hdr_parse(h, &type, &len), 0);
		ck_assert_uint_eq(type, t);
		ck_assert_uint_eq(len, wire_min_len(t));
		wire_hdr_build(h, t, wire_max_len(t));
		ck_assert_int_eq(wire_hdr_parse(h, &type, &len), 0);
		wire_hdr_build(h, t, wire_max_len(t) + 1);
		ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
		ck_assert_uint_eq(type, t);	/* named, for the log */
		wire_hdr_build(h, t, wire_min_len(t) - 1);
		ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	}

	/* oversized lengths */
	memcpy(h, "\xff\xff\xff\xff\x00\x09\x00\x00", 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	ck_assert_uint_eq(len, 0xffffffffU);
	memcpy(h, "\x80\x00\x00\x05\x00\x09\x00\x00", 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	memcpy(h, "\x00\x01\x00\x05\x00\x09\x00\x00", 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);

	/* reserved bits */
	wire_hdr_build(h, WIRE_PING, 8);
	h[6] = 0x80;
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	h[6] = 0;
	h[7] = 1;
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	h[7] = 0;
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), 0);

	/* unknown types */
	wire_hdr_build(h, 0, 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	wire_hdr_build(h, WIRE_TYPE_MAX, 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	wire_hdr_build(h, 0x0102, 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
	wire_hdr_build(h, 0xffff, 8);
	ck_assert_int_eq(wire_hdr_parse(h, &type, &len), -1);
}
END_TEST

START_TEST(test_hello)
{
	struct wire_hello	 h, d;
	char			 longaddr[WIRE_ADDR_MAX + 1];
	size_t			 len;

	hello_fill(&h, "node1.example.org");
	len = wire_enc_hello(buf, sizeof(buf), &h);
	ck_assert_uint_eq(len, 23 + 17);
	ck_assert_mem_eq(buf, "\x00\x01\x00\x00", 4);
	ck_assert_mem_eq(buf + 4, h.node, 16);
	ck_assert_mem_eq(buf + 20, "\x0b\xb8\x11", 3);
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_mem_eq(&h, &d, sizeof(h));

	/* the empty address: "use my source address" */
	hello_fill(&h, "");
	len = wire_enc_hello(buf, sizeof(buf), &h);
	ck_assert_uint_eq(len, 23);
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_str_eq(d.addr, "");
	ck_assert_int_eq(wire_dec_hello(buf, len - 1, &d), -1);
	ck_assert_int_eq(wire_dec_hello(buf, len + 1, &d), -1);
	ck_assert_int_eq(wire_dec_hello(buf, 1, &d), -1);
	ck_assert_int_eq(wire_dec_hello(buf, 0, &d), -1);

	/* the longest address */
	memset(longaddr, 'a', WIRE_ADDR_MAX);
	longaddr[WIRE_ADDR_MAX] = '\0';
	hello_fill(&h, longaddr);
	len = wire_enc_hello(buf, sizeof(buf), &h);
	ck_assert_uint_eq(len, 278);
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_str_eq(d.addr, longaddr);
	ck_assert_uint_eq(wire_enc_hello(buf, len - 1, &h), 0);

	/* the address length disagrees with the payload */
	hello_fill(&h, "[::1]");
	len = wire_enc_hello(buf, sizeof(buf), &h);
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_str_eq(d.addr, "[::1]");
	ck_assert_int_eq(wire_dec_hello(buf, len - 1, &d), -1);
	buf[len] = 'x';
	ck_assert_int_eq(wire_dec_hello(buf, len + 1, &d), -1);
	buf[22] = 6;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[22] = 255;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[22] = 5;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);

	/* another version: refused, but named for the log */
	buf[1] = 2;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	ck_assert_uint_eq(d.version, 2);
	buf[0] = 1;
	buf[1] = 1;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	ck_assert_uint_eq(d.version, 0x101);
	buf[0] = 0;
	buf[1] = 0;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[1] = 1;

	/* flags */
	buf[3] = 1;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[3] = 0;
	buf[2] = 0x80;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[2] = 0;

	/* port 0 */
	buf[20] = buf[21] = 0;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[21] = 1;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_uint_eq(d.port, 1);

	/* the address: printable ASCII, no space, no NUL */
	buf[23] = ' ';
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[23] = '\0';
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[23] = '\n';
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[23] = 0x7f;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[23] = 0xc3;
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), -1);
	buf[23] = '~';
	ck_assert_int_eq(wire_dec_hello(buf, len, &d), 0);
	ck_assert_str_eq(d.addr, "~::1]");

	/* the encoder refuses what a decoder would */
	hello_fill(&h, "a b");
	ck_assert_uint_eq(wire_enc_hello(buf, sizeof(buf), &h), 0);
	hello_fill(&h, "a\tb");
	ck_assert_uint_eq(wire_enc_hello(buf, sizeof(buf), &h), 0);
	hello_fill(&h, "ok");
	h.version = 2;
	ck_assert_uint_eq(wire_enc_hello(buf, sizeof(buf), &h), 0);
	hello_fill(&h, "ok");
	h.port = 0;
	ck_assert_uint_eq(wire_enc_hello(buf, sizeof(buf), &h), 0);
}
END_TEST

START_TEST(test_entry)
{
	struct repl_entry	 e, d;
	char			 name[PVD_NAME_MAX + 1];
	size_t			 len, i;

	/* live, with and without the blob */
	entry_fill(&e, "dir/caf\xc3\xa9 \xf0\x9f\x98\x80.txt", 0);
	len = entry_enc(&e);
	ck_assert_uint_eq(len, 68 + strlen(e.name));
	ck_assert_uint_eq(buf[0], REPL_F_HAVE);
	ck_assert_uint_eq(buf[1], 0);
	ck_assert_uint_eq(buf[2], 0);
	ck_assert_uint_eq(buf[3], strlen(e.name));
	ck_assert_mem_eq(buf + 4, e.id, 32);
	ck_assert_mem_eq(buf + 36, e.origin, 16);
	ck_assert_mem_eq(buf + 52, "\x00\x00\x00\x1c\xbe\x99\x1a\x14", 8);
	ck_assert_mem_eq(buf + 68, e.name, strlen(e.name));
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	ck_assert_mem_eq(&e, &d, sizeof(e));
	e.flags = 0;
	len = entry_enc(&e);
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	ck_assert_mem_eq(&e, &d, sizeof(e));

	/* a tombstone */
	entry_fill(&e, "gone", 1);
	len = entry_enc(&e);
	ck_assert_uint_eq(len, 72);
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	ck_assert_mem_eq(&e, &d, sizeof(e));

	/* the tombstone flag must agree with the id */
	buf[0] = 0;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[0] = REPL_F_TOMBSTONE | REPL_F_HAVE;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[0] = REPL_F_TOMBSTONE;
	buf[4 + 31] = 1;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[4 + 31] = 0;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	e.flags = 0;
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);
	e.flags = REPL_F_TOMBSTONE | REPL_F_HAVE;
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);
	entry_fill(&e, "live", 0);
	e.flags = REPL_F_TOMBSTONE;
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);

	/* reserved flag bits and the reserved byte */
	entry_fill(&e, "live", 0);
	len = entry_enc(&e);
	for (i = 2; i < 8; i++) {
		buf[0] = REPL_F_HAVE | (1 << i);
		ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	}
	buf[0] = REPL_F_HAVE;
	buf[1] = 1;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[1] = 0;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	e.flags = 0x04;
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);

	/* size and hlc beyond int64 */
	entry_fill(&e, "live", 0);
	len = entry_enc(&e);
	buf[52] = 0x80;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[52] = 0x7f;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	buf[60] = 0x80;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	e.hlc = 1ULL << 63;
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);

	/* lengths: short, long, and the name length disagreeing */
	entry_fill(&e, "abc", 0);
	len = entry_enc(&e);
	ck_assert_uint_eq(len, 71);
	for (i = 0; i < len; i++)
		ck_assert_int_eq(wire_dec_entry(buf, i, &d), -1);
	buf[len] = 'd';
	ck_assert_int_eq(wire_dec_entry(buf, len + 1, &d), -1);
	buf[3] = 4;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	ck_assert_int_eq(wire_dec_entry(buf, len + 1, &d), 0);
	ck_assert_str_eq(d.name, "abcd");
	buf[3] = 2;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);
	buf[3] = 0;
	ck_assert_int_eq(wire_dec_entry(buf, 68, &d), -1);
	buf[2] = 1;
	buf[3] = 3;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);

	/* the longest name; one more byte is refused */
	memset(name, 'n', PVD_NAME_MAX);
	name[PVD_NAME_MAX] = '\0';
	entry_fill(&e, name, 0);
	len = entry_enc(&e);
	ck_assert_uint_eq(len, 1092);
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	ck_assert_str_eq(d.name, name);
	ck_assert_uint_eq(wire_enc_entry(buf, len - 1, &e), 0);
	buf[2] = (PVD_NAME_MAX + 1) >> 8;
	buf[3] = (PVD_NAME_MAX + 1) & 0xff;
	buf[len] = 'n';
	ck_assert_int_eq(wire_dec_entry(buf, len + 1, &d), -1);
	buf[2] = buf[3] = 0xff;
	ck_assert_int_eq(wire_dec_entry(buf, len, &d), -1);

	/* names that are not names */
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		entry_fill(&e, "x", 0);
		len = entry_enc(&e);
		buf[3] = bad_names[i].len;
		memcpy(buf + 68, bad_names[i].bytes, bad_names[i].len);
		len = 68 + bad_names[i].len;
		ck_assert_msg(wire_dec_entry(buf, len, &d) == -1,
		    "bad name %zu accepted", i);
		/* the same frame with a good name decodes */
		memset(buf + 68, 'g', bad_names[i].len);
		ck_assert_int_eq(wire_dec_entry(buf, len, &d), 0);
	}
	entry_fill(&e, "a\x01", 0);
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);
	entry_fill(&e, "", 0);
	ck_assert_uint_eq(wire_enc_entry(buf, sizeof(buf), &e), 0);
}
END_TEST

START_TEST(test_fixed)
{
	struct repl_summary	 s, sd;
	struct repl_buckets	 b, bd;
	uint8_t			 id[PVD_ID_LEN], idd[PVD_ID_LEN];
	uint64_t		 v64;
	uint32_t		 v32;
	size_t			 i, len;

	/* SUMMARY */
	memset(&s, 0, sizeof(s));
	s.count = 0x0102030405060708ULL;
	for (i = 0; i < REPL_BUCKETS; i++)
		s.digest[i] = 0x1111111111111111ULL * (i & 0xf) + i;
	len = wire_enc_summary(buf, sizeof(buf), &s);
	ck_assert_uint_eq(len, 2056);
	ck_assert_mem_eq(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	ck_assert_int_eq(wire_dec_summary(buf, len, &sd), 0);
	ck_assert_mem_eq(&s, &sd, sizeof(s));
	ck_assert_int_eq(wire_dec_summary(buf, len - 1, &sd), -1);
	ck_assert_int_eq(wire_dec_summary(buf, len + 1, &sd), -1);
	ck_assert_int_eq(wire_dec_summary(buf, 0, &sd), -1);
	ck_assert_uint_eq(wire_enc_summary(buf, len - 1, &s), 0);

	/* BUCKETS */
	for (i = 0; i < sizeof(b.bitmap); i++)
		b.bitmap[i] = i * 7;
	len = wire_enc_buckets(buf, sizeof(buf), &b);
	ck_assert_uint_eq(len, 32);
	ck_assert_int_eq(wire_dec_buckets(buf, len, &bd), 0);
	ck_assert_mem_eq(&b, &bd, sizeof(b));
	ck_assert_int_eq(wire_dec_buckets(buf, 31, &bd), -1);
	ck_assert_int_eq(wire_dec_buckets(buf, 33, &bd), -1);
	ck_assert_uint_eq(wire_enc_buckets(buf, 31, &b), 0);

	/* PING, PONG */
	ck_assert_uint_eq(wire_enc_u64(buf, sizeof(buf),
	    0xfedcba9876543210ULL), 8);
	ck_assert_mem_eq(buf, "\xfe\xdc\xba\x98\x76\x54\x32\x10", 8);
	ck_assert_int_eq(wire_dec_u64(buf, 8, &v64), 0);
	ck_assert_uint_eq(v64, 0xfedcba9876543210ULL);
	ck_assert_int_eq(wire_dec_u64(buf, 7, &v64), -1);
	ck_assert_int_eq(wire_dec_u64(buf, 9, &v64), -1);
	ck_assert_uint_eq(wire_enc_u64(buf, 7, 1), 0);

	/* CANCEL */
	ck_assert_uint_eq(wire_enc_u32(buf, sizeof(buf), 0x89abcdef), 4);
	ck_assert_mem_eq(buf, "\x89\xab\xcd\xef", 4);
	ck_assert_int_eq(wire_dec_u32(buf, 4, &v32), 0);
	ck_assert_uint_eq(v32, 0x89abcdef);
	ck_assert_int_eq(wire_dec_u32(buf, 3, &v32), -1);
	ck_assert_int_eq(wire_dec_u32(buf, 5, &v32), -1);
	ck_assert_uint_eq(wire_enc_u32(buf, 3, 1), 0);

	/* HAVE */
	for (i = 0; i < sizeof(id); i++)
		id[i] = 0xa5 ^ i;
	ck_assert_uint_eq(wire_enc_id(buf, sizeof(buf), id), 32);
	ck_assert_int_eq(wire_dec_id(buf, 32, idd), 0);
	ck_assert_mem_eq(id, idd, sizeof(id));
	ck_assert_int_eq(wire_dec_id(buf, 31, idd), -1);
	ck_assert_int_eq(wire_dec_id(buf, 33, idd), -1);
	ck_assert_uint_eq(wire_enc_id(buf, 31, id), 0);
}
END_TEST

START_TEST(test_get)
{
	struct wire_get	 g, d;
	size_t		 i, len;

	memset(&g, 0, sizeof(g));
	g.tag = 0x01020304;
	for (i = 0; i < sizeof(g.id); i++)
		g.id[i] = i;
	g.offset = 0;
	len = wire_enc_get(buf, sizeof(buf), &g);
	ck_assert_uint_eq(len, 45);
	ck_assert_mem_eq(buf, "\x01\x02\x03\x04", 4);
	ck_assert_uint_eq(buf[44], 0);
	ck_assert_int_eq(wire_dec_get(buf, len, &d), 0);
	ck_assert_mem_eq(&g, &d, sizeof(g));
	ck_assert_int_eq(wire_dec_get(buf, 44, &d), -1);
	ck_assert_int_eq(wire_dec_get(buf, 46, &d), -1);
	ck_assert_int_eq(wire_dec_get(buf, 133, &d), -1);

	/* with the header */
	g.offset = 1048576 + 88;
	g.has_header = 1;
	for (i = 0; i < sizeof(g.header); i++)
		g.header[i] = 0xff - i;
	len = wire_enc_get(buf, sizeof(buf), &g);
	ck_assert_uint_eq(len, 133);
	ck_assert_uint_eq(buf[44], 1);
	ck_assert_int_eq(wire_dec_get(buf, len, &d), 0);
	ck_assert_mem_eq(&g, &d, sizeof(g));
	ck_assert_int_eq(wire_dec_get(buf, 45, &d), -1);
	ck_assert_int_eq(wire_dec_get(buf, 132, &d), -1);
	ck_assert_int_eq(wire_dec_get(buf, 134, &d), -1);
	ck_assert_uint_eq(wire_enc_get(buf, 132, &g), 0);

	/* has_header is 0 or 1 */
	len = wire_enc_get(buf, sizeof(buf), &g);
	buf[44] = 2;
	ck_assert_int_eq(wire_dec_get(buf, len, &d), -1);
	ck_assert_int_eq(wire_dec_get(buf, 45, &d), -1);
	buf[44] = 0x81;
	ck_assert_int_eq(wire_dec_get(buf, len, &d), -1);
	g.has_header = 2;
	ck_assert_uint_eq(wire_enc_get(buf, sizeof(buf), &g), 0);

	/* an offset beyond any file */
	g.has_header = 0;
	len = wire_enc_get(buf, sizeof(buf), &g);
	buf[36] = 0x80;
	ck_assert_int_eq(wire_dec_get(buf, len, &d), -1);
	g.offset = UINT64_MAX;
	ck_assert_uint_eq(wire_enc_get(buf, sizeof(buf), &g), 0);
}
END_TEST

START_TEST(test_blob)
{
	struct wire_blob	 b, d;
	size_t			 len;

	memset(&b, 0, sizeof(b));
	b.tag = 77;
	b.status = WIRE_BLOB_OK;
	b.total = 5000000000ULL;
	b.offset = 1000;
	len = wire_enc_blob(buf, sizeof(buf), &b);
	ck_assert_uint_eq(len, 21);
	ck_assert_mem_eq(buf, "\x00\x00\x00\x4d\x00", 5);
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), 0);
	ck_assert_mem_eq(&b, &d, sizeof(b));
	ck_assert_int_eq(wire_dec_blob(buf, 20, &d), -1);
	ck_assert_int_eq(wire_dec_blob(buf, 22, &d), -1);
	ck_assert_uint_eq(wire_enc_blob(buf, 20, &b), 0);

	/* offset == total: nothing to send, but well formed */
	b.offset = b.total;
	len = wire_enc_blob(buf, sizeof(buf), &b);
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), 0);
	/* offset beyond total */
	buf[20]++;
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), -1);
	b.offset = b.total + 1;
	ck_assert_uint_eq(wire_enc_blob(buf, sizeof(buf), &b), 0);

	/* every status, and none other */
	b.offset = 0;
	for (b.status = WIRE_BLOB_OK; b.status <= WIRE_BLOB_BUSY;
	    b.status++) {
		len = wire_enc_blob(buf, sizeof(buf), &b);
		ck_assert_uint_eq(len, 21);
		ck_assert_int_eq(wire_dec_blob(buf, len, &d), 0);
		ck_assert_uint_eq(d.status, b.status);
	}
	buf[4] = 3;
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), -1);
	buf[4] = 0xff;
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), -1);
	b.status = 3;
	ck_assert_uint_eq(wire_enc_blob(buf, sizeof(buf), &b), 0);

	/* totals beyond int64 */
	b.status = WIRE_BLOB_OK;
	len = wire_enc_blob(buf, sizeof(buf), &b);
	buf[5] = 0x80;
	ck_assert_int_eq(wire_dec_blob(buf, len, &d), -1);
}
END_TEST

START_TEST(test_data)
{
	const uint8_t	*p;
	size_t		 n;
	uint32_t	 tag;

	memset(buf, 0x5a, sizeof(buf));
	memcpy(buf, "\x00\x00\x01\x00", 4);
	ck_assert_int_eq(wire_dec_data(buf, 5, &tag, &p, &n), 0);
	ck_assert_uint_eq(tag, 256);
	ck_assert_ptr_eq(p, buf + 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(wire_dec_data(buf, 4 + WIRE_DATA_MAX, &tag, &p, &n),
	    0);
	ck_assert_uint_eq(n, WIRE_DATA_MAX);
	ck_assert_int_eq(wire_dec_data(buf, 4, &tag, &p, &n), -1);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(wire_dec_data(buf, 0, &tag, &p, &n), -1);
	ck_assert_int_eq(wire_dec_data(buf, 5 + WIRE_DATA_MAX, &tag, &p, &n),
	    -1);
}
END_TEST

START_TEST(test_lookup)
{
	struct wire_lookup	 d;
	char			 name[PVD_NAME_MAX + 1];
	size_t			 len, i;

	len = lookup_enc("photos/\xe6\x97\xa5.jpg", 0);
	ck_assert_uint_eq(len, 7 + 14);
	ck_assert_mem_eq(buf, "\xde\xad\xbe\xef\x00\x00\x0e", 7);
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), 0);
	ck_assert_uint_eq(d.tag, 0xdeadbeef);
	ck_assert_uint_eq(d.found, 0);
	ck_assert_str_eq(d.name, "photos/\xe6\x97\xa5.jpg");
	len = lookup_enc("n", 1);
	ck_assert_uint_eq(len, 8);
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), 0);
	ck_assert_uint_eq(d.found, 1);

	/* found is 0 or 1 */
	buf[4] = 2;
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), -1);
	buf[4] = 0x80;
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), -1);

	/* lengths */
	len = lookup_enc("abc", 0);
	for (i = 0; i < len; i++)
		ck_assert_int_eq(wire_dec_lookup(buf, i, &d), -1);
	buf[len] = 'd';
	ck_assert_int_eq(wire_dec_lookup(buf, len + 1, &d), -1);
	buf[6] = 2;
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), -1);
	buf[6] = 0;
	ck_assert_int_eq(wire_dec_lookup(buf, 7, &d), -1);
	buf[5] = 1;
	buf[6] = 3;
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), -1);

	memset(name, 'n', PVD_NAME_MAX);
	name[PVD_NAME_MAX] = '\0';
	len = lookup_enc(name, 0);
	ck_assert_uint_eq(len, 1031);
	ck_assert_int_eq(wire_dec_lookup(buf, len, &d), 0);
	buf[5] = (PVD_NAME_MAX + 1) >> 8;
	buf[6] = (PVD_NAME_MAX + 1) & 0xff;
	buf[len] = 'n';
	ck_assert_int_eq(wire_dec_lookup(buf, len + 1, &d), -1);

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		len = lookup_enc("x", 0);
		buf[6] = bad_names[i].len;
		memcpy(buf + 7, bad_names[i].bytes, bad_names[i].len);
		len = 7 + bad_names[i].len;
		ck_assert_msg(wire_dec_lookup(buf, len, &d) == -1,
		    "bad name %zu accepted", i);
		memset(buf + 7, 'g', bad_names[i].len);
		ck_assert_int_eq(wire_dec_lookup(buf, len, &d), 0);
	}

	memset(&d, 0, sizeof(d));
	ck_assert_uint_eq(wire_enc_lookup(buf, sizeof(buf), &d), 0);
	strlcpy(d.name, "a\x7f", sizeof(d.name));
	ck_assert_uint_eq(wire_enc_lookup(buf, sizeof(buf), &d), 0);
	strlcpy(d.name, "ok", sizeof(d.name));
	d.found = 2;
	ck_assert_uint_eq(wire_enc_lookup(buf, sizeof(buf), &d), 0);
	d.found = 1;
	ck_assert_uint_eq(wire_enc_lookup(buf, 8, &d), 0);
	ck_assert_uint_eq(wire_enc_lookup(buf, 9, &d), 9);
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("wire");
	tc = tcase_create("frames");
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_entry);
	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_blob);
	tcase_add_test(tc, test_data);
	tcase_add_test(tc, test_lookup);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
