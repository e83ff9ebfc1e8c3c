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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pvd.h"
#include "parser.h"
#include "pvctl.h"

/* How far an answer has got, to refuse replies out of order. */
struct reply_state {
	int	 node;		/* IMSG_CTL_STATUS_NODE seen */
	int	 procs;		/* an IMSG_CTL_STATUS_PROC seen */
	int	 metrics;	/* a metrics address seen */
	int	 repl;		/* status: IMSG_CTL_REPL asked */
	int	 done;		/* the answer is complete */
	int	 failed;	/* it says the request failed */
};

__dead static void usage(void);
static int	 ctl_connect(const char *);
static int	 ctl_simple(const struct parse_result *);
static int	 ctl_request(struct imsgbuf *, const struct parse_result *);
static void	 ctl_dispatch(struct imsgbuf *, struct imsg *,
		    const struct parse_result *, struct reply_state *);
static int	 confirm_delete(const char *);
__dead static void io_failed(const char *);

const struct output	*out = &show_output;
static const char	*sockpath = PVD_SOCKET;

__dead static void
usage(void)
{
	fprintf(stderr, "usage: %s [-j] [-s socket] [command [argument ...]]\n",
	    getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	int	 ch;

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

	/* A daemon that hangs up while we write is reported, not fatal. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		err(1, "signal");

	if (argc == 0) {
		if (!isatty(STDIN_FILENO))
			usage();
		return (shell());
	}
	return (ctl_run(argc, argv));
}

/*
 * Run one command, as given on the command line or typed in the shell.
 * Returns the exit status; errors the command cannot recover from exit
 * at once.
 */
int
ctl_run(int argc, char *argv[])
{
	struct parse_result	 res;
	int			 ret;

	if (parse(argc, argv, &res) == -1)
		return (1);

	switch (res.action) {
	case ACTION_STORE:
		if (res.opts & OPT('r'))
			ret = store_tree(&res);
		else
			ret = store_file(&res);
		break;
	case ACTION_GET:
		ret = get_file(&res);
		break;
	default:
		ret = ctl_simple(&res);
		break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return (ret);
}

/* Connect to pvd and set up the channel; any failure exits. */
void
ctl_open(struct imsgbuf *ibuf)
{
	int	 fd;

	fd = ctl_connect(sockpath);
	if (imsgbuf_init(ibuf, fd) == -1)
		err(1, "imsgbuf_init");
	/* File contents move as descriptors passed on this channel. */
	imsgbuf_allow_fdpass(ibuf);
}

void
ctl_close(struct imsgbuf *ibuf)
{
	int	 fd = ibuf->fd;

	imsgbuf_clear(ibuf);
	close(fd);
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

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
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

/*
 * Queue a request.  Every request carries the control protocol version
 * in its peerid; fd, unless -1, is consumed.
 */
void
ctl_compose(struct imsgbuf *ibuf, uint32_t type, int fd, const void *data,
    size_t len)
{
	ctl_compose_tag(ibuf, type, 0, fd, data, len);
}

/* The same, with a tag in the pid field for the answers to echo. */
void
ctl_compose_tag(struct imsgbuf *ibuf, uint32_t type, uint32_t tag, int fd,
    const void *data, size_t len)
{
	if (imsg_compose(ibuf, type, PVD_CTL_VERSION, (pid_t)tag, fd, data,
	    len) == -1)
		err(1, "imsg_compose");
}

void
ctl_flush(struct imsgbuf *ibuf)
{
	if (imsgbuf_flush(ibuf) == -1)
		io_failed("write to");
}

/* Read what the socket has; call it when poll(2) says it is readable. */
void
ctl_read(struct imsgbuf *ibuf)
{
	int	 n;

	if ((n = imsgbuf_read(ibuf)) == -1)
		io_failed("read from");
	if (n == 0)
		errx(1, "connection closed by pvd");
}

/*
 * The next reply already read, if any: returns 1 and fills imsg, or 0.
 * A version mismatch ends pvctl here, whatever the command.
 */
int
ctl_next(struct imsgbuf *ibuf, struct imsg *imsg)
{
	uint32_t	 version;
	int		 n;

	if ((n = imsgbuf_get(ibuf, imsg)) == -1)
		io_failed("read from");
	if (n == 0)
		return (0);
	if (imsg_get_type(imsg) == IMSG_CTL_VERSION_MISMATCH) {
		if (imsg_get_data(imsg, &version, sizeof(version)) == -1)
			bad_reply(IMSG_CTL_VERSION_MISMATCH, "wrong size");
		errx(1, "version mismatch: pvctl speaks control protocol %u, "
		    "pvd speaks %u", PVD_CTL_VERSION, version);
	}
	return (1);
}

/* The next reply, waiting as long as it takes. */
void
ctl_wait(struct imsgbuf *ibuf, struct imsg *imsg)
{
	while (!ctl_next(ibuf, imsg))
		ctl_read(ibuf);
}

/* The commands that are one request and an answer of a few messages. */
static int
ctl_simple(const struct parse_result *res)
{
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct reply_state	 rs;

	if (res->action == ACTION_DELETE) {
		if (check_name(res->argv[0], NULL) == -1)
			return (1);
		if (!(res->opts & OPT('f')) && isatty(STDIN_FILENO) &&
		    isatty(STDERR_FILENO) && !confirm_delete(res->argv[0]))
			return (1);
	}

	ctl_open(&ibuf);
	if (ctl_request(&ibuf, res) == -1) {
		ctl_close(&ibuf);
		return (1);
	}
	ctl_flush(&ibuf);

	memset(&rs, 0, sizeof(rs));
	while (!rs.done) {
		ctl_wait(&ibuf, &imsg);
		ctl_dispatch(&ibuf, &imsg, res, &rs);
		imsg_free(&imsg);
	}
	ctl_close(&ibuf);
	return (rs.failed ? 1 : 0);
}

static int
ctl_request(struct imsgbuf *ibuf, const struct parse_result *res)
{
	struct ctl_name	 name;
	uint64_t	 quota;
	int		 verbose;

	switch (res->action) {
	case ACTION_STATUS:
		ctl_compose(ibuf, IMSG_CTL_STATUS, -1, NULL, 0);
		break;
	case ACTION_RELOAD:
		ctl_compose(ibuf, IMSG_CTL_RELOAD, -1, NULL, 0);
		break;
	case ACTION_LOG_VERBOSE:
	case ACTION_LOG_BRIEF:
		verbose = res->action == ACTION_LOG_VERBOSE ? 2 : 0;
		ctl_compose(ibuf, IMSG_CTL_LOG_VERBOSE, -1, &verbose,
		    sizeof(verbose));
		break;
	case ACTION_DELETE:
		memset(&name, 0, sizeof(name));
		if (strlcpy(name.name, res->argv[0], sizeof(name.name)) >=
		    sizeof(name.name))
			errx(1, "name too long");
		ctl_compose(ibuf, IMSG_CTL_DELETE, -1, &name, sizeof(name));
		break;
	case ACTION_LIST:
		ctl_compose(ibuf, IMSG_CTL_LIST, -1, NULL, 0);
		break;
	case ACTION_QUOTA:
		ctl_compose(ibuf, IMSG_CTL_QUOTA, -1, NULL, 0);
		break;
	case ACTION_QUOTA_SET:
		if (strcasecmp(res->argv[0], "none") == 0)
			quota = 0;
		else if (parse_size(res->argv[0], &quota) == -1) {
			warnx("quota set: %s: not a size (a number with K, "
			    "M, G or T, or none)", res->argv[0]);
			return (-1);
		} else if (quota == 0) {
			warnx("quota set: a quota of 0 would refuse every "
			    "store (none removes the quota)");
			return (-1);
		}
		ctl_compose(ibuf, IMSG_CTL_QUOTA_SET, -1, &quota,
		    sizeof(quota));
		break;
	case ACTION_SCRUB:
		ctl_compose(ibuf, IMSG_CTL_SCRUB, -1, NULL, 0);
		break;
	case ACTION_PEERS:
		ctl_compose(ibuf, IMSG_CTL_PEERS, -1, NULL, 0);
		break;
	default:
		errx(1, "no request for this command");
	}
	return (0);
}

/*
 * Every reply is checked before it is shown: its exact size, its
 * strings terminated within their arrays, its enums in range, and its
 * place in the answer.  A reply that fails is an error, never shown.
 */
static void
ctl_dispatch(struct imsgbuf *ibuf, struct imsg *imsg,
    const struct parse_result *res, struct reply_state *rs)
{
	struct ctl_result	 result;
	struct ctl_node		 node;
	struct ctl_addr		 addr;
	struct ctl_proc		 proc;
	struct ctl_file		 file;
	struct ctl_quota	 quota;
	struct ctl_scrub	 scrub;
	struct ctl_peer		 peer;
	struct ctl_repl		 repl;
	uint32_t		 type;

	type = imsg_get_type(imsg);
	switch (type) {
	case IMSG_CTL_FAIL:
		reply_fail(imsg);
	case IMSG_CTL_RESULT:
		if (res->action != ACTION_RELOAD &&
		    res->action != ACTION_LOG_VERBOSE &&
		    res->action != ACTION_LOG_BRIEF &&
		    res->action != ACTION_DELETE &&
		    res->action != ACTION_QUOTA_SET)
			bad_reply(type, "unexpected");
		reply_result(imsg, &result);
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
		if (res->action != ACTION_STATUS || !rs->node || rs->procs)
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
		if (res->action != ACTION_STATUS || !rs->node)
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
	case IMSG_CTL_FILE:
		if (res->action != ACTION_LIST)
			bad_reply(type, "unexpected");
		reply_file(imsg, &file);
		out->file(&file);
		break;
	case IMSG_CTL_END:
		reply_end(imsg);
		if (res->action == ACTION_STATUS && rs->node && !rs->repl) {
			/* the parent's part is in: ask net for its own */
			ctl_compose(ibuf, IMSG_CTL_REPL, -1, NULL, 0);
			ctl_flush(ibuf);
			rs->repl = 1;
			return;
		} else if (res->action == ACTION_STATUS && rs->node)
			out->tail();
		else if (res->action == ACTION_LIST)
			out->list_end();
		else if (res->action == ACTION_PEERS)
			out->peers_end();
		else
			bad_reply(type, "unexpected");
		rs->done = 1;
		break;
	case IMSG_CTL_REPL_INFO:
		if (res->action != ACTION_STATUS || !rs->repl)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &repl, sizeof(repl)) == -1)
			bad_reply(type, "wrong size");
		out->repl(&repl);
		break;
	case IMSG_CTL_PEER:
		if (res->action != ACTION_PEERS)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &peer, sizeof(peer)) == -1)
			bad_reply(type, "wrong size");
		if (!strbuf_terminated(peer.addr, sizeof(peer.addr)) ||
		    !strbuf_terminated(peer.node_id, sizeof(peer.node_id)))
			bad_reply(type, "unterminated string");
		if (peer.state > PEER_BACKOFF)
			bad_reply(type, "unknown peer state");
		out->peer(&peer);
		break;
	case IMSG_CTL_QUOTA_INFO:
		if (res->action != ACTION_QUOTA)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &quota, sizeof(quota)) == -1)
			bad_reply(type, "wrong size");
		out->quota(&quota);
		rs->done = 1;
		break;
	case IMSG_CTL_SCRUB_RESULT:
		if (res->action != ACTION_SCRUB)
			bad_reply(type, "unexpected");
		if (imsg_get_data(imsg, &scrub, sizeof(scrub)) == -1)
			bad_reply(type, "wrong size");
		out->scrub(&scrub);
		rs->done = 1;
		break;
	default:
		bad_reply(type, "unknown type");
	}
}

