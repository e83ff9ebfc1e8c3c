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
 * Unit tests of common/imsg.c and common/imsg-buffer.c over real
 * socketpairs: framing across reads, length bounds, descriptor passing
 * and ownership, payload accessors, the ibuf helpers.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#ifndef IOV_MAX
#define IOV_MAX		1024
#endif

#define T_TYPE		42
#define T_ID		7
#define T_PID		1234
#define SPIN_MAX	100000	/* bound for non-blocking loops */

/* A channel: a socketpair with an imsgbuf on each end. */
struct chan {
	int		 sv[2];
	struct imsgbuf	 a;	/* on sv[0] */
	struct imsgbuf	 b;	/* on sv[1] */
};

static void
chan_open(struct chan *c, int fdpass_a, int fdpass_b)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv), 0);
	ck_assert_int_eq(imsgbuf_init(&c->a, c->sv[0]), 0);
	ck_assert_int_eq(imsgbuf_init(&c->b, c->sv[1]), 0);
	if (fdpass_a)
		imsgbuf_allow_fdpass(&c->a);
	if (fdpass_b)
		imsgbuf_allow_fdpass(&c->b);
}

static void
chan_close(struct chan *c)
{
	imsgbuf_clear(&c->a);
	imsgbuf_clear(&c->b);
	if (c->sv[0] != -1)
		close(c->sv[0]);
	if (c->sv[1] != -1)
		close(c->sv[1]);
}

static void
set_nonblock(int fd)
{
	int	 fl;

	ck_assert_int_ne(fl = fcntl(fd, F_GETFL), -1);
	ck_assert_int_ne(fcntl(fd, F_SETFL, fl | O_NONBLOCK), -1);
}

static void
raw_write(int fd, const void *data, size_t len)
{
	const unsigned char	*p = data;
	ssize_t			 n;

	while (len > 0) {
		n = write(fd, p, len);
		ck_assert_int_gt(n, 0);
		p += n;
		len -= n;
	}
}

/* Serialise one message by hand, as a peer would put it on the wire. */
static size_t
wire_msg(unsigned char *out, size_t outlen, uint32_t type, uint32_t len,
    const void *payload, size_t plen)
{
	struct imsg_hdr	 hdr;

	ck_assert_uint_le(sizeof(hdr) + plen, outlen);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.peerid = T_ID;
	hdr.pid = T_PID;
	memcpy(out, &hdr, sizeof(hdr));
	if (plen > 0)
		memcpy(out + sizeof(hdr), payload, plen);
	return (sizeof(hdr) + plen);
}

static void
raw_hdr(int fd, uint32_t type, uint32_t len)
{
	unsigned char	 buf[IMSG_HEADER_SIZE];

	wire_msg(buf, sizeof(buf), type, len, NULL, 0);
	raw_write(fd, buf, sizeof(buf));
}

/* sendmsg with nfds descriptors attached to the data. */
static void
raw_sendfds(int sock, const void *data, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;

	ck_assert_int_le(nfds, 4);
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)len);
}

