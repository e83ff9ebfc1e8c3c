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
 * libFuzzer target for the imsg reader: the input is written, in chunks,
 * into a real socketpair whose other end an imsgbuf reads; every message
 * that comes out goes through the payload accessors and imsg_forward().
 *
 * Input: byte 0 flags, byte 1 chunk size (0: as much as fits), then the
 * byte stream.  Flags:
 *	0x01	the reader passes descriptors (recvmsg instead of read)
 *	0x06	maxsize: default, header only, 64 byte payload, 100000
 *	0x08	send a descriptor along with the first chunk
 *	0x10	send a descriptor along with every chunk
 * A descriptor the library leaks or closes twice aborts the run.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define F_FDPASS	0x01
#define F_MAXSIZE(f)	(((f) >> 1) & 0x03)
#define F_FD_FIRST	0x08
#define F_FD_EVERY	0x10

#define SPIN_MAX	100000
#define FD_WATCH	128

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Which of the first FD_WATCH descriptors are open: a run must leave
 * the same set behind, or the library leaked or closed one wrongly.
 */
static void
fd_snapshot(uint8_t *open_fds)
{
	int	 fd;

	for (fd = 0; fd < FD_WATCH; fd++)
		open_fds[fd] = fcntl(fd, F_GETFD) != -1;
}

/* Write up to len bytes, with a descriptor of /dev/null if withfd. */
static ssize_t
send_chunk(int sock, const uint8_t *data, size_t len, int withfd)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	ssize_t		 n;
	int		 fd = -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (withfd) {
		if ((fd = open("/dev/null", O_RDONLY)) == -1)
			abort();
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (fd != -1)
		close(fd);
	return (n);
}

static void
exercise(struct imsg *imsg, struct imsgbuf *fw)
{
	struct ibuf	 payload;
	unsigned char	*copy;
	char		 str[16], *s;
	uint64_t	 v64;
	uint32_t	 v32;
	uint16_t	 v16;
	uint8_t		 v8;
	size_t		 len;
	int		 fd;

	(void)imsg_get_type(imsg);
	(void)imsg_get_id(imsg);
	(void)imsg_get_pid(imsg);
	len = imsg_get_len(imsg);

	/* an exact-size heap copy, so that ASan sees any overrun */
	if (len > 0 && (copy = malloc(len)) != NULL) {
		if (imsg_get_data(imsg, copy, len) != 0)
			abort();
		if (imsg->data == NULL || memcmp(copy, imsg->data, len) != 0)
			abort();
		free(copy);
	}
	if (imsg_get_data(imsg, &v32, sizeof(v32)) == 0 && len != sizeof(v32))
		abort();

	if (imsg_get_ibuf(imsg, &payload) == 0) {
		(void)ibuf_get_n8(&payload, &v8);
		(void)ibuf_get_n16(&payload, &v16);
		(void)ibuf_get_h32(&payload, &v32);
		(void)ibuf_get_n64(&payload, &v64);
		if ((s = ibuf_get_string(&payload, v8 % 32)) != NULL)
			free(s);
		(void)ibuf_get_strbuf(&payload, str, sizeof(str));
		(void)ibuf_skip(&payload, v8);
	}

	(void)imsg_forward(fw, imsg);
	(void)imsg_get_strbuf(imsg, str, 1 + imsg_get_type(imsg) %
	    sizeof(str));
	(void)imsg_get_buf(imsg, &v16, sizeof(v16));

	/* claim the descriptor of some messages, leave others to imsg_free */
	if (imsg_get_type(imsg) & 1) {
		if ((fd = imsg_get_fd(imsg)) != -1)
			close(fd);
	}
	imsg_free(imsg);
}

/* 1: keep going, 0: EOF, -1: the channel is dead. */
static int
drain(struct imsgbuf *rd, struct imsgbuf *fw)
{
	struct imsg	 imsg;
	int		 rv, n;

	rv = imsgbuf_read(rd);
	while ((n = imsgbuf_get(rd, &imsg)) == 1)
		exercise(&imsg, fw);
	if (n == -1)
		return (-1);
	(void)imsgbuf_write(fw);
	return (rv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxsizes[] = { 0, 0, 64, 100000 };
	struct imsgbuf	 rd, fw;
	size_t		 off = 0, step, n;
	ssize_t		 w;
	uint8_t		 flags, fds_before[FD_WATCH], fds_after[FD_WATCH];
	int		 sv[2], out[2], spin, rv = 1;

	if (size < 2)
		return (0);
	flags = data[0];
	step = data[1] != 0 ? data[1] : size;
	data += 2;
	size -= 2;

	fd_snapshot(fds_before);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, out) == -1)
		abort();
	if (imsgbuf_init(&rd, sv[1]) == -1 || imsgbuf_init(&fw, out[0]) == -1)
		abort();
	if (flags & F_FDPASS)
		imsgbuf_allow_fdpass(&rd);
	imsgbuf_allow_fdpass(&fw);
	if (F_MAXSIZE(flags) != 0 &&
	    imsgbuf_set_maxsize(&rd, maxsizes[F_MAXSIZE(flags)]) == -1)
		abort();

	for (spin = 0; off < size && rv == 1 && spin < SPIN_MAX; spin++) {
		n = size - off;
		if (n > step)
			n = step;
		w = send_chunk(sv[0], data + off, n,
		    (flags & F_FD_EVERY) || (off == 0 && (flags & F_FD_FIRST)));
		if (w > 0)
			off += w;
		else if (w == -1 && errno != EAGAIN)
			abort();
		rv = drain(&rd, &fw);
	}
	if (rv == 1) {
		shutdown(sv[0], SHUT_WR);
		for (spin = 0; rv == 1 && spin < SPIN_MAX; spin++)
			rv = drain(&rd, &fw);
	}

	imsgbuf_clear(&rd);
	imsgbuf_clear(&fw);
	close(sv[0]);
	close(sv[1]);
	close(out[0]);
	close(out[1]);
	fd_snapshot(fds_after);
	if (memcmp(fds_before, fds_after, sizeof(fds_before)) != 0)
		abort();
	return (0);
}
