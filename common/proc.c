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
 * The process table, the imsg <-> libevent glue, and what every child
 * does before it touches input: check that pvd started it, jail itself,
 * drop to the daemon user and forbid new privileges.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"

#define LINK(p)		(1U << (p))

const struct pv_proc_info pv_procs[PROC_MAX] = {
	[PROC_PARENT] =		{ "parent", "pvd", LINK(PROC_STORAGE) |
				    LINK(PROC_NET) | LINK(PROC_DISCOVER), 0 },
	[PROC_STORAGE] =	{ "storage", "pv-storaged", LINK(PROC_NET), 1 },
	[PROC_NET] =		{ "net", "pv-netd", LINK(PROC_STORAGE) |
				    LINK(PROC_DISCOVER), 0 },
	[PROC_DISCOVER] =	{ "discover", "pv-discoverd", LINK(PROC_NET),
				    0 },
};

static struct imsgev	*log_iev;

const char *
proc_state_name(enum pv_proc_state s)
{
	switch (s) {
	case PSTATE_STARTING:
		return ("starting");
	case PSTATE_RUNNING:
		return ("running");
	case PSTATE_RESTARTING:
		return ("restarting");
	case PSTATE_STOPPED:
		return ("stopped");
	}
	return ("unknown");
}

int
imsgev_init(struct imsgev *iev, int fd, int fdpass,
    void (*handler)(int, short, void *), void *data)
{
	memset(iev, 0, sizeof(*iev));
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return (-1);
	if (fdpass)
		imsgbuf_allow_fdpass(&iev->ibuf);
	iev->handler = handler;
	iev->data = data;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
	return (0);
}

/* Forget the channel and close its socket. */
void
imsgev_clear(struct imsgev *iev)
{
	if (iev->handler == NULL)
		return;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->handler = NULL;
}