/* Block until a whole message is there. */
static void
recv_one(struct imsgbuf *ib, struct imsg *imsg)
{
	int	 rv;

	while ((rv = imsgbuf_get(ib, imsg)) == 0)
		ck_assert_int_eq(imsgbuf_read(ib), 1);
	ck_assert_int_eq(rv, 1);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

static int
fd_is_closed(int fd)
{
	return (fcntl(fd, F_GETFD) == -1 && errno == EBADF);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	ck_assert_ptr_nonnull(d = opendir("/proc/self/fd"));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return (n);
}

/* Does fd read what goes into the pipe whose write end is wfd? */
static int
same_pipe(int fd, int wfd, char c)
{
	char	 got = 0;

	if (write(wfd, &c, 1) != 1)
		return (0);
	if (read(fd, &got, 1) != 1)
		return (0);
	return (got == c);
}

/*
 * ibuf
 */

START_TEST(test_ibuf_fixed_bounds)
{
	struct ibuf	*b;
	unsigned char	 four[4] = { 1, 2, 3, 4 };

	ck_assert_ptr_null(ibuf_open(0));
	ck_assert_int_eq(errno, EINVAL);

	ck_assert_ptr_nonnull(b = ibuf_open(4));
	ck_assert_uint_eq(ibuf_left(b), 4);
	ck_assert_int_eq(ibuf_add(b, four, 3), 0);
	ck_assert_int_eq(ibuf_add_n8(b, 9), 0);
	ck_assert_uint_eq(ibuf_size(b), 4);
	ck_assert_uint_eq(ibuf_left(b), 0);
	errno = 0;
	ck_assert_int_eq(ibuf_add(b, four, 1), -1);
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_ptr_null(ibuf_reserve(b, 1));
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_int_eq(ibuf_add(b, four, SIZE_MAX), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(ibuf_size(b), 4);

	/* seek and set stay within the data */
	ck_assert_ptr_nonnull(ibuf_seek(b, 1, 3));
	ck_assert_ptr_null(ibuf_seek(b, 2, 3));
	ck_assert_ptr_null(ibuf_seek(b, 5, 0));
	ck_assert_ptr_null(ibuf_seek(b, 1, SIZE_MAX));
	ck_assert_int_eq(ibuf_set(b, 3, four, 1), 0);
	ck_assert_int_eq(ibuf_set(b, 3, four, 2), -1);
	ck_assert_int_eq(ibuf_set_n8(b, 0, 0xff), 0);
	ck_assert_int_eq(((unsigned char *)ibuf_data(b))[0], 0xff);
	ck_assert_int_eq(((unsigned char *)ibuf_data(b))[3], 1);
	ibuf_free(b);
}
END_TEST

START_TEST(test_ibuf_dynamic_bounds)
{
	struct ibuf	*b;
	unsigned char	*p;
	unsigned char	 x[8];

	ck_assert_ptr_null(ibuf_dynamic(9, 8));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(ibuf_dynamic(0, 0));

	memset(x, 'x', sizeof(x));
	ck_assert_ptr_nonnull(b = ibuf_dynamic(2, 8));
	ck_assert_int_eq(ibuf_add(b, x, 3), 0);
	ck_assert_int_eq(ibuf_add(b, x, 5), 0);
	ck_assert_uint_eq(ibuf_size(b), 8);
	errno = 0;
	ck_assert_int_eq(ibuf_add_zero(b, 1), -1);
	ck_assert_int_eq(errno, ERANGE);

	/* truncate shrinks, then zero-extends within max only */
	ck_assert_int_eq(ibuf_truncate(b, 4), 0);
	ck_assert_uint_eq(ibuf_size(b), 4);
	ck_assert_int_eq(ibuf_truncate(b, 6), 0);
	ck_assert_uint_eq(ibuf_size(b), 6);
	p = ibuf_data(b);
	ck_assert_int_eq(p[3], 'x');
	ck_assert_int_eq(p[4], 0);
	ck_assert_int_eq(p[5], 0);
	errno = 0;
	ck_assert_int_eq(ibuf_truncate(b, 9), -1);
	ck_assert_int_eq(errno, ERANGE);

	/* the bound can be lowered, not below the data, never raised */
	ck_assert_int_eq(ibuf_set_maxsize(b, 5), -1);
	ck_assert_int_eq(ibuf_set_maxsize(b, 9), -1);
	ck_assert_int_eq(ibuf_set_maxsize(b, 7), 0);
	ck_assert_int_eq(ibuf_add_h16(b, 1), -1);
	ck_assert_int_eq(ibuf_add_n8(b, 1), 0);

	/* appending a buffer to itself survives the move of its memory */
	ibuf_free(b);
	ck_assert_ptr_nonnull(b = ibuf_dynamic(1, 64));
	ck_assert_int_eq(ibuf_add(b, "ab", 2), 0);
	ck_assert_int_eq(ibuf_add_ibuf(b, b), 0);
	ck_assert_int_eq(ibuf_add_buf(b, b), 0);
	ck_assert_uint_eq(ibuf_size(b), 8);
	ck_assert_int_eq(memcmp(ibuf_data(b), "abababab", 8), 0);
	ibuf_free(b);
}
END_TEST

START_TEST(test_ibuf_get_bounds)
{
	struct ibuf	 r, sub;
	unsigned char	 data[6] = { 0, 1, 2, 3, 4, 5 };
	unsigned char	 out[8];
	uint8_t		 v8;
	uint16_t	 v16;
	uint32_t	 v32;
	uint64_t	 v64;

	ibuf_from_buffer(&r, data, sizeof(data));
	ck_assert_uint_eq(ibuf_size(&r), 6);
	ck_assert_int_eq(ibuf_get(&r, out, 4), 0);
	ck_assert_int_eq(out[3], 3);
	errno = 0;
	ck_assert_int_eq(ibuf_get(&r, out, 3), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(ibuf_size(&r), 2);	/* nothing consumed */
	errno = 0;
	ck_assert_int_eq(ibuf_get_n32(&r, &v32), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(ibuf_get_h64(&r, &v64), -1);
	ck_assert_int_eq(ibuf_skip(&r, 3), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(ibuf_get_ibuf(&r, 3, &sub), -1);
	ck_assert_int_eq(ibuf_get_h16(&r, &v16), 0);
	ck_assert_int_eq(ibuf_get_n8(&r, &v8), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(ibuf_size(&r), 0);

	/* rewind, peek without consuming, carve a sub-buffer */
	ibuf_rewind(&r);
	ibuf_from_ibuf(&sub, &r);
	ck_assert_int_eq(ibuf_skip(&sub, 6), 0);
	ck_assert_uint_eq(ibuf_size(&r), 6);
	ck_assert_int_eq(ibuf_skip(&r, 1), 0);
	ck_assert_int_eq(ibuf_get_ibuf(&r, 2, &sub), 0);
	ck_assert_uint_eq(ibuf_size(&sub), 2);
	ck_assert_int_eq(ibuf_get_n8(&sub, &v8), 0);
	ck_assert_int_eq(v8, 1);
	ck_assert_int_eq(ibuf_get_n8(&r, &v8), 0);
	ck_assert_int_eq(v8, 3);

	/* a view of foreign memory is read-only and owns nothing */
	errno = 0;
	ck_assert_int_eq(ibuf_add_n8(&r, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ibuf_set_n8(&r, 0, 1), -1);
	ck_assert_uint_eq(ibuf_left(&r), 0);
	ck_assert_int_eq(ibuf_fd_avail(&r), 0);
	ck_assert_int_eq(ibuf_fd_get(&r), -1);
	ibuf_free(&r);
}
END_TEST

START_TEST(test_ibuf_value_range)
{
	struct ibuf	*b;

	ck_assert_ptr_nonnull(b = ibuf_dynamic(0, 64));
	errno = 0;
	ck_assert_int_eq(ibuf_add_n8(b, 0x100), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ibuf_add_n16(b, 0x10000), -1);
	ck_assert_int_eq(ibuf_add_h16(b, 0x10000), -1);
	ck_assert_int_eq(ibuf_add_n32(b, 0x100000000ULL), -1);
	ck_assert_int_eq(ibuf_add_h32(b, 0x100000000ULL), -1);
	ck_assert_uint_eq(ibuf_size(b), 0);
	ck_assert_int_eq(ibuf_add_n32(b, 0xffffffffULL), 0);
	ck_assert_int_eq(ibuf_set_n16(b, 0, 0x10000), -1);
	ck_assert_int_eq(ibuf_set_h32(b, 0, 0x100000000ULL), -1);
	ck_assert_int_eq(ibuf_set_n8(b, 0, 0x100), -1);
	ck_assert_int_eq(ibuf_set_h16(b, 2, 0xffff), 0);
	ck_assert_int_eq(ibuf_set_n32(b, 1, 0), -1);	/* past the end */
	ibuf_free(b);
}
END_TEST

START_TEST(test_ibuf_byteorder)
{
	struct ibuf	*b;
	struct ibuf	 r;
	const unsigned char be[] = {
		0xab,
		0x12, 0x34,
		0x12, 0x34, 0x56, 0x78,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08
	};
	uint16_t	 h16 = 0x1234, g16;
	uint32_t	 h32 = 0x12345678, g32;
	uint64_t	 h64 = 0x0102030405060708ULL, g64;
	uint8_t		 g8;
	unsigned char	*p;

	ck_assert_ptr_nonnull(b = ibuf_dynamic(0, 128));
	ck_assert_int_eq(ibuf_add_n8(b, 0xab), 0);
	ck_assert_int_eq(ibuf_add_n16(b, 0x1234), 0);
	ck_assert_int_eq(ibuf_add_n32(b, 0x12345678), 0);
	ck_assert_int_eq(ibuf_add_n64(b, 0x0102030405060708ULL), 0);
	ck_assert_uint_eq(ibuf_size(b), sizeof(be));
	ck_assert_int_eq(memcmp(ibuf_data(b), be, sizeof(be)), 0);

	/* host order is the in-memory layout of the native integer */
	ck_assert_int_eq(ibuf_add_h16(b, 0x1234), 0);
	ck_assert_int_eq(ibuf_add_h32(b, 0x12345678), 0);
	ck_assert_int_eq(ibuf_add_h64(b, 0x0102030405060708ULL), 0);
	p = (unsigned char *)ibuf_data(b) + sizeof(be);
	ck_assert_int_eq(memcmp(p, &h16, 2), 0);
	ck_assert_int_eq(memcmp(p + 2, &h32, 4), 0);
	ck_assert_int_eq(memcmp(p + 6, &h64, 8), 0);

	/* patch in place */
	ck_assert_int_eq(ibuf_set_n16(b, 1, 0xbeef), 0);
	ck_assert_int_eq(((unsigned char *)ibuf_data(b))[1], 0xbe);
	ck_assert_int_eq(((unsigned char *)ibuf_data(b))[2], 0xef);
	ck_assert_int_eq(ibuf_set_n16(b, 1, 0x1234), 0);
	ck_assert_int_eq(ibuf_set_n32(b, 3, 0x12345678), 0);
	ck_assert_int_eq(ibuf_set_n64(b, 7, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(ibuf_set_h64(b, 21, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(ibuf_set_h64(b, 22, 0x0102030405060708ULL), -1);
	ck_assert_int_eq(memcmp(ibuf_data(b), be, sizeof(be)), 0);

	/* and back */
	ibuf_from_ibuf(&r, b);
	ck_assert_int_eq(ibuf_get_n8(&r, &g8), 0);
	ck_assert_uint_eq(g8, 0xab);
	ck_assert_int_eq(ibuf_get_n16(&r, &g16), 0);
	ck_assert_uint_eq(g16, 0x1234);
	ck_assert_int_eq(ibuf_get_n32(&r, &g32), 0);
	ck_assert_uint_eq(g32, 0x12345678);
	ck_assert_int_eq(ibuf_get_n64(&r, &g64), 0);
	ck_assert_uint_eq(g64, 0x0102030405060708ULL);
	ck_assert_int_eq(ibuf_get_h16(&r, &g16), 0);
	ck_assert_uint_eq(g16, 0x1234);
	ck_assert_int_eq(ibuf_get_h32(&r, &g32), 0);
	ck_assert_uint_eq(g32, 0x12345678);
	ck_assert_int_eq(ibuf_get_h64(&r, &g64), 0);
	ck_assert_uint_eq(g64, 0x0102030405060708ULL);

	/* _n and _h read the same bytes differently on little endian */
	ibuf_rewind(&r);
	ck_assert_int_eq(ibuf_skip(&r, 1), 0);
	ck_assert_int_eq(ibuf_get_h16(&r, &g16), 0);
	ck_assert_int_eq(memcmp(&g16, be + 1, 2), 0);
	ibuf_free(b);
}
END_TEST

START_TEST(test_ibuf_strings)
{
	struct ibuf	 r;
	char		 data[] = { 'a', 'b', '\0', 'z', 'c', 'd', 'e' };
	char		 str[4], *s;

	ibuf_from_buffer(&r, data, sizeof(data));
	ck_assert_ptr_nonnull(s = ibuf_get_string(&r, 4));
	ck_assert_str_eq(s, "ab");
	free(s);
	ck_assert_uint_eq(ibuf_size(&r), 3);
	ck_assert_ptr_nonnull(s = ibuf_get_string(&r, 2));
	ck_assert_str_eq(s, "cd");
	free(s);
	ck_assert_ptr_null(ibuf_get_string(&r, 2));
	ck_assert_int_eq(errno, EBADMSG);

	ibuf_rewind(&r);
	ck_assert_int_eq(ibuf_get_strbuf(&r, str, 4), 0);
	ck_assert_str_eq(str, "ab");
	/* "cde" holds no NUL: refused, nothing consumed */
	errno = 0;
	ck_assert_int_eq(ibuf_get_strbuf(&r, str, 3), -1);
	ck_assert_int_eq(errno, EOVERFLOW);
	ck_assert_str_eq(str, "");
	ck_assert_uint_eq(ibuf_size(&r), 3);
	ck_assert_int_eq(ibuf_get_strbuf(&r, str, 4), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(ibuf_get_strbuf(&r, str, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_ibuf_fd)
{
	struct ibuf	*b;
	int		 p[2], q[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_ptr_nonnull(b = ibuf_open(1));
	ck_assert_int_eq(ibuf_fd_avail(b), 0);
	ck_assert_int_eq(ibuf_fd_get(b), -1);
	ibuf_fd_set(b, p[0]);
	ck_assert_int_eq(ibuf_fd_avail(b), 1);
	/* a second descriptor replaces and closes the first */
	ibuf_fd_set(b, q[0]);
	ck_assert(fd_is_closed(p[0]));
	ck_assert_int_eq(ibuf_fd_get(b), q[0]);
	ck_assert_int_eq(ibuf_fd_avail(b), 0);
	ck_assert(fd_is_open(q[0]));
	ibuf_fd_set(b, q[0]);
	ibuf_free(b);
	ck_assert(fd_is_closed(q[0]));
	close(p[1]);
	close(q[1]);
}
END_TEST

/*
 * framing across reads
 */

START_TEST(test_split_bytewise)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[256], payload[100], got[100];
	size_t		 len, i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = i * 7;
	chan_open(&c, 0, 0);
	len = wire_msg(wire, sizeof(wire), T_TYPE,
	    IMSG_HEADER_SIZE + sizeof(payload), payload, sizeof(payload));

	for (i = 0; i < len; i++) {
		ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
		raw_write(c.sv[0], wire + i, 1);
		ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	}
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), T_TYPE);
	ck_assert_uint_eq(imsg_get_id(&imsg), T_ID);
	ck_assert_int_eq(imsg_get_pid(&imsg), T_PID);
	ck_assert_uint_eq(imsg_get_len(&imsg), sizeof(payload));
	ck_assert_int_eq(imsg_get_data(&imsg, got, sizeof(got)), 0);
	ck_assert_int_eq(memcmp(got, payload, sizeof(got)), 0);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	chan_close(&c);
}
END_TEST

START_TEST(test_split_header)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[128];
	uint32_t	 v;
	size_t		 len1, len2;

	chan_open(&c, 0, 0);
	v = 0x11111111;
	len1 = wire_msg(wire, sizeof(wire), 1, IMSG_HEADER_SIZE + 4, &v, 4);
	v = 0x22222222;
	len2 = wire_msg(wire + len1, sizeof(wire) - len1, 2,
	    IMSG_HEADER_SIZE + 4, &v, 4);

	/* the first message and 5 bytes of the second header */
	raw_write(c.sv[0], wire, len1 + 5);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);

	/* 8 more header bytes: still incomplete */
	raw_write(c.sv[0], wire + len1 + 5, 8);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);

	/* the end of the header and half the payload */
	raw_write(c.sv[0], wire + len1 + 13, 5);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);

	raw_write(c.sv[0], wire + len1 + 18, len2 - 18);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 1);
	ck_assert_uint_eq(imsg_get_type(&imsg), 2);
	ck_assert_int_eq(imsg_get_data(&imsg, &v, sizeof(v)), 0);
	ck_assert_uint_eq(v, 0x22222222);
	imsg_free(&imsg);
	chan_close(&c);
}
END_TEST

#define STRADDLE_SIZE	1000
#define STRADDLE_COUNT	70	/* 70000 bytes: more than one read */

START_TEST(test_straddle_read_chunk)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	*wire, payload[STRADDLE_SIZE - IMSG_HEADER_SIZE];
	size_t		 off = 0;
	int		 i, got = 0, after_first;

	ck_assert_ptr_nonnull(wire = malloc(STRADDLE_SIZE * STRADDLE_COUNT));
	for (i = 0; i < STRADDLE_COUNT; i++) {
		memset(payload, i, sizeof(payload));
		off += wire_msg(wire + off, STRADDLE_SIZE, i, STRADDLE_SIZE,
		    payload, sizeof(payload));
	}
	chan_open(&c, 0, 0);
	raw_write(c.sv[0], wire, off);

	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	while (imsgbuf_get(&c.b, &imsg) == 1) {
		ck_assert_uint_eq(imsg_get_type(&imsg), got);
		imsg_free(&imsg);
		got++;
	}
	/* one read holds at most IBUF_READ_SIZE bytes */
	after_first = got;
	ck_assert_int_le(after_first, IBUF_READ_SIZE / STRADDLE_SIZE);
	ck_assert_int_gt(after_first, 0);

	while (got < STRADDLE_COUNT) {
		recv_one(&c.b, &imsg);
		ck_assert_uint_eq(imsg_get_type(&imsg), got);
		ck_assert_int_eq(imsg_get_data(&imsg, payload,
		    sizeof(payload)), 0);
		ck_assert_int_eq(payload[0], got);
		ck_assert_int_eq(payload[sizeof(payload) - 1], got);
		imsg_free(&imsg);
		got++;
	}
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	free(wire);
	chan_close(&c);
}
END_TEST

START_TEST(test_message_larger_than_read_chunk)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	*big, *got;
	size_t		 len = 3 * IBUF_READ_SIZE, i;
	int		 rv = 0, spin;

	ck_assert_ptr_nonnull(big = malloc(len));
	ck_assert_ptr_nonnull(got = malloc(len));
	for (i = 0; i < len; i++)
		big[i] = i % 251;
	chan_open(&c, 0, 0);
	set_nonblock(c.sv[0]);
	set_nonblock(c.sv[1]);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, len), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.b, len), 0);
	ck_assert_int_eq(imsg_compose(&c.a, T_TYPE, 0, 0, -1, big, len), 1);

	for (spin = 0; spin < SPIN_MAX && rv == 0; spin++) {
		ck_assert_int_eq(imsgbuf_write(&c.a), 0);
		ck_assert_int_eq(imsgbuf_read(&c.b), 1);
		ck_assert_int_ne(rv = imsgbuf_get(&c.b, &imsg), -1);
	}
	ck_assert_int_eq(rv, 1);
	ck_assert_uint_eq(imsg_get_len(&imsg), len);
	ck_assert_int_eq(imsg_get_data(&imsg, got, len), 0);
	ck_assert_int_eq(memcmp(got, big, len), 0);
	imsg_free(&imsg);
	free(big);
	free(got);
	chan_close(&c);
}
END_TEST

START_TEST(test_read_eagain)
{
	struct chan	 c;
	struct imsg	 imsg;

	chan_open(&c, 0, 1);
	set_nonblock(c.sv[1]);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	chan_close(&c);
}
END_TEST

/*
 * length bounds
 */

START_TEST(test_maxsize_compose)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct ibuf	*msg;
	unsigned char	*p;
	size_t		 max = MAX_IMSGSIZE - IMSG_HEADER_SIZE;

	ck_assert_ptr_nonnull(p = calloc(1, MAX_IMSGSIZE + 1));
	chan_open(&c, 0, 0);
	ck_assert_uint_eq(c.a.maxsize, MAX_IMSGSIZE);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, p, max), 1);
	errno = 0;
	ck_assert_int_eq(imsg_compose(&c.a, 2, 0, 0, -1, p, max + 1), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_ptr_null(imsg_create(&c.a, 2, 0, 0, max + 1));
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_ptr_null(imsg_create(&c.a, 2, 0, 0, SIZE_MAX));
	ck_assert_ptr_nonnull(msg = imsg_create(&c.a, 2, 0, 0, 0));
	ck_assert_int_eq(imsg_add(msg, p, max), (int)max);
	errno = 0;
	ck_assert_int_eq(imsg_add(msg, p, 1), -1);	/* frees msg */
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 1);

	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_uint_eq(imsg_get_len(&imsg), max);
	ck_assert_uint_eq(imsg.hdr.len, MAX_IMSGSIZE);
	imsg_free(&imsg);
	free(p);
	chan_close(&c);
}
END_TEST

