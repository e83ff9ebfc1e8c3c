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
 * The peer protocol inside TLS (doc/PROTOCOL.md): frames of an 8-byte
 * header, then the payload.  All integers are big-endian.
 *
 *	u32 length	payload bytes, at most the type's bound
 *	u16 type	WIRE_*
 *	u16 reserved	0
 *
 * wire.c encodes and decodes each payload; a decoder checks every
 * length and value and returns -1 for anything malformed, which
 * drops the peer.
 */

#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pvd.h"

#define WIRE_VERSION		1
#define WIRE_HDR_LEN		8
#define WIRE_DATA_MAX		65536	/* blob bytes per DATA frame */
#define WIRE_FRAME_MAX		(WIRE_DATA_MAX + 4)	/* largest payload */
#define WIRE_ADDR_MAX		255
#define WIRE_PSK_IDENTITY	"peervault/1"

enum wire_type {
	WIRE_HELLO = 1,		/* struct wire_hello */
	WIRE_PING = 2,		/* u64 nonce */
	WIRE_PONG = 3,		/* u64 nonce, echoed */
	WIRE_ENTRY = 4,		/* struct repl_entry (wire form) */
	WIRE_SUMMARY = 5,	/* struct repl_summary */
	WIRE_BUCKETS = 6,	/* struct repl_buckets */
	WIRE_GET = 7,		/* struct wire_get */
	WIRE_BLOB = 8,		/* struct wire_blob: answer to GET */
	WIRE_DATA = 9,		/* u32 tag, 1..WIRE_DATA_MAX bytes */
	WIRE_HAVE = 10,		/* id[32] */
	WIRE_LOOKUP = 11,	/* struct wire_lookup, found 0 */
	WIRE_LOOKUP_REPLY = 12,	/* struct wire_lookup */
	WIRE_CANCEL = 13,	/* u32 tag: the receiver gives up */
	WIRE_TYPE_MAX
};

struct wire_hello {
	uint16_t	version;		/* WIRE_VERSION */
	uint8_t		node[PVD_NODEID_LEN];
	uint16_t	port;			/* advertised port */
	char		addr[WIRE_ADDR_MAX + 1];	/* "": use source */
};

/*
 * GET: send blob id from offset (a multiple of nothing in particular:
 * the receiver's verified length).  When offset > 0 the receiver also
 * sends the blob header it holds; a sender whose header differs (the
 * same content sealed elsewhere) answers from offset 0.
 */
struct wire_get {
	uint32_t	tag;
	uint8_t		id[PVD_ID_LEN];
	uint64_t	offset;
	uint8_t		has_header;
	uint8_t		header[88];
};

enum wire_blob_status {
	WIRE_BLOB_OK,
	WIRE_BLOB_NOTFOUND,
	WIRE_BLOB_BUSY		/* try later, or another peer */
};

/* BLOB: status, the blob's length and where the DATA frames start. */
struct wire_blob {
	uint32_t	tag;
	uint8_t		status;			/* enum wire_blob_status */
	uint64_t	total;
	uint64_t	offset;
};

struct wire_lookup {
	uint32_t	tag;
	uint8_t		found;
	char		name[PVD_NAME_MAX + 1];
};

struct repl_entry;
struct repl_summary;
struct repl_buckets;

/* Bounds of a payload by type: 0 when the type is unknown. */
size_t	 wire_max_len(uint16_t);
size_t	 wire_min_len(uint16_t);
const char *wire_type_name(uint16_t);

/* Header: fills type and len, -1 for a bad header (reserved, bounds). */
int	 wire_hdr_parse(const uint8_t *, uint16_t *, uint32_t *);
void	 wire_hdr_build(uint8_t *, uint16_t, uint32_t);

/* Each encoder returns the payload length, or 0 when buf is too small. */
size_t	 wire_enc_hello(uint8_t *, size_t, const struct wire_hello *);
int	 wire_dec_hello(const uint8_t *, size_t, struct wire_hello *);
size_t	 wire_enc_entry(uint8_t *, size_t, const struct repl_entry *);
int	 wire_dec_entry(const uint8_t *, size_t, struct repl_entry *);
size_t	 wire_enc_summary(uint8_t *, size_t, const struct repl_summary *);
int	 wire_dec_summary(const uint8_t *, size_t, struct repl_summary *);
size_t	 wire_enc_buckets(uint8_t *, size_t, const struct repl_buckets *);
int	 wire_dec_buckets(const uint8_t *, size_t, struct repl_buckets *);
size_t	 wire_enc_get(uint8_t *, size_t, const struct wire_get *);
int	 wire_dec_get(const uint8_t *, size_t, struct wire_get *);
size_t	 wire_enc_blob(uint8_t *, size_t, const struct wire_blob *);
int	 wire_dec_blob(const uint8_t *, size_t, struct wire_blob *);
size_t	 wire_enc_lookup(uint8_t *, size_t, const struct wire_lookup *);
int	 wire_dec_lookup(const uint8_t *, size_t, struct wire_lookup *);
size_t	 wire_enc_u32(uint8_t *, size_t, uint32_t);	/* CANCEL */
int	 wire_dec_u32(const uint8_t *, size_t, uint32_t *);
size_t	 wire_enc_u64(uint8_t *, size_t, uint64_t);	/* PING, PONG */
int	 wire_dec_u64(const uint8_t *, size_t, uint64_t *);
size_t	 wire_enc_id(uint8_t *, size_t, const uint8_t *);	/* HAVE */
int	 wire_dec_id(const uint8_t *, size_t, uint8_t *);
/* DATA: the tag and a pointer into the payload. */
int	 wire_dec_data(const uint8_t *, size_t, uint32_t *, const uint8_t **,
	    size_t *);

#endif /* WIRE_H */
