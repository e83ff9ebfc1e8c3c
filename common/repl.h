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
 * Replication between pv-netd and pv-storaged: the payloads of the
 * IMSG_REPL_* messages (pvd.h gives the types), the wire constants that
 * both sides must agree on, and the entry digest of anti-entropy.
 * doc/PROTOCOL.md describes the peer protocol these carry.
 *
 * Conventions: ids and node ids travel here in binary (id[32],
 * node[16]); the all-zero id means "tombstone".  The imsg peerid of a
 * message from net to storage, and of storage's answer, is the peer
 * connection (struct peer's id) it concerns, or 0 for "every peer".
 */

#ifndef REPL_H
#define REPL_H

#include <stdint.h>

#include "pvd.h"

#define REPL_BUCKETS		256	/* first byte of SHA-256(name) */
#define REPL_BUCKET_BITMAP	(REPL_BUCKETS / 8)
#define REPL_HEADER_LEN		88	/* blob header, as BLOB_HEADER_LEN */
#define REPL_WANT_HOLDERS	8	/* holders named per wanted blob */
#define REPL_WANT_BATCH		64	/* wanted blobs per IMSG_REPL_WANTED */

/* struct repl_entry.flags */
#define REPL_F_TOMBSTONE	0x01	/* id is all zero */
#define REPL_F_HAVE		0x02	/* the sender holds the blob */

/*
 * IMSG_REPL_ENTRY (storage -> net: announce; peerid 0: to every peer
 * except the connection "except", else to that connection only) and
 * IMSG_REPL_MERGE (net -> storage: an entry a peer sent; peerid: the
 * connection, node: the peer's node id).
 */
struct repl_entry {
	char		name[PVD_NAME_MAX + 1];
	uint8_t		id[PVD_ID_LEN];
	uint8_t		origin[PVD_NODEID_LEN];
	uint8_t		node[PVD_NODEID_LEN];	/* MERGE: who sent it */
	uint64_t	size;			/* plaintext bytes */
	uint64_t	hlc;
	uint32_t	except;			/* ENTRY: skip this peer */
	uint8_t		flags;			/* REPL_F_* */
};

/* IMSG_REPL_HAVE, both ways: node holds the verified blob id. */
struct repl_have {
	uint8_t		id[PVD_ID_LEN];
	uint8_t		node[PVD_NODEID_LEN];	/* net -> storage */
};

/*
 * IMSG_REPL_SUMMARY (storage -> net, our summary for peerid) and
 * IMSG_REPL_SUMMARY_CMP (net -> storage, the summary peerid sent).
 * digest[b] is the XOR of repl_entry_digest() over the entries of
 * bucket b, including tombstones.
 */
struct repl_summary {
	uint64_t	count;			/* entries, tombstones too */
	uint64_t	digest[REPL_BUCKETS];
};

/*
 * IMSG_REPL_BUCKETS: storage -> net, the buckets to ask peerid for;
 * net -> storage, the buckets peerid asked us for (storage answers
 * with IMSG_REPL_ENTRY to peerid for each of their entries).
 */
struct repl_buckets {
	uint8_t		bitmap[REPL_BUCKET_BITMAP];	/* bit b: bucket b */
};

/* A blob this node lacks, in IMSG_REPL_WANTED and IMSG_REPL_FETCH. */
struct repl_want {
	uint8_t		id[PVD_ID_LEN];
	uint64_t	size;			/* plaintext bytes */
	uint32_t	nholders;
	uint8_t		holders[REPL_WANT_HOLDERS][PVD_NODEID_LEN];
};

/*
 * IMSG_REPL_WANTED (storage -> net, answer to IMSG_REPL_WANTED_REQ):
 * up to REPL_WANT_BATCH blobs to fetch, oldest entries first.
 */
struct repl_wanted {
	uint32_t	nwant;
	uint32_t	more;			/* 1: there are more */
	uint64_t	pending;		/* live entries without a blob */
	uint64_t	blocked;		/* of those: no space (quota) */
	uint64_t	blocked_need;		/* bytes they need */
	struct repl_want want[REPL_WANT_BATCH];
};

/* IMSG_REPL_RECV_OPEN, IMSG_REPL_SEND_OPEN: net -> storage. */
struct repl_open {
	uint32_t	xfer;			/* net's transfer id */
	uint8_t		id[PVD_ID_LEN];
	uint64_t	disk_size;		/* RECV: the sender's figure */
};

enum repl_code {
	REPL_OK,
	REPL_NOTFOUND,		/* no such blob here */
	REPL_QUOTA,		/* no space for it */
	REPL_UNWANTED,		/* no live entry needs it (any more) */
	REPL_HAVE,		/* already here and verified */
	REPL_BAD,		/* failed verification: discarded */
	REPL_ERROR		/* local failure, see msg */
};

/*
 * IMSG_REPL_RECV_FD (storage -> net, with a descriptor open for
 * reading and writing on the temporary blob), IMSG_REPL_SEND_FD (with a
 * descriptor open for reading on the blob), IMSG_REPL_RECV_RESULT,
 * IMSG_REPL_SEND_FAIL (no descriptor).
 */
struct repl_xfer {
	uint32_t	xfer;
	uint8_t		id[PVD_ID_LEN];
	uint32_t	code;			/* enum repl_code */
	uint64_t	offset;			/* RECV_FD: resume here */
	uint64_t	disk_size;		/* SEND_FD: the blob's length;
					   RECV_FD: the most it may be */
	char		msg[256];
};

/*
 * IMSG_REPL_RECV_DONE (net -> storage: every byte written, fd closed;
 * storage verifies and commits, then answers IMSG_REPL_RECV_RESULT) and
 * IMSG_REPL_RECV_ABORT (interrupted: storage keeps the verified prefix
 * for a resume) and IMSG_REPL_RECV_PROGRESS (so far: storage verifies
 * the segments that arrived while the rest arrives).  length: bytes in
 * the temporary file.
 */
struct repl_done {
	uint32_t	xfer;
	uint8_t		id[PVD_ID_LEN];
	uint64_t	length;
};

/*
 * IMSG_REPL_FETCH (storage -> net): a get waits for this blob; fetch it
 * first.  IMSG_REPL_FETCH_FAIL (net -> storage): no reachable peer has
 * it (every connected peer said so, or none is connected).
 */
struct repl_fetch {
	struct repl_want want;
};

/*
 * IMSG_REPL_LOOKUP (storage -> net: a get of a name this node does not
 * know; net asks every peer) and IMSG_REPL_LOOKUP_DONE (net -> storage:
 * found is 1 when a peer answered with an entry, which was merged
 * before this message); IMSG_REPL_LOOKUP_PEER (net -> storage: peerid
 * asked us for name; storage sends its IMSG_REPL_ENTRY to peerid when it
 * knows the name, then IMSG_REPL_LOOKUP_PEER with found set).
 */
struct repl_lookup {
	uint32_t	tag;
	uint8_t		found;
	char		name[PVD_NAME_MAX + 1];
};

/* IMSG_REPL_STATE (net -> storage): peers connected, for the log. */
struct repl_state {
	uint32_t	peers;
};

/* common/repl.c */
uint64_t	 repl_entry_digest(const struct repl_entry *);
int		 repl_entry_bucket(const char *);
void		 repl_summary_add(struct repl_summary *,
		    const struct repl_entry *);
void		 repl_summary_diff(const struct repl_summary *,
		    const struct repl_summary *, struct repl_buckets *);
int		 repl_bucket_isset(const struct repl_buckets *, int);
int		 repl_lww_cmp(const struct repl_entry *,
		    const struct repl_entry *);

#endif /* REPL_H */