START_TEST(test_maxsize_read)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	*wire, *payload;
	size_t		 len, plen = MAX_IMSGSIZE - IMSG_HEADER_SIZE;

	ck_assert_ptr_nonnull(wire = malloc(MAX_IMSGSIZE));
	ck_assert_ptr_nonnull(payload = calloc(1, plen));

	/* exactly maxsize is delivered */
	chan_open(&c, 0, 0);
	len = wire_msg(wire, MAX_IMSGSIZE, 5, MAX_IMSGSIZE, payload, plen);
	raw_write(c.sv[0], wire, len);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_len(&imsg), plen);
	imsg_free(&imsg);
	chan_close(&c);

	/* one more is refused, and the channel stays refused */
	chan_open(&c, 0, 0);
	raw_hdr(c.sv[0], 5, MAX_IMSGSIZE + 1);
	errno = 0;
	ck_assert_int_eq(imsgbuf_read(&c.b), -1);
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), -1);
	ck_assert_int_eq(errno, ERANGE);
	raw_hdr(c.sv[0], 5, IMSG_HEADER_SIZE);
	ck_assert_int_eq(imsgbuf_read(&c.b), -1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), -1);
	chan_close(&c);
	free(wire);
	free(payload);
}
END_TEST

START_TEST(test_len_below_header)
{
	const uint32_t	 bad[] = { 0, 1, 8, IMSG_HEADER_SIZE - 1,
			    IMSG_FD_MARK | 8, IMSG_FD_MARK };
	struct chan	 c;
	struct imsg	 imsg;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chan_open(&c, 0, 1);
		raw_hdr(c.sv[0], 1, bad[i]);
		errno = 0;
		ck_assert_msg(imsgbuf_read(&c.b) == -1 && errno == ERANGE,
		    "len %#x accepted", bad[i]);
		ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), -1);
		chan_close(&c);
	}
}
END_TEST

