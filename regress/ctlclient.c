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
 * A test-only control client for the regress scripts; not installed.
 * It says things to the control socket that pvctl never would:
 *
 *	ctlclient socket version N	IMSG_CTL_STATUS with peerid N,
 *					then print the replies
 *	ctlclient socket garbage	64 random bytes; "closed" or "open"
 *	ctlclient socket badsize	IMSG_CTL_LOG_VERBOSE with a 1-byte
 *					payload; the replies, then "closed"
 *					or "open"
 *	ctlclient socket hold SECONDS	connect and keep still
 *	ctlclient socket store PATH NAME [SIZE]
 *					IMSG_CTL_STORE with the descriptor
 *					of PATH ("-": standard input) as it
 *					is, SIZE announced if given; the
 *					replies
 *
 * One line per reply: "version-mismatch N", "fail: msg", "result N:
 * msg", "node ID", "addr HOST:PORT", "proc NAME PID", "end", "type N";
 * then "closed" when the server hung up, "open" or "timeout" when it
 * did not within WAIT_SECONDS.  Exit 0 when it could talk to the
 * socket, 1 otherwise.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvd.h"

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

#define WAIT_SECONDS	5

enum wait_end {
	WAIT_CLOSED,
	WAIT_ANSWERED,
	WAIT_TIMEOUT
};

__dead static void usage(void);
static int	 client_connect(const char *);
static void	 client_send(struct imsgbuf *, uint32_t, uint32_t,
		    const void *, size_t);
static int	 wait_readable(int);
static int	 print_reply(struct imsg *);
static enum wait_end read_replies(struct imsgbuf *, int);
static enum wait_end read_raw(int);
static void	 notify_listen(const char *, unsigned int);

__dead static void
usage(void)
{
	fprintf(stderr, "usage: ctlclient socket version N | garbage | "
	    "badsize | hold seconds | notify seconds | flood N |\n"
	    "    store path name [size]\n");
	exit(1);
}

static int
client_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "connect to %s", path);
	return (fd);
}

static void
client_send(struct imsgbuf *ibuf, uint32_t type, uint32_t peerid,
    const void *data, size_t len)
{
	if (imsg_compose(ibuf, type, peerid, 0, -1, data, len) == -1)
		err(1, "imsg_compose");
	if (imsgbuf_flush(ibuf) == -1)
		err(1, "write");
}

/* 1 when fd has something (or EOF) to read, 0 after WAIT_SECONDS. */
static int
wait_readable(int fd)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, WAIT_SECONDS * 1000)) == -1)
		if (errno != EINTR)
			err(1, "poll");
	return (n);
}

/* Print one reply; returns 1 when it ends an answer. */
static int
print_reply(struct imsg *imsg)
{
	struct ctl_result	 result;
	struct ctl_node		 node;
	struct ctl_addr		 addr;
	struct ctl_proc		 proc;
	uint32_t		 type, version;

	type = imsg_get_type(imsg);
	switch (type) {
	case IMSG_CTL_VERSION_MISMATCH:
		if (imsg_get_data(imsg, &version, sizeof(version)) == -1)
			break;
		printf("version-mismatch %u\n", version);
		return (1);
	case IMSG_CTL_FAIL:
	case IMSG_CTL_RESULT:
		if (imsg_get_data(imsg, &result, sizeof(result)) == -1 ||
		    !strbuf_terminated(result.msg, sizeof(result.msg)))
			break;
		if (type == IMSG_CTL_FAIL)
			printf("fail: %s\n", result.msg);
		else
			printf("result %d: %s\n", result.code, result.msg);
		return (1);
	case IMSG_CTL_STATUS_NODE:
		if (imsg_get_data(imsg, &node, sizeof(node)) == -1 ||
		    !strbuf_terminated(node.node_id, sizeof(node.node_id)))
			break;
		printf("node %s\n", node.node_id);
		return (0);
	case IMSG_CTL_STATUS_ADDR:
		if (imsg_get_data(imsg, &addr, sizeof(addr)) == -1 ||
		    !strbuf_terminated(addr.ep.host, sizeof(addr.ep.host)))
			break;
		printf("addr %s:%u\n", addr.ep.host, addr.ep.port);
		return (0);
	case IMSG_CTL_STATUS_PROC:
		if (imsg_get_data(imsg, &proc, sizeof(proc)) == -1 ||
		    !strbuf_terminated(proc.name, sizeof(proc.name)))
			break;
		printf("proc %s %d\n", proc.name, (int)proc.pid);
		return (0);
	case IMSG_CTL_END:
		printf("end\n");
		return (1);
	default:
		printf("type %u\n", type);
		return (0);
	}
	printf("malformed %u\n", type);
	return (0);
}

