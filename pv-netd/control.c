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
 * The control socket.  pvd creates it and hands the listening descriptor
 * here; this process accepts, checks each client's credentials, parses
 * its requests and relays the valid ones.  A malformed request closes
 * that client's connection and nothing else.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"

/*
 * Flow control: a client has at most CTL_MAX_INFLIGHT stores and gets
 * pipelined, and any other request alone; while it may not send more,
 * or while its answers pile up unread, it is not read from.  A client
 * whose unread answers pass CTL_QUEUE_MAX is dropped.
 */
#define CTL_MAX_INFLIGHT	32
#define CTL_QUEUE_PAUSE		256	/* messages queued to the client */
#define CTL_QUEUE_MAX		65536

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	uint32_t		 id;		/* peerid of relayed messages */
	int			 storage_jobs;	/* requests sent to storage */
	int			 inflight;	/* requests not answered yet */
	int			 exclusive;	/* one that must be alone */
	uid_t			 uid;
	pid_t			 pid;
	const char		*refusal;	/* answer to its 1st request */
	int			 closing;	/* flush, then close */
};
TAILQ_HEAD(ctl_conns, ctl_conn);

static struct {
	struct event		 ev;
	struct event		 pause_ev;
	int			 fd;
	struct ctl_auth		 auth;
	struct ctl_conns	 conns;
	uint32_t		 next_id;
	size_t			 nconns;
} control = { .fd = -1 };

static void	control_accept(int, short, void *);
static void	control_dispatch(int, short, void *);
static void	control_process(struct ctl_conn *);
static void	control_local(struct ctl_conn *, void (*)(int, short, void *));
static void	control_local_peers(int, short, void *);
static void	control_local_repl(int, short, void *);

/* May the client send another request now? */
static int
control_can_read(struct ctl_conn *c)
{
	return (!c->closing && !c->exclusive &&
	    c->inflight < CTL_MAX_INFLIGHT &&
	    imsgbuf_queuelen(&c->iev.ibuf) < CTL_QUEUE_PAUSE);
}

/* imsg_event_add() for clients: reading follows control_can_read(). */
static void
control_event_add(struct ctl_conn *c)
{
	struct imsgev	*iev = &c->iev;

	iev->events = 0;
	if (control_can_read(c))
		iev->events |= EV_READ;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		iev->events |= EV_WRITE;
	event_del(&iev->ev);
	if (iev->events == 0)
		return;
	event_set(&iev->ev, iev->ibuf.fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

static void
control_send_tag(struct ctl_conn *c, uint32_t type, uint32_t tag,
    const void *data, size_t len)
{
	if (imsg_compose(&c->iev.ibuf, type, PVD_CTL_VERSION, tag, -1, data,
	    len) == -1) {
		log_warn("control: answer to uid %u", (unsigned)c->uid);
		c->closing = 1;
	}
	control_event_add(c);
}

static void
control_send(struct ctl_conn *c, uint32_t type, const void *data,
    size_t len)
{
	control_send_tag(c, type, 0, data, len);
}

void
control_listen(int fd, const struct ctl_auth *auth)
{
	if (control.fd != -1)
		fatalx("control socket received twice");
	TAILQ_INIT(&control.conns);
	control.fd = fd;
	control.auth = *auth;
	control.next_id = 1;
	event_set(&control.ev, fd, EV_READ | EV_PERSIST, control_accept,
	    NULL);
	event_add(&control.ev, NULL);
	evtimer_set(&control.pause_ev, control_accept, NULL);
}

static void
control_close(struct ctl_conn *c)
{
	/* a store or get in progress must not outlive its client */
	if (c->storage_jobs)
		imsg_compose_event(&netd_env->iev_storage, IMSG_CTL_CANCEL,
		    c->id, 0, -1, NULL, 0);
	imsgev_clear(&c->iev);
	TAILQ_REMOVE(&control.conns, c, entry);
	free(c);
	control.nconns--;
	/* accepting may have paused for want of room */
	if (evtimer_pending(&control.pause_ev, NULL)) {
		evtimer_del(&control.pause_ev);
		event_add(&control.ev, NULL);
	}
}

void
control_shutdown(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&control.conns)) != NULL)
		control_close(c);
	if (control.fd != -1) {
		event_del(&control.ev);
		close(control.fd);
		control.fd = -1;
	}
}

/*
 * The socket's mode already keeps strangers out; SO_PEERCRED names the
 * client for the log and lets root, the daemon user and members of the
 * socket's group in.
 */
