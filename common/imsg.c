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
 * imsg channels over a stream socket: a 16-byte native header framed
 * by msgbuf, optional descriptor passing, accessors that bound every
 * read of a payload.
 *
 * Ownership: imsg_compose() and imsg_composev() always consume their
 * descriptor; imsg_get_fd() hands it to the caller; imsg_free() closes
 * one nobody claimed; imsg_add() frees the message when it fails;
 * imsg_compose_ibuf() always consumes its buffer.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

/* Set when a header with a bad length was read: the channel is dead. */
#define IMSGBUF_BROKEN	0x100

static struct ibuf	*imsg_parse_hdr(struct ibuf *, void *, int *);
static void		 imsg_drop_fd(int);

int
imsgbuf_init(struct imsgbuf *imsgbuf, int fd)
{
	memset(imsgbuf, 0, sizeof(*imsgbuf));
	imsgbuf->w = msgbuf_new_reader(IMSG_HEADER_SIZE, imsg_parse_hdr,
	    imsgbuf);
	if (imsgbuf->w == NULL)
		return (-1);
	imsgbuf->pid = getpid();
	imsgbuf->maxsize = MAX_IMSGSIZE;
	imsgbuf->fd = fd;
	imsgbuf->flags = 0;
	imsgbuf->reads = IMSGBUF_READS;
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *imsgbuf)
{
	imsgbuf->flags |= IMSG_ALLOW_FDPASS;
}

/*
 * How many descriptor-carrying messages one imsgbuf_read() may take (one
 * recvmsg each): IMSGBUF_READS by default, 1 for a channel whose other
 * end should not place more descriptors in this process at once.
 */
void
imsgbuf_set_reads(struct imsgbuf *imsgbuf, int reads)
{
	imsgbuf->reads = reads < 1 ? 1 : reads;
}

/* max is the largest payload; the header comes on top. */
int
imsgbuf_set_maxsize(struct imsgbuf *imsgbuf, uint32_t max)
{
	if (max > UINT32_MAX - IMSG_HEADER_SIZE ||
	    ((max + IMSG_HEADER_SIZE) & IMSG_FD_MARK) != 0) {
		errno = ERANGE;
		return (-1);
	}
	imsgbuf->maxsize = max + IMSG_HEADER_SIZE;
	return (0);
}

int
imsgbuf_read(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->flags & IMSGBUF_BROKEN) {
		errno = ERANGE;
		return (-1);
	}
	if (imsgbuf->flags & IMSG_ALLOW_FDPASS)
		return (msgbuf_read(imsgbuf->fd, imsgbuf->w,
		    imsgbuf->reads));
	return (ibuf_read(imsgbuf->fd, imsgbuf->w));
}

int
imsgbuf_write(struct imsgbuf *imsgbuf)
{
	if (imsgbuf->flags & IMSG_ALLOW_FDPASS)
		return (msgbuf_write(imsgbuf->fd, imsgbuf->w));
	return (ibuf_write(imsgbuf->fd, imsgbuf->w));
}

/* Busy-loops on a non-blocking socket: start-up, shutdown and pvctl only. */
int
imsgbuf_flush(struct imsgbuf *imsgbuf)
{
	while (imsgbuf_queuelen(imsgbuf) > 0) {
		if (imsgbuf_write(imsgbuf) == -1)
			return (-1);
	}
	return (0);
}

void
imsgbuf_clear(struct imsgbuf *imsgbuf)
{
	msgbuf_free(imsgbuf->w);
	imsgbuf->w = NULL;
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *imsgbuf)
{
	return (msgbuf_queuelen(imsgbuf->w));
}

/*
 * The msgbuf framing callback: check the length of one header and
 * return a buffer for the whole message, with the descriptor received
 * alongside if the header asks for one.
 */
static struct ibuf *
imsg_parse_hdr(struct ibuf *hdrbuf, void *arg, int *fd)
{
	struct imsgbuf	*imsgbuf = arg;
	struct imsg_hdr	 hdr;
	struct ibuf	*buf;
	uint32_t	 len;

	if (ibuf_get(hdrbuf, &hdr, sizeof(hdr)) == -1)
		return (NULL);
	len = hdr.len & ~IMSG_FD_MARK;
	if (len < IMSG_HEADER_SIZE || len > imsgbuf->maxsize) {
		imsgbuf->flags |= IMSGBUF_BROKEN;
		errno = ERANGE;
		return (NULL);
	}
	if ((buf = ibuf_open(len)) == NULL)
		return (NULL);
	if ((hdr.len & IMSG_FD_MARK) && *fd >= 0) {
		ibuf_fd_set(buf, *fd);
		*fd = -1;
	}
	return (buf);
}