/*
 * Print replies until the server hangs up, until WAIT_SECONDS pass in
 * silence or, with stop, until a reply ends the answer.
 */
static enum wait_end
read_replies(struct imsgbuf *ibuf, int stop)
{
	struct imsg	 imsg;
	int		 n, done;

	for (;;) {
		if (!wait_readable(ibuf->fd))
			return (WAIT_TIMEOUT);
		if ((n = imsgbuf_read(ibuf)) == -1) {
			if (errno == ECONNRESET)
				return (WAIT_CLOSED);
			err(1, "read");
		}
		if (n == 0)
			return (WAIT_CLOSED);
		while ((n = imsgbuf_get(ibuf, &imsg)) == 1) {
			done = print_reply(&imsg);
			imsg_free(&imsg);
			if (done && stop)
				return (WAIT_ANSWERED);
		}
		if (n == -1)
			err(1, "imsgbuf_get");
	}
}

/* Discard whatever comes until the server hangs up or goes quiet. */
static enum wait_end
read_raw(int fd)
{
	char	 buf[512];
	ssize_t	 n;

	for (;;) {
		if (!wait_readable(fd))
			return (WAIT_TIMEOUT);
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				return (WAIT_CLOSED);
			err(1, "read");
		}
		if (n == 0)
			return (WAIT_CLOSED);
	}
}

