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
 * The blob format of pvd-blob(5): round trips, every kind of damage, the
 * memory bound, names, and the known-answer vectors under
 * $srcdir/regress/unit/blob-kat.  Where a test needs a blob that blob.c
 * would never write (a wrong id under a good header tag), it seals the
 * header itself with OpenSSL, straight from the specification.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "pvd.h"
#include "blob.h"

#define S1K	1024
#define S64K	65536
#define MIB	(1024 * 1024)

struct blob {
	uint8_t	*data;
	size_t	 len;
	uint8_t	 id[BLOB_ID_LEN];
};

static uint8_t	key_a[BLOB_KEY_LEN];	/* 00 01 .. 1f, as the vectors */
static uint8_t	key_b[BLOB_KEY_LEN];
static uint8_t	name_key[BLOB_KEY_LEN];	/* 20 21 .. 3f */
static uint8_t	kat_salt[BLOB_SALT_LEN];	/* 40 41 .. 4f */

static size_t	ossl_allocs;
static int	ossl_counting;

static void
setup_keys(void)
{
	size_t	i;

	for (i = 0; i < BLOB_KEY_LEN; i++) {
		key_a[i] = i;
		key_b[i] = 0xa0 + i;
		name_key[i] = 0x20 + i;
	}
	for (i = 0; i < BLOB_SALT_LEN; i++)
		kat_salt[i] = 0x40 + i;
}

/* Plaintext that differs from segment to segment and blob to blob. */
static uint8_t *
pattern(size_t len, uint32_t seed)
{
	uint8_t		*p;
	uint32_t	 x = seed * 2654435761U + 1;
	size_t		 i;

	ck_assert_ptr_nonnull(p = malloc(len > 0 ? len : 1));
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x >> 24;
	}
	return (p);
}

static int
memfd_with(const uint8_t *data, size_t len)
{
	ssize_t	n;
	size_t	off = 0;
	int	fd;

	ck_assert_int_ne(fd = memfd_create("blob", MFD_CLOEXEC), -1);
	while (off < len) {
		n = write(fd, data + off, len - off);
		ck_assert_int_gt(n, 0);
		off += n;
	}
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return (fd);
}

static uint8_t *
fd_contents(int fd, size_t *len)
{
	struct stat	 st;
	uint8_t		*p;

	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = st.st_size;
	ck_assert_ptr_nonnull(p = malloc(*len > 0 ? *len : 1));
	ck_assert_int_eq(pread(fd, p, *len, 0), (ssize_t)*len);
	return (p);
}

/* A blob of pt, handed to the writer chunk bytes at a time. */
static void
make_blob(struct blob *b, const uint8_t *key, uint32_t segsize,
    const uint8_t *salt, const uint8_t *pt, size_t len, size_t chunk)
{
	struct blob_writer	w;
	uint64_t		size;
	size_t			off, n;
	int			fd;

	ck_assert_int_ne(fd = memfd_create("blob", MFD_CLOEXEC), -1);
	if (salt != NULL)
		ck_assert_int_eq(blob_writer_init_salt(&w, key, segsize, fd,
		    salt), 0);
	else
		ck_assert_int_eq(blob_writer_init(&w, key, segsize, fd), 0);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		ck_assert_int_eq(blob_writer_update(&w, pt + off, n), 0);
	}
	ck_assert_int_eq(blob_writer_finish(&w, b->id, &size), 0);
	blob_writer_free(&w);
	ck_assert_uint_eq(size, len);
	b->data = fd_contents(fd, &b->len);
	close(fd);
}

static void
free_blob(struct blob *b)
{
	free(b->data);
	b->data = NULL;
}

/* drain_fd() reads as a get does: every tag, not the SHA-256 */
static int	drain_tags_only;

/*
 * Reads a blob through the reader, readsize bytes at a time, checking
 * that every byte it returns is the byte of want at that offset.  0 when
 * the reader reached its end, -1 when it failed with its reason in err.
 */
static int
drain_fd(const uint8_t *key, int fd, const uint8_t *expect_id,
    size_t readsize, const uint8_t *want, size_t wantlen, size_t *got,
    char *err, size_t errlen)
{
	struct blob_reader	 r;
	uint8_t			*buf;
	ssize_t			 n;
	int			 ret = -1;

	*got = 0;
	err[0] = '\0';
	if (blob_reader_init(&r, key, fd, expect_id) == -1) {
		ck_assert(strlcpy(err, blob_reader_error(&r), errlen) < errlen);
		blob_reader_free(&r);
		return (-1);
	}
	if (drain_tags_only)
		blob_reader_tags_only(&r);
	ck_assert_ptr_nonnull(buf = malloc(readsize));
	for (;;) {
		n = blob_reader_read(&r, buf, readsize);
		if (n == 0) {
			ret = 0;
			break;
		}
		if (n == -1) {
			ck_assert(strlcpy(err, blob_reader_error(&r), errlen) <
			    errlen);
			/* and it stays failed */
			ck_assert_int_eq(blob_reader_read(&r, buf, readsize),
			    -1);
			break;
		}
		/* no ck_assert here: each one costs a write(2) */
		if ((size_t)n > readsize || *got + n > wantlen)
			ck_abort_msg("reader returned %zu bytes, more than %zu",
			    *got + n, wantlen);
		if (memcmp(buf, want + *got, n) != 0)
			ck_abort_msg("reader returned wrong bytes at %zu",
			    *got);
		*got += n;
	}
	if (ret == 0) {
		/* the end stays the end */
		ck_assert_int_eq(blob_reader_read(&r, buf, readsize), 0);
		ck_assert_uint_eq(*got, blob_reader_size(&r));
	}
	free(buf);
	blob_reader_free(&r);
	return (ret);
}

static int
drain(const uint8_t *key, const uint8_t *data, size_t len,
    const uint8_t *expect_id, size_t readsize, const uint8_t *want,
    size_t wantlen, size_t *got, char *err, size_t errlen)
{
	int	fd, ret;

	fd = memfd_with(data, len);
	ret = drain_fd(key, fd, expect_id, readsize, want, wantlen, got, err,
	    errlen);
	close(fd);
	return (ret);
}

/*
 * The damaged blob in data must fail with a reason starting with reason,
 * after exactly got_want bytes of pt, read in several buffer sizes; and
 * blob_verify_fd() must give the same reason.
 */