START_TEST(test_len_oversized)
{
	const uint32_t	 bad[] = { MAX_IMSGSIZE + 1, 0x7fffffff,
			    0xffffffff, IMSG_FD_MARK | (MAX_IMSGSIZE + 1) };
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		chan_open(&c, 0, 1);
		/* a good message first, then the bad header in one write */
		len = wire_msg(wire, sizeof(wire), 1, IMSG_HEADER_SIZE,
		    NULL, 0);
		len += wire_msg(wire + len, sizeof(wire) - len, 2, bad[i],
		    NULL, 0);
		raw_write(c.sv[0], wire, len);
		errno = 0;
		ck_assert_msg(imsgbuf_read(&c.b) == -1 && errno == ERANGE,
		    "len %#x accepted", bad[i]);
		ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 1);
		ck_assert_uint_eq(imsg_get_type(&imsg), 1);
		imsg_free(&imsg);
		errno = 0;
		ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), -1);
		ck_assert_int_eq(errno, ERANGE);
		chan_close(&c);
	}
}
END_TEST

START_TEST(test_set_maxsize)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	*p;
	size_t		 n = 20000;

	ck_assert_ptr_nonnull(p = calloc(1, n + 1));
	chan_open(&c, 0, 0);
	errno = 0;
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, UINT32_MAX), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a,
	    IMSG_FD_MARK - IMSG_HEADER_SIZE), -1);
	ck_assert_uint_eq(c.a.maxsize, MAX_IMSGSIZE);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a,
	    IMSG_FD_MARK - IMSG_HEADER_SIZE - 1), 0);

	/* the argument is the payload; the header comes on top */
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, n), 0);
	ck_assert_uint_eq(c.a.maxsize, n + IMSG_HEADER_SIZE);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, p, n + 1), -1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, p, n), 1);

	/* a reader with the default refuses it */
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	while (imsgbuf_read(&c.b) == 1)
		ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	ck_assert_int_eq(errno, ERANGE);
	chan_close(&c);

	/* a reader with the raised bound takes it */
	chan_open(&c, 0, 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, n), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.b, n), 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, p, n), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_len(&imsg), n);
	imsg_free(&imsg);

	/* 0: header-only messages */
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, 0), 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, NULL, 0), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, p, 1), -1);
	free(p);
	chan_close(&c);
}
END_TEST

/*
 * end of file
 */

START_TEST(test_eof_mid_message)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[64], payload[32];

	memset(payload, 'p', sizeof(payload));
	chan_open(&c, 0, 0);
	wire_msg(wire, sizeof(wire), 1, IMSG_HEADER_SIZE + sizeof(payload),
	    payload, sizeof(payload));
	raw_write(c.sv[0], wire, IMSG_HEADER_SIZE + 10);
	close(c.sv[0]);
	c.sv[0] = -1;

	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	ck_assert_int_eq(imsgbuf_read(&c.b), 0);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	chan_close(&c);

	/* and in the middle of a header */
	chan_open(&c, 0, 0);
	raw_write(c.sv[0], wire, 7);
	close(c.sv[0]);
	c.sv[0] = -1;
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_read(&c.b), 0);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	chan_close(&c);
}
END_TEST

START_TEST(test_eof_clean)
{
	struct chan	 c;
	struct imsg	 imsg;

	chan_open(&c, 0, 1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, "x", 1), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	close(c.sv[0]);
	c.sv[0] = -1;
	recv_one(&c.b, &imsg);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_read(&c.b), 0);
	chan_close(&c);
}
END_TEST

/*
 * descriptor passing
 */

START_TEST(test_fd_single)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], fd;

	ck_assert_int_eq(pipe(p), 0);
	chan_open(&c, 1, 1);
	ck_assert_int_eq(imsg_compose(&c.a, T_TYPE, 0, 0, p[0], "fd", 2), 1);
	ck_assert(fd_is_open(p[0]));
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	/* sent: the sender's copy is gone */
	ck_assert(fd_is_closed(p[0]));

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), T_TYPE);
	ck_assert_uint_eq(imsg_get_len(&imsg), 2);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);	/* ownership moved */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	imsg_free(&imsg);
	ck_assert(fd_is_open(fd));
	ck_assert(same_pipe(fd, p[1], 'a'));
	close(fd);
	close(p[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_twice)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], q[2], fd1, fd2;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	chan_open(&c, 1, 1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], NULL, 0), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 2, 0, 0, q[0], NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_write(&c.a), 0);
	/* never two descriptors in one sendmsg */
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_int_ge(fd1 = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 2);
	ck_assert_int_ge(fd2 = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);

	ck_assert(same_pipe(fd1, p[1], '1'));
	ck_assert(same_pipe(fd2, q[1], '2'));
	close(fd1);
	close(fd2);
	close(p[1]);
	close(q[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_mixed)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], q[2], fd1, fd3;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	chan_open(&c, 1, 1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], "one", 3), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 2, 0, 0, -1, "two", 3), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 3, 0, 0, q[0], "three", 5), 1);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 3);
	/* the batch stops before the second descriptor */
	ck_assert_int_eq(imsgbuf_write(&c.a), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 1);
	ck_assert(fd_is_closed(p[0]));
	ck_assert(fd_is_open(q[0]));
	ck_assert_int_eq(imsgbuf_write(&c.a), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_int_ge(fd1 = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 2);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 3);
	ck_assert_int_ge(fd3 = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);

	ck_assert(same_pipe(fd1, p[1], 'p'));
	ck_assert(same_pipe(fd3, q[1], 'q'));
	close(fd1);
	close(fd3);
	close(p[1]);
	close(q[1]);
	chan_close(&c);
}
END_TEST

/*
 * A burst of descriptor-carrying messages is one recvmsg each; a single
 * imsgbuf_read() takes several of them, so that a daemon sees a burst of
 * requests in one turn of its event loop.  The socket here is blocking:
 * only the first recvmsg may wait, and the read returns once it is empty.
 */
START_TEST(test_fd_burst_one_read)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[5][2], fd, i, n;
	char		 ch;

	chan_open(&c, 1, 1);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(pipe(p[i]), 0);
		ck_assert_int_eq(imsg_compose(&c.a, 10 + i, 0, 0, p[i][0],
		    "x", 1), 1);
	}
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	for (n = 0; imsgbuf_get(&c.b, &imsg) == 1; n++) {
		ck_assert_uint_eq(imsg_get_type(&imsg), 10 + (uint32_t)n);
		ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
		ch = '0' + n;
		ck_assert(same_pipe(fd, p[n][1], ch));
		close(fd);
		close(p[n][1]);
		imsg_free(&imsg);
	}
	ck_assert_int_eq(n, 5);
	chan_close(&c);
}
END_TEST

/* A channel limited to one read takes one descriptor per imsgbuf_read(). */
START_TEST(test_fd_burst_limited)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[3][2], fd, i, n;

	chan_open(&c, 1, 1);
	imsgbuf_set_reads(&c.b, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(pipe(p[i]), 0);
		ck_assert_int_eq(imsg_compose(&c.a, 20 + i, 0, 0, p[i][0],
		    NULL, 0), 1);
	}
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(imsgbuf_read(&c.b), 1);
		for (n = 0; imsgbuf_get(&c.b, &imsg) == 1; n++) {
			ck_assert_uint_eq(imsg_get_type(&imsg),
			    20 + (uint32_t)i);
			ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
			close(fd);
			imsg_free(&imsg);
		}
		ck_assert_int_eq(n, 1);
		close(p[i][1]);
	}
	chan_close(&c);
}
END_TEST