int
imsgbuf_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct imsg	 m;
	struct ibuf	*buf;

	if ((buf = msgbuf_get(imsgbuf->w)) == NULL) {
		if (imsgbuf->flags & IMSGBUF_BROKEN) {
			errno = ERANGE;
			return (-1);
		}
		return (0);
	}
	memset(&m, 0, sizeof(m));
	if (ibuf_get(buf, &m.hdr, sizeof(m.hdr)) == -1) {
		ibuf_free(buf);
		return (-1);
	}
	m.hdr.len &= ~IMSG_FD_MARK;
	m.data = ibuf_size(buf) > 0 ? ibuf_data(buf) : NULL;
	m.buf = buf;
	*imsg = m;
	return (1);
}

/* The legacy form: the message's total size, 0 or -1. */
ssize_t
imsg_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	int	 rv;

	if ((rv = imsgbuf_get(imsgbuf, imsg)) != 1)
		return (rv);
	return (imsg->hdr.len);
}

/* A read-only view of the unread payload, valid until imsg_free(). */
int
imsg_get_ibuf(struct imsg *imsg, struct ibuf *ibuf)
{
	if (imsg->buf == NULL) {
		errno = EBADMSG;
		return (-1);
	}
	ibuf_from_ibuf(ibuf, imsg->buf);
	return (0);
}

/* The payload must be exactly len bytes. */
int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	struct ibuf	 payload;

	if (len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (imsg->buf == NULL || ibuf_size(imsg->buf) != len) {
		errno = EBADMSG;
		return (-1);
	}
	ibuf_from_ibuf(&payload, imsg->buf);
	return (ibuf_get(&payload, data, len));
}

int
imsg_get_buf(struct imsg *imsg, void *data, size_t len)
{
	if (imsg->buf == NULL) {
		errno = EBADMSG;
		return (-1);
	}
	return (ibuf_get(imsg->buf, data, len));
}

int
imsg_get_strbuf(struct imsg *imsg, char *str, size_t len)
{
	if (imsg->buf == NULL) {
		errno = EBADMSG;
		return (-1);
	}
	return (ibuf_get_strbuf(imsg->buf, str, len));
}

