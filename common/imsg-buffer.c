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
 * struct ibuf, a bounded byte buffer that is built with ibuf_add*() and
 * parsed with ibuf_get*(), and struct msgbuf, the write queue and the
 * framing reader of one stream socket.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#ifndef IOV_MAX
#define IOV_MAX		1024
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0
#endif

/*
 * The fd slot of a buffer set up by ibuf_from_buffer(): it does not own
 * its memory, so it is never grown, written, queued or freed.
 */
#define IBUF_FD_STATIC	(-2)

struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;		/* waiting to be written */
	TAILQ_HEAD(, ibuf)	 rbufs;		/* complete messages read */
	uint32_t		 queued;	/* length of bufs */
	unsigned char		*rbuf;		/* IBUF_READ_SIZE bytes */
	size_t			 rlen;		/* incomplete header in rbuf */
	size_t			 hdrsize;
	struct ibuf		*rpmsg;		/* message being filled */
	struct ibuf		*(*readhdr)(struct ibuf *, void *, int *);
	void			*rarg;
	int			 rfd;		/* for the kept header */
	int			 rerrno;	/* not 0: stream broken */
};

static int	 ibuf_grow(struct ibuf *, size_t);
static int	 ibuf_is_static(const struct ibuf *);
static void	 msgbuf_dequeue(struct msgbuf *, struct ibuf *);
static void	 msgbuf_drain(struct msgbuf *, size_t);
static int	 msgbuf_gather(struct msgbuf *, struct iovec *, int);
static int	 msgbuf_frame(struct msgbuf *, size_t, int);
static int	 msgbuf_reader_ok(struct msgbuf *);
static int	 msgbuf_recv_one(int, struct msgbuf *, int);
static void	 msgbuf_close_rfd(struct msgbuf *);
static void	 close_keep_errno(int);

static int
ibuf_is_static(const struct ibuf *buf)
{
	return (buf->fd == IBUF_FD_STATIC);
}