/* Data, then the end: the data is handled first, the end on the next read. */
START_TEST(test_fd_burst_then_eof)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], fd;

	chan_open(&c, 1, 1);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsg_compose(&c.a, 7, 0, 0, p[0], "x", 1), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	close(c.sv[0]);
	c.sv[0] = -1;

	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 1);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	close(fd);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_read(&c.b), 0);
	close(p[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_not_allowed_on_reader)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], before;
	char		 x = 'x';

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	chan_open(&c, 1, 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	ck_assert(fd_is_closed(p[0]));

	before = count_fds();
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	ck_assert_int_eq(count_fds(), before);
	/* the kernel dropped the last read end */
	errno = 0;
	ck_assert_int_eq(write(p[1], &x, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_missing)
{
	struct chan	 c;
	struct imsg	 imsg;

	chan_open(&c, 0, 1);
	/* the mark says a descriptor comes, but none does */
	raw_hdr(c.sv[0], 9, IMSG_FD_MARK | IMSG_HEADER_SIZE);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 9);
	ck_assert_uint_eq(imsg_get_len(&imsg), 0);
	ck_assert_uint_eq(imsg.hdr.len, IMSG_HEADER_SIZE);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_unclaimed_closed)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[IMSG_HEADER_SIZE];
	int		 p[2], before;
	char		 x = 'x';

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	chan_open(&c, 0, 1);
	/* a descriptor with a header that does not ask for it */
	wire_msg(wire, sizeof(wire), 3, IMSG_HEADER_SIZE, NULL, 0);
	raw_sendfds(c.sv[0], wire, sizeof(wire), &p[0], 1);
	close(p[0]);

	before = count_fds();
	recv_one(&c.b, &imsg);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	ck_assert_int_eq(count_fds(), before);
	errno = 0;
	ck_assert_int_eq(write(p[1], &x, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_fd_extra_closed)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[IMSG_HEADER_SIZE];
	int		 p[2], q[2], fds[2], before, fd;
	char		 x = 'x';

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	chan_open(&c, 0, 1);
	wire_msg(wire, sizeof(wire), 4, IMSG_FD_MARK | IMSG_HEADER_SIZE,
	    NULL, 0);
	fds[0] = p[0];
	fds[1] = q[0];
	raw_sendfds(c.sv[0], wire, sizeof(wire), fds, 2);
	close(p[0]);
	close(q[0]);

	before = count_fds();
	recv_one(&c.b, &imsg);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	/* only the one descriptor the message claimed was kept */
	ck_assert_int_eq(count_fds(), before + 1);
	ck_assert(same_pipe(fd, p[1], 'p'));
	errno = 0;
	ck_assert_int_eq(write(q[1], &x, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(fd);
	close(p[1]);
	close(q[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_free_closes_unclaimed_fd)
{
	struct chan	 c;
	struct imsg	 imsg;
	int		 p[2], fd;

	ck_assert_int_eq(pipe(p), 0);
	chan_open(&c, 1, 1);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	recv_one(&c.b, &imsg);
	ck_assert_int_eq(ibuf_fd_avail(imsg.buf), 1);
	fd = imsg.buf->fd;
	ck_assert(fd_is_open(fd));
	imsg_free(&imsg);
	ck_assert(fd_is_closed(fd));
	ck_assert_ptr_null(imsg.buf);
	close(p[1]);
	chan_close(&c);
}
END_TEST

START_TEST(test_compose_consumes_fd)
{
	struct chan	 c;
	struct iovec	 iov[2];
	unsigned char	*big;
	int		 p[2];

	ck_assert_ptr_nonnull(big = calloc(1, MAX_IMSGSIZE));
	chan_open(&c, 1, 0);

	/* too large */
	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], big,
	    MAX_IMSGSIZE), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert(fd_is_closed(p[0]));
	close(p[1]);

	/* composev, too large in total */
	ck_assert_int_eq(pipe(p), 0);
	iov[0].iov_base = big;
	iov[0].iov_len = MAX_IMSGSIZE / 2;
	iov[1].iov_base = big;
	iov[1].iov_len = MAX_IMSGSIZE / 2;
	ck_assert_int_eq(imsg_composev(&c.a, 1, 0, 0, p[0], iov, 2), -1);
	ck_assert(fd_is_closed(p[0]));
	close(p[1]);

	/* a channel that does not pass descriptors */
	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(imsg_compose(&c.b, 1, 0, 0, p[0], NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert(fd_is_closed(p[0]));
	ck_assert_uint_eq(imsgbuf_queuelen(&c.b), 0);
	close(p[1]);

	/* queued and never sent: imsgbuf_clear closes it */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, p[0], NULL, 0), 1);
	ck_assert(fd_is_open(p[0]));
	imsgbuf_clear(&c.a);
	ck_assert(fd_is_closed(p[0]));
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 0);
	close(p[1]);
	free(big);
	chan_close(&c);
}
END_TEST

/*
 * descriptors around the read boundary
 *
 * A descriptor travels with the first byte of its message, but the
 * reader frames a message only once its whole header is in.  When a
 * read of IBUF_READ_SIZE bytes ends inside a header, the descriptor
 * that came with it must wait for that header, and one that arrives
 * with the next read must wait for the message it came with.
 *
 * A plan is a list of messages, each after "fill" bytes of filler
 * messages without descriptors.  Message i has type T_PLAN + i, a
 * payload of plen bytes 'a' + i and, with withfd, the read end of a
 * pipe that holds the one byte 'a' + i.  The fill sizes place the read
 * boundaries: the sender writes the whole plan before the first read,
 * and a read stops at IBUF_READ_SIZE less the bytes kept from the last
 * one, or after the bytes sent with a descriptor.
 */

#define T_FILL		100
#define T_PLAN		200
#define FILL_MAX	MAX_IMSGSIZE	/* largest filler message */
#define PLAN_MAX	6
#define PLAN_MAXSIZE	(4 * IBUF_READ_SIZE)
#define PLAN_SOCKBUF	(4 * 1024 * 1024)

struct plan_msg {
	size_t	 fill;
	size_t	 plen;
	int	 withfd;
};

/* The read end of a pipe that holds just c; -1 on failure. */
static int
tag_pipe(char c)
{
	int	 p[2];

	if (pipe(p) == -1)
		return (-1);
	if (write(p[1], &c, 1) != 1) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	close(p[1]);
	return (p[0]);
}

/* Queue the plan; no check(3) calls, as a forked sender runs it too. */
static int
plan_queue(struct imsgbuf *ib, const struct plan_msg *plan, size_t n)
{
	static unsigned char	 filler[FILL_MAX];
	unsigned char		*payload;
	size_t			 i, left, m;
	int			 fd, rv;

	for (i = 0; i < n; i++) {
		for (left = plan[i].fill; left > 0; left -= m) {
			m = left > FILL_MAX ? FILL_MAX : left;
			/* each filler holds at least a header */
			if (left - m > 0 && left - m < IMSG_HEADER_SIZE)
				m = left / 2;
			if (m < IMSG_HEADER_SIZE)
				return (-1);
			if (imsg_compose(ib, T_FILL, 0, 0, -1, filler,
			    m - IMSG_HEADER_SIZE) == -1)
				return (-1);
		}
		if ((payload = malloc(plan[i].plen + 1)) == NULL)
			return (-1);
		memset(payload, 'a' + i, plan[i].plen);
		fd = -1;
		if (plan[i].withfd && (fd = tag_pipe('a' + i)) == -1) {
			free(payload);
			return (-1);
		}
		rv = imsg_compose(ib, T_PLAN + i, 0, 0, fd, payload,
		    plan[i].plen);
		free(payload);
		if (rv == -1)
			return (-1);
	}
	return (0);
}

/*
 * Choose the fills so that a read ends split[i] bytes into message i,
 * for each i: the one read that starts inside message i - 1 ends there.
 */
static void
plan_split(struct plan_msg *plan, size_t n, const size_t *split)
{
	size_t	 end = IBUF_READ_SIZE, at = 0, start, i;

	for (i = 0; i < n; i++) {
		ck_assert_uint_lt(split[i], IMSG_HEADER_SIZE + plan[i].plen);
		ck_assert_uint_ge(end - split[i], at + IMSG_HEADER_SIZE);
		start = end - split[i];
		plan[i].fill = start - at;
		at = start + IMSG_HEADER_SIZE + plan[i].plen;
		/* the next read starts after an incomplete header kept */
		end += IBUF_READ_SIZE;
		if (split[i] < IMSG_HEADER_SIZE)
			end -= split[i];
	}
}

/* Read the plan back: every message in order, each with its own fd. */
static void
plan_recv(struct imsgbuf *ib, const struct plan_msg *plan, size_t n)
{
	struct imsg		 imsg;
	const unsigned char	*p;
	size_t			 next = 0, i, bad;
	int			 fd, rv;
	char			 c;

	while (next < n) {
		while ((rv = imsgbuf_get(ib, &imsg)) == 0)
			ck_assert_int_eq(imsgbuf_read(ib), 1);
		ck_assert_int_eq(rv, 1);
		if (imsg_get_type(&imsg) == T_FILL) {
			ck_assert_int_eq(imsg_get_fd(&imsg), -1);
			imsg_free(&imsg);
			continue;
		}
		ck_assert_uint_eq(imsg_get_type(&imsg), T_PLAN + next);
		ck_assert_uint_eq(imsg_get_len(&imsg), plan[next].plen);
		p = imsg.data;
		for (i = bad = 0; i < plan[next].plen; i++)
			bad += p[i] != 'a' + next;
		ck_assert_msg(bad == 0, "message %zu: bad payload", next);
		fd = imsg_get_fd(&imsg);
		if (!plan[next].withfd) {
			ck_assert_msg(fd == -1,
			    "message %zu got a descriptor it did not ask for",
			    next);
		} else {
			ck_assert_msg(fd >= 0, "message %zu got no descriptor",
			    next);
			c = '?';
			ck_assert_int_eq(read(fd, &c, 1), 1);
			ck_assert_msg(c == 'a' + (int)next,
			    "message %zu got the descriptor of message %d",
			    next, c - 'a');
			/* that pipe and nothing else */
			ck_assert_int_eq(read(fd, &c, 1), 0);
			close(fd);
		}
		imsg_free(&imsg);
		next++;
	}
	ck_assert_int_eq(imsgbuf_get(ib, &imsg), 0);
}

/* Sender and reader in one process. */
static void
plan_run(const struct plan_msg *plan, size_t n)
{
	struct chan	 c;
	int		 before, spin, sz = PLAN_SOCKBUF;

	before = count_fds();
	chan_open(&c, 1, 1);
	(void)setsockopt(c.sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(c.sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.a, PLAN_MAXSIZE), 0);
	ck_assert_int_eq(imsgbuf_set_maxsize(&c.b, PLAN_MAXSIZE), 0);
	ck_assert_int_eq(plan_queue(&c.a, plan, n), 0);

	/* all of it in the socket before the first read */
	set_nonblock(c.sv[0]);
	for (spin = 0; spin < SPIN_MAX && imsgbuf_queuelen(&c.a) > 0; spin++)
		ck_assert_int_eq(imsgbuf_write(&c.a), 0);
	ck_assert_msg(imsgbuf_queuelen(&c.a) == 0,
	    "the socket buffer cannot hold the plan");
	ck_assert_int_eq(shutdown(c.sv[0], SHUT_WR), 0);

	plan_recv(&c.b, plan, n);
	/* the reader holds no descriptor back */
	ck_assert_int_eq(count_fds(), before + 2);
	chan_close(&c);
	ck_assert_int_eq(count_fds(), before);
}

/* The sender is another process, done before the reader starts. */
static void
plan_run_forked(const struct plan_msg *plan, size_t n)
{
	struct imsgbuf	 ib;
	pid_t		 pid;
	int		 sv[2], status, before, sz = PLAN_SOCKBUF;

	before = count_fds();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		/* a full socket buffer would block forever */
		alarm(20);
		close(sv[1]);
		if (imsgbuf_init(&ib, sv[0]) == -1)
			_exit(1);
		imsgbuf_allow_fdpass(&ib);
		if (imsgbuf_set_maxsize(&ib, PLAN_MAXSIZE) == -1 ||
		    plan_queue(&ib, plan, n) == -1 ||
		    imsgbuf_flush(&ib) == -1)
			_exit(1);
		_exit(0);
	}
	close(sv[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ck_assert_int_eq(imsgbuf_init(&ib, sv[1]), 0);
	imsgbuf_allow_fdpass(&ib);
	ck_assert_int_eq(imsgbuf_set_maxsize(&ib, PLAN_MAXSIZE), 0);
	plan_recv(&ib, plan, n);
	ck_assert_int_eq(count_fds(), before + 1);
	imsgbuf_clear(&ib);
	close(sv[1]);
	ck_assert_int_eq(count_fds(), before);
}

/* The reviewer's case: A's header split 8 + 8, B right behind it. */
static const struct plan_msg fdswap_plan[] = {
	{ IBUF_READ_SIZE - 8, 4, 1 },
	{ 0, 4, 1 },
};

START_TEST(test_fd_boundary_swap)
{
	plan_run(fdswap_plan, 2);
}
END_TEST

START_TEST(test_fd_boundary_swap_forked)
{
	struct plan_msg	 plan[4];
	size_t		 k;

	plan_run_forked(fdswap_plan, 2);

	/* every split of A's header */
	memset(plan, 0, sizeof(plan));
	for (k = 1; k < IMSG_HEADER_SIZE; k++) {
		plan[0].fill = IBUF_READ_SIZE - k;
		plan[0].plen = 4;
		plan[0].withfd = 1;
		plan[1].plen = 4;
		plan[1].withfd = 1;
		plan[2].plen = 4;
		plan[3].plen = 4;
		plan[3].withfd = 1;
		plan_run_forked(plan, 4);
	}
}
END_TEST

START_TEST(test_fd_boundary_split_header)
{
	struct plan_msg	 plan[3];
	size_t		 k;

	for (k = 1; k < IMSG_HEADER_SIZE; k++) {
		/* A with a descriptor, B with one right behind it */
		memset(plan, 0, sizeof(plan));
		plan[0].fill = IBUF_READ_SIZE - k;
		plan[0].plen = 4;
		plan[0].withfd = 1;
		plan[1].plen = 4;
		plan[1].withfd = 1;
		plan_run(plan, 2);

		/* a message without one between them */
		plan[1].withfd = 0;
		plan[2].plen = 4;
		plan[2].withfd = 1;
		plan_run(plan, 3);

		/* A without one: B's must not be taken for A's */
		plan[0].withfd = 0;
		plan[1].withfd = 1;
		plan_run(plan, 2);
	}
}
END_TEST

START_TEST(test_fd_boundary_split_payload)
{
	struct plan_msg	 plan[3];
	size_t		 split[3], k;

	for (k = 0; k < 64; k++) {
		/* A's header whole, its payload split; B behind it */
		memset(plan, 0, sizeof(plan));
		plan[0].fill = IBUF_READ_SIZE - IMSG_HEADER_SIZE - k;
		plan[0].plen = 64;
		plan[0].withfd = 1;
		plan[1].plen = 4;
		plan[1].withfd = 1;
		plan_run(plan, 2);

		/* the same, and the next read ends in B's header */
		split[0] = IMSG_HEADER_SIZE + k;
		split[1] = 1 + k % (IMSG_HEADER_SIZE - 1);
		plan[2].plen = 4;
		plan[2].withfd = 1;
		plan_split(plan, 2, split);
		plan_run(plan, 3);
	}

	/* a payload larger than a read */
	memset(plan, 0, sizeof(plan));
	plan[0].plen = 3 * IBUF_READ_SIZE;
	plan[0].withfd = 1;
	plan[1].plen = 4;
	plan[1].withfd = 1;
	plan_run(plan, 2);
	plan[0].fill = 1000;
	plan_run(plan, 2);
}
END_TEST

START_TEST(test_fd_boundary_back_to_back)
{
	struct plan_msg	 plan[PLAN_MAX];
	size_t		 split[PLAN_MAX], i, k, plen;

	/* the read ends anywhere in A, then B, C, D, E */
	for (plen = 0; plen <= 8; plen += 8) {
		for (k = 1; k < IMSG_HEADER_SIZE + plen; k++) {
			memset(plan, 0, sizeof(plan));
			for (i = 0; i < 5; i++) {
				plan[i].plen = plen;
				plan[i].withfd = 1;
			}
			plan[0].fill = IBUF_READ_SIZE - k;
			plan_run(plan, 5);
		}
	}

	/* one read after another ends in a header with a descriptor */
	for (k = 1; k < IMSG_HEADER_SIZE; k++) {
		memset(plan, 0, sizeof(plan));
		for (i = 0; i < PLAN_MAX; i++) {
			plan[i].plen = i % 3 * 4;
			plan[i].withfd = 1;
			split[i] = 1 + (k + 5 * i) % (IMSG_HEADER_SIZE - 1);
		}
		/* the last two right behind the one before */
		plan_split(plan, PLAN_MAX - 2, split);
		plan_run(plan, PLAN_MAX);
		if (k % 4 == 1)
			plan_run_forked(plan, PLAN_MAX);
	}
}
END_TEST

/* The header arrives in three reads, and a stray descriptor in the second. */
START_TEST(test_fd_boundary_stray)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[2 * (IMSG_HEADER_SIZE + 4)];
	size_t		 len;
	int		 p[2], q[2], fd, nfds;
	char		 x = 'x';

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	chan_open(&c, 0, 1);
	len = wire_msg(wire, sizeof(wire), 5,
	    IMSG_FD_MARK | (IMSG_HEADER_SIZE + 4), "five", 4);

	/* A's descriptor with its first byte: kept for A */
	raw_sendfds(c.sv[0], wire, 5, &p[0], 1);
	close(p[0]);
	nfds = count_fds();
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	ck_assert_int_eq(count_fds(), nfds + 1);

	/* a descriptor with bytes where no message starts: closed */
	raw_sendfds(c.sv[0], wire + 5, 5, &q[0], 1);
	close(q[0]);
	nfds = count_fds();
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);
	ck_assert_int_eq(count_fds(), nfds);
	errno = 0;
	ck_assert_int_eq(write(q[1], &x, 1), -1);
	ck_assert_int_eq(errno, EPIPE);

	raw_write(c.sv[0], wire + 10, len - 10);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 5);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	ck_assert_int_eq(count_fds(), nfds);
	ck_assert(same_pipe(fd, p[1], 'p'));
	close(fd);
	close(p[1]);
	close(q[1]);
	chan_close(&c);
}
END_TEST

