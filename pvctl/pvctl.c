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

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvd.h"
#include "parser.h"
#include "pvctl.h"

/* How far an answer has got, to refuse replies out of order. */
struct reply_state {
	int	 node;		/* IMSG_CTL_STATUS_NODE seen */
	int	 procs;		/* an IMSG_CTL_STATUS_PROC seen */
	int	 metrics;	/* a metrics address seen */
	int	 done;		/* the answer is complete */
	int	 failed;	/* it says the request failed */
};

__dead static void usage(void);
static int	 ctl_connect(const char *);
static void	 ctl_compose(struct imsgbuf *, uint32_t, const void *, size_t);
static void	 ctl_request(struct imsgbuf *, const struct parse_result *);
static void	 ctl_receive(struct imsgbuf *, const struct parse_result *,
		    const struct output *, struct reply_state *);
static void	 ctl_dispatch(struct imsg *, const struct parse_result *,
		    const struct output *, struct reply_state *);
static void	 get_result(struct imsg *, struct ctl_result *);
__dead static void bad_reply(uint32_t, const char *);
__dead static void io_failed(const char *);

static const char	*sockpath = PVD_SOCKET;

__dead static void
usage(void)
{
	fprintf(stderr, "usage: %s [-j] [-s socket] command [argument ...]\n",
	    getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	const struct output	*out = &show_output;
	struct parse_result	 res;
	struct reply_state	 rs;
	struct imsgbuf		 ibuf;
	int			 ch, fd;

	/*
	 * "+": options stop at the command, so that a command's own
	 * options (delete -f) are not taken for pvctl's on glibc.
	 */
	while ((ch = getopt(argc, argv, "+js:")) != -1) {
		switch (ch) {
		case 'j':
			out = &json_output;
			break;
		case 's':
			sockpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	/* No command: the interactive shell will start here on a tty. */
	if (argc == 0)
		usage();
	if (parse(argc, argv, &res) == -1)
		exit(1);

	/* A daemon that hangs up while we write is reported, not fatal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(1, "signal");

	fd = ctl_connect(sockpath);
	if (imsgbuf_init(&ibuf, fd) == -1)
		err(1, "imsgbuf_init");
	ctl_request(&ibuf, &res);
	if (imsgbuf_flush(&ibuf) == -1)
		io_failed("write to");

	memset(&rs, 0, sizeof(rs));
	ctl_receive(&ibuf, &res, out, &rs);

	imsgbuf_clear(&ibuf);
	close(fd);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return (rs.failed ? 1 : 0);
}

static int
ctl_connect(const char *path)
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
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		switch (errno) {
		case ENOENT:
		case ECONNREFUSED:
			errx(1, "pvd is not running (cannot connect to %s)",
			    path);
		case EACCES:
		case EPERM:
			errx(1, "permission denied on %s", path);
		default:
			err(1, "connect to %s", path);
		}
	}
	return (fd);
}

/* Every request carries the control protocol version in its peerid. */
static void
ctl_compose(struct imsgbuf *ibuf, uint32_t type, const void *data,
    size_t len)
{
	if (imsg_compose(ibuf, type, PVD_CTL_VERSION, 0, -1, data, len) == -1)
		err(1, "imsg_compose");
}

static void
ctl_request(struct imsgbuf *ibuf, const struct parse_result *res)
{
	int	 verbose;

	switch (res->action) {
	case ACTION_STATUS:
		ctl_compose(ibuf, IMSG_CTL_STATUS, NULL, 0);
		break;
	case ACTION_RELOAD:
		ctl_compose(ibuf, IMSG_CTL_RELOAD, NULL, 0);
		break;
	case ACTION_LOG_VERBOSE:
	case ACTION_LOG_BRIEF:
		verbose = res->action == ACTION_LOG_VERBOSE ? 2 : 0;
		ctl_compose(ibuf, IMSG_CTL_LOG_VERBOSE, &verbose,
		    sizeof(verbose));
		break;
	case ACTION_NONE:
		errx(1, "no command");
	}
}

static void
ctl_receive(struct imsgbuf *ibuf, const struct parse_result *res,
    const struct output *out, struct reply_state *rs)
{
	struct imsg	 imsg;
	int		 n;

	while (!rs->done) {
		if ((n = imsgbuf_read(ibuf)) == -1)
			io_failed("read from");
		if (n == 0)
			errx(1, "connection closed by pvd");
		while (!rs->done) {
			if ((n = imsgbuf_get(ibuf, &imsg)) == -1)
				io_failed("read from");
			if (n == 0)
				break;
			ctl_dispatch(&imsg, res, out, rs);
			imsg_free(&imsg);
		}
	}
}

/*
 * Every reply is checked before it is shown: its exact size, its
 * strings terminated within their arrays, its enums in range, and its
 * place in the answer.  A reply that fails is an error, never shown.
 */
static void
ctl_dispatch(struct imsg *imsg, const struct parse_result *res,
    const struct output *out, struct reply_state *rs)
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
			bad_reply(type, "wrong size");
		errx(1, "version mismatch: pvctl speaks control protocol %u, "
		    "pvd speaks %u", PVD_CTL_VERSION, version);
	case IMSG_CTL_FAIL:
		get_result(imsg, &result);
		fprintf(stderr, "%s: ", getprogname());
		print_clean(stderr, result.msg[0] != '\0' ? result.msg :
		    "request failed");
		fprintf(stderr, "\n");
		exit(1);
	case IMSG_CTL_RESULT:
		if (res->action == ACTION_STATUS)
			bad_reply(type, "unexpected");
		get_result(imsg, &result);
		out->result(&result);
		rs->failed = result.code != 0;
		rs->done = 1;
		break;
	case IMSG_CTL_STATUS_NODE:
		if (res->action != ACTION_STATUS || rs->node)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &node, sizeof(node)) == -1)
			bad_reply(type, "wrong size");
		if (!strbuf_terminated(node.node_id, sizeof(node.node_id)) ||
		    !strbuf_terminated(node.node_reason,
		    sizeof(node.node_reason)) ||
		    !strbuf_terminated(node.version, sizeof(node.version)) ||
		    !strbuf_terminated(node.advertise.host,
		    sizeof(node.advertise.host)))
			bad_reply(type, "unterminated string");
		if (node.node_status > NODE_FAILED)
			bad_reply(type, "unknown node status");
		out->node(&node);
		rs->node = 1;
		break;
	case IMSG_CTL_STATUS_ADDR:
		if (!rs->node || rs->procs)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &addr, sizeof(addr)) == -1)
			bad_reply(type, "wrong size");
		if (!strbuf_terminated(addr.ep.host, sizeof(addr.ep.host)))
			bad_reply(type, "unterminated string");
		if (addr.kind != CTL_ADDR_LISTEN &&
		    addr.kind != CTL_ADDR_METRICS)
			bad_reply(type, "unknown address kind");
		if (addr.kind == CTL_ADDR_METRICS && rs->metrics++)
			bad_reply(type, "second metrics address");
		out->addr(&addr);
		break;
	case IMSG_CTL_STATUS_PROC:
		if (!rs->node)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &proc, sizeof(proc)) == -1)
			bad_reply(type, "wrong size");
		if (!strbuf_terminated(proc.name, sizeof(proc.name)))
			bad_reply(type, "unterminated string");
		if (proc.state > PSTATE_STOPPED)
			bad_reply(type, "unknown process state");
		out->proc(&proc);
		rs->procs = 1;
		break;
	case IMSG_CTL_END:
		if (!rs->node)
			bad_reply(type, "unexpected");
		if (imsg_get_len(imsg) != 0)
			bad_reply(type, "wrong size");
		out->tail();
		rs->done = 1;
		break;
	default:
		bad_reply(type, "unknown type");
	}
}

static void
get_result(struct imsg *imsg, struct ctl_result *result)
{
	uint32_t	 type = imsg_get_type(imsg);

	if (imsg_get_data(imsg, result, sizeof(*result)) == -1)
		bad_reply(type, "wrong size");
	if (!strbuf_terminated(result->msg, sizeof(result->msg)))
		bad_reply(type, "unterminated string");
}

__dead static void
bad_reply(uint32_t type, const char *why)
{
	errx(1, "invalid reply from pvd: %s (message type %u)", why, type);
}

/* imsgbuf_read/get/flush failed: the daemon went away or spoke garbage. */
__dead static void
io_failed(const char *what)
{
	switch (errno) {
	case EPIPE:
	case ECONNRESET:
		errx(1, "connection closed by pvd");
	case ERANGE:
	case EBADMSG:
	case EOVERFLOW:
		errx(1, "invalid reply from pvd");
	default:
		err(1, "%s %s", what, sockpath);
	}
}