int
main(int argc, char *argv[])
{
	struct imsgbuf	 ibuf;
	struct ctl_store req;
	unsigned char	 garbage[64];
	const char	*errstr;
	uint32_t	 version;
	unsigned int	 secs;
	enum wait_end	 end;
	int		 fd, file;
	char		 one = 1;

	if (argc < 3)
		usage();
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(1, "signal");

	if (strcmp(argv[2], "version") == 0 && argc == 4) {
		version = strtonum(argv[3], 0, UINT32_MAX, &errstr);
		if (errstr != NULL)
			errx(1, "version %s: %s", argv[3], errstr);
		fd = client_connect(argv[1]);
		if (imsgbuf_init(&ibuf, fd) == -1)
			err(1, "imsgbuf_init");
		client_send(&ibuf, IMSG_CTL_STATUS, version, NULL, 0);
		end = read_replies(&ibuf, 1);
		if (end == WAIT_CLOSED)
			printf("closed\n");
		else if (end == WAIT_TIMEOUT)
			printf("timeout\n");
		imsgbuf_clear(&ibuf);
	} else if (strcmp(argv[2], "garbage") == 0 && argc == 3) {
		fd = client_connect(argv[1]);
		arc4random_buf(garbage, sizeof(garbage));
		if (write(fd, garbage, sizeof(garbage)) != sizeof(garbage))
			err(1, "write");
		printf("%s\n", read_raw(fd) == WAIT_CLOSED ? "closed" : "open");
	} else if (strcmp(argv[2], "badsize") == 0 && argc == 3) {
		fd = client_connect(argv[1]);
		if (imsgbuf_init(&ibuf, fd) == -1)
			err(1, "imsgbuf_init");
		client_send(&ibuf, IMSG_CTL_LOG_VERBOSE, PVD_CTL_VERSION,
		    &one, sizeof(one));
		end = read_replies(&ibuf, 0);
		printf("%s\n", end == WAIT_CLOSED ? "closed" : "open");
		imsgbuf_clear(&ibuf);
	} else if (strcmp(argv[2], "hold") == 0 && argc == 4) {
		secs = strtonum(argv[3], 0, 3600, &errstr);
		if (errstr != NULL)
			errx(1, "seconds %s: %s", argv[3], errstr);
		fd = client_connect(argv[1]);
		while ((secs = sleep(secs)) > 0)
			;
	} else if (strcmp(argv[2], "flood") == 0 && argc == 4) {
		/* N status requests, sent as fast as the socket takes them,
		 * and no answer ever read */
		secs = strtonum(argv[3], 1, 10000000, &errstr);
		if (errstr != NULL)
			errx(1, "count %s: %s", argv[3], errstr);
		fd = client_connect(argv[1]);
		if (imsgbuf_init(&ibuf, fd) == -1)
			err(1, "imsgbuf_init");
		while (secs-- > 0)
			if (imsg_compose(&ibuf, IMSG_CTL_STATUS,
			    PVD_CTL_VERSION, 0, -1, NULL, 0) == -1)
				err(1, "imsg_compose");
		/* the daemon stops reading: give up on what it does not take */
		alarm(3);
		imsgbuf_flush(&ibuf);
		printf("flooded\n");
		imsgbuf_clear(&ibuf);
	} else if (strcmp(argv[2], "store") == 0 &&
	    (argc == 5 || argc == 6)) {
		memset(&req, 0, sizeof(req));
		if (strlcpy(req.name, argv[4], sizeof(req.name)) >=
		    sizeof(req.name))
			errx(1, "name too long");
		if (argc == 6) {
			req.size = strtonum(argv[5], 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(1, "size %s: %s", argv[5], errstr);
			req.size_known = 1;
		}
		if (strcmp(argv[3], "-") == 0)
			file = dup(STDIN_FILENO);
		else
			file = open(argv[3], O_RDONLY);
		if (file == -1)
			err(1, "%s", argv[3]);
		fd = client_connect(argv[1]);
		if (imsgbuf_init(&ibuf, fd) == -1)
			err(1, "imsgbuf_init");
		imsgbuf_allow_fdpass(&ibuf);
		if (imsg_compose(&ibuf, IMSG_CTL_STORE, PVD_CTL_VERSION, 0,
		    file, &req, sizeof(req)) == -1)
			err(1, "imsg_compose");
		if (imsgbuf_flush(&ibuf) == -1)
			err(1, "write");
		if (read_replies(&ibuf, 1) == WAIT_TIMEOUT)
			printf("timeout\n");
		imsgbuf_clear(&ibuf);
	} else if (strcmp(argv[2], "notify") == 0 && argc == 4) {
		secs = strtonum(argv[3], 1, 3600, &errstr);
		if (errstr != NULL)
			errx(1, "seconds %s: %s", argv[3], errstr);
		notify_listen(argv[1], secs);
		return (0);
	} else
		usage();

	close(fd);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return (0);
}

/*
 * Play systemd's part of sd_notify(3): bind a datagram socket at path
 * and print every state message received, one line each ('\n' inside a
 * message printed as ' '), until STOPPING=1 or the time is up.
 */
static void
notify_listen(const char *path, unsigned int secs)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 buf[4096], *p;
	ssize_t			 n;
	time_t			 end = time(NULL) + secs;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(1, "%s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
		err(1, "socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "bind %s", path);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (time(NULL) < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		for (p = buf; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
		printf("%s\n", buf);
		fflush(stdout);
		if (strstr(buf, "STOPPING=1") != NULL)
			break;
	}
	close(fd);
	unlink(path);
}