static int
control_client_allowed(int fd, struct ucred *cred)
{
	gid_t		groups[256], *gl, *big = NULL;
	socklen_t	len = sizeof(*cred);
	size_t		i, n;
	int		ok = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1 ||
	    len != sizeof(*cred))
		return (0);
	if (cred->uid == 0 || cred->uid == control.auth.uid ||
	    cred->gid == control.auth.gid)
		return (1);
	/* a member with many groups needs a larger buffer: ERANGE */
	len = sizeof(groups);
	gl = groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gl, &len) == -1) {
		if (errno != ERANGE || (big = malloc(len)) == NULL)
			return (0);
		gl = big;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gl, &len) == -1)
			len = 0;
	}
	n = len / sizeof(gl[0]);
	for (i = 0; i < n; i++)
		if (gl[i] == control.auth.gid)
			ok = 1;
	free(big);
	return (ok);
}

static size_t
control_conns_of(uid_t uid)
{
	struct ctl_conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &control.conns, entry)
		if (c->uid == uid)
			n++;
	return (n);
}

static void
control_fail(struct ctl_conn *c, const char *msg)
{
	struct ctl_result	res;

	memset(&res, 0, sizeof(res));
	res.code = 1;
	strlcpy(res.msg, msg, sizeof(res.msg));
	c->closing = 1;
	control_send(c, IMSG_CTL_FAIL, &res, sizeof(res));
}