/* A kept header that asks for no descriptor must not keep B's. */
START_TEST(test_fd_boundary_unmarked_kept)
{
	struct chan	 c;
	struct imsg	 imsg;
	unsigned char	 wire[2 * (IMSG_HEADER_SIZE + 4)];
	size_t		 len;
	int		 p[2], q[2], fd, nfds;
	char		 x = 'x';

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	chan_open(&c, 0, 1);
	len = wire_msg(wire, sizeof(wire), 1, IMSG_HEADER_SIZE + 4, "one", 4);
	len += wire_msg(wire + len, sizeof(wire) - len, 2,
	    IMSG_FD_MARK | (IMSG_HEADER_SIZE + 4), "two", 4);

	/* a stray descriptor with the start of A, which asks for none */
	raw_sendfds(c.sv[0], wire, 5, &p[0], 1);
	close(p[0]);
	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	ck_assert_int_eq(imsgbuf_get(&c.b, &imsg), 0);

	/* the rest of A and B, with B's descriptor */
	raw_sendfds(c.sv[0], wire + 5, len - 5, &q[0], 1);
	close(q[0]);
	nfds = count_fds();
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 2);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	ck_assert(same_pipe(fd, q[1], 'q'));
	/* the stray one was closed, B's moved to us */
	ck_assert_int_eq(count_fds(), nfds);
	close(fd);
	errno = 0;
	ck_assert_int_eq(write(p[1], &x, 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	close(q[1]);
	chan_close(&c);
}
END_TEST

/*
 * payload accessors
 */

START_TEST(test_get_data)
{
	struct chan	 c;
	struct imsg	 imsg;
	uint64_t	 v = 0x1122334455667788ULL, got;
	uint32_t	 small;
	unsigned char	 large[16];

	chan_open(&c, 0, 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, T_ID, 0, -1, &v, sizeof(v)),
	    1);
	ck_assert_int_eq(imsg_compose(&c.a, 2, 0, T_PID, -1, NULL, 0), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_id(&imsg), T_ID);
	ck_assert_int_eq(imsg_get_pid(&imsg), getpid());
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, large, sizeof(large)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &got, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(imsg_get_data(&imsg, &got, sizeof(got)), 0);
	ck_assert_uint_eq(got, v);
	/* it only peeks: the same call works again */
	got = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &got, sizeof(got)), 0);
	ck_assert_uint_eq(got, v);
	ck_assert_int_eq(memcmp(imsg.data, &v, sizeof(v)), 0);
	imsg_free(&imsg);

	/* an empty payload */
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 2);
	ck_assert_int_eq(imsg_get_pid(&imsg), T_PID);
	ck_assert_uint_eq(imsg_get_len(&imsg), 0);
	ck_assert_ptr_null(imsg.data);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	errno = 0;
	ck_assert_int_eq(imsg_get_data(&imsg, &small, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	imsg_free(&imsg);
	chan_close(&c);
}
END_TEST

START_TEST(test_get_strbuf)
{
	struct chan	 c;
	struct imsg	 imsg;
	char		 str[8];

	chan_open(&c, 0, 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, "hello\0\0", 8), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 2, 0, 0, -1, "12345678", 8), 1);
	ck_assert_int_eq(imsg_compose(&c.a, 3, 0, 0, -1, "abc", 4), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_int_eq(imsg_get_strbuf(&imsg, str, sizeof(str)), 0);
	ck_assert_str_eq(str, "hello");
	imsg_free(&imsg);

	recv_one(&c.b, &imsg);
	errno = 0;
	ck_assert_int_eq(imsg_get_strbuf(&imsg, str, sizeof(str)), -1);
	ck_assert_int_eq(errno, EOVERFLOW);
	ck_assert_str_eq(str, "");
	imsg_free(&imsg);

	recv_one(&c.b, &imsg);
	errno = 0;
	ck_assert_int_eq(imsg_get_strbuf(&imsg, str, sizeof(str)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	imsg_free(&imsg);
	chan_close(&c);
}
END_TEST

START_TEST(test_get_buf_ibuf)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct ibuf	*b, payload;
	uint32_t	 v;
	uint16_t	 s;
	ssize_t		 n;

	chan_open(&c, 0, 0);
	ck_assert_ptr_nonnull(b = ibuf_dynamic(0, 64));
	ck_assert_int_eq(ibuf_add_n32(b, 0xdeadbeef), 0);
	ck_assert_int_eq(ibuf_add_n16(b, 0xcafe), 0);
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, ibuf_data(b),
	    ibuf_size(b)), 1);
	ibuf_free(b);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	ck_assert_int_eq(imsgbuf_read(&c.b), 1);
	n = imsg_get(&c.b, &imsg);
	ck_assert_int_eq(n, IMSG_HEADER_SIZE + 6);

	/* a view for variable-length parsing */
	ck_assert_int_eq(imsg_get_ibuf(&imsg, &payload), 0);
	ck_assert_int_eq(ibuf_get_n32(&payload, &v), 0);
	ck_assert_uint_eq(v, 0xdeadbeef);
	ck_assert_int_eq(ibuf_get_n16(&payload, &s), 0);
	ck_assert_uint_eq(s, 0xcafe);
	ck_assert_int_eq(ibuf_get_n8(&payload, (uint8_t *)&s), -1);

	/* sequential reads consume */
	ck_assert_int_eq(imsg_get_buf(&imsg, &v, sizeof(v)), 0);
	ck_assert_uint_eq(v, htonl(0xdeadbeef));
	errno = 0;
	ck_assert_int_eq(imsg_get_buf(&imsg, &v, sizeof(v)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(imsg_get_buf(&imsg, &s, sizeof(s)), 0);
	ck_assert_int_eq(imsg_get_buf(&imsg, &s, 1), -1);
	ck_assert_uint_eq(imsg_get_len(&imsg), 6);
	imsg_free(&imsg);
	ck_assert_int_eq(imsg_get(&c.b, &imsg), 0);
	chan_close(&c);
}
END_TEST

/*
 * building messages
 */

START_TEST(test_create_add_close)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct ibuf	*msg;
	unsigned char	*big;
	char		 got[12];
	int		 p[2], fd;

	ck_assert_ptr_nonnull(big = calloc(1, MAX_IMSGSIZE));
	chan_open(&c, 1, 1);
	ck_assert_ptr_nonnull(msg = imsg_create(&c.a, T_TYPE, T_ID, T_PID,
	    4));
	ck_assert_int_eq(imsg_add(msg, "abcd", 4), 4);
	/* more than announced grows the message, up to maxsize */
	ck_assert_int_eq(imsg_add(msg, "efgh", 4), 4);
	ck_assert_int_eq(imsg_add(msg, "ijkl", 4), 4);
	ck_assert_int_eq(imsg_add(msg, NULL, 0), 0);
	imsg_close(&c.a, msg);

	/* failing imsg_add frees the message (ASan would see a leak) */
	ck_assert_ptr_nonnull(msg = imsg_create(&c.a, 2, 0, 0, 0));
	errno = 0;
	ck_assert_int_eq(imsg_add(msg, big, MAX_IMSGSIZE), -1);
	ck_assert_int_eq(errno, ERANGE);
	errno = 0;
	ck_assert_int_eq(imsg_add(NULL, "x", 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	imsg_close(&c.a, NULL);

	/* imsg_set_maxsize narrows one message */
	ck_assert_ptr_nonnull(msg = imsg_create(&c.a, 3, 0, 0, 0));
	ck_assert_int_eq(imsg_set_maxsize(msg, 2), 0);
	ck_assert_int_eq(imsg_add(msg, "ab", 2), 2);
	ck_assert_int_eq(imsg_add(msg, "c", 1), -1);

	/* a descriptor set on a built message sets the mark */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_ptr_nonnull(msg = imsg_create(&c.a, 4, 0, 0, 0));
	ibuf_fd_set(msg, p[0]);
	imsg_close(&c.a, msg);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 2);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), T_TYPE);
	ck_assert_uint_eq(imsg_get_id(&imsg), T_ID);
	ck_assert_int_eq(imsg_get_pid(&imsg), T_PID);
	ck_assert_int_eq(imsg_get_data(&imsg, got, sizeof(got)), 0);
	ck_assert_int_eq(memcmp(got, "abcdefghijkl", 12), 0);
	ck_assert_int_eq(imsg_get_fd(&imsg), -1);
	imsg_free(&imsg);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 4);
	ck_assert_int_ge(fd = imsg_get_fd(&imsg), 0);
	imsg_free(&imsg);
	ck_assert(same_pipe(fd, p[1], 'z'));
	close(fd);
	close(p[1]);
	free(big);
	chan_close(&c);
}
END_TEST

