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
 * The encrypted blob format, version 1: see pvd-blob(5).  A writer and a
 * reader each hold one segment buffer, allocated when they start, so
 * their memory does not depend on the size of the file.
 */

#ifndef BLOB_H
#define BLOB_H

#include <sys/types.h>

#include <stdint.h>

#define BLOB_MAGIC		"PVBLOB"
#define BLOB_MAGIC_LEN		6
#define BLOB_VERSION		1
#define BLOB_HEADER_LEN		88
#define BLOB_AAD_LEN		32	/* header bytes in each AAD */
#define BLOB_KEY_LEN		32
#define BLOB_SALT_LEN		16
#define BLOB_ID_LEN		32
#define BLOB_TAG_LEN		16
#define BLOB_NONCE_LEN		12
#define BLOB_SEGMENT_SIZE	65536	/* what pv-storaged writes */
#define BLOB_SEGMENT_MIN	1024
#define BLOB_SEGMENT_MAX	1048576
#define BLOB_NAME_HEXLEN	(2 * 32 + 1)
#define BLOB_PATH_LEN		(sizeof("blobs/ab/cd/") - 1 + BLOB_NAME_HEXLEN)
#define BLOB_ERRLEN		128

struct evp_cipher_ctx_st;
struct evp_md_ctx_st;

struct blob_writer {
	struct evp_cipher_ctx_st *cctx;		/* holds this blob's key */
	struct evp_md_ctx_st	*mctx;		/* SHA-256 of the plaintext */
	uint8_t			*buf;		/* segsize + BLOB_TAG_LEN */
	size_t			 fill;		/* plaintext bytes in buf */
	uint64_t		 size;		/* plaintext bytes so far */
	uint64_t		 seg;		/* index of the one in buf */
	uint32_t		 segsize;
	int			 fd;
	int			 failed;
	uint8_t			 hdr[BLOB_HEADER_LEN];
};

struct blob_reader {
	struct evp_cipher_ctx_st *cctx;
	struct evp_md_ctx_st	*mctx;
	uint8_t			*buf;		/* segsize + BLOB_TAG_LEN */
	size_t			 off;		/* next byte to return */
	size_t			 len;		/* verified bytes in buf */
	uint64_t		 size;		/* from the header */
	uint64_t		 nseg;		/* segments the size implies */
	uint64_t		 seg;		/* segments loaded so far */
	uint32_t		 segsize;
	int			 fd;
	int			 state;
	int			 tags_only;	/* no SHA-256 of the content */
	uint8_t			 hdr[BLOB_HEADER_LEN];
	char			 err[BLOB_ERRLEN];
};

/* blob.c */
int		 blob_writer_init(struct blob_writer *, const uint8_t *,
		    uint32_t, int);
int		 blob_writer_init_salt(struct blob_writer *, const uint8_t *,
		    uint32_t, int, const uint8_t *);
int		 blob_writer_update(struct blob_writer *, const void *, size_t);
int		 blob_writer_finish(struct blob_writer *, uint8_t *,
		    uint64_t *);
void		 blob_writer_free(struct blob_writer *);

int		 blob_reader_init(struct blob_reader *, const uint8_t *, int,
		    const uint8_t *);
void		 blob_reader_tags_only(struct blob_reader *);
ssize_t		 blob_reader_read(struct blob_reader *, void *, size_t);
int64_t		 blob_reader_advance(struct blob_reader *, uint64_t);
int		 blob_reader_complete(const struct blob_reader *);
const char	*blob_reader_error(const struct blob_reader *);
uint64_t	 blob_reader_size(const struct blob_reader *);
const uint8_t	*blob_reader_id(const struct blob_reader *);
void		 blob_reader_free(struct blob_reader *);

int		 blob_verify_fd(const uint8_t *, int, const uint8_t *, char *,
		    size_t);
void		 blob_name(const uint8_t *, const uint8_t *, char *);
void		 blob_file_path(const char *, char *);
int		 blob_path(const uint8_t *, const uint8_t *, char *, size_t);
uint64_t	 blob_stored_size(uint64_t, uint32_t);

#endif /* BLOB_H */