int
imsg_get_fd(struct imsg *imsg)
{
	if (imsg->buf == NULL)
		return (-1);
	return (ibuf_fd_get(imsg->buf));
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

size_t
imsg_get_len(struct imsg *imsg)
{
	uint32_t	 len = imsg->hdr.len & ~IMSG_FD_MARK;

	if (len < IMSG_HEADER_SIZE)
		return (0);
	return (len - IMSG_HEADER_SIZE);
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return (imsg->hdr.pid);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

/* Close a descriptor that was handed to us, keeping errno. */
static void
imsg_drop_fd(int fd)
{
	int	 saved_errno;

	if (fd < 0)
		return;
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
}

/*
 * Queue one message.  fd, unless -1, is consumed whatever happens: it
 * is closed once sent, or at once on failure.  A descriptor on a
 * channel without imsgbuf_allow_fdpass() is refused with EINVAL.
 */
int
imsg_compose(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*msg;

	if (fd >= 0 && !(imsgbuf->flags & IMSG_ALLOW_FDPASS)) {
		errno = EINVAL;
		goto fail;
	}
	if ((msg = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	if (imsg_add(msg, data, datalen) == -1)
		goto fail;
	ibuf_fd_set(msg, fd);
	imsg_close(imsgbuf, msg);
	return (1);

 fail:
	imsg_drop_fd(fd);
	return (-1);
}

int
imsg_composev(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*msg;
	size_t		 datalen = 0;
	int		 i;

	if (iovcnt < 0 || (fd >= 0 && !(imsgbuf->flags & IMSG_ALLOW_FDPASS))) {
		errno = EINVAL;
		goto fail;
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - datalen) {
			errno = ERANGE;
			goto fail;
		}
		datalen += iov[i].iov_len;
	}
	if ((msg = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	for (i = 0; i < iovcnt; i++) {
		if (imsg_add(msg, iov[i].iov_base, iov[i].iov_len) == -1)
			goto fail;
	}
	ibuf_fd_set(msg, fd);
	imsg_close(imsgbuf, msg);
	return (1);

 fail:
	imsg_drop_fd(fd);
	return (-1);
}

/*
 * The payload is a prepared ibuf, consumed whatever happens.  It
 * carries no descriptor: one set on buf is closed with it.
 */
int
imsg_compose_ibuf(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id,
    pid_t pid, struct ibuf *buf)
{
	struct ibuf	*msg;

	if (buf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if ((msg = imsg_create(imsgbuf, type, id, pid, ibuf_size(buf))) == NULL)
		goto fail;
	if (imsg_add(msg, ibuf_data(buf), ibuf_size(buf)) == -1)
		goto fail;
	imsg_close(imsgbuf, msg);
	ibuf_free(buf);
	return (1);

 fail:
	ibuf_free(buf);
	return (-1);
}

/* pid 0 means the pid recorded by imsgbuf_init(). */
struct ibuf *
imsg_create(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*msg;

	if (imsgbuf->maxsize < IMSG_HEADER_SIZE ||
	    datalen > imsgbuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (NULL);
	}
	if ((msg = ibuf_dynamic(datalen + IMSG_HEADER_SIZE,
	    imsgbuf->maxsize)) == NULL)
		return (NULL);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.peerid = id;
	hdr.pid = pid != 0 ? (uint32_t)pid : (uint32_t)imsgbuf->pid;
	if (ibuf_add(msg, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(msg);
		return (NULL);
	}
	return (msg);
}

/* On failure msg is freed, so a caller just returns. */
int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (msg == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (datalen > INT_MAX) {
		ibuf_free(msg);
		errno = ERANGE;
		return (-1);
	}
	if (ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return (-1);
	}
	return ((int)datalen);
}

int
imsg_set_maxsize(struct ibuf *msg, size_t max)
{
	if (max > SIZE_MAX - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (-1);
	}
	return (ibuf_set_maxsize(msg, max + IMSG_HEADER_SIZE));
}

/*
 * Patch the length (and the descriptor mark) into the header and queue
 * the message.  On a channel without descriptor passing a descriptor
 * set with ibuf_fd_set() is not sent: the peer sees the mark without a
 * descriptor, and ours is closed once the message is written.
 */
void
imsg_close(struct imsgbuf *imsgbuf, struct ibuf *msg)
{
	uint32_t	 len;

	if (msg == NULL)
		return;
	/* Not from imsg_create(): no length could describe it. */
	if (ibuf_size(msg) < IMSG_HEADER_SIZE ||
	    ibuf_size(msg) >= IMSG_FD_MARK) {
		ibuf_free(msg);
		return;
	}
	len = ibuf_size(msg);
	if (ibuf_fd_avail(msg))
		len |= IMSG_FD_MARK;
	(void)ibuf_set_h32(msg, offsetof(struct imsg_hdr, len), len);
	ibuf_close(imsgbuf->w, msg);
}

/* Send a received message on another channel, without its descriptor. */
int
imsg_forward(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct ibuf	 payload;
	struct ibuf	*msg;

	if (imsg->buf == NULL) {
		errno = EBADMSG;
		return (-1);
	}
	/* The whole payload, whatever the accessors consumed already. */
	ibuf_from_buffer(&payload, imsg->buf->buf, imsg->buf->wpos);
	if (ibuf_skip(&payload, IMSG_HEADER_SIZE) == -1)
		return (-1);
	if ((msg = imsg_create(imsgbuf, imsg->hdr.type, imsg->hdr.peerid,
	    imsg->hdr.pid, ibuf_size(&payload))) == NULL)
		return (-1);
	if (imsg_add(msg, ibuf_data(&payload), ibuf_size(&payload)) == -1)
		return (-1);
	imsg_close(imsgbuf, msg);
	return (1);
}

/* Frees the message and closes a descriptor nobody claimed. */
void
imsg_free(struct imsg *imsg)
{
	ibuf_free(imsg->buf);
	memset(imsg, 0, sizeof(*imsg));
}