START_TEST(test_compose_ibuf_composev)
{
	struct chan	 c;
	struct imsg	 imsg;
	struct ibuf	*b;
	struct iovec	 iov[3];
	char		 got[9];

	chan_open(&c, 0, 0);
	ck_assert_ptr_nonnull(b = ibuf_dynamic(0, 64));
	ck_assert_int_eq(ibuf_add(b, "payload", 7), 0);
	ck_assert_int_eq(imsg_compose_ibuf(&c.a, 1, 0, 0, b), 1);

	/* consumed even when refused (ASan would see a leak) */
	ck_assert_ptr_nonnull(b = ibuf_dynamic(0, 2 * MAX_IMSGSIZE));
	ck_assert_int_eq(ibuf_add_zero(b, MAX_IMSGSIZE), 0);
	errno = 0;
	ck_assert_int_eq(imsg_compose_ibuf(&c.a, 2, 0, 0, b), -1);
	ck_assert_int_eq(errno, ERANGE);
	ck_assert_int_eq(imsg_compose_ibuf(&c.a, 2, 0, 0, NULL), -1);

	iov[0].iov_base = "abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = NULL;
	iov[1].iov_len = 0;
	iov[2].iov_base = "defghi";
	iov[2].iov_len = 6;
	ck_assert_int_eq(imsg_composev(&c.a, 3, 0, 0, -1, iov, 3), 1);
	ck_assert_int_eq(imsg_composev(&c.a, 4, 0, 0, -1, iov, -1), -1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);

	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 1);
	ck_assert_int_eq(imsg_get_data(&imsg, got, 7), 0);
	ck_assert_int_eq(memcmp(got, "payload", 7), 0);
	imsg_free(&imsg);
	recv_one(&c.b, &imsg);
	ck_assert_uint_eq(imsg_get_type(&imsg), 3);
	ck_assert_int_eq(imsg_get_data(&imsg, got, 9), 0);
	ck_assert_int_eq(memcmp(got, "abcdefghi", 9), 0);
	imsg_free(&imsg);
	chan_close(&c);
}
END_TEST