/* Ask on the terminal; only "y" and "yes" delete. */
static int
confirm_delete(const char *name)
{
	char	*line = NULL, *p, *e;
	size_t	 size = 0;
	int	 yes = 0;

	fprintf(stderr, "Delete ");
	print_clean(stderr, name);
	fprintf(stderr, " on every node? (y/N) ");
	fflush(stderr);
	if (getline(&line, &size, stdin) == -1) {
		fputc('\n', stderr);
		free(line);
		return (0);
	}
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	for (e = p + strlen(p); e > p && (e[-1] == '\n' || e[-1] == ' ' ||
	    e[-1] == '\t' || e[-1] == '\r'); e--)
		;
	*e = '\0';
	yes = strcasecmp(p, "y") == 0 || strcasecmp(p, "yes") == 0;
	free(line);
	return (yes);
}

/*
 * A file name given on the command line (or made from one): refused
 * before it is sent when it breaks the rule of name_valid().  file,
 * when not NULL, is what the name was made from, for the message.
 */
int
check_name(const char *name, const char *file)
{
	const char	*why;

	if (name_valid(name, &why))
		return (0);
	fprintf(stderr, "%s: ", getprogname());
	if (file != NULL) {
		print_clean(stderr, file);
		fprintf(stderr, ": ");
	}
	fprintf(stderr, "invalid name");
	if (*name != '\0') {
		fprintf(stderr, " \"");
		print_clean(stderr, name);
		fprintf(stderr, "\"");
	}
	fprintf(stderr, ": %s\n", why);
	return (-1);
}