static void
expect_fail(const uint8_t *key, const uint8_t *data, size_t len,
    const uint8_t *expect_id, const uint8_t *pt, size_t ptlen,
    size_t got_want, const char *reason)
{
	static const size_t	 sizes[] = { 7, 100000 };
	char			 err[BLOB_ERRLEN], verr[BLOB_ERRLEN];
	size_t			 i, got;
	int			 fd;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(drain(key, data, len, expect_id, sizes[i],
		    pt, ptlen, &got, err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, reason, strlen(reason)) == 0,
		    "reason \"%s\", expected \"%s\"", err, reason);
		ck_assert_msg(got == got_want,
		    "%zu bytes returned before \"%s\", expected %zu", got, err,
		    got_want);
	}
	fd = memfd_with(data, len);
	ck_assert_int_eq(blob_verify_fd(key, fd, expect_id, verr,
	    sizeof(verr)), -1);
	ck_assert_str_eq(verr, err);
	close(fd);
}

static void
sha256(const void *data, size_t len, uint8_t *out)
{
	unsigned int	mdlen = 0;

	ck_assert_int_eq(EVP_Digest(data, len, out, &mdlen, EVP_sha256(),
	    NULL), 1);
	ck_assert_uint_eq(mdlen, BLOB_ID_LEN);
}

/*
 * Seals a header again after a test changed it, written from the
 * specification: K = HMAC-SHA-256(blob key, "peervault blob v1" || salt),
 * tag = AES-256-GCM(K, nonce 12 x 0xff, AAD header[0..72), "").
 */
static void
reseal_header(const uint8_t *key, uint8_t *hdr)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 msg[17 + BLOB_SALT_LEN], k[32], nonce[12];
	unsigned int	 klen = 0;
	int		 outl;

	memcpy(msg, "peervault blob v1", 17);
	memcpy(msg + 17, hdr + 16, BLOB_SALT_LEN);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, 32, msg, sizeof(msg), k,
	    &klen));
	memset(nonce, 0xff, sizeof(nonce));
	ck_assert_ptr_nonnull(ctx = EVP_CIPHER_CTX_new());
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k,
	    nonce), 1);
	ck_assert_int_eq(EVP_EncryptUpdate(ctx, NULL, &outl, hdr, 72), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, k, &outl), 1);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    hdr + 72), 1);
	EVP_CIPHER_CTX_free(ctx);
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = v & 0xff;
		v >>= 8;
	}
}

/* Where segment i starts in a blob of segment size s. */
static size_t
seg_off(size_t i, size_t s)
{
	return (BLOB_HEADER_LEN + i * (s + BLOB_TAG_LEN));
}

static void
roundtrip(uint32_t segsize, size_t len, const size_t *readsizes,
    size_t nreadsizes)
{
	struct blob	 b;
	uint8_t		*pt, id[BLOB_ID_LEN];
	char		 err[BLOB_ERRLEN];
	size_t		 i, got;
	int		 fd;

	pt = pattern(len, len + segsize);
	make_blob(&b, key_a, segsize, NULL, pt, len, 4000);
	sha256(pt, len, id);
	ck_assert_mem_eq(b.id, id, BLOB_ID_LEN);
	ck_assert_uint_eq(b.len, blob_stored_size(len, segsize));
	for (i = 0; i < nreadsizes; i++) {
		ck_assert_msg(drain(key_a, b.data, b.len, NULL, readsizes[i],
		    pt, len, &got, err, sizeof(err)) == 0,
		    "size %zu segment %u read %zu: %s", len, segsize,
		    readsizes[i], err);
		ck_assert_uint_eq(got, len);
	}
	ck_assert_int_eq(drain(key_a, b.data, b.len, b.id, 4096, pt, len,
	    &got, err, sizeof(err)), 0);
	fd = memfd_with(b.data, b.len);
	ck_assert_int_eq(blob_verify_fd(key_a, fd, b.id, err, sizeof(err)),
	    0);
	close(fd);

	/* the same content written in one piece gives the same blob size */
	free_blob(&b);
	make_blob(&b, key_a, segsize, NULL, pt, len, len + 1);
	ck_assert_mem_eq(b.id, id, BLOB_ID_LEN);
	ck_assert_uint_eq(b.len, blob_stored_size(len, segsize));
	free_blob(&b);
	free(pt);
}

START_TEST(test_roundtrip_sizes)
{
	static const uint32_t	segsizes[] = { S1K, S64K };
	static const size_t	readsizes[] = { 1, 7, 4096, 100000 };
	size_t			s, i, lens[7];

	for (s = 0; s < 2; s++) {
		lens[0] = 0;
		lens[1] = 1;
		lens[2] = segsizes[s] - 1;
		lens[3] = segsizes[s];
		lens[4] = segsizes[s] + 1;
		lens[5] = 3 * segsizes[s];
		lens[6] = 3 * segsizes[s] + 7;
		for (i = 0; i < 7; i++)
			roundtrip(segsizes[s], lens[i], readsizes, 4);
	}
}
END_TEST

START_TEST(test_roundtrip_many_segments)
{
	static const size_t	readsizes[] = { 7, 4096, 100000 };

	roundtrip(S64K, 5 * MIB, readsizes, 3);
	roundtrip(S1K, 5 * MIB + 3, readsizes, 3);
}
END_TEST

START_TEST(test_roundtrip_segment_sizes)
{
	static const size_t	readsizes[] = { 4096, 100000 };
	uint32_t		s;

	/* every size a reader accepts */
	for (s = BLOB_SEGMENT_MIN; s <= BLOB_SEGMENT_MAX; s *= 2) {
		roundtrip(s, 2 * s + 5, readsizes, 2);
		roundtrip(s, 0, readsizes, 2);
	}
}
END_TEST