static void
close_keep_errno(int fd)
{
	int	 saved_errno = errno;

	close(fd);
	errno = saved_errno;
}

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if (len == 0) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if ((buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = buf->max = len;
	buf->fd = -1;
	return (buf);
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;
	size_t		 alloc;

	if (max == 0 || max < len) {
		errno = EINVAL;
		return (NULL);
	}
	/* Always own some memory, so that a reservation is never NULL. */
	alloc = len > 0 ? len : 1;
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if ((buf->buf = calloc(alloc, 1)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = alloc;
	buf->max = max;
	buf->fd = -1;
	return (buf);
}

/* Make room for len more bytes at wpos, within max. */
static int
ibuf_grow(struct ibuf *buf, size_t len)
{
	unsigned char	*p;
	size_t		 need, newsize;

	if (ibuf_is_static(buf)) {
		errno = EINVAL;
		return (-1);
	}
	if (len > SIZE_MAX - buf->wpos || buf->wpos + len > buf->max) {
		errno = ERANGE;
		return (-1);
	}
	need = buf->wpos + len;
	if (need <= buf->size)
		return (0);

	/* Double, so that many small additions stay linear. */
	if (buf->size > buf->max / 2)
		newsize = buf->max;
	else
		newsize = buf->size * 2;
	if (newsize < need)
		newsize = need;
	/* recallocarray() wipes the old block: it may hold keys. */
	if ((p = recallocarray(buf->buf, buf->size, newsize, 1)) == NULL)
		return (-1);
	buf->buf = p;
	buf->size = newsize;
	return (0);
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	void	*p;

	if (ibuf_grow(buf, len) == -1)
		return (NULL);
	p = buf->buf + buf->wpos;
	buf->wpos += len;
	return (p);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*p;

	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	if (len > 0)
		memcpy(p, data, len);
	return (0);
}

int
ibuf_add_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	size_t	 len, off;
	void	*p;

	if (buf != from)
		return (ibuf_add(buf, ibuf_data(from), ibuf_size(from)));

	/* Appending a buffer to itself: growing may move the source. */
	len = ibuf_size(buf);
	off = buf->rpos;
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	if (len > 0)
		memcpy(p, buf->buf + off, len);
	return (0);
}

int
ibuf_add_buf(struct ibuf *buf, const struct ibuf *from)
{
	return (ibuf_add_ibuf(buf, from));
}

int
ibuf_add_zero(struct ibuf *buf, size_t len)
{
	void	*p;

	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	if (len > 0)
		memset(p, 0, len);
	return (0);
}

int
ibuf_add_n8(struct ibuf *buf, uint64_t value)
{
	uint8_t	 v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n16(struct ibuf *buf, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16((uint16_t)value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n32(struct ibuf *buf, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32((uint32_t)value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_n64(struct ibuf *buf, uint64_t value)
{
	uint64_t v;

	v = htobe64(value);
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h16(struct ibuf *buf, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h32(struct ibuf *buf, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_add(buf, &v, sizeof(v)));
}

int
ibuf_add_h64(struct ibuf *buf, uint64_t value)
{
	return (ibuf_add(buf, &value, sizeof(value)));
}

void *
ibuf_seek(struct ibuf *buf, size_t pos, size_t len)
{
	size_t	 size = ibuf_size(buf);

	if (pos > size || len > size - pos || buf->buf == NULL) {
		errno = ERANGE;
		return (NULL);
	}
	return (buf->buf + buf->rpos + pos);
}

int
ibuf_set(struct ibuf *buf, size_t pos, const void *data, size_t len)
{
	void	*p;

	if (ibuf_is_static(buf)) {
		errno = EINVAL;
		return (-1);
	}
	if ((p = ibuf_seek(buf, pos, len)) == NULL)
		return (-1);
	if (len > 0)
		memcpy(p, data, len);
	return (0);
}

int
ibuf_set_n8(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint8_t	 v;

	if (value > UINT8_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe16((uint16_t)value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = htobe32((uint32_t)value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_n64(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint64_t v;

	v = htobe64(value);
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h16(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint16_t v;

	if (value > UINT16_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h32(struct ibuf *buf, size_t pos, uint64_t value)
{
	uint32_t v;

	if (value > UINT32_MAX) {
		errno = EINVAL;
		return (-1);
	}
	v = value;
	return (ibuf_set(buf, pos, &v, sizeof(v)));
}

int
ibuf_set_h64(struct ibuf *buf, size_t pos, uint64_t value)
{
	return (ibuf_set(buf, pos, &value, sizeof(value)));
}

/* Only lowers the bound; the data already written must fit. */
int
ibuf_set_maxsize(struct ibuf *buf, size_t max)
{
	if (ibuf_is_static(buf)) {
		errno = EINVAL;
		return (-1);
	}
	if (max < buf->wpos || max > buf->max) {
		errno = ERANGE;
		return (-1);
	}
	buf->max = max;
	return (0);
}

void *
ibuf_data(const struct ibuf *buf)
{
	if (buf->buf == NULL)
		return (NULL);
	return (buf->buf + buf->rpos);
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return (buf->wpos - buf->rpos);
}

size_t
ibuf_left(const struct ibuf *buf)
{
	if (ibuf_is_static(buf))
		return (0);
	return (buf->max - buf->wpos);
}

int
ibuf_truncate(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) >= len) {
		buf->wpos = buf->rpos + len;
		return (0);
	}
	return (ibuf_add_zero(buf, len - ibuf_size(buf)));
}

void
ibuf_rewind(struct ibuf *buf)
{
	buf->rpos = 0;
}

void
ibuf_close(struct msgbuf *msgbuf, struct ibuf *buf)
{
	if (buf == NULL || ibuf_is_static(buf))
		return;
	if (msgbuf == NULL) {
		ibuf_free(buf);
		return;
	}
	TAILQ_INSERT_TAIL(&msgbuf->bufs, buf, entry);
	msgbuf->queued++;
}

void
ibuf_from_buffer(struct ibuf *buf, void *data, size_t len)
{
	memset(buf, 0, sizeof(*buf));
	buf->buf = data;
	buf->size = buf->max = buf->wpos = len;
	buf->fd = IBUF_FD_STATIC;
}

void
ibuf_from_ibuf(struct ibuf *buf, const struct ibuf *from)
{
	ibuf_from_buffer(buf, ibuf_data(from), ibuf_size(from));
}

int
ibuf_get(struct ibuf *buf, void *data, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_ibuf(struct ibuf *buf, size_t len, struct ibuf *new)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	ibuf_from_buffer(new, ibuf_data(buf), len);
	buf->rpos += len;
	return (0);
}

int
ibuf_get_n8(struct ibuf *buf, uint8_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_n16(struct ibuf *buf, uint16_t *value)
{
	uint16_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be16toh(v);
	return (0);
}

int
ibuf_get_n32(struct ibuf *buf, uint32_t *value)
{
	uint32_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be32toh(v);
	return (0);
}

int
ibuf_get_n64(struct ibuf *buf, uint64_t *value)
{
	uint64_t v;

	if (ibuf_get(buf, &v, sizeof(v)) == -1)
		return (-1);
	*value = be64toh(v);
	return (0);
}

int
ibuf_get_h16(struct ibuf *buf, uint16_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h32(struct ibuf *buf, uint32_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

int
ibuf_get_h64(struct ibuf *buf, uint64_t *value)
{
	return (ibuf_get(buf, value, sizeof(*value)));
}

/* Consumes len bytes and returns them up to the first NUL, allocated. */
char *
ibuf_get_string(struct ibuf *buf, size_t len)
{
	const unsigned char	*p, *nul;
	char			*str;
	size_t			 n;

	if (ibuf_size(buf) < len || len == SIZE_MAX) {
		errno = EBADMSG;
		return (NULL);
	}
	p = ibuf_data(buf);
	n = 0;
	if (len > 0) {
		nul = memchr(p, '\0', len);
		n = nul != NULL ? (size_t)(nul - p) : len;
	}
	if ((str = malloc(n + 1)) == NULL)
		return (NULL);
	if (n > 0)
		memcpy(str, p, n);
	str[n] = '\0';
	buf->rpos += len;
	return (str);
}

/*
 * Copies a fixed-size field of len bytes that must hold a NUL.  On
 * failure nothing is consumed and str is left empty.
 */
int
ibuf_get_strbuf(struct ibuf *buf, char *str, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	str[0] = '\0';
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	if (memchr(ibuf_data(buf), '\0', len) == NULL) {
		errno = EOVERFLOW;
		return (-1);
	}
	return (ibuf_get(buf, str, len));
}

int
ibuf_skip(struct ibuf *buf, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	buf->rpos += len;
	return (0);
}

/* Keeps errno, so that error paths may free before they return. */
void
ibuf_free(struct ibuf *buf)
{
	int	 saved_errno;

	if (buf == NULL || ibuf_is_static(buf))
		return;
	saved_errno = errno;
	if (buf->fd >= 0)
		close(buf->fd);
	freezero(buf->buf, buf->size);
	free(buf);
	errno = saved_errno;
}

int
ibuf_fd_avail(struct ibuf *buf)
{
	return (buf->fd >= 0);
}

int
ibuf_fd_get(struct ibuf *buf)
{
	int	 fd;

	if (buf->fd < 0)
		return (-1);
	fd = buf->fd;
	buf->fd = -1;
	return (fd);
}

void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (ibuf_is_static(buf)) {
		/* It cannot carry one: the descriptor is still consumed. */
		if (fd >= 0)
			close_keep_errno(fd);
		return;
	}
	if (buf->fd >= 0)
		close_keep_errno(buf->fd);
	buf->fd = fd >= 0 ? fd : -1;
}

struct msgbuf *
msgbuf_new(void)
{
	struct msgbuf	*msgbuf;

	if ((msgbuf = calloc(1, sizeof(*msgbuf))) == NULL)
		return (NULL);
	TAILQ_INIT(&msgbuf->bufs);
	TAILQ_INIT(&msgbuf->rbufs);
	msgbuf->rfd = -1;
	return (msgbuf);
}

/*
 * A msgbuf that also reads: readhdr sees the first hdrsz bytes of each
 * message and returns an ibuf whose room (ibuf_left) is the size of the
 * whole message, header included, as ibuf_open(len) makes.  It may take
 * the received descriptor from *fd (and set *fd to -1).  It returns NULL
 * with errno set to refuse the message; the stream is then unusable.
 */
struct msgbuf *
msgbuf_new_reader(size_t hdrsz,
    struct ibuf *(*readhdr)(struct ibuf *, void *, int *), void *arg)
{
	struct msgbuf	*msgbuf;

	if (hdrsz == 0 || hdrsz > IBUF_READ_SIZE || readhdr == NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if ((msgbuf = msgbuf_new()) == NULL)
		return (NULL);
	if ((msgbuf->rbuf = calloc(IBUF_READ_SIZE, 1)) == NULL) {
		free(msgbuf);
		return (NULL);
	}
	msgbuf->hdrsize = hdrsz;
	msgbuf->readhdr = readhdr;
	msgbuf->rarg = arg;
	return (msgbuf);
}

void
msgbuf_free(struct msgbuf *msgbuf)
{
	if (msgbuf == NULL)
		return;
	msgbuf_clear(msgbuf);
	freezero(msgbuf->rbuf, msgbuf->rbuf != NULL ? IBUF_READ_SIZE : 0);
	free(msgbuf);
}

/* Drops everything queued in both directions; the reader starts afresh. */
void
msgbuf_clear(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL)
		msgbuf_dequeue(msgbuf, buf);
	while ((buf = TAILQ_FIRST(&msgbuf->rbufs)) != NULL) {
		TAILQ_REMOVE(&msgbuf->rbufs, buf, entry);
		ibuf_free(buf);
	}
	ibuf_free(msgbuf->rpmsg);
	msgbuf->rpmsg = NULL;
	msgbuf_close_rfd(msgbuf);
	if (msgbuf->rbuf != NULL)
		explicit_bzero(msgbuf->rbuf, msgbuf->rlen);
	msgbuf->rlen = 0;
	msgbuf->rerrno = 0;
}

uint32_t
msgbuf_queuelen(struct msgbuf *msgbuf)
{
	if (msgbuf == NULL)
		return (0);
	return (msgbuf->queued);
}

struct ibuf *
msgbuf_get(struct msgbuf *msgbuf)
{
	struct ibuf	*buf;

	if (msgbuf == NULL || (buf = TAILQ_FIRST(&msgbuf->rbufs)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&msgbuf->rbufs, buf, entry);
	return (buf);
}

static void
msgbuf_dequeue(struct msgbuf *msgbuf, struct ibuf *buf)
{
	TAILQ_REMOVE(&msgbuf->bufs, buf, entry);
	msgbuf->queued--;
	ibuf_free(buf);
}

/* Forget the first n bytes of the write queue: they were sent. */
static void
msgbuf_drain(struct msgbuf *msgbuf, size_t n)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&msgbuf->bufs)) != NULL) {
		if (n < ibuf_size(buf)) {
			buf->rpos += n;
			break;
		}
		n -= ibuf_size(buf);
		msgbuf_dequeue(msgbuf, buf);
	}
}

/*
 * Fill iov from the write queue, at most IOV_MAX entries.  With fdpass,
 * stop before a buffer that carries a descriptor unless it is first, so
 * that a descriptor always leaves with the first byte of its message
 * and one sendmsg never carries two.
 */
static int
msgbuf_gather(struct msgbuf *msgbuf, struct iovec *iov, int fdpass)
{
	struct ibuf	*buf;
	int		 n = 0;

	if (msgbuf == NULL)
		return (0);
	TAILQ_FOREACH(buf, &msgbuf->bufs, entry) {
		if (n == IOV_MAX)
			break;
		if (fdpass && n > 0 && buf->fd >= 0)
			break;
		iov[n].iov_base = ibuf_data(buf);
		iov[n].iov_len = ibuf_size(buf);
		n++;
	}
	return (n);
}

/*
 * Writes without passing descriptors: buffers that hold one are sent
 * without it and the descriptor is closed with the buffer.  On a socket
 * it uses sendmsg(MSG_NOSIGNAL), so a vanished peer gives EPIPE rather
 * than SIGPIPE; on anything else writev(2).
 */
int
ibuf_write(int fd, struct msgbuf *msgbuf)
{
	struct iovec	 iov[IOV_MAX];
	struct msghdr	 msg;
	ssize_t		 n;
	int		 iovcnt, sock = 1;

	if ((iovcnt = msgbuf_gather(msgbuf, iov, 0)) == 0)
		return (0);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = iovcnt;
	for (;;) {
		if (sock)
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		else
			n = writev(fd, iov, iovcnt);
		if (n != -1)
			break;
		if (errno == ENOTSOCK && sock) {
			sock = 0;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return (0);
		return (-1);
	}
	msgbuf_drain(msgbuf, n);
	return (0);
}

int
msgbuf_write(int fd, struct msgbuf *msgbuf)
{
	struct iovec	 iov[IOV_MAX];
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*first;
	ssize_t		 n;
	int		 iovcnt;

	if ((iovcnt = msgbuf_gather(msgbuf, iov, 1)) == 0)
		return (0);
	first = TAILQ_FIRST(&msgbuf->bufs);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = iovcnt;
	if (first->fd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &first->fd, sizeof(int));
	}
	while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return (0);
		return (-1);
	}
	if (msg.msg_control != NULL) {
		/* The peer holds its own reference now. */
		close(first->fd);
		first->fd = -1;
	}
	msgbuf_drain(msgbuf, n);
	return (0);
}

static int
msgbuf_reader_ok(struct msgbuf *msgbuf)
{
	if (msgbuf == NULL || msgbuf->rbuf == NULL) {
		errno = EINVAL;
		return (0);
	}
	if (msgbuf->rerrno != 0) {
		errno = msgbuf->rerrno;
		return (0);
	}
	return (1);
}

static void
msgbuf_close_rfd(struct msgbuf *msgbuf)
{
	if (msgbuf->rfd >= 0) {
		close_keep_errno(msgbuf->rfd);
		msgbuf->rfd = -1;
	}
}

/*
 * Split the n bytes just read, which follow the rlen bytes of an
 * incomplete header kept from the last read, into messages.
 *
 * Descriptors.  The writer sends at most one per sendmsg, together with
 * the first byte of the message that carries it, and recvmsg returns
 * at most one per call.  So a descriptor belongs to a header that
 * starts in the bytes it came with, never to an earlier or a later one:
 * - msgbuf->rfd came with the first byte of the kept header: only that
 *   header may claim it, and it is closed once that header is parsed;
 * - newfd came with the n new bytes: the first header that starts in
 *   them and asks for a descriptor claims it.  If the bytes end in an
 *   incomplete header that starts in them, newfd is kept for it as the
 *   next rfd; otherwise no message can claim it and it is closed.
 * Hence at most two descriptors are held at once, and none is closed
 * while a message that may claim it is still incomplete.
 */
static int
msgbuf_frame(struct msgbuf *msgbuf, size_t n, int newfd)
{
	struct ibuf	 hdr;
	struct ibuf	*m;
	size_t		 avail, kept, pos = 0, take;
	int		 saved_errno, *fdp;

	kept = msgbuf->rlen;
	avail = kept + n;
	while (pos < avail) {
		if (msgbuf->rpmsg == NULL) {
			if (avail - pos < msgbuf->hdrsize)
				break;
			/* Only the kept header starts before the new bytes. */
			fdp = pos < kept ? &msgbuf->rfd : &newfd;
			ibuf_from_buffer(&hdr, msgbuf->rbuf + pos,
			    msgbuf->hdrsize);
			m = msgbuf->readhdr(&hdr, msgbuf->rarg, fdp);
			if (fdp == &msgbuf->rfd)
				msgbuf_close_rfd(msgbuf);
			if (m == NULL)
				goto fail;
			if (ibuf_left(m) == 0) {
				ibuf_free(m);
				errno = EINVAL;
				goto fail;
			}
			msgbuf->rpmsg = m;
		}
		take = ibuf_left(msgbuf->rpmsg);
		if (take > avail - pos)
			take = avail - pos;
		if (ibuf_add(msgbuf->rpmsg, msgbuf->rbuf + pos, take) == -1)
			goto fail;
		pos += take;
		if (ibuf_left(msgbuf->rpmsg) == 0) {
			TAILQ_INSERT_TAIL(&msgbuf->rbufs, msgbuf->rpmsg, entry);
			msgbuf->rpmsg = NULL;
		}
	}

	/* Keep an incomplete header; wipe what was copied out. */
	msgbuf->rlen = avail - pos;
	if (msgbuf->rlen > 0)
		memmove(msgbuf->rbuf, msgbuf->rbuf + pos, msgbuf->rlen);
	explicit_bzero(msgbuf->rbuf + msgbuf->rlen, avail - msgbuf->rlen);

	/*
	 * pos < kept: the kept header is still incomplete and keeps rfd;
	 * the new bytes are all inside it, so newfd belongs to nothing.
	 * Otherwise what is left, if anything, starts in the new bytes.
	 */
	if (pos >= kept) {
		msgbuf_close_rfd(msgbuf);
		if (msgbuf->rlen > 0) {
			msgbuf->rfd = newfd;
			newfd = -1;
		}
	}
	if (newfd >= 0)
		close_keep_errno(newfd);
	return (1);

 fail:
	saved_errno = errno != 0 ? errno : EBADMSG;
	msgbuf->rerrno = saved_errno;
	ibuf_free(msgbuf->rpmsg);
	msgbuf->rpmsg = NULL;
	msgbuf_close_rfd(msgbuf);
	if (newfd >= 0)
		close(newfd);
	explicit_bzero(msgbuf->rbuf, avail);
	msgbuf->rlen = 0;
	errno = saved_errno;
	return (-1);
}

/* Reads with read(2): a descriptor sent along is discarded by the kernel. */
int
ibuf_read(int fd, struct msgbuf *msgbuf)
{
	ssize_t	 n;

	if (!msgbuf_reader_ok(msgbuf))
		return (-1);
	while ((n = read(fd, msgbuf->rbuf + msgbuf->rlen,
	    IBUF_READ_SIZE - msgbuf->rlen)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (1);
		return (-1);
	}
	if (n == 0)
		return (0);
	return (msgbuf_frame(msgbuf, n, -1));
}

/* One recvmsg: 1 read, 0 end of file, 2 nothing to read now, -1 error. */
static int
msgbuf_recv_one(int fd, struct msgbuf *msgbuf, int flags)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 i, nfds;
	int		 newfd = -1, f;

#ifdef MSG_CMSG_CLOEXEC
	flags |= MSG_CMSG_CLOEXEC;
#endif
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = msgbuf->rbuf + msgbuf->rlen;
	iov.iov_len = IBUF_READ_SIZE - msgbuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	while ((n = recvmsg(fd, &msg, flags)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (2);
		return (-1);
	}

	/*
	 * The buffer is sized for one descriptor, but alignment may leave
	 * room for a second: keep the first, close any other.
	 */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(f));
			if (newfd == -1)
				newfd = f;
			else
				close(f);
		}
	}

	if (n == 0) {
		if (newfd >= 0)
			close(newfd);
		return (0);
	}
	return (msgbuf_frame(msgbuf, n, newfd));
}

/*
 * A stream socket returns the bytes of one descriptor-carrying sendmsg
 * per recvmsg at most, so one recvmsg would take one request per turn of
 * the event loop.  Read on until the socket is empty, reads times at
 * most, so that a burst of requests is seen, and can be handled, as one.
 * Returns 1 when it read something or the socket was empty, 0 at end of
 * file with nothing read, -1 on error.
 */
int
msgbuf_read(int fd, struct msgbuf *msgbuf, int reads)
{
	int	i, rc;

	if (!msgbuf_reader_ok(msgbuf))
		return (-1);
	for (i = 0; i < reads; i++) {
		/* the first read blocks if the socket does; no other */
		if ((rc = msgbuf_recv_one(fd, msgbuf,
		    i == 0 ? 0 : MSG_DONTWAIT)) == 2)
			return (1);
		if (rc == -1)
			return (-1);
		if (rc == 0)
			/* what came before the end is handled first */
			return (i == 0 ? 0 : 1);
	}
	return (1);
}
