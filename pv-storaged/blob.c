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
 * The encrypted blob format, version 1, as pvd-blob(5) describes it: an
 * 88-byte header, then AES-256-GCM segments under a key of this blob
 * only.  The writer streams a file once and writes the header last; the
 * reader streams it once, returns only plaintext whose tag verified and
 * holds the last segment back until the whole content matched its id.
 */

#include <sys/types.h>
#include <sys/endian.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "pvd.h"
#include "blob.h"

#ifndef MINIMUM
#define MINIMUM(a, b)	(((a) < (b)) ? (a) : (b))
#endif

#define BLOB_KEY_INFO	"peervault blob v1"	/* || salt, under blob_key */

/* Header field offsets. */
#define HDR_VERSION	6
#define HDR_RESERVED	7
#define HDR_SEGSIZE	8
#define HDR_FLAGS	12
#define HDR_SALT	16
#define HDR_SIZE	32
#define HDR_ID		40
#define HDR_TAG		72

enum blob_rstate {
	BLOB_RS_FAILED = 0,	/* also what a zeroed reader is */
	BLOB_RS_SEGMENTS,	/* segments left to load */
	BLOB_RS_LAST,		/* all checks passed, last segment going out */
	BLOB_RS_DONE
};

static const uint8_t blob_header_nonce[BLOB_NONCE_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

static ssize_t	 blob_readfull(int, void *, size_t);
static int	 blob_writefull(int, const void *, size_t);
static int	 blob_pwritefull(int, const void *, size_t, off_t);
static int	 blob_segsize_valid(uint32_t);
static uint64_t	 blob_segments(uint64_t, uint32_t);
static void	 blob_nonce(uint8_t *, int, uint64_t);
static int	 blob_cipher_init(EVP_CIPHER_CTX *, int, const uint8_t *,
		    const uint8_t *);
static int	 blob_gcm(EVP_CIPHER_CTX *, int, const uint8_t *,
		    const uint8_t *, size_t, uint8_t *, size_t, uint8_t *);
static int	 blob_writer_seal(struct blob_writer *, int);
static int	 blob_reader_fail(struct blob_reader *, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
static void	 blob_reader_release(struct blob_reader *);
static int	 blob_reader_load(struct blob_reader *);





/* Up to len bytes; fewer only at the end of the file. */
static ssize_t
blob_readfull(int fd, void *buf, size_t len)
{
	uint8_t	*p = buf;
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		if ((n = read(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0)
			break;
		off += n;
	}
	return (off);
}

static int
blob_writefull(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		len -= n;
	}
	return (0);
}

static int
blob_pwritefull(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, off)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		len -= n;
		off += n;
	}
	return (0);
}

static int
blob_segsize_valid(uint32_t segsize)
{
	return (segsize >= BLOB_SEGMENT_MIN && segsize <= BLOB_SEGMENT_MAX &&
	    (segsize & (segsize - 1)) == 0);
}

/* An empty file still has one, empty, segment. */
static uint64_t
blob_segments(uint64_t size, uint32_t segsize)
{
	uint64_t	n;

	n = size / segsize + (size % segsize != 0);
	return (n == 0 ? 1 : n);
}

/*
 * The length of the blob of a plaintext of size bytes, or 0 when the
 * segment size is not one a reader accepts or the blob would not fit in
 * an off_t.  With at least 1024 bytes a segment, the tags of 2^64 bytes
 * take under 2^59 bytes, so only the final addition can overflow.
 */
uint64_t
blob_stored_size(uint64_t size, uint32_t segsize)
{
	uint64_t	overhead;

	if (!blob_segsize_valid(segsize))
		return (0);
	overhead = BLOB_HEADER_LEN +
	    blob_segments(size, segsize) * BLOB_TAG_LEN;
	if (size > (uint64_t)INT64_MAX - overhead)
		return (0);
	return (size + overhead);
}

/* nonce_i = BE32(last ? 1 : 0) || BE64(i) */
static void
blob_nonce(uint8_t *nonce, int last, uint64_t seg)
{
	be32enc(nonce, last ? 1 : 0);
	be64enc(nonce + 4, seg);
}