void
imsg_event_add(struct imsgev *iev)
{
	if (iev->handler == NULL) {
		imsgbuf_flush(&iev->ibuf);
		return;
	}

	iev->events = EV_READ;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		iev->events |= EV_WRITE;

	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t datalen)
{
	int	ret;

	if (iev->handler == NULL) {
		/* the channel is down: the descriptor is still ours */
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if ((ret = imsg_compose(&iev->ibuf, type, peerid, pid, fd, data,
	    datalen)) != -1)
		imsg_event_add(iev);
	return (ret);
}

/*
 * The I/O half of every dispatch function.  Returns 0 when the channel
 * is still usable, -1 when it is not: errno is 0 when the other end has
 * gone, or says what failed (ERANGE: it sent a length no imsg reader
 * accepts).  The caller decides what a lost channel means.
 */
int
imsgev_dispatch_io(struct imsgev *iev, short event)
{
	struct imsgbuf	*ibuf = &iev->ibuf;

	if (event & EV_READ) {
		switch (imsgbuf_read(ibuf)) {
		case -1:
			if (errno == ECONNRESET)
				errno = 0;
			return (-1);
		case 0:
			errno = 0;
			return (-1);
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(ibuf) == -1) {
			if (errno == EPIPE || errno == ECONNRESET)
				errno = 0;
			return (-1);
		}
	}
	return (0);
}

static __dead void
child_usage(enum pv_proc proc)
{
	fprintf(stderr, "%s: this program is part of PeerVault and is started "
	    "by pvd(8); run pvd instead\n", pv_procs[proc].binary);
	exit(1);
}

/*
 * Keep the memory a child frees for its next allocations.  glibc gives
 * the top of the heap back to the kernel once 128 KiB are free there, and
 * serves 128 KiB or more with a fresh mmap: a daemon that moves a blob
 * through evbuffers and TLS records of that order would then fault in
 * fresh pages for every few hundred KiB it sends, which on a virtual
 * machine costs more than the copy.  Blocks of up to 1 MiB come from the
 * heap, and the heap keeps up to 8 MiB free at its top.
 */
void
child_malloc_tune(void)
{
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
}

/*
 * The hidden flags pvd passes to its children; they are not documented
 * because nobody else should start a child.
 */
void
child_parse_args(enum pv_proc proc, int argc, char *argv[],
    struct child_opts *o)
{
	const char	*errstr;
	int		 ch;

	memset(o, 0, sizeof(*o));
	o->proc = proc;
	o->uid = (uid_t)-1;
	o->gid = (gid_t)-1;

	while ((ch = getopt(argc, argv, "dg:j:u:vw:")) != -1) {
		switch (ch) {
		case 'd':
			o->debug = 1;
			break;
		case 'g':
			o->gid = strtonum(optarg, 0, INT_MAX, &errstr);
			if (errstr != NULL)
				child_usage(proc);
			break;
		case 'j':
			o->jail = optarg;
			break;
		case 'u':
			o->uid = strtonum(optarg, 0, INT_MAX, &errstr);
			if (errstr != NULL)
				child_usage(proc);
			break;
		case 'v':
			o->verbose++;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		default:
			child_usage(proc);
		}
	}
	if (optind != argc || (o->uid == (uid_t)-1) != (o->gid == (gid_t)-1))
		child_usage(proc);
}

/* A child started by hand has no parent socket on fd 3: refuse. */
void
child_check_parent(enum pv_proc proc)
{
	struct stat	sb;
	int		type;
	socklen_t	len = sizeof(type);

	if (fstat(PVD_PARENT_FD, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    getsockopt(PVD_PARENT_FD, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM)
		child_usage(proc);
}

/*
 * Jail, then drop to the daemon user, then forbid new privileges and
 * core dumps.  The order matters and any failure is fatal.
 */
void
child_drop_privileges(const struct child_opts *o)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (o->jail != NULL) {
		if (chroot(o->jail) == -1)
			fatal("chroot %s", o->jail);
		if (chdir("/") == -1)
			fatal("chdir /");
	} else if (o->workdir != NULL) {
		if (chdir(o->workdir) == -1)
			fatal("chdir %s", o->workdir);
	}

	if (o->uid != (uid_t)-1) {
		if (setgroups(1, &o->gid) == -1 ||
		    setresgid(o->gid, o->gid, o->gid) == -1 ||
		    setresuid(o->uid, o->uid, o->uid) == -1)
			fatal("cannot drop privileges");
		if (getresuid(&ruid, &euid, &suid) == -1 ||
		    getresgid(&rgid, &egid, &sgid) == -1 ||
		    ruid != o->uid || euid != o->uid || suid != o->uid ||
		    rgid != o->gid || egid != o->gid || sgid != o->gid)
			fatalx("privileges were not dropped");
	} else if (geteuid() == 0)
		fatalx("refusing to run as root without a user to drop to");

	/* capabilities a non-root pvd was given are not the children's */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fatal("prctl PR_CAP_AMBIENT_CLEAR_ALL");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
}

/*
 * In its jail a child cannot reach syslog; its log lines travel to the
 * parent, which logs them.  A fatal line is flushed at once since the
 * process exits right after it.
 */
static void
child_log_sink(int pri, const char *msg)
{
	struct pv_logline	line;

	memset(&line, 0, sizeof(line));
	line.priority = pri;
	strlcpy(line.msg, msg, sizeof(line.msg));
	if (imsg_compose_event(log_iev, IMSG_CHILD_LOG, 0, 0, -1, &line,
	    sizeof(line)) == -1)
		return;
	if (pri <= LOG_CRIT)
		imsgbuf_flush(&log_iev->ibuf);
}

void
child_log_to_parent(struct imsgev *iev)
{
	log_iev = iev;
	log_set_sink(child_log_sink);
}

/*
 * The configuration stream every child receives: IMSG_CONF_START, the
 * listen and bootstrap items, IMSG_CONF_END.  Items collect in a staging
 * copy that replaces the live one only at the end, so a half-received
 * configuration is never used.  Returns 1 at the end of a stream, 0 for
 * an item, -1 for a malformed or misplaced message.
 */
int
config_recv_stream(struct imsg *imsg, struct pv_config **staging,
    struct pv_config **live)
{
	struct pv_endpoint	ep;

	switch (imsg_get_type(imsg)) {
	case IMSG_CONF_START:
		if (*staging != NULL)
			return (-1);
		if ((*staging = calloc(1, sizeof(**staging))) == NULL)
			fatal(NULL);
		config_init(*staging);
		if (config_recv_globals(imsg, &(*staging)->g) == -1)
			return (-1);
		return (0);
	case IMSG_CONF_LISTEN:
	case IMSG_CONF_BOOTSTRAP:
		if (*staging == NULL ||
		    config_recv_endpoint(imsg, &ep) == -1 ||
		    config_add_endpoint(imsg_get_type(imsg) ==
		    IMSG_CONF_LISTEN ? &(*staging)->listen :
		    &(*staging)->bootstrap, &ep) == -1)
			return (-1);
		return (0);
	case IMSG_CONF_END:
		if (*staging == NULL)
			return (-1);
		if (*live != NULL) {
			config_clear(*live);
			free(*live);
		}
		*live = *staging;
		*staging = NULL;
		return (1);
	}
	return (-1);
}

/*
 * The messages from the parent that every child handles alike: the
 * configuration stream (answered by IMSG_CHILD_READY after the first
 * one) and the log level.  Returns 1 when it took the message, 0 when
 * the caller's own switch must.  A malformed message is fatal: the
 * parent is trusted, so it means the channel is broken.
 */
int
child_dispatch_common(struct imsgev *iev, struct imsg *imsg,
    struct pv_config **staging, struct pv_config **conf, int *ready)
{
	int	v;

	switch (imsg_get_type(imsg)) {
	case IMSG_LOG_SETVERBOSE:
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1)
			fatalx("bad log level");
		log_setverbose(v);
		return (1);
	case IMSG_CONF_START:
	case IMSG_CONF_LISTEN:
	case IMSG_CONF_BOOTSTRAP:
	case IMSG_CONF_END:
		switch (config_recv_stream(imsg, staging, conf)) {
		case -1:
			fatalx("bad configuration message");
		case 1:
			log_debug("configuration received");
			if (!*ready) {
				*ready = 1;
				imsg_compose_event(iev, IMSG_CHILD_READY, 0, 0,
				    -1, NULL, 0);
			}
			break;
		}
		return (1);
	}
	return (0);
}

/* IMSG_SOCKET_PEER: a new link to a sibling replaces the old one. */
void
child_link_sibling(struct imsg *imsg, struct imsgev *iev,
    void (*handler)(int, short, void *))
{
	uint32_t	proc = imsg_get_id(imsg);
	int		fd;

	if (proc >= PROC_MAX)
		fatalx("link to an unknown process %u", proc);
	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("missing descriptor for the %s link",
		    pv_procs[proc].title);
	imsgev_clear(iev);
	if (imsgev_init(iev, fd, 1, handler, NULL) == -1)
		fatal("imsgbuf_init");
	iev->proc = proc;
}

/*
 * The dispatch function of a sibling channel that carries nothing yet.
 * When the sibling dies the channel waits for its successor's.
 */
void
child_dispatch_idle(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			fatal("channel to %s", pv_procs[iev->proc].title);
		log_debug("%s went away, waiting for its successor",
		    pv_procs[iev->proc].title);
		imsgev_clear(iev);
		return;
	}
	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		fatalx("%s: unexpected imsg %u from %s", __func__,
		    imsg_get_type(&imsg), pv_procs[iev->proc].title);
	}
	imsg_event_add(iev);
}

static void
child_sig(int sig, short event, void *arg)
{
	/* SIGTERM, SIGINT: leave the event loop and exit cleanly */
	event_loopexit(NULL);
}

/*
 * Signals of a child, set before its sandbox forbids sigaction: SIGTERM
 * and SIGINT end the event loop; SIGPIPE and SIGHUP are ignored (a
 * closed peer shows as EPIPE, and only the parent reloads).
 */
void
child_signals(void)
{
	static struct event	ev_sigterm, ev_sigint;

	signal_set(&ev_sigterm, SIGTERM, child_sig, NULL);
	signal_set(&ev_sigint, SIGINT, child_sig, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sigint, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}
