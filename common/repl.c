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
 * The anti-entropy arithmetic both processes share: which bucket a name
 * falls in, the digest of one entry, a bucket summary built from entries
 * and the buckets in which two summaries differ.
 */

#include <sys/types.h>
#include <sys/endian.h>

#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "repl.h"


/*
 * The first 8 bytes, big-endian, of SHA-256 over the name, a 0 byte,
 * the id (zero for a tombstone), the origin, the size and the hlc.  The
 * HAVE flag is not part of it: it says who holds a copy, not which
 * version this is.
 */
uint64_t
repl_entry_digest(const struct repl_entry *e)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 md[EVP_MAX_MD_SIZE], zero = 0, num[16];
	unsigned int	 mdlen = 0;
	uint64_t	 v = 0;
	size_t		 namelen;
	int		 i, ok;

	namelen = strnlen(e->name, sizeof(e->name));
	be64enc(num, e->size);
	be64enc(num + 8, e->hlc);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return (0);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, e->name, namelen) == 1 &&
	    EVP_DigestUpdate(ctx, &zero, 1) == 1 &&
	    EVP_DigestUpdate(ctx, e->id, sizeof(e->id)) == 1 &&
	    EVP_DigestUpdate(ctx, e->origin, sizeof(e->origin)) == 1 &&
	    EVP_DigestUpdate(ctx, num, sizeof(num)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 8;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return (0);
	for (i = 0; i < 8; i++)
		v = v << 8 | md[i];
	return (v);
}

/* The first byte of SHA-256 of the name; -1 if the library fails. */
int
repl_entry_bucket(const char *name)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < 1)
		return (-1);
	return (md[0]);
}

/* Count e and fold its digest into its bucket. */
void
repl_summary_add(struct repl_summary *s, const struct repl_entry *e)
{
	int	b;

	if ((b = repl_entry_bucket(e->name)) == -1)
		return;
	s->count++;
	s->digest[b] ^= repl_entry_digest(e);
}

/* The buckets whose digests differ between two summaries. */
void
repl_summary_diff(const struct repl_summary *a, const struct repl_summary *b,
    struct repl_buckets *out)
{
	int	i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < REPL_BUCKETS; i++)
		if (a->digest[i] != b->digest[i])
			out->bitmap[i / 8] |= 1 << (i % 8);
}

int
repl_bucket_isset(const struct repl_buckets *bk, int b)
{
	if (b < 0 || b >= REPL_BUCKETS)
		return (0);
	return ((bk->bitmap[b / 8] >> (b % 8)) & 1);
}

/*
 * Last writer wins: the larger hlc, then the larger origin.  > 0 when a
 * is the newer version, < 0 when b is, 0 when they are the same one.
 */
int
repl_lww_cmp(const struct repl_entry *a, const struct repl_entry *b)
{
	if (a->hlc != b->hlc)
		return (a->hlc > b->hlc ? 1 : -1);
	return (memcmp(a->origin, b->origin, sizeof(a->origin)));
}