/*
 * Loads cctx with this blob's key, HMAC-SHA-256(blob_key,
 * "peervault blob v1" || salt), and keeps it nowhere else: every later
 * operation only changes the nonce.
 */
static int
blob_cipher_init(EVP_CIPHER_CTX *cctx, int enc, const uint8_t *blob_key,
    const uint8_t *salt)
{
	uint8_t		msg[sizeof(BLOB_KEY_INFO) - 1 + BLOB_SALT_LEN];
	uint8_t		key[EVP_MAX_MD_SIZE];
	unsigned int	keylen = 0;
	int		ret = -1;

	memcpy(msg, BLOB_KEY_INFO, sizeof(BLOB_KEY_INFO) - 1);
	memcpy(msg + sizeof(BLOB_KEY_INFO) - 1, salt, BLOB_SALT_LEN);
	if (HMAC(EVP_sha256(), blob_key, BLOB_KEY_LEN, msg, sizeof(msg), key,
	    &keylen) != NULL && keylen == 32 &&
	    EVP_CipherInit_ex(cctx, EVP_aes_256_gcm(), NULL, key, NULL,
	    enc) == 1)
		ret = 0;
	explicit_bzero(key, sizeof(key));
	return (ret);
}

/*
 * One AES-256-GCM operation under the key in cctx, in place over
 * buf[0..len): seal (enc) and write the tag, or open and check it.
 * Returns -1 when the tag does not verify, or on a library failure.
 */
static int
blob_gcm(EVP_CIPHER_CTX *cctx, int enc, const uint8_t *nonce,
    const uint8_t *aad, size_t aadlen, uint8_t *buf, size_t len,
    uint8_t *tag)
{
	uint8_t	final[BLOB_TAG_LEN];
	int	outl;

	if (aadlen > INT_MAX || len > INT_MAX)
		return (-1);
	if (EVP_CipherInit_ex(cctx, NULL, NULL, NULL, nonce, enc) != 1 ||
	    EVP_CipherUpdate(cctx, NULL, &outl, aad, (int)aadlen) != 1)
		return (-1);
	if (len > 0 && (EVP_CipherUpdate(cctx, buf, &outl, buf,
	    (int)len) != 1 || (size_t)outl != len))
		return (-1);
	if (!enc && EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_TAG,
	    BLOB_TAG_LEN, tag) != 1)
		return (-1);
	if (EVP_CipherFinal_ex(cctx, final, &outl) != 1)
		return (-1);
	if (enc && EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG,
	    BLOB_TAG_LEN, tag) != 1)
		return (-1);
	return (0);
}

/*
 * Writer, into a new file open for writing (not O_APPEND: the header is
 * written last, at offset 0).  Library failures leave errno EIO; I/O
 * failures leave the errno of write(2) or pwrite(2).  After any failure
 * the writer only accepts blob_writer_free().
 */
int
blob_writer_init(struct blob_writer *w, const uint8_t *blob_key,
    uint32_t segsize, int fd)
{
	uint8_t	salt[BLOB_SALT_LEN];
	int	ret;

	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		memset(w, 0, sizeof(*w));
		w->fd = -1;
		w->failed = 1;
		errno = EIO;
		return (-1);
	}
	ret = blob_writer_init_salt(w, blob_key, segsize, fd, salt);
	explicit_bzero(salt, sizeof(salt));
	return (ret);
}