static void
control_accept(int lfd, short event, void *arg)
{
	struct ctl_conn		*c;
	struct ucred		 cred;
	struct timeval		 tv = { 1, 0 };
	int			 fd;

	/* the end of a pause: listen again, unless still out of fds */
	if (event & EV_TIMEOUT)
		event_add(&control.ev, NULL);
	if ((fd = accept4(control.fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == ENFILE || errno == EMFILE) {
			/* out of descriptors: pause until one frees */
			event_del(&control.ev);
			evtimer_add(&control.pause_ev, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control accept");
		return;
	}

	if (control.nconns >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients, refusing one");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control accept");
		close(fd);
		return;
	}
	/*
	 * Clients pass the descriptors of the files they store and get;
	 * each is checked before it goes further (control_fd_ok).
	 */
	if (imsgev_init(&c->iev, fd, 1, control_dispatch, c) == -1) {
		log_warn("control accept");
		close(fd);
		free(c);
		return;
	}
	/* a client's descriptors come in one per read, as it is served */
	imsgbuf_set_reads(&c->iev.ibuf, 1);
	c->id = control.next_id++;
	if (control.next_id == 0)
		control.next_id = 1;
	TAILQ_INSERT_TAIL(&control.conns, c, entry);
	control.nconns++;

	/*
	 * A refused client is answered when its first request arrives:
	 * answered at once and closed, it would find the connection gone
	 * before it could write, and never read why.
	 */
	memset(&cred, 0, sizeof(cred));
	c->uid = (uid_t)-1;
	if (!control_client_allowed(fd, &cred)) {
		log_warnx("control: refusing uid %u (pid %d): not root, not "
		    "the daemon user and not in the socket's group",
		    (unsigned)cred.uid, (int)cred.pid);
		c->refusal = "permission denied";
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	if (control_conns_of(c->uid) > CONTROL_MAX_PER_UID) {
		log_warnx("control: too many connections from uid %u",
		    (unsigned)c->uid);
		c->refusal = "too many connections from this user";
		return;
	}
	log_debug("control: client uid %u pid %d connected",
	    (unsigned)c->uid, (int)c->pid);
}

static struct ctl_conn *
control_by_id(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &control.conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

/*
 * A descriptor from a client: a regular file or a pipe, open for reading
 * (store) or writing (get).  NULL when it is one, else why not, for the
 * client.  A request without one never gets here.
 */
static const char *
control_fd_why(int fd, int want_write)
{
	static char	why[128];
	struct stat	sb;
	int		fl;

	if (fstat(fd, &sb) == -1 || (fl = fcntl(fd, F_GETFL)) == -1) {
		/* EACCES: a FUSE file of another user */
		snprintf(why, sizeof(why), "cannot check it: %s",
		    strerror(errno));
		return (why);
	}
	if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))
		return ("not a regular file or a pipe");
	if (want_write && (fl & O_ACCMODE) == O_RDONLY)
		return ("not open for writing");
	if (!want_write && (fl & O_ACCMODE) == O_WRONLY)
		return ("not open for reading");
	return (NULL);
}

/* Refuse a request's descriptor, saying why, and end the connection. */
static void
control_fd_refuse(struct ctl_conn *c, int fd, const char *name,
    const char *why)
{
	char	msg[sizeof(((struct ctl_result *)0)->msg)];

	close(fd);
	/* a long name is cut, the reason is not */
	(void)strlcpy(msg, "refusing the descriptor for ", sizeof(msg));
	(void)strlcat(msg, name, sizeof(msg) - strlen(why) - 2);
	(void)strlcat(msg, ": ", sizeof(msg));
	(void)strlcat(msg, why, sizeof(msg));
	log_warnx("control: uid %u: %s", (unsigned)c->uid, msg);
	control_fail(c, msg);
}

static int
control_name_ok(const char *name, size_t size, uid_t uid)
{
	const char	*why;

	if (!strbuf_terminated(name, size))
		return (0);
	if (!name_valid(name, &why)) {
		log_debug("control: uid %u: bad name: %s", (unsigned)uid, why);
		return (0);
	}
	return (1);
}

/* Pass a request on to pv-storaged, with its descriptor if any. */
static void
control_to_storage(struct ctl_conn *c, struct imsg *imsg, int fd,
    const void *data, size_t len)
{
	struct ctl_result	res;

	/* the pid field carries the client's tag of the request */
	if (imsg_compose_event(&netd_env->iev_storage, imsg_get_type(imsg),
	    c->id, imsg_get_pid(imsg), fd, data, len) == -1) {
		memset(&res, 0, sizeof(res));
		res.code = 1;
		strlcpy(res.msg, "storage is restarting, try again",
		    sizeof(res.msg));
		/* answered here: nothing is in flight for it */
		if (c->inflight == 0)
			c->exclusive = 0;
		control_send(c, IMSG_CTL_FAIL, &res, sizeof(res));
		return;
	}
	c->storage_jobs = 1;
	c->inflight++;
}

/*
 * One request; -1 closes the connection.  Every payload has its exact
 * size, every string its NUL, every name is valid, and a descriptor
 * comes with the requests that need one and with no other.
 */
static int
control_request(struct ctl_conn *c, struct imsg *imsg)
{
	struct imsgev		*parent = &netd_env->iev_parent;
	struct ctl_store	 st;
	struct ctl_name		 n;
	uint64_t		 bytes;
	uint32_t		 type = imsg_get_type(imsg), version;
	const char		*why;
	int			 v, fd;

	if (imsg_get_id(imsg) != PVD_CTL_VERSION) {
		version = PVD_CTL_VERSION;
		log_warnx("control: uid %u speaks control protocol %u, we "
		    "speak %u", (unsigned)c->uid, imsg_get_id(imsg), version);
		c->closing = 1;
		control_send(c, IMSG_CTL_VERSION_MISMATCH, &version,
		    sizeof(version));
		return (0);
	}

	fd = imsg_get_fd(imsg);
	/* only stores and gets may be pipelined */
	if (type != IMSG_CTL_STORE && type != IMSG_CTL_GET)
		c->exclusive = 1;
	switch (type) {
	case IMSG_CTL_STATUS:
	case IMSG_CTL_RELOAD:
		if (imsg_get_len(imsg) != 0 || fd != -1)
			break;
		c->inflight++;
		imsg_compose_event(parent, type, c->id, 0, -1, NULL, 0);
		return (0);
	case IMSG_CTL_LOG_VERBOSE:
		if (imsg_get_data(imsg, &v, sizeof(v)) == -1 || v < 0 ||
		    v > 3 || fd != -1)
			break;
		c->inflight++;
		imsg_compose_event(parent, type, c->id, 0, -1, &v, sizeof(v));
		return (0);
	case IMSG_CTL_STORE:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1 ||
		    !control_name_ok(st.name, sizeof(st.name), c->uid) ||
		    fd == -1)
			break;
		if ((why = control_fd_why(fd, 0)) != NULL) {
			control_fd_refuse(c, fd, st.name, why);
			return (0);
		}
		control_to_storage(c, imsg, fd, &st, sizeof(st));
		return (0);
	case IMSG_CTL_GET:
		if (imsg_get_data(imsg, &n, sizeof(n)) == -1 ||
		    !control_name_ok(n.name, sizeof(n.name), c->uid) ||
		    fd == -1)
			break;
		if ((why = control_fd_why(fd, 1)) != NULL) {
			control_fd_refuse(c, fd, n.name, why);
			return (0);
		}
		control_to_storage(c, imsg, fd, &n, sizeof(n));
		return (0);
	case IMSG_CTL_DELETE:
		if (imsg_get_data(imsg, &n, sizeof(n)) == -1 ||
		    !control_name_ok(n.name, sizeof(n.name), c->uid) ||
		    fd != -1)
			break;
		control_to_storage(c, imsg, -1, &n, sizeof(n));
		return (0);
	case IMSG_CTL_LIST:
	case IMSG_CTL_QUOTA:
	case IMSG_CTL_SCRUB:
		if (imsg_get_len(imsg) != 0 || fd != -1)
			break;
		control_to_storage(c, imsg, -1, NULL, 0);
		return (0);
	case IMSG_CTL_QUOTA_SET:
		if (imsg_get_data(imsg, &bytes, sizeof(bytes)) == -1 ||
		    fd != -1)
			break;
		control_to_storage(c, imsg, -1, &bytes, sizeof(bytes));
		return (0);
	case IMSG_CTL_PEERS:
		if (imsg_get_len(imsg) != 0 || fd != -1)
			break;
		control_local(c, control_local_peers);
		return (0);
	case IMSG_CTL_REPL:
		if (imsg_get_len(imsg) != 0 || fd != -1)
			break;
		control_local(c, control_local_repl);
		return (0);
	}
	if (fd != -1)
		close(fd);
	return (-1);
}

/*
 * Take the client's buffered requests while it may send more; what it
 * may not send yet stays buffered until its answers have gone out.
 */
static void
control_process(struct ctl_conn *c)
{
	struct imsg	imsg;
	ssize_t		n;

	while (control_can_read(c)) {
		if ((n = imsgbuf_get(&c->iev.ibuf, &imsg)) == -1) {
			log_warnx("control: uid %u sent a malformed message, "
			    "closing", (unsigned)c->uid);
			control_close(c);
			return;
		}
		if (n == 0)
			break;
		if (c->refusal != NULL) {
			imsg_free(&imsg);
			control_fail(c, c->refusal);
			break;
		}
		if (control_request(c, &imsg) == -1) {
			log_warnx("control: uid %u sent a bad request (type "
			    "%u, %zu bytes), closing", (unsigned)c->uid,
			    imsg_get_type(&imsg), imsg_get_len(&imsg));
			imsg_free(&imsg);
			control_close(c);
			return;
		}
		imsg_free(&imsg);
	}
	control_event_add(c);
}

static void
control_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct ctl_conn	*c = iev->data;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			log_warn("control: uid %u sent what is not an imsg, "
			    "closing", (unsigned)c->uid);
		control_close(c);
		return;
	}
	if (c->closing) {
		/* answer sent or being sent; read nothing more */
		if (imsgbuf_queuelen(&iev->ibuf) == 0)
			control_close(c);
		else
			control_event_add(c);
		return;
	}
	control_process(c);
}

