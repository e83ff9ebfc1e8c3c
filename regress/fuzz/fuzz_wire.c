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
 * libFuzzer target for the peer protocol codec of pv-netd/wire.c.  The
 * input is a stream of frames as a peer would send them: the target
 * walks it as pv-netd does (header, bounds, then the payload's decoder)
 * and stops at the first frame pv-netd would drop a peer for.  Each
 * payload is copied to a buffer of exactly its length, so that the
 * sanitizers catch a decoder reading past it.  Whatever decodes must
 * encode back to the very same bytes, and whatever the header parser
 * accepts must be within the type's bounds; anything else aborts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pvd.h"
#include "repl.h"
#include "wire.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	out[WIRE_FRAME_MAX];

/* Decodes one payload; -1 when pv-netd would drop the peer. */
static int
check_payload(uint16_t type, const uint8_t *p, size_t len)
{
	struct wire_hello	 hello;
	struct repl_entry	 entry;
	struct repl_summary	 summary;
	struct repl_buckets	 buckets;
	struct wire_get		 get;
	struct wire_blob	 blob;
	struct wire_lookup	 lookup;
	const uint8_t		*data;
	uint8_t			 id[PVD_ID_LEN];
	uint64_t		 v64;
	uint32_t		 v32;
	size_t			 n, datalen;

	switch (type) {
	case WIRE_HELLO:
		if (wire_dec_hello(p, len, &hello) == -1)
			return (-1);
		n = wire_enc_hello(out, sizeof(out), &hello);
		break;
	case WIRE_PING:
	case WIRE_PONG:
		if (wire_dec_u64(p, len, &v64) == -1)
			return (-1);
		n = wire_enc_u64(out, sizeof(out), v64);
		break;
	case WIRE_ENTRY:
		if (wire_dec_entry(p, len, &entry) == -1)
			return (-1);
		if (strlen(entry.name) == 0 ||
		    !name_valid(entry.name, NULL))
			abort();
		n = wire_enc_entry(out, sizeof(out), &entry);
		break;
	case WIRE_SUMMARY:
		if (wire_dec_summary(p, len, &summary) == -1)
			return (-1);
		n = wire_enc_summary(out, sizeof(out), &summary);
		break;
	case WIRE_BUCKETS:
		if (wire_dec_buckets(p, len, &buckets) == -1)
			return (-1);
		n = wire_enc_buckets(out, sizeof(out), &buckets);
		break;
	case WIRE_GET:
		if (wire_dec_get(p, len, &get) == -1)
			return (-1);
		n = wire_enc_get(out, sizeof(out), &get);
		break;
	case WIRE_BLOB:
		if (wire_dec_blob(p, len, &blob) == -1)
			return (-1);
		if (blob.offset > blob.total)
			abort();
		n = wire_enc_blob(out, sizeof(out), &blob);
		break;
	case WIRE_DATA:
		if (wire_dec_data(p, len, &v32, &data, &datalen) == -1)
			return (-1);
		if (datalen == 0 || datalen > WIRE_DATA_MAX ||
		    data != p + 4 || datalen != len - 4)
			abort();
		n = wire_enc_u32(out, sizeof(out), v32);
		memcpy(out + n, data, datalen);
		n += datalen;
		break;
	case WIRE_HAVE:
		if (wire_dec_id(p, len, id) == -1)
			return (-1);
		n = wire_enc_id(out, sizeof(out), id);
		break;
	case WIRE_LOOKUP:
	case WIRE_LOOKUP_REPLY:
		if (wire_dec_lookup(p, len, &lookup) == -1)
			return (-1);
		if (!name_valid(lookup.name, NULL))
			abort();
		n = wire_enc_lookup(out, sizeof(out), &lookup);
		break;
	case WIRE_CANCEL:
		if (wire_dec_u32(p, len, &v32) == -1)
			return (-1);
		n = wire_enc_u32(out, sizeof(out), v32);
		break;
	default:
		/* the header parser let an unknown type through */
		abort();
	}
	if (n != len || memcmp(out, p, len) != 0)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		 hdr[WIRE_HDR_LEN];
	uint8_t		*payload;
	uint16_t	 type;
	uint32_t	 len;
	int		 ret;

	while (size >= WIRE_HDR_LEN) {
		if (wire_hdr_parse(data, &type, &len) == -1)
			break;
		if (len < wire_min_len(type) || len > wire_max_len(type) ||
		    len > WIRE_FRAME_MAX)
			abort();
		wire_hdr_build(hdr, type, len);
		if (memcmp(hdr, data, WIRE_HDR_LEN) != 0)
			abort();
		data += WIRE_HDR_LEN;
		size -= WIRE_HDR_LEN;
		if (size < len)
			break;		/* pv-netd waits for the rest */
		if ((payload = malloc(len > 0 ? len : 1)) == NULL)
			abort();
		memcpy(payload, data, len);
		ret = check_payload(type, payload, len);
		free(payload);
		if (ret == -1)
			break;		/* pv-netd drops the peer */
		data += len;
		size -= len;
	}
	return (0);
}