START_TEST(test_forward)
{
	struct chan	 c, d;
	struct imsg	 imsg, fwd;
	char		 got[5];
	int		 p[2];

	ck_assert_int_eq(pipe(p), 0);
	chan_open(&c, 1, 1);
	chan_open(&d, 1, 1);
	ck_assert_int_eq(imsg_compose(&c.a, T_TYPE, T_ID, T_PID, p[0],
	    "hello", 5), 1);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	recv_one(&c.b, &imsg);

	/* consuming part of the payload does not shorten the forward */
	ck_assert_int_eq(imsg_get_buf(&imsg, got, 2), 0);
	ck_assert_int_eq(imsg_forward(&d.a, &imsg), 1);
	ck_assert_int_eq(imsg_forward(&d.a, &imsg), 1);
	ck_assert_int_eq(ibuf_fd_avail(imsg.buf), 1);
	imsg_free(&imsg);
	ck_assert_int_eq(imsgbuf_flush(&d.a), 0);

	recv_one(&d.b, &fwd);
	ck_assert_uint_eq(imsg_get_type(&fwd), T_TYPE);
	ck_assert_uint_eq(imsg_get_id(&fwd), T_ID);
	ck_assert_int_eq(imsg_get_pid(&fwd), T_PID);
	ck_assert_int_eq(imsg_get_data(&fwd, got, 5), 0);
	ck_assert_int_eq(memcmp(got, "hello", 5), 0);
	ck_assert_int_eq(imsg_get_fd(&fwd), -1);
	imsg_free(&fwd);
	recv_one(&d.b, &fwd);
	ck_assert_uint_eq(imsg_get_len(&fwd), 5);
	imsg_free(&fwd);
	close(p[1]);
	chan_close(&c);
	chan_close(&d);
}
END_TEST

/*
 * queues and writing
 */

START_TEST(test_flush)
{
	struct chan	 c;
	struct imsg	 imsg;
	uint32_t	 i, v;

	chan_open(&c, 0, 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(imsg_compose(&c.a, 1, i, 0, -1, &i,
		    sizeof(i)), 1);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 10);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 0);
	ck_assert_int_eq(imsgbuf_flush(&c.a), 0);
	for (i = 0; i < 10; i++) {
		recv_one(&c.b, &imsg);
		ck_assert_uint_eq(imsg_get_id(&imsg), i);
		ck_assert_int_eq(imsg_get_data(&imsg, &v, sizeof(v)), 0);
		ck_assert_uint_eq(v, i);
		imsg_free(&imsg);
	}
	chan_close(&c);
}
END_TEST

#define MANY	(3 * IOV_MAX + 7)

START_TEST(test_many_messages)
{
	struct chan	 c;
	struct imsg	 imsg;
	uint32_t	 i, v, next = 0;
	int		 spin, rv;

	chan_open(&c, 1, 1);
	set_nonblock(c.sv[0]);
	set_nonblock(c.sv[1]);
	for (i = 0; i < MANY; i++)
		ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, &i,
		    sizeof(i)), 1);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), MANY);
	/* one write sends at most IOV_MAX buffers */
	ck_assert_int_eq(imsgbuf_write(&c.a), 0);
	ck_assert_uint_ge(imsgbuf_queuelen(&c.a), MANY - IOV_MAX);
	ck_assert_uint_lt(imsgbuf_queuelen(&c.a), MANY);

	for (spin = 0; spin < SPIN_MAX && next < MANY; spin++) {
		ck_assert_int_eq(imsgbuf_write(&c.a), 0);
		ck_assert_int_eq(imsgbuf_read(&c.b), 1);
		while ((rv = imsgbuf_get(&c.b, &imsg)) == 1) {
			ck_assert_int_eq(imsg_get_data(&imsg, &v,
			    sizeof(v)), 0);
			ck_assert_uint_eq(v, next);
			next++;
			imsg_free(&imsg);
		}
		ck_assert_int_eq(rv, 0);
	}
	ck_assert_uint_eq(next, MANY);
	ck_assert_uint_eq(imsgbuf_queuelen(&c.a), 0);
	chan_close(&c);
}
END_TEST

START_TEST(test_write_epipe)
{
	struct chan	 c;

	/* no SIG_IGN here: the write must not raise SIGPIPE */
	chan_open(&c, 0, 0);
	close(c.sv[1]);
	c.sv[1] = -1;
	ck_assert_int_eq(imsg_compose(&c.a, 1, 0, 0, -1, "x", 1), 1);
	errno = 0;
	ck_assert_int_eq(imsgbuf_write(&c.a), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(imsgbuf_flush(&c.a), -1);
	imsgbuf_allow_fdpass(&c.a);
	ck_assert_int_eq(imsgbuf_write(&c.a), -1);
	ck_assert_int_eq(errno, EPIPE);
	chan_close(&c);
}
END_TEST

static Suite *
imsg_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("imsg");

	tc = tcase_create("ibuf");
	tcase_add_test(tc, test_ibuf_fixed_bounds);
	tcase_add_test(tc, test_ibuf_dynamic_bounds);
	tcase_add_test(tc, test_ibuf_get_bounds);
	tcase_add_test(tc, test_ibuf_value_range);
	tcase_add_test(tc, test_ibuf_byteorder);
	tcase_add_test(tc, test_ibuf_strings);
	tcase_add_test(tc, test_ibuf_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("framing");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_split_bytewise);
	tcase_add_test(tc, test_split_header);
	tcase_add_test(tc, test_straddle_read_chunk);
	tcase_add_test(tc, test_message_larger_than_read_chunk);
	tcase_add_test(tc, test_read_eagain);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, test_maxsize_compose);
	tcase_add_test(tc, test_maxsize_read);
	tcase_add_test(tc, test_len_below_header);
	tcase_add_test(tc, test_len_oversized);
	tcase_add_test(tc, test_set_maxsize);
	suite_add_tcase(s, tc);

	tc = tcase_create("eof");
	tcase_add_test(tc, test_eof_mid_message);
	tcase_add_test(tc, test_eof_clean);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdpass");
	tcase_add_test(tc, test_fd_single);
	tcase_add_test(tc, test_fd_twice);
	tcase_add_test(tc, test_fd_mixed);
	tcase_add_test(tc, test_fd_burst_one_read);
	tcase_add_test(tc, test_fd_burst_limited);
	tcase_add_test(tc, test_fd_burst_then_eof);
	tcase_add_test(tc, test_fd_not_allowed_on_reader);
	tcase_add_test(tc, test_fd_missing);
	tcase_add_test(tc, test_fd_unclaimed_closed);
	tcase_add_test(tc, test_fd_extra_closed);
	tcase_add_test(tc, test_free_closes_unclaimed_fd);
	tcase_add_test(tc, test_compose_consumes_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdboundary");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fd_boundary_swap);
	tcase_add_test(tc, test_fd_boundary_swap_forked);
	tcase_add_test(tc, test_fd_boundary_split_header);
	tcase_add_test(tc, test_fd_boundary_split_payload);
	tcase_add_test(tc, test_fd_boundary_back_to_back);
	tcase_add_test(tc, test_fd_boundary_stray);
	tcase_add_test(tc, test_fd_boundary_unmarked_kept);
	suite_add_tcase(s, tc);

	tc = tcase_create("accessors");
	tcase_add_test(tc, test_get_data);
	tcase_add_test(tc, test_get_strbuf);
	tcase_add_test(tc, test_get_buf_ibuf);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_create_add_close);
	tcase_add_test(tc, test_compose_ibuf_composev);
	tcase_add_test(tc, test_forward);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_many_messages);
	tcase_add_test(tc, test_write_epipe);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(imsg_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