void
reply_result(struct imsg *imsg, struct ctl_result *result)
{
	uint32_t	 type = imsg_get_type(imsg);

	if (imsg_get_data(imsg, result, sizeof(*result)) == -1)
		bad_reply(type, "wrong size");
	if (!strbuf_terminated(result->msg, sizeof(result->msg)))
		bad_reply(type, "unterminated string");
}

/* A file: its name terminated, its id 64 lowercase hex digits. */
void
reply_file(struct imsg *imsg, struct ctl_file *file)
{
	uint32_t	 type = imsg_get_type(imsg);
	size_t		 i;

	if (imsg_get_data(imsg, file, sizeof(*file)) == -1)
		bad_reply(type, "wrong size");
	if (!strbuf_terminated(file->name, sizeof(file->name)) ||
	    !strbuf_terminated(file->id, sizeof(file->id)))
		bad_reply(type, "unterminated string");
	if (strlen(file->id) != PVD_ID_HEXLEN - 1)
		bad_reply(type, "bad file id");
	for (i = 0; i < PVD_ID_HEXLEN - 1; i++)
		if ((file->id[i] < '0' || file->id[i] > '9') &&
		    (file->id[i] < 'a' || file->id[i] > 'f'))
			bad_reply(type, "bad file id");
}

void
reply_end(struct imsg *imsg)
{
	if (imsg_get_len(imsg) != 0)
		bad_reply(imsg_get_type(imsg), "wrong size");
}

/* IMSG_CTL_FAIL: the daemon's reason on stderr, and exit 1. */
__dead void
reply_fail(struct imsg *imsg)
{
	struct ctl_result	 result;

	reply_result(imsg, &result);
	fprintf(stderr, "%s: ", getprogname());
	print_clean(stderr, result.msg[0] != '\0' ? result.msg :
	    "request failed");
	fprintf(stderr, "\n");
	exit(1);
}

__dead void
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