/*
 * pv-storaged died: the clients waiting on it will get no answer, so
 * they are told, and their connections closed.
 */
void
control_storage_lost(void)
{
	struct ctl_conn	*c, *t;

	TAILQ_FOREACH_SAFE(c, &control.conns, entry, t) {
		if (!c->storage_jobs || c->closing)
			continue;
		c->storage_jobs = 0;
		control_fail(c, "storage restarted during the request");
	}
}

/*
 * An answer from the parent for the client with that id; the client may
 * have gone meanwhile.  The parent is trusted, but sizes still bound
 * what is copied.
 */
void
control_relay(struct imsg *imsg)
{
	size_t	 len = imsg_get_len(imsg);

	if (len > MAX_IMSGSIZE - IMSG_HEADER_SIZE)
		fatalx("%s: oversized answer", __func__);
	control_send_to(imsg_get_id(imsg), imsg_get_type(imsg),
	    imsg_get_pid(imsg), len ? imsg->data : NULL, len);
}

/*
 * An answer for the client ctlid, relayed or made here (peers,
 * replication); -1 when the client has gone.
 */
int
control_send_to(uint32_t ctlid, uint32_t type, uint32_t tag,
    const void *data, size_t len)
{
	struct ctl_conn	*c;

	if ((c = control_by_id(ctlid)) == NULL || c->closing)
		return (-1);
	if (imsgbuf_queuelen(&c->iev.ibuf) >= CTL_QUEUE_MAX) {
		log_warnx("control: uid %u reads no answers, dropping it",
		    (unsigned)c->uid);
		control_close(c);
		return (-1);
	}
	switch (type) {
	case IMSG_CTL_END:
	case IMSG_CTL_RESULT:
	case IMSG_CTL_FAIL:
	case IMSG_CTL_QUOTA_INFO:
	case IMSG_CTL_SCRUB_RESULT:
		/* the last message of an answer */
		if (c->inflight > 0)
			c->inflight--;
		if (c->inflight == 0)
			c->exclusive = 0;
		break;
	}
	control_send_tag(c, type, tag, data, len);
	/* room for more: take what the client has sent meanwhile */
	control_process(c);
	return (0);
}

/*
 * Requests that pv-netd answers itself, run from the event loop rather
 * than inside control_process(), which their answers re-enter.
 */
static void
control_local_peers(int fd, short event, void *arg)
{
	peer_ctl_list((uint32_t)(uintptr_t)arg);
}

static void
control_local_repl(int fd, short event, void *arg)
{
	repl_ctl_status((uint32_t)(uintptr_t)arg);
}

static void
control_local(struct ctl_conn *c, void (*cb)(int, short, void *))
{
	struct timeval	tv = { 0, 0 };

	c->inflight++;
	if (event_once(-1, EV_TIMEOUT, cb, (void *)(uintptr_t)c->id,
	    &tv) == -1)
		control_fail(c, "out of memory");
}