/* The reader needs read(2) only: it works on a pipe as on a file. */
START_TEST(test_roundtrip_pipe)
{
	struct blob	 b;
	uint8_t		*pt;
	char		 err[BLOB_ERRLEN];
	size_t		 len = 3 * S1K + 7, got;
	int		 p[2];

	pt = pattern(len, 5);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	ck_assert_uint_lt(b.len, 65536);	/* fits in the pipe */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], b.data, b.len), (ssize_t)b.len);
	close(p[1]);
	ck_assert_int_eq(drain_fd(key_a, p[0], b.id, 1000, pt, len, &got, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(got, len);
	close(p[0]);
	free_blob(&b);
	free(pt);
}
END_TEST

START_TEST(test_id_is_sha256)
{
	static const char	 abc_sha256[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct blob		 b;
	uint8_t			*pt, id[BLOB_ID_LEN];
	char			 hex[2 * BLOB_ID_LEN + 1];
	size_t			 len = 200000;

	/* what sha256sum prints for "abc" */
	make_blob(&b, key_a, S1K, NULL, (const uint8_t *)"abc", 3, 3);
	hex_encode(b.id, BLOB_ID_LEN, hex, sizeof(hex));
	ck_assert_str_eq(hex, abc_sha256);
	free_blob(&b);

	pt = pattern(len, 99);
	make_blob(&b, key_a, S64K, NULL, pt, len, 777);
	sha256(pt, len, id);
	ck_assert_mem_eq(b.id, id, BLOB_ID_LEN);
	/* and the header carries it, for the reader to report */
	ck_assert_mem_eq(b.data + 40, id, BLOB_ID_LEN);
	free_blob(&b);
	free(pt);
}
END_TEST

/* Two writers of the same content under one key pick different salts. */
START_TEST(test_random_salt)
{
	struct blob	 a, b;
	uint8_t		*pt;

	pt = pattern(5000, 1);
	make_blob(&a, key_a, S1K, NULL, pt, 5000, 5000);
	make_blob(&b, key_a, S1K, NULL, pt, 5000, 5000);
	ck_assert_mem_eq(a.id, b.id, BLOB_ID_LEN);
	ck_assert_mem_ne(a.data + 16, b.data + 16, BLOB_SALT_LEN);
	ck_assert_mem_ne(a.data + BLOB_HEADER_LEN, b.data + BLOB_HEADER_LEN,
	    64);
	free_blob(&a);
	free_blob(&b);
	free(pt);
}
END_TEST

/* Placeholder first; a full segment goes out only once data follows. */
START_TEST(test_writer_streaming)
{
	struct blob_writer	 w;
	struct stat		 st;
	uint8_t			*pt, hdr[BLOB_HEADER_LEN];
	uint8_t			 zero[BLOB_HEADER_LEN];
	uint64_t		 size;
	int			 fd;

	pt = pattern(2 * S1K, 3);
	memset(zero, 0, sizeof(zero));
	ck_assert_int_ne(fd = memfd_create("blob", MFD_CLOEXEC), -1);
	ck_assert_int_eq(blob_writer_init(&w, key_a, S1K, fd), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, BLOB_HEADER_LEN);
	ck_assert_int_eq(pread(fd, hdr, sizeof(hdr), 0), BLOB_HEADER_LEN);
	ck_assert_mem_eq(hdr, zero, BLOB_HEADER_LEN);

	ck_assert_int_eq(blob_writer_update(&w, pt, S1K), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, BLOB_HEADER_LEN);
	ck_assert_int_eq(blob_writer_update(&w, pt + S1K, 1), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, BLOB_HEADER_LEN + S1K + BLOB_TAG_LEN);
	ck_assert_int_eq(blob_writer_update(&w, pt + S1K + 1, S1K - 1), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, BLOB_HEADER_LEN + S1K + BLOB_TAG_LEN);

	ck_assert_int_eq(blob_writer_finish(&w, NULL, &size), 0);
	ck_assert_uint_eq(size, 2 * S1K);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, blob_stored_size(2 * S1K, S1K));
	ck_assert_int_eq(pread(fd, hdr, sizeof(hdr), 0), BLOB_HEADER_LEN);
	ck_assert_mem_eq(hdr, "PVBLOB\x01\x00", 8);

	/* finished: nothing more goes in */
	ck_assert_int_eq(blob_writer_update(&w, pt, 1), -1);
	ck_assert_int_eq(blob_writer_finish(&w, NULL, NULL), -1);
	blob_writer_free(&w);
	blob_writer_free(&w);
	close(fd);
	free(pt);
}
END_TEST

START_TEST(test_writer_errors)
{
	static const uint32_t	bad[] = { 0, 1, 512, 1023, 1025, 3000,
	    2 * BLOB_SEGMENT_MAX, UINT32_MAX };
	struct blob_writer	w;
	size_t			i;
	int			fd;

	ck_assert_int_ne(fd = memfd_create("blob", MFD_CLOEXEC), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(blob_writer_init(&w, key_a, bad[i], fd), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(blob_writer_update(&w, "x", 1), -1);
		blob_writer_free(&w);
	}
	close(fd);

	/* a descriptor it cannot write to */
	ck_assert_int_ne(fd = open("/dev/null", O_RDONLY), -1);
	errno = 0;
	ck_assert_int_eq(blob_writer_init(&w, key_a, S1K, fd), -1);
	ck_assert_int_eq(errno, EBADF);
	blob_writer_free(&w);
	close(fd);
}
END_TEST

/* A flipped bit anywhere in the header: refused before any plaintext. */
START_TEST(test_tamper_header)
{
	struct blob	 b;
	uint8_t		*pt, *d;
	char		 reason[BLOB_ERRLEN];
	size_t		 len = 3 * S1K + 7, off;
	int		 bit;

	pt = pattern(len, 11);
	make_blob(&b, key_a, S1K, NULL, pt, len, 100);
	ck_assert_ptr_nonnull(d = malloc(b.len));
	for (off = 0; off < BLOB_HEADER_LEN; off++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(d, b.data, b.len);
			d[off] ^= 1 << bit;
			if (off < 6)
				strlcpy(reason, "not a blob (bad magic)",
				    sizeof(reason));
			else if (off == 6)
				snprintf(reason, sizeof(reason),
				    "unsupported blob version %u", d[6]);
			else if (off == 7)
				strlcpy(reason, "reserved header byte",
				    sizeof(reason));
			else if (off < 12)
				strlcpy(reason, "bad segment size",
				    sizeof(reason));
			else if (off < 16)
				strlcpy(reason, "unsupported header flags",
				    sizeof(reason));
			else	/* salt, size, id, tag */
				strlcpy(reason, "header tag does not verify "
				    "(wrong network key or damaged header)",
				    sizeof(reason));
			expect_fail(key_a, d, b.len, NULL, pt, len, 0, reason);
		}
	}
	free(d);
	free_blob(&b);
	free(pt);
}
END_TEST

/* A flipped bit in a body or a tag: nothing from that segment on. */
START_TEST(test_tamper_segments)
{
	struct blob	 b;
	uint8_t		*pt, *d;
	char		 reason[BLOB_ERRLEN];
	size_t		 len = 3 * S1K + 7, seglen, off, i, k, j;
	size_t		 pos[3];

	pt = pattern(len, 12);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	ck_assert_ptr_nonnull(d = malloc(b.len));
	for (k = 0; k < 4; k++) {
		seglen = k < 3 ? S1K : 7;
		off = seg_off(k, S1K);
		snprintf(reason, sizeof(reason), "segment %zu does not verify",
		    k);
		pos[0] = 0;
		pos[1] = seglen / 2;
		pos[2] = seglen - 1;
		for (i = 0; i < 3; i++) {
			memcpy(d, b.data, b.len);
			d[off + pos[i]] ^= 0x01 << i;
			expect_fail(key_a, d, b.len, NULL, pt, len, k * S1K,
			    reason);
		}
		for (j = 0; j < BLOB_TAG_LEN; j++) {
			memcpy(d, b.data, b.len);
			d[off + seglen + j] ^= 0x80;
			expect_fail(key_a, d, b.len, NULL, pt, len, k * S1K,
			    reason);
		}
	}
	free(d);
	free_blob(&b);

	/* the one, empty, segment of an empty file */
	make_blob(&b, key_a, S1K, NULL, pt, 0, 1);
	ck_assert_uint_eq(b.len, BLOB_HEADER_LEN + BLOB_TAG_LEN);
	b.data[BLOB_HEADER_LEN + 3] ^= 0x10;
	expect_fail(key_a, b.data, b.len, NULL, pt, 0, 0,
	    "segment 0 does not verify");
	free_blob(&b);
	free(pt);
}
END_TEST

/*
 * A blob verified while it is written (a replica arriving): the
 * verified prefix only ever holds whole segments that verified, grows
 * as bytes arrive, and is the whole blob only once the last segment
 * and the id verified.
 */
START_TEST(test_advance_growing)
{
	struct blob_reader	 r;
	struct blob		 b;
	uint8_t			*pt;
	size_t			 len = 5 * S1K + 100, step, have;
	int64_t			 v, last = 0;
	int			 fd;

	pt = pattern(len, 31);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	for (step = 1; step <= 3 * S1K; step = step * 3 + 7) {
		ck_assert_int_ne(fd = memfd_create("grow", MFD_CLOEXEC), -1);
		ck_assert_int_eq(write(fd, b.data, BLOB_HEADER_LEN),
		    BLOB_HEADER_LEN);
		ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
		ck_assert_int_eq(blob_reader_init(&r, key_a, fd, b.id), 0);
		last = BLOB_HEADER_LEN;
		for (have = BLOB_HEADER_LEN; have < b.len;) {
			size_t n = b.len - have < step ? b.len - have : step;

			ck_assert_int_eq(pwrite(fd, b.data + have, n, have),
			    (ssize_t)n);
			have += n;
			v = blob_reader_advance(&r, have);
			ck_assert_int_ge(v, last);
			ck_assert_int_le(v, (int64_t)have);
			/* whole segments only, until the end */
			if (v < (int64_t)b.len)
				ck_assert_int_eq((v - BLOB_HEADER_LEN) %
				    (S1K + BLOB_TAG_LEN), 0);
			ck_assert_int_eq(blob_reader_complete(&r),
			    v == (int64_t)b.len);
			last = v;
		}
		ck_assert_int_eq(last, (int64_t)b.len);
		ck_assert(blob_reader_complete(&r));
		blob_reader_free(&r);
		close(fd);
	}

	/* a flipped byte in segment 2 stops it there, and for good */
	b.data[seg_off(2, S1K) + 5] ^= 0x04;
	fd = memfd_with(b.data, b.len);
	ck_assert_int_eq(blob_reader_init(&r, key_a, fd, b.id), 0);
	ck_assert_int_eq(blob_reader_advance(&r, seg_off(2, S1K)),
	    (int64_t)seg_off(2, S1K));
	ck_assert_int_eq(blob_reader_advance(&r, b.len), -1);
	ck_assert_str_eq(blob_reader_error(&r), "segment 2 does not verify");
	ck_assert_int_eq(blob_reader_advance(&r, b.len), -1);
	ck_assert(!blob_reader_complete(&r));
	blob_reader_free(&r);
	close(fd);
	b.data[seg_off(2, S1K) + 5] ^= 0x04;

	/* another id: refused at the header, before any segment */
	b.id[0] ^= 1;
	fd = memfd_with(b.data, b.len);
	ck_assert_int_eq(blob_reader_init(&r, key_a, fd, b.id), -1);
	blob_reader_free(&r);
	close(fd);
	free_blob(&b);
	free(pt);
}
END_TEST

/* Cut anywhere: the reason says where, and nothing from there on. */
START_TEST(test_truncate)
{
	struct blob	 b;
	uint8_t		*pt;
	char		 reason[BLOB_ERRLEN];
	size_t		 len = 3 * S1K + 7, t, rel, k;

	pt = pattern(len, 13);
	make_blob(&b, key_a, S1K, NULL, pt, len, 1000);
	for (t = 0; t < b.len; t++) {
		k = 0;
		if (t < BLOB_HEADER_LEN) {
			snprintf(reason, sizeof(reason),
			    "truncated header (%zu of 88 bytes)", t);
		} else if (t == BLOB_HEADER_LEN) {
			strlcpy(reason, "truncated after the header",
			    sizeof(reason));
		} else {
			rel = t - BLOB_HEADER_LEN;
			k = rel / (S1K + BLOB_TAG_LEN);
			if (rel % (S1K + BLOB_TAG_LEN) == 0)
				snprintf(reason, sizeof(reason),
				    "truncated after segment %zu", k - 1);
			else
				snprintf(reason, sizeof(reason),
				    "truncated in segment %zu", k);
		}
		expect_fail(key_a, b.data, t, NULL, pt, len, k * S1K, reason);
	}
	free_blob(&b);
	free(pt);
}
END_TEST

/* Anything after the last segment: the last segment is held back. */
START_TEST(test_append)
{
	struct blob	 a, b;
	uint8_t		*pt, *pt2, *d;
	size_t		 len = 3 * S1K + 7, last, lastlen;

	pt = pattern(len, 14);
	pt2 = pattern(len + S1K, 15);
	make_blob(&a, key_a, S1K, NULL, pt, len, len);
	make_blob(&b, key_a, S1K, NULL, pt2, len + S1K, len + S1K);
	ck_assert_ptr_nonnull(d = malloc(a.len + 2 * S1K));

	/* one byte */
	memcpy(d, a.data, a.len);
	d[a.len] = 0;
	expect_fail(key_a, d, a.len + 1, NULL, pt, len, 3 * S1K,
	    "data after the last segment");

	/* a copy of the last segment */
	last = seg_off(3, S1K);
	lastlen = a.len - last;
	memcpy(d + a.len, a.data + last, lastlen);
	expect_fail(key_a, d, a.len + lastlen, NULL, pt, len, 3 * S1K,
	    "data after the last segment");

	/* the segment that follows in a longer blob of the same key */
	memcpy(d + a.len, b.data + seg_off(4, S1K), b.len - seg_off(4, S1K));
	expect_fail(key_a, d, a.len + b.len - seg_off(4, S1K), NULL, pt, len,
	    3 * S1K, "data after the last segment");

	/* an empty file with anything after its segment */
	free_blob(&a);
	make_blob(&a, key_a, S1K, NULL, pt, 0, 1);
	memcpy(d, a.data, a.len);
	memset(d + a.len, 0, 16);
	expect_fail(key_a, d, a.len + 16, NULL, pt, 0, 0,
	    "data after the last segment");

	free(d);
	free_blob(&a);
	free_blob(&b);
	free(pt);
	free(pt2);
}
END_TEST

START_TEST(test_swap_segments)
{
	struct blob	 b;
	uint8_t		*pt, *d;
	size_t		 len = 4 * S1K + 7, n = S1K + BLOB_TAG_LEN;

	pt = pattern(len, 16);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	ck_assert_ptr_nonnull(d = malloc(b.len));

	memcpy(d, b.data, b.len);
	memcpy(d + seg_off(0, S1K), b.data + seg_off(1, S1K), n);
	memcpy(d + seg_off(1, S1K), b.data + seg_off(0, S1K), n);
	expect_fail(key_a, d, b.len, NULL, pt, len, 0,
	    "segment 0 does not verify");

	memcpy(d, b.data, b.len);
	memcpy(d + seg_off(2, S1K), b.data + seg_off(3, S1K), n);
	memcpy(d + seg_off(3, S1K), b.data + seg_off(2, S1K), n);
	expect_fail(key_a, d, b.len, NULL, pt, len, 2 * S1K,
	    "segment 2 does not verify");

	/* the last segment, full, in the place of the one before */
	free_blob(&b);
	make_blob(&b, key_a, S1K, NULL, pt, 4 * S1K, 1);
	memcpy(d, b.data, b.len);
	memcpy(d + seg_off(2, S1K), b.data + seg_off(3, S1K), n);
	memcpy(d + seg_off(3, S1K), b.data + seg_off(2, S1K), n);
	expect_fail(key_a, d, b.len, NULL, pt, 4 * S1K, 2 * S1K,
	    "segment 2 does not verify");
	free(d);
	free_blob(&b);
	free(pt);
}
END_TEST

/* Segments and headers of another blob of the same key. */
START_TEST(test_foreign_parts)
{
	struct blob	 a, b;
	uint8_t		*pt, *pt2, *d;
	size_t		 len = 3 * S1K + 7, n = S1K + BLOB_TAG_LEN;

	pt = pattern(len, 17);
	pt2 = pattern(len, 18);
	make_blob(&a, key_a, S1K, NULL, pt, len, len);
	make_blob(&b, key_a, S1K, NULL, pt2, len, len);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_ptr_nonnull(d = malloc(a.len));

	/* segment 1 of b in a */
	memcpy(d, a.data, a.len);
	memcpy(d + seg_off(1, S1K), b.data + seg_off(1, S1K), n);
	expect_fail(key_a, d, a.len, NULL, pt, len, S1K,
	    "segment 1 does not verify");

	/* the last segment of b in a */
	memcpy(d, a.data, a.len);
	memcpy(d + seg_off(3, S1K), b.data + seg_off(3, S1K),
	    a.len - seg_off(3, S1K));
	expect_fail(key_a, d, a.len, NULL, pt, len, 3 * S1K,
	    "segment 3 does not verify");

	/* the header of b on the segments of a, under a's id or none */
	memcpy(d, a.data, a.len);
	memcpy(d, b.data, BLOB_HEADER_LEN);
	expect_fail(key_a, d, a.len, NULL, pt, len, 0,
	    "segment 0 does not verify");
	expect_fail(key_a, d, a.len, a.id, pt, len, 0, "id mismatch");

	free(d);
	free_blob(&a);
	free_blob(&b);
	free(pt);
	free(pt2);
}
END_TEST

/*
 * A writer never repeats a salt, but if two blobs shared one, their
 * segments would verify in each other: the id check still catches the
 * mix, before the last segment goes out.
 */
START_TEST(test_foreign_same_salt)
{
	struct blob	 a, b;
	uint8_t		*pt, *pt2, *mix, *d;
	size_t		 len = 3 * S1K + 7, n = S1K + BLOB_TAG_LEN;

	pt = pattern(len, 19);
	pt2 = pattern(len, 20);
	make_blob(&a, key_a, S1K, kat_salt, pt, len, len);
	make_blob(&b, key_a, S1K, kat_salt, pt2, len, len);
	ck_assert_ptr_nonnull(d = malloc(a.len));
	ck_assert_ptr_nonnull(mix = malloc(len));
	memcpy(d, a.data, a.len);
	memcpy(d + seg_off(1, S1K), b.data + seg_off(1, S1K), n);
	memcpy(mix, pt, len);
	memcpy(mix + S1K, pt2 + S1K, S1K);
	expect_fail(key_a, d, a.len, NULL, mix, len, 3 * S1K,
	    "content does not match its id");
	free(mix);
	free(d);
	free_blob(&a);
	free_blob(&b);
	free(pt);
	free(pt2);
}
END_TEST

START_TEST(test_expect_id)
{
	struct blob	 a, b;
	uint8_t		*pt, *pt2;
	char		 err[BLOB_ERRLEN];
	size_t		 len = 2 * S1K, got;

	pt = pattern(len, 21);
	pt2 = pattern(len, 22);
	make_blob(&a, key_a, S1K, NULL, pt, len, len);
	make_blob(&b, key_a, S1K, NULL, pt2, len, len);
	ck_assert_int_eq(drain(key_a, a.data, a.len, a.id, 100, pt, len, &got,
	    err, sizeof(err)), 0);
	expect_fail(key_a, a.data, a.len, b.id, pt, len, 0, "id mismatch");
	free_blob(&a);
	free_blob(&b);
	free(pt);
	free(pt2);
}
END_TEST

START_TEST(test_wrong_key)
{
	struct blob	 b;
	uint8_t		*pt;
	size_t		 len = 2 * S1K + 1;

	pt = pattern(len, 23);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	expect_fail(key_b, b.data, b.len, NULL, pt, len, 0,
	    "header tag does not verify (wrong network key or damaged header)");
	expect_fail(key_b, b.data, b.len, b.id, pt, len, 0,
	    "header tag does not verify");
	free_blob(&b);
	free(pt);
}
END_TEST

/*
 * Good tags, wrong id (only a key holder can make one): the reader gives
 * out the segments before the last, never a byte of the last one.
 */
START_TEST(test_final_segment_withheld)
{
	static const size_t	 lens[] = { 0, 1, S1K, S1K + 1, 3 * S1K,
	    3 * S1K + 7 };
	struct blob		 b;
	uint8_t			*pt;
	size_t			 i, len, n;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		pt = pattern(len, 24 + i);
		make_blob(&b, key_a, S1K, NULL, pt, len, len + 1);
		b.data[40] ^= 0x01;
		reseal_header(key_a, b.data);
		n = len == 0 ? 1 : (len + S1K - 1) / S1K;
		expect_fail(key_a, b.data, b.len, NULL, pt, len,
		    (n - 1) * S1K, "content does not match its id");
		/* also when the caller asks for that (wrong) id */
		expect_fail(key_a, b.data, b.len, b.data + 40, pt, len,
		    (n - 1) * S1K, "content does not match its id");
		free_blob(&b);
		free(pt);
	}
}
END_TEST