int
blob_writer_init_salt(struct blob_writer *w, const uint8_t *blob_key,
    uint32_t segsize, int fd, const uint8_t *salt)
{
	static const uint8_t	placeholder[BLOB_HEADER_LEN];
	int			saved_errno;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->failed = 1;
	if (!blob_segsize_valid(segsize)) {
		errno = EINVAL;
		return (-1);
	}
	w->segsize = segsize;
	if ((w->buf = malloc(segsize + BLOB_TAG_LEN)) == NULL)
		return (-1);
	if ((w->cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    (w->mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(w->mctx, EVP_sha256(), NULL) != 1 ||
	    blob_cipher_init(w->cctx, 1, blob_key, salt) == -1) {
		blob_writer_free(w);
		errno = EIO;
		return (-1);
	}

	memcpy(w->hdr, BLOB_MAGIC, BLOB_MAGIC_LEN);
	w->hdr[HDR_VERSION] = BLOB_VERSION;
	w->hdr[HDR_RESERVED] = 0;
	be32enc(w->hdr + HDR_SEGSIZE, segsize);
	be32enc(w->hdr + HDR_FLAGS, 0);
	memcpy(w->hdr + HDR_SALT, salt, BLOB_SALT_LEN);

	/* The real header goes in by blob_writer_finish(), at offset 0. */
	if (blob_writefull(fd, placeholder, sizeof(placeholder)) == -1) {
		saved_errno = errno;
		blob_writer_free(w);
		errno = saved_errno;
		return (-1);
	}
	w->fd = fd;
	w->failed = 0;
	return (0);
}

/* Hashes, seals and writes the segment in buf, which may be empty. */
static int
blob_writer_seal(struct blob_writer *w, int last)
{
	uint8_t	nonce[BLOB_NONCE_LEN];

	blob_nonce(nonce, last, w->seg);
	if (EVP_DigestUpdate(w->mctx, w->buf, w->fill) != 1 ||
	    blob_gcm(w->cctx, 1, nonce, w->hdr, BLOB_AAD_LEN, w->buf,
	    w->fill, w->buf + w->fill) == -1) {
		errno = EIO;
		return (-1);
	}
	if (blob_writefull(w->fd, w->buf, w->fill + BLOB_TAG_LEN) == -1)
		return (-1);
	w->seg++;
	w->fill = 0;
	return (0);
}

/*
 * A full segment is sealed only once more data follows it: only
 * blob_writer_finish() knows which one is the last.
 */
int
blob_writer_update(struct blob_writer *w, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 n;

	if (w->failed) {
		errno = EINVAL;
		return (-1);
	}
	if (len > UINT64_MAX - w->size ||
	    blob_stored_size(w->size + len, w->segsize) == 0) {
		w->failed = 1;
		errno = EFBIG;
		return (-1);
	}
	while (len > 0) {
		if (w->fill == w->segsize &&
		    blob_writer_seal(w, 0) == -1) {
			w->failed = 1;
			return (-1);
		}
		n = MINIMUM(len, w->segsize - w->fill);
		memcpy(w->buf + w->fill, p, n);
		w->fill += n;
		w->size += n;
		p += n;
		len -= n;
	}
	return (0);
}

/*
 * Seals the last segment and writes the header, which binds the size and
 * the id to this blob's key, over the placeholder.  No fsync(2): the
 * caller syncs, renames and syncs the directory.
 */
int
blob_writer_finish(struct blob_writer *w, uint8_t *id_out,
    uint64_t *size_out)
{
	unsigned int	mdlen = 0;

	if (w->failed) {
		errno = EINVAL;
		return (-1);
	}
	w->failed = 1;
	if (blob_writer_seal(w, 1) == -1)
		return (-1);
	be64enc(w->hdr + HDR_SIZE, w->size);
	if (EVP_DigestFinal_ex(w->mctx, w->hdr + HDR_ID, &mdlen) != 1 ||
	    mdlen != BLOB_ID_LEN ||
	    blob_gcm(w->cctx, 1, blob_header_nonce, w->hdr, HDR_TAG, NULL, 0,
	    w->hdr + HDR_TAG) == -1) {
		errno = EIO;
		return (-1);
	}
	if (blob_pwritefull(w->fd, w->hdr, BLOB_HEADER_LEN, 0) == -1)
		return (-1);
	if (id_out != NULL)
		memcpy(id_out, w->hdr + HDR_ID, BLOB_ID_LEN);
	if (size_out != NULL)
		*size_out = w->size;
	return (0);
}

/* Safe after a failed init, and twice. */
void
blob_writer_free(struct blob_writer *w)
{
	EVP_CIPHER_CTX_free(w->cctx);
	EVP_MD_CTX_free(w->mctx);
	if (w->buf != NULL)
		freezero(w->buf, w->segsize + BLOB_TAG_LEN);
	explicit_bzero(w, sizeof(*w));
	w->fd = -1;
	w->failed = 1;
}

/*
 * Reader.  Any failure is final: the buffer is wiped, every later read
 * returns -1 and blob_reader_error() says why.
 */
static int
blob_reader_fail(struct blob_reader *r, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	if (r->buf != NULL)
		explicit_bzero(r->buf, r->segsize + BLOB_TAG_LEN);
	r->off = r->len = 0;
	r->state = BLOB_RS_FAILED;
	return (-1);
}

/* Frees what the reader holds but keeps its state and error. */
static void
blob_reader_release(struct blob_reader *r)
{
	EVP_CIPHER_CTX_free(r->cctx);
	r->cctx = NULL;
	EVP_MD_CTX_free(r->mctx);
	r->mctx = NULL;
	if (r->buf != NULL)
		freezero(r->buf, r->segsize + BLOB_TAG_LEN);
	r->buf = NULL;
	r->off = r->len = 0;
}

/*
 * In the order of pvd-blob(5): magic, version, reserved fields, segment
 * size, header tag, size, expected id.  On failure the reader holds no
 * resources and blob_reader_error() says why.
 */
int
blob_reader_init(struct blob_reader *r, const uint8_t *blob_key, int fd,
    const uint8_t *expect_id)
{
	char		have[2 * BLOB_ID_LEN + 1], want[2 * BLOB_ID_LEN + 1];
	ssize_t		n;
	uint32_t	v;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->state = BLOB_RS_FAILED;

	if ((n = blob_readfull(fd, r->hdr, BLOB_HEADER_LEN)) == -1)
		return (blob_reader_fail(r, "read: %s", strerror(errno)));
	if (memcmp(r->hdr, BLOB_MAGIC, MINIMUM((size_t)n,
	    BLOB_MAGIC_LEN)) != 0)
		return (blob_reader_fail(r, "not a blob (bad magic)"));
	if (n < BLOB_HEADER_LEN)
		return (blob_reader_fail(r,
		    "truncated header (%zd of %d bytes)", n, BLOB_HEADER_LEN));
	if (r->hdr[HDR_VERSION] != BLOB_VERSION)
		return (blob_reader_fail(r, "unsupported blob version %u",
		    r->hdr[HDR_VERSION]));
	if (r->hdr[HDR_RESERVED] != 0)
		return (blob_reader_fail(r, "reserved header byte is 0x%02x, "
		    "not 0", r->hdr[HDR_RESERVED]));
	v = be32dec(r->hdr + HDR_SEGSIZE);
	if (!blob_segsize_valid(v))
		return (blob_reader_fail(r, "bad segment size %u", v));
	r->segsize = v;
	v = be32dec(r->hdr + HDR_FLAGS);
	if (v != 0)
		return (blob_reader_fail(r, "unsupported header flags 0x%08x",
		    v));

	if ((r->cctx = EVP_CIPHER_CTX_new()) == NULL ||
	    (r->mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(r->mctx, EVP_sha256(), NULL) != 1 ||
	    blob_cipher_init(r->cctx, 0, blob_key, r->hdr + HDR_SALT) == -1) {
		blob_reader_release(r);
		return (blob_reader_fail(r, "crypto library failure"));
	}
	if (blob_gcm(r->cctx, 0, blob_header_nonce, r->hdr, HDR_TAG, NULL, 0,
	    r->hdr + HDR_TAG) == -1) {
		blob_reader_release(r);
		return (blob_reader_fail(r, "header tag does not verify "
		    "(wrong network key or damaged header)"));
	}
	r->size = be64dec(r->hdr + HDR_SIZE);
	if (blob_stored_size(r->size, r->segsize) == 0) {
		blob_reader_release(r);
		return (blob_reader_fail(r, "plaintext size %llu too large",
		    (unsigned long long)r->size));
	}
	if (expect_id != NULL &&
	    memcmp(expect_id, r->hdr + HDR_ID, BLOB_ID_LEN) != 0) {
		blob_reader_release(r);
		hex_encode(r->hdr + HDR_ID, BLOB_ID_LEN, have, sizeof(have));
		hex_encode(expect_id, BLOB_ID_LEN, want, sizeof(want));
		return (blob_reader_fail(r, "id mismatch: blob holds %.16s, "
		    "expected %.16s", have, want));
	}
	if ((r->buf = malloc(r->segsize + BLOB_TAG_LEN)) == NULL) {
		blob_reader_release(r);
		return (blob_reader_fail(r, "%s", strerror(errno)));
	}
	r->nseg = blob_segments(r->size, r->segsize);
	r->state = BLOB_RS_SEGMENTS;
	return (0);
}

/*
 * Skip the last check, that the SHA-256 of the content is its id, for a
 * blob whose id was checked when it was written or received: every tag,
 * the structure and the id in the header are still checked.  Call it
 * after blob_reader_init(), before the first read.
 */
void
blob_reader_tags_only(struct blob_reader *r)
{
	r->tags_only = 1;
}

/*
 * Reads, opens and hashes the next segment.  After the last one: nothing
 * may follow, and the content must match its id, before any byte of that
 * segment goes out.
 */
static int
blob_reader_load(struct blob_reader *r)
{
	uint8_t		nonce[BLOB_NONCE_LEN], id[EVP_MAX_MD_SIZE], c;
	unsigned int	mdlen = 0;
	size_t		len;
	ssize_t		n;
	int		last;

	last = r->seg == r->nseg - 1;
	len = last ? r->size - (r->nseg - 1) * r->segsize : r->segsize;
	if ((n = blob_readfull(r->fd, r->buf, len + BLOB_TAG_LEN)) == -1)
		return (blob_reader_fail(r, "read: %s", strerror(errno)));
	if ((size_t)n < len + BLOB_TAG_LEN) {
		if (n > 0)
			return (blob_reader_fail(r, "truncated in segment %llu",
			    (unsigned long long)r->seg));
		if (r->seg == 0)
			return (blob_reader_fail(r,
			    "truncated after the header"));
		return (blob_reader_fail(r, "truncated after segment %llu",
		    (unsigned long long)r->seg - 1));
	}
	blob_nonce(nonce, last, r->seg);
	if (blob_gcm(r->cctx, 0, nonce, r->hdr, BLOB_AAD_LEN, r->buf, len,
	    r->buf + len) == -1)
		return (blob_reader_fail(r, "segment %llu does not verify",
		    (unsigned long long)r->seg));
	if (!r->tags_only && EVP_DigestUpdate(r->mctx, r->buf, len) != 1)
		return (blob_reader_fail(r, "crypto library failure"));
	r->seg++;
	r->off = 0;
	r->len = len;
	if (!last)
		return (0);

	if ((n = blob_readfull(r->fd, &c, 1)) == -1)
		return (blob_reader_fail(r, "read: %s", strerror(errno)));
	if (n != 0)
		return (blob_reader_fail(r, "data after the last segment"));
	if (r->tags_only) {
		r->state = BLOB_RS_LAST;
		return (0);
	}
	if (EVP_DigestFinal_ex(r->mctx, id, &mdlen) != 1 ||
	    mdlen != BLOB_ID_LEN)
		return (blob_reader_fail(r, "crypto library failure"));
	if (memcmp(id, r->hdr + HDR_ID, BLOB_ID_LEN) != 0)
		return (blob_reader_fail(r, "content does not match its id"));
	r->state = BLOB_RS_LAST;
	return (0);
}

/* The file offset just after segment seg of the blob r reads. */
static uint64_t
blob_reader_seg_end(const struct blob_reader *r, uint64_t seg)
{
	if (seg + 1 >= r->nseg)
		return (blob_stored_size(r->size, r->segsize));
	return (BLOB_HEADER_LEN + (seg + 1) * (r->segsize + BLOB_TAG_LEN));
}

/*
 * Verify a blob that is still being written, as far as the first avail
 * bytes of its file hold whole segments: a receiver checks what arrived
 * while the rest arrives.  The last segment is verified, with the id,
 * once avail reaches the end of the blob.  Returns the length of the
 * verified prefix of the file (all of it once the blob verified whole),
 * or -1 when a segment fails, with the reason in blob_reader_error().
 * The plaintext is not returned: blob_reader_read() must not follow.
 */
int64_t
blob_reader_advance(struct blob_reader *r, uint64_t avail)
{
	while (r->state == BLOB_RS_SEGMENTS &&
	    blob_reader_seg_end(r, r->seg) <= avail)
		if (blob_reader_load(r) == -1)
			return (-1);
	if (r->state == BLOB_RS_FAILED)
		return (-1);
	if (r->state != BLOB_RS_SEGMENTS)
		return ((int64_t)blob_stored_size(r->size, r->segsize));
	return (r->seg == 0 ? BLOB_HEADER_LEN :
	    (int64_t)blob_reader_seg_end(r, r->seg - 1));
}

/* Every segment and the id verified. */
int
blob_reader_complete(const struct blob_reader *r)
{
	return (r->state == BLOB_RS_LAST || r->state == BLOB_RS_DONE);
}

/*
 * Verified plaintext, at most one segment's worth a call; 0 only at the
 * end, once every check passed.
 */
ssize_t
blob_reader_read(struct blob_reader *r, void *out, size_t outlen)
{
	size_t	n;

	if (r->state == BLOB_RS_FAILED)
		return (-1);
	if (outlen == 0)
		return (blob_reader_fail(r, "read of zero bytes"));
	while (r->off == r->len) {
		if (r->state == BLOB_RS_LAST) {
			explicit_bzero(r->buf, r->segsize + BLOB_TAG_LEN);
			r->state = BLOB_RS_DONE;
		}
		if (r->state == BLOB_RS_DONE)
			return (0);
		if (blob_reader_load(r) == -1)
			return (-1);
	}
	n = MINIMUM(outlen, r->len - r->off);
	memcpy(out, r->buf + r->off, n);
	r->off += n;
	return (n);
}

const char *
blob_reader_error(const struct blob_reader *r)
{
	return (r->err[0] != '\0' ? r->err : "no error");
}

uint64_t
blob_reader_size(const struct blob_reader *r)
{
	return (r->size);
}

const uint8_t *
blob_reader_id(const struct blob_reader *r)
{
	return (r->hdr + HDR_ID);
}

/* Safe after a failed init, and twice. */
void
blob_reader_free(struct blob_reader *r)
{
	blob_reader_release(r);
	explicit_bzero(r, sizeof(*r));
	r->fd = -1;
	r->state = BLOB_RS_FAILED;
}

/* Every check of a read, without the plaintext going anywhere (scrub). */
int
blob_verify_fd(const uint8_t *blob_key, int fd, const uint8_t *expect_id,
    char *errbuf, size_t errlen)
{
	struct blob_reader	r;
	int			ret = -1;

	if (blob_reader_init(&r, blob_key, fd, expect_id) == 0) {
		while (r.state == BLOB_RS_SEGMENTS)
			if (blob_reader_load(&r) == -1)
				break;
		if (r.state == BLOB_RS_LAST)
			ret = 0;
	}
	if (ret == -1 && errbuf != NULL && errlen > 0)
		(void)strlcpy(errbuf, blob_reader_error(&r), errlen);
	blob_reader_free(&r);
	return (ret);
}

/*
 * The on-disk name: HMAC-SHA-256(name_key, id) in lowercase hex, so that
 * the disk does not tell which known contents it holds.  An empty string
 * if the library fails.
 */
void
blob_name(const uint8_t *name_key, const uint8_t *id, char *hex)
{
	uint8_t		mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;

	if (HMAC(EVP_sha256(), name_key, BLOB_KEY_LEN, id, BLOB_ID_LEN, mac,
	    &maclen) == NULL || maclen != 32) {
		hex[0] = '\0';
		return;
	}
	hex_encode(mac, maclen, hex, BLOB_NAME_HEXLEN);
}

/*
 * "blobs/ab/cd/abcd..." for the on-disk name of a blob, relative to the
 * data directory; path holds BLOB_PATH_LEN bytes.
 */
void
blob_file_path(const char *file, char *path)
{
	snprintf(path, BLOB_PATH_LEN, "blobs/%.2s/%.2s/%.64s", file, file + 2,
	    file);
}

/* The path of the blob of id. */
int
blob_path(const uint8_t *name_key, const uint8_t *id, char *path,
    size_t len)
{
	char	name[BLOB_NAME_HEXLEN];

	blob_name(name_key, id, name);
	if (name[0] == '\0') {
		errno = EIO;
		return (-1);
	}
	if (len < BLOB_PATH_LEN) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	blob_file_path(name, path);
	return (0);
}
