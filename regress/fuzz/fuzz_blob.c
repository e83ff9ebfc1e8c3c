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
 * libFuzzer target for the blob reader of pv-storaged/blob.c: the input
 * is a blob file, read with the key of the known-answer vectors (blob
 * key 00 01 .. 1f), so that the seeds, which are blobs under that key,
 * get past the header.  The run aborts if the reader gives out a byte it
 * should not have: any byte of the last segment of a blob that fails, a
 * content that does not hash to the id it reports, or a byte of a segment
 * that did not verify; or if the reader and blob_verify_fd() disagree.
 *
 * Every seed under that key was written with the salt 40 41 .. 4f from
 * the plaintext whose byte i is i & 0xff, and nobody without the key can
 * seal anything else, so every byte the reader returns at offset i must
 * be i & 0xff.  New seeds must keep to that.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blob.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	fuzz_key[BLOB_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};

/* Replace the file's contents with len bytes of data; offset 0. */
static void
fill(int fd, const uint8_t *data, size_t len)
{
	ssize_t	n;
	size_t	off = 0;

	if (ftruncate(fd, 0) == -1)
		abort();
	while (off < len) {
		if ((n = pwrite(fd, data + off, len - off, off)) <= 0)
			abort();
		off += n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
}

/*
 * Reads the file in fd through a reader, readsize bytes at a time.
 * Returns 0 when the reader got to its end, -1 when it failed, with its
 * reason in err.
 */
static int
read_blob(int fd, const uint8_t *expect_id, size_t readsize, char *err,
    size_t errlen)
{
	static uint8_t		 buf[8192];
	struct blob_reader	 r;
	EVP_MD_CTX		*md;
	uint8_t			 id[BLOB_ID_LEN];
	uint64_t		 got = 0, size, nseg;
	uint32_t		 segsize;
	size_t			 i;
	ssize_t			 n;
	int			 ret;

	if (blob_reader_init(&r, fuzz_key, fd, expect_id) == -1) {
		snprintf(err, errlen, "%s", blob_reader_error(&r));
		blob_reader_free(&r);
		return (-1);
	}
	/* the header verified: its fields are the writer's */
	size = blob_reader_size(&r);
	segsize = r.segsize;
	nseg = size == 0 ? 1 : (size - 1) / segsize + 1;
	if (expect_id != NULL &&
	    memcmp(expect_id, blob_reader_id(&r), BLOB_ID_LEN) != 0)
		abort();

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		abort();
	while ((n = blob_reader_read(&r, buf, readsize)) > 0) {
		if ((size_t)n > readsize ||
		    EVP_DigestUpdate(md, buf, n) != 1)
			abort();
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != ((got + i) & 0xff))
				abort();
		got += n;
	}
	if (n == 0) {
		/* every byte, hashing to the id */
		if (got != size ||
		    EVP_DigestFinal_ex(md, id, NULL) != 1 ||
		    memcmp(id, blob_reader_id(&r), BLOB_ID_LEN) != 0)
			abort();
		ret = 0;
	} else {
		/* whole segments, never the last */
		if (got % segsize != 0 || got / segsize > nseg - 1)
			abort();
		if (blob_reader_read(&r, buf, readsize) != -1)
			abort();
		ret = -1;
	}
	snprintf(err, errlen, "%s", ret == 0 ? "" : blob_reader_error(&r));
	if (ret == -1 && err[0] == '\0')
		abort();
	EVP_MD_CTX_free(md);
	blob_reader_free(&r);
	return (ret);
}

/* The same answer and reason from blob_verify_fd(). */
static void
check_verify(int fd, const uint8_t *expect_id, int ret, const char *err)
{
	char	verr[BLOB_ERRLEN];

	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
	verr[0] = '\0';
	if (blob_verify_fd(fuzz_key, fd, expect_id, verr, sizeof(verr)) !=
	    ret)
		abort();
	if (ret == -1 && strcmp(err, verr) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 fd = -1;
	static uint8_t	 other_id[BLOB_ID_LEN];	/* no content has it */
	char		 err[BLOB_ERRLEN], err2[BLOB_ERRLEN];
	uint8_t		 id[BLOB_ID_LEN];
	size_t		 readsize;
	int		 ret, ret2;

	if (fd == -1) {
		if ((fd = memfd_create("fuzz_blob", MFD_CLOEXEC)) == -1)
			abort();
		memset(other_id, 0x5a, sizeof(other_id));
	}
	/* the last byte picks how much to read at a time */
	readsize = size > 0 ? 1 + data[size - 1] * 32 : 1;

	fill(fd, data, size);
	ret = read_blob(fd, NULL, readsize, err, sizeof(err));
	check_verify(fd, NULL, ret, err);

	/* under the id its header claims: the same answer */
	if (size >= 72) {
		memcpy(id, data + 40, sizeof(id));
		if (lseek(fd, 0, SEEK_SET) == -1)
			abort();
		ret2 = read_blob(fd, id, readsize, err2, sizeof(err2));
		if (ret2 != ret || strcmp(err, err2) != 0)
			abort();
		check_verify(fd, id, ret, err);
	}

	/* under another id: never a success */
	if (lseek(fd, 0, SEEK_SET) == -1)
		abort();
	if (read_blob(fd, other_id, readsize, err2, sizeof(err2)) != -1)
		abort();
	check_verify(fd, other_id, -1, err2);
	return (0);
}