/*
 * A get reads tags only: a blob whose tags verify but whose content is
 * not its id (only a key holder can make one, and the store and the
 * receiver of a replica check the id) comes out whole; everything else
 * that a full read refuses is still refused.
 */
START_TEST(test_tags_only)
{
	struct blob	 b, c;
	uint8_t		*pt, *d;
	char		 err[BLOB_ERRLEN];
	size_t		 len = 3 * S1K + 7, got;

	pt = pattern(len, 40);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	make_blob(&c, key_a, S1K, NULL, pt, S1K, S1K);
	drain_tags_only = 1;

	/* the good blob, whole */
	ck_assert_int_eq(drain(key_a, b.data, b.len, b.id, 100, pt, len,
	    &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(got, len);

	/* good tags, another id in the header: not checked against the */
	/* content here, but still against what the caller expects */
	ck_assert_ptr_nonnull(d = malloc(b.len));
	memcpy(d, b.data, b.len);
	d[40] ^= 0x01;
	reseal_header(key_a, d);
	ck_assert_int_eq(drain(key_a, d, b.len, d + 40, 100, pt, len, &got,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(got, len);
	expect_fail(key_a, d, b.len, b.id, pt, len, 0, "id mismatch");

	/* a flipped bit in a segment, a missing last segment, an extra byte */
	memcpy(d, b.data, b.len);
	d[seg_off(2, S1K) + 5] ^= 0x80;
	expect_fail(key_a, d, b.len, b.id, pt, len, 2 * S1K,
	    "segment 2 does not verify");
	expect_fail(key_a, b.data, seg_off(3, S1K), b.id, pt, len, 3 * S1K,
	    "truncated after segment 2");
	ck_assert_ptr_nonnull(d = realloc(d, b.len + 1));
	memcpy(d, b.data, b.len);
	d[b.len] = 0;
	expect_fail(key_a, d, b.len + 1, b.id, pt, len, 3 * S1K,
	    "data after the last segment");
	/* a header from another blob */
	memcpy(d, c.data, BLOB_HEADER_LEN);
	memcpy(d + BLOB_HEADER_LEN, b.data + BLOB_HEADER_LEN,
	    b.len - BLOB_HEADER_LEN);
	expect_fail(key_a, d, b.len, NULL, pt, len, 0,
	    "segment 0 does not verify");

	drain_tags_only = 0;
	free(d);
	free_blob(&b);
	free_blob(&c);
	free(pt);
}
END_TEST

/*
 * A size that moves the last segment (again only a key holder could
 * seal it): the last-segment flag in the nonce refuses it.
 */
START_TEST(test_size_binds_last_segment)
{
	struct blob	 b;
	uint8_t		*pt, *d;
	size_t		 len = 3 * S1K + 7;

	pt = pattern(len, 31);
	make_blob(&b, key_a, S1K, NULL, pt, len, len);
	ck_assert_ptr_nonnull(d = malloc(b.len));

	/* says 3 segments: segment 2 was not sealed as the last */
	memcpy(d, b.data, b.len);
	put_be64(d + 32, 3 * S1K);
	reseal_header(key_a, d);
	expect_fail(key_a, d, b.len, NULL, pt, len, 2 * S1K,
	    "segment 2 does not verify");

	/* says 5 segments: segment 3, sealed as the last, is not */
	memcpy(d, b.data, b.len);
	put_be64(d + 32, 4 * S1K + 7);
	reseal_header(key_a, d);
	expect_fail(key_a, d, b.len, NULL, pt, len, 3 * S1K,
	    "truncated in segment 3");
	put_be64(d + 32, 3 * S1K + 6);
	reseal_header(key_a, d);
	expect_fail(key_a, d, b.len, NULL, pt, len, 3 * S1K,
	    "segment 3 does not verify");

	/* a size no blob can have */
	put_be64(d + 32, UINT64_MAX);
	reseal_header(key_a, d);
	expect_fail(key_a, d, b.len, NULL, pt, len, 0, "plaintext size");

	free(d);
	free_blob(&b);
	free(pt);
}
END_TEST

START_TEST(test_not_a_blob)
{
	struct blob	 b;
	uint8_t		*pt, *d;

	expect_fail(key_a, (const uint8_t *)"", 0, NULL, NULL, 0, 0,
	    "truncated header (0 of 88 bytes)");
	expect_fail(key_a, (const uint8_t *)"PVBL", 4, NULL, NULL, 0, 0,
	    "truncated header (4 of 88 bytes)");
	expect_fail(key_a, (const uint8_t *)"hello, world\n", 13, NULL, NULL,
	    0, 0, "not a blob (bad magic)");

	/* a well-sealed header of another version */
	pt = pattern(10, 32);
	make_blob(&b, key_a, S1K, NULL, pt, 10, 10);
	ck_assert_ptr_nonnull(d = malloc(b.len));
	memcpy(d, b.data, b.len);
	d[6] = 2;
	reseal_header(key_a, d);
	expect_fail(key_a, d, b.len, NULL, pt, 10, 0,
	    "unsupported blob version 2");
	free(d);

	ck_assert_str_eq(blob_reader_error(&(struct blob_reader){ 0 }),
	    "no error");
	free_blob(&b);
	free(pt);
}
END_TEST

START_TEST(test_reader_zero_read)
{
	struct blob		 b;
	struct blob_reader	 r;
	uint8_t			*pt, c;
	int			 fd;

	pt = pattern(10, 33);
	make_blob(&b, key_a, S1K, NULL, pt, 10, 10);
	fd = memfd_with(b.data, b.len);
	ck_assert_int_eq(blob_reader_init(&r, key_a, fd, NULL), 0);
	ck_assert_uint_eq(blob_reader_size(&r), 10);
	ck_assert_mem_eq(blob_reader_id(&r), b.id, BLOB_ID_LEN);
	ck_assert_int_eq(blob_reader_read(&r, &c, 0), -1);
	ck_assert_str_eq(blob_reader_error(&r), "read of zero bytes");
	ck_assert_int_eq(blob_reader_read(&r, &c, 1), -1);
	blob_reader_free(&r);
	blob_reader_free(&r);
	close(fd);
	free_blob(&b);
	free(pt);
}
END_TEST

static void *
count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return (malloc(n));
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	ossl_allocs++;
	return (realloc(p, n));
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static size_t
heap_in_use(void)
{
	struct mallinfo2	mi = mallinfo2();

	return (mi.uordblks + mi.hblkhd);
}

/* OpenSSL allocations to write, read and verify a blob of len bytes. */
static size_t
allocs_for(size_t len)
{
	struct blob	 b;
	uint8_t		*pt;
	char		 err[BLOB_ERRLEN];
	size_t		 before, got;
	int		 fd;

	pt = pattern(len, 34);
	before = ossl_allocs;
	make_blob(&b, key_a, S1K, NULL, pt, len, 4096);
	ck_assert_int_eq(drain(key_a, b.data, b.len, b.id, 4096, pt, len,
	    &got, err, sizeof(err)), 0);
	fd = memfd_with(b.data, b.len);
	ck_assert_int_eq(blob_verify_fd(key_a, fd, b.id, err, sizeof(err)),
	    0);
	close(fd);
	free_blob(&b);
	free(pt);
	return (ossl_allocs - before);
}

/*
 * Constant memory: the structures hold no buffer that grows, and no
 * allocation happens per segment, in blob.c (the heap does not grow
 * while segments go by) or in OpenSSL (as many allocations for 300
 * segments as for 2).
 */
START_TEST(test_memory)
{
	struct blob_writer	 w;
	struct blob_reader	 r;
	uint8_t			*pt, buf[S1K];
	size_t			 i, heap, small, large;
	int			 fd;

	ck_assert_uint_lt(sizeof(struct blob_writer), 512);
	ck_assert_uint_lt(sizeof(struct blob_reader), 512);

	ck_assert_msg(ossl_counting, "could not count OpenSSL allocations");
	(void)allocs_for(10);		/* OpenSSL caches what it fetched */
	small = allocs_for(2 * S1K);
	large = allocs_for(300 * S1K + 5);
	ck_assert_uint_gt(small, 0);
	ck_assert_uint_eq(small, large);

	pt = pattern(S1K, 35);
	ck_assert_int_ne(fd = memfd_create("blob", MFD_CLOEXEC), -1);
	ck_assert_int_eq(blob_writer_init(&w, key_a, S1K, fd), 0);
	ck_assert_int_eq(blob_writer_update(&w, pt, S1K), 0);
	ck_assert_int_eq(blob_writer_update(&w, pt, S1K), 0);
	heap = heap_in_use();
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(blob_writer_update(&w, pt, S1K), 0);
	ck_assert_uint_eq(heap_in_use(), heap);
	ck_assert_int_eq(blob_writer_finish(&w, NULL, NULL), 0);
	blob_writer_free(&w);

	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(blob_reader_init(&r, key_a, fd, NULL), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(blob_reader_read(&r, buf, sizeof(buf)), S1K);
	heap = heap_in_use();
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(blob_reader_read(&r, buf, sizeof(buf)), S1K);
	ck_assert_uint_eq(heap_in_use(), heap);
	ck_assert_int_eq(blob_reader_read(&r, buf, sizeof(buf)), 0);
	blob_reader_free(&r);
	close(fd);
	free(pt);
}
END_TEST

START_TEST(test_stored_size)
{
	uint64_t	k, r;

	ck_assert_uint_eq(blob_stored_size(0, S1K), 104);
	ck_assert_uint_eq(blob_stored_size(1, S1K), 105);
	ck_assert_uint_eq(blob_stored_size(S1K, S1K), 88 + S1K + 16);
	ck_assert_uint_eq(blob_stored_size(S1K + 1, S1K), 88 + S1K + 1 + 32);
	ck_assert_uint_eq(blob_stored_size(5 * MIB, S64K),
	    88 + 5 * MIB + 80 * 16);
	ck_assert_uint_eq(blob_stored_size((uint64_t)1 << 40, S64K),
	    88 + ((uint64_t)1 << 40) + (((uint64_t)1 << 24) * 16));
	/*
	 * The largest that fits in an off_t, and one more: k whole
	 * segments, then a last one of the r - 16 bytes left.
	 */
	k = (INT64_MAX - 88) / (S1K + 16);
	r = (INT64_MAX - 88) - k * (S1K + 16);
	ck_assert_uint_gt(r, 16);
	ck_assert_uint_eq(blob_stored_size(k * S1K + r - 16, S1K), INT64_MAX);
	ck_assert_uint_eq(blob_stored_size(k * S1K + r - 15, S1K), 0);
	ck_assert_uint_eq(blob_stored_size(UINT64_MAX, S1K), 0);
	ck_assert_uint_eq(blob_stored_size(INT64_MAX, BLOB_SEGMENT_MAX), 0);
	ck_assert_uint_ne(blob_stored_size((uint64_t)1 << 62, S1K), 0);
	/* segment sizes a reader refuses */
	ck_assert_uint_eq(blob_stored_size(1, 0), 0);
	ck_assert_uint_eq(blob_stored_size(1, 512), 0);
	ck_assert_uint_eq(blob_stored_size(1, 3000), 0);
	ck_assert_uint_eq(blob_stored_size(1, 2 * BLOB_SEGMENT_MAX), 0);
	/* the real lengths are checked by every round trip */
}
END_TEST

START_TEST(test_name_path)
{
	uint8_t		id[BLOB_ID_LEN], mac[32];
	char		name[BLOB_NAME_HEXLEN], want[BLOB_NAME_HEXLEN];
	char		path[BLOB_PATH_LEN], other[BLOB_NAME_HEXLEN];
	char		expect[BLOB_PATH_LEN + 8];
	size_t		i;
	unsigned int	maclen = 0;

	sha256("abc", 3, id);
	blob_name(name_key, id, name);
	ck_assert_uint_eq(strlen(name), 64);
	for (i = 0; i < 64; i++)
		ck_assert(isdigit((unsigned char)name[i]) ||
		    (name[i] >= 'a' && name[i] <= 'f'));
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), name_key, 32, id, 32, mac,
	    &maclen));
	hex_encode(mac, sizeof(mac), want, sizeof(want));
	ck_assert_str_eq(name, want);

	/* keyed: another key, another name; the id itself never shows */
	blob_name(key_a, id, other);
	ck_assert_str_ne(name, other);
	hex_encode(id, sizeof(id), want, sizeof(want));
	ck_assert_str_ne(name, want);

	ck_assert_int_eq(blob_path(name_key, id, path, sizeof(path)), 0);
	snprintf(expect, sizeof(expect), "blobs/%c%c/%c%c/%s", name[0],
	    name[1], name[2], name[3], name);
	ck_assert_str_eq(path, expect);
	ck_assert_uint_eq(strlen(path), BLOB_PATH_LEN - 1);
	errno = 0;
	ck_assert_int_eq(blob_path(name_key, id, path, BLOB_PATH_LEN - 1), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

/* A file of the vector directory, whitespace removed. */
static char *
kat_read(const char *name)
{
	const char	*srcdir;
	char		 path[PATH_MAX], *text, *q;
	FILE		*fp;
	int		 c, n;
	size_t		 len = 0;

	if ((srcdir = getenv("srcdir")) == NULL)
		srcdir = ".";
	n = snprintf(path, sizeof(path), "%s/regress/unit/blob-kat/%s",
	    srcdir, name);
	ck_assert(n > 0 && (size_t)n < sizeof(path));
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	ck_assert_ptr_nonnull(text = malloc(16384));
	q = text;
	while ((c = getc(fp)) != EOF) {
		if (isspace(c))
			continue;
		ck_assert_uint_lt(len, 16383);
		q[len++] = c;
	}
	q[len] = '\0';
	fclose(fp);
	return (text);
}

START_TEST(test_kat)
{
	static const size_t	 lens[] = { 0, 1, 1024, 1025, 3000 };
	struct blob		 b;
	uint8_t			*pt, *stored;
	char			 file[64], err[BLOB_ERRLEN];
	char			 name[BLOB_NAME_HEXLEN], *hex, *want;
	size_t			 i, j, len, got;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		len = lens[i];
		ck_assert_ptr_nonnull(pt = malloc(len + 1));
		for (j = 0; j < len; j++)
			pt[j] = j & 0xff;

		/* written again, byte for byte */
		make_blob(&b, key_a, S1K, kat_salt, pt, len, 100);
		snprintf(file, sizeof(file), "blob-%zu.hex", len);
		want = kat_read(file);
		ck_assert_ptr_nonnull(hex = malloc(2 * b.len + 1));
		hex_encode(b.data, b.len, hex, 2 * b.len + 1);
		ck_assert_msg(strcmp(hex, want) == 0, "%s differs", file);

		/* the stored vector reads back */
		ck_assert_ptr_nonnull(stored = malloc(b.len));
		ck_assert_int_eq(hex_decode(want, stored, b.len), 0);
		ck_assert_int_eq(drain(key_a, stored, b.len, NULL, 1000, pt,
		    len, &got, err, sizeof(err)), 0);
		ck_assert_uint_eq(got, len);

		snprintf(file, sizeof(file), "blob-%zu.name", len);
		free(want);
		want = kat_read(file);
		blob_name(name_key, b.id, name);
		ck_assert_str_eq(name, want);

		free(want);
		free(hex);
		free(stored);
		free_blob(&b);
		free(pt);
	}
}
END_TEST

static Suite *
blob_suite(void)
{
	Suite	*s = suite_create("blob");
	TCase	*tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_roundtrip_sizes);
	tcase_add_test(tc, test_roundtrip_many_segments);
	tcase_add_test(tc, test_roundtrip_segment_sizes);
	tcase_add_test(tc, test_roundtrip_pipe);
	tcase_add_test(tc, test_id_is_sha256);
	tcase_add_test(tc, test_random_salt);
	tcase_add_test(tc, test_writer_streaming);
	tcase_add_test(tc, test_writer_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("tamper");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_tamper_header);
	tcase_add_test(tc, test_tamper_segments);
	tcase_add_test(tc, test_advance_growing);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_swap_segments);
	tcase_add_test(tc, test_foreign_parts);
	tcase_add_test(tc, test_foreign_same_salt);
	tcase_add_test(tc, test_expect_id);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_final_segment_withheld);
	tcase_add_test(tc, test_tags_only);
	tcase_add_test(tc, test_size_binds_last_segment);
	tcase_add_test(tc, test_not_a_blob);
	tcase_add_test(tc, test_reader_zero_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_memory);
	tcase_add_test(tc, test_stored_size);
	tcase_add_test(tc, test_name_path);
	tcase_add_test(tc, test_kat);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	/* before OpenSSL allocates anything */
	ossl_counting = CRYPTO_set_mem_functions(count_malloc, count_realloc,
	    count_free);
	setup_keys();
	sr = srunner_create(blob_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
