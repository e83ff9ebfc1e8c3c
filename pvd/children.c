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
 * Starting and supervising the children: fork+exec from libexec with the
 * parent socket on fd 3, socketpairs between siblings, the configuration
 * stream, and the restart policy of DESIGN §1.  Also the parent's side of
 * the control requests that pv-netd relays.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parent.h"

static void	child_dispatch(int, short, void *);
static void	child_spawn(struct child *);
static void	child_restart_cb(int, short, void *);

static struct child *
child_by_pid(pid_t pid)
{
	int	i;

	for (i = PROC_STORAGE; i < PROC_MAX; i++)
		if (pvd_env->children[i].pid == pid)
			return (&pvd_env->children[i]);
	return (NULL);
}

static int
child_up(const struct child *c)
{
	return (c->pid != 0 && c->iev.handler != NULL);
}

int
children_running(void)
{
	int	i, n = 0;

	for (i = PROC_STORAGE; i < PROC_MAX; i++)
		if (pvd_env->children[i].state == PSTATE_RUNNING)
			n++;
	return (n);
}

static __dead void
child_exec(struct child *c, int fd)
{
	struct parent	*env = pvd_env;
	char		 path[PATH_MAX], uid[16], gid[16];
	char		*argv[16];
	sigset_t	 mask;
	int		 argc = 0, v;

	if (fd == PVD_PARENT_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, PVD_PARENT_FD) == -1)
		_exit(127);
	closefrom(PVD_PARENT_FD + 1);

	/* the children must not share the parent's signal dispositions */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	snprintf(path, sizeof(path), "%s/%s", env->libexec,
	    pv_procs[c->proc].binary);
	/* the bare name: the title set over it is never shorter */
	argv[argc++] = (char *)pv_procs[c->proc].binary;
	if (env->debug)
		argv[argc++] = "-d";
	for (v = 0; v < env->verbose && v < 3; v++)
		argv[argc++] = "-v";
	if (env->privsep) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)env->uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned)env->gid);
		argv[argc++] = "-u";
		argv[argc++] = uid;
		argv[argc++] = "-g";
		argv[argc++] = gid;
		argv[argc++] = "-j";
		argv[argc++] = pv_procs[c->proc].jail_data ?
		    env->conf->g.data_dir : PVD_EMPTY_DIR;
	} else if (pv_procs[c->proc].jail_data) {
		argv[argc++] = "-w";
		argv[argc++] = env->conf->g.data_dir;
	}
	argv[argc] = NULL;

	execv(path, argv);
	/* the parent sees the death and applies its policy */
	_exit(127);
}

/* Connect c with every running sibling it talks to. */
static void
child_link_siblings(struct child *c)
{
	struct child	*s;
	int		 i, sp[2];

	for (i = PROC_STORAGE; i < PROC_MAX; i++) {
		s = &pvd_env->children[i];
		if (s == c || !(pv_procs[c->proc].links & (1U << i)) ||
		    !child_up(s))
			continue;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, PF_UNSPEC, sp) == -1)
			fatal("socketpair");
		if (imsg_compose_event(&c->iev, IMSG_SOCKET_PEER, s->proc, 0,
		    sp[0], NULL, 0) == -1 ||
		    imsg_compose_event(&s->iev, IMSG_SOCKET_PEER, c->proc, 0,
		    sp[1], NULL, 0) == -1)
			fatal("%s: imsg_compose", __func__);
		log_debug("linked %s and %s", pv_procs[c->proc].title,
		    pv_procs[s->proc].title);
	}
}

/* The descriptors and keys a child needs before its configuration. */
static void
child_send_resources(struct child *c)
{
	struct parent	*env = pvd_env;
	struct ctl_auth	 auth;
	size_t		 i;
	int		 fd;

	switch (c->proc) {
	case PROC_STORAGE:
		imsg_compose_event(&c->iev, IMSG_KEYS_STORAGE, 0, 0, -1,
		    &env->keys_storage, sizeof(env->keys_storage));
		break;
	case PROC_NET:
		imsg_compose_event(&c->iev, IMSG_KEYS_NET, 0, 0, -1,
		    &env->keys_net, sizeof(env->keys_net));
		memset(&auth, 0, sizeof(auth));
		auth.uid = env->uid;
		auth.gid = env->gid;
		if ((fd = dup(env->control_fd)) == -1)
			fatal("dup control socket");
		imsg_compose_event(&c->iev, IMSG_CONTROL_FD, 0, 0, fd,
		    &auth, sizeof(auth));
		for (i = 0; i < env->nlisteners; i++) {
			if ((fd = dup(env->listeners[i].fd)) == -1)
				fatal("dup listener");
			imsg_compose_event(&c->iev, IMSG_LISTEN_FD, 0, 0, fd,
			    &env->listeners[i].ep,
			    sizeof(env->listeners[i].ep));
		}
		if (env->node_known)
			imsg_compose_event(&c->iev, IMSG_NODE_ID, 0, 0, -1,
			    &env->node, sizeof(env->node));
		break;
	default:
		break;
	}
}

void
child_send_config(struct child *c)
{
	struct pv_config		*conf = pvd_env->conf;
	struct pv_endpoint_entry	*e;

	if (!child_up(c))
		return;
	imsg_compose_event(&c->iev, IMSG_CONF_START, 0, 0, -1, &conf->g,
	    sizeof(conf->g));
	TAILQ_FOREACH(e, &conf->listen, entry)
		imsg_compose_event(&c->iev, IMSG_CONF_LISTEN, 0, 0, -1, &e->ep,
		    sizeof(e->ep));
	TAILQ_FOREACH(e, &conf->bootstrap, entry)
		imsg_compose_event(&c->iev, IMSG_CONF_BOOTSTRAP, 0, 0, -1,
		    &e->ep, sizeof(e->ep));
	imsg_compose_event(&c->iev, IMSG_CONF_END, 0, 0, -1, NULL, 0);
}

void
children_broadcast(uint32_t type, const void *data, size_t len)
{
	int	i;

	for (i = PROC_STORAGE; i < PROC_MAX; i++)
		if (child_up(&pvd_env->children[i]))
			imsg_compose_event(&pvd_env->children[i].iev, type, 0,
			    0, -1, data, len);
}

static void
child_spawn(struct child *c)
{
	int	sp[2];
	pid_t	pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    PF_UNSPEC, sp) == -1)
		fatal("socketpair");

	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		close(sp[0]);
		child_exec(c, sp[1]);
		/* NOTREACHED */
	}
	close(sp[1]);

	c->pid = pid;
	c->state = PSTATE_STARTING;
	c->ready = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	if (imsgev_init(&c->iev, sp[0], 1, child_dispatch, c) == -1)
		fatal("imsgbuf_init");
	c->iev.proc = c->proc;
	log_debug("started %s, pid %d", pv_procs[c->proc].title, pid);

	child_link_siblings(c);
	child_send_resources(c);
	child_send_config(c);
}

void
children_start(void)
{
	struct child	*c;
	int		 i;

	for (i = PROC_STORAGE; i < PROC_MAX; i++) {
		c = &pvd_env->children[i];
		c->proc = i;
		evtimer_set(&c->restart_ev, child_restart_cb, c);
		child_spawn(c);
	}
}

static void
child_restart_cb(int fd, short event, void *arg)
{
	struct child	*c = arg;

	if (pvd_env->shutting_down)
		return;
	log_info("restarting %s", pv_procs[c->proc].title);
	child_spawn(c);
}

/* Deaths within the window, counting this one. */
static size_t
child_record_death(struct child *c)
{
	struct timespec	now;
	size_t		i, n = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	c->deaths[c->death_next] = now;
	c->death_next = (c->death_next + 1) % (PVD_CRASH_MAX + 1);
	if (c->ndeaths < PVD_CRASH_MAX + 1)
		c->ndeaths++;
	for (i = 0; i < c->ndeaths; i++)
		if (now.tv_sec - c->deaths[i].tv_sec < PVD_CRASH_WINDOW)
			n++;
	return (n);
}

void
children_reap(void)
{
	struct child	*c;
	struct timeval	 tv;
	pid_t		 pid;
	size_t		 deaths;
	int		 status;
	long		 delay;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = child_by_pid(pid)) == NULL)
			continue;
		if (WIFSIGNALED(status))
			log_warnx("lost child: %s (pid %d) terminated by "
			    "signal %d", pv_procs[c->proc].title, pid,
			    WTERMSIG(status));
		else
			log_warnx("lost child: %s (pid %d) exited with "
			    "status %d", pv_procs[c->proc].title, pid,
			    WEXITSTATUS(status));
		imsgev_clear(&c->iev);
		c->pid = 0;
		c->ready = 0;
		if (pvd_env->shutting_down) {
			c->state = PSTATE_STOPPED;
			continue;
		}

		deaths = child_record_death(c);
		if (deaths > PVD_CRASH_MAX) {
			log_warnx("%s died %zu times in %d seconds, giving "
			    "up", pv_procs[c->proc].title, deaths,
			    PVD_CRASH_WINDOW);
			pvd_env->shutting_down = 1;
			parent_shutdown(1);
		}
		c->state = PSTATE_RESTARTING;
		c->restarts++;
		delay = RESTART_DELAY_MS << (deaths - 1);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		log_info("restarting %s in %ld ms", pv_procs[c->proc].title,
		    delay);
		evtimer_add(&c->restart_ev, &tv);
	}
}

/* SIGTERM every child, wait for them, then SIGKILL what is left. */
void
children_stop(void)
{
	struct child	*c;
	struct timespec	 start, nap = { 0, 20 * 1000 * 1000 };
	pid_t		 pid;
	int		 i, left, status;

	for (i = PROC_STORAGE; i < PROC_MAX; i++) {
		c = &pvd_env->children[i];
		if (evtimer_initialized(&c->restart_ev))
			evtimer_del(&c->restart_ev);
		if (c->pid != 0)
			kill(c->pid, SIGTERM);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if ((c = child_by_pid(pid)) != NULL) {
				c->pid = 0;
				c->state = PSTATE_STOPPED;
			}
		for (left = 0, i = PROC_STORAGE; i < PROC_MAX; i++)
			if (pvd_env->children[i].pid != 0)
				left++;
		if (left == 0)
			break;
		if (timespec_ms_since(&start) > STOP_TIMEOUT_MS) {
			for (i = PROC_STORAGE; i < PROC_MAX; i++) {
				c = &pvd_env->children[i];
				if (c->pid == 0)
					continue;
				log_warnx("%s (pid %d) did not stop, killing "
				    "it", pv_procs[i].title, c->pid);
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				c->pid = 0;
			}
			break;
		}
		nanosleep(&nap, NULL);
	}
	for (i = PROC_STORAGE; i < PROC_MAX; i++)
		imsgev_clear(&pvd_env->children[i].iev);
}

static void
child_ready(struct child *c)
{
	struct parent	*env = pvd_env;
	char		 msg[128];
	int		 i;

	if (c->ready)
		return;
	c->ready = 1;
	c->state = PSTATE_RUNNING;
	log_debug("%s is ready", pv_procs[c->proc].title);

	if (env->all_ready)
		return;
	for (i = PROC_STORAGE; i < PROC_MAX; i++)
		if (!env->children[i].ready)
			return;
	env->all_ready = 1;
	log_info("ready in %lld ms", (long long)timespec_ms_since(
	    &env->start_time));
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving, %d processes",
	    PROC_MAX);
	notify_systemd(msg);
}

/* A child's text reaches the log: no control characters in it. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

/* A child's log line is untrusted: bounded, terminated, made printable. */
static int
child_log(struct child *c, struct imsg *imsg)
{
	struct pv_logline	line;
	int			 pri;

	if (imsg_get_data(imsg, &line, sizeof(line)) == -1 ||
	    !strbuf_terminated(line.msg, sizeof(line.msg)))
		return (-1);
	printable(line.msg);
	pri = line.priority;
	if (pri < LOG_CRIT || pri > LOG_DEBUG)
		pri = LOG_CRIT;
	logit(pri, "%s: %s", pv_procs[c->proc].title, line.msg);
	return (0);
}

static void
ctl_status(uint32_t ctlid)
{
	struct parent			*env = pvd_env;
	struct imsgev			*net = &env->children[PROC_NET].iev;
	struct pv_endpoint_entry	*e;
	struct ctl_node			 node;
	struct ctl_addr			 addr;
	struct ctl_proc			 p;
	int				 i;

	memset(&node, 0, sizeof(node));
	if (env->node_known) {
		strlcpy(node.node_id, env->node.node_id, sizeof(node.node_id));
		node.node_status = env->node.status;
		strlcpy(node.node_reason, env->node.reason,
		    sizeof(node.node_reason));
	} else {
		node.node_status = NODE_FAILED;
		strlcpy(node.node_reason, "storage has not reported yet",
		    sizeof(node.node_reason));
	}
	node.uptime = timespec_ms_since(&env->start_time) / 1000;
	node.advertise = env->conf->g.advertise;
	node.has_advertise = env->conf->g.has_advertise;
	node.ctl_version = PVD_CTL_VERSION;
	strlcpy(node.version, PACKAGE_VERSION, sizeof(node.version));
	imsg_compose_event(net, IMSG_CTL_STATUS_NODE, ctlid, 0, -1, &node,
	    sizeof(node));

	TAILQ_FOREACH(e, &env->conf->listen, entry) {
		memset(&addr, 0, sizeof(addr));
		addr.kind = CTL_ADDR_LISTEN;
		addr.ep = e->ep;
		imsg_compose_event(net, IMSG_CTL_STATUS_ADDR, ctlid, 0, -1,
		    &addr, sizeof(addr));
	}
	if (env->conf->g.has_metrics) {
		memset(&addr, 0, sizeof(addr));
		addr.kind = CTL_ADDR_METRICS;
		addr.ep = env->conf->g.metrics;
		imsg_compose_event(net, IMSG_CTL_STATUS_ADDR, ctlid, 0, -1,
		    &addr, sizeof(addr));
	}

	memset(&p, 0, sizeof(p));
	strlcpy(p.name, "pvd", sizeof(p.name));
	p.pid = getpid();
	p.state = PSTATE_RUNNING;
	p.started = node.uptime;
	imsg_compose_event(net, IMSG_CTL_STATUS_PROC, ctlid, 0, -1, &p,
	    sizeof(p));
	for (i = PROC_STORAGE; i < PROC_MAX; i++) {
		struct child	*c = &env->children[i];

		memset(&p, 0, sizeof(p));
		strlcpy(p.name, pv_procs[i].title, sizeof(p.name));
		p.pid = c->pid;
		p.state = c->state;
		p.restarts = c->restarts;
		p.started = c->pid ? timespec_ms_since(&c->started) / 1000 : 0;
		imsg_compose_event(net, IMSG_CTL_STATUS_PROC, ctlid, 0, -1,
		    &p, sizeof(p));
	}
	imsg_compose_event(net, IMSG_CTL_END, ctlid, 0, -1, NULL, 0);
}

static int
ctl_log_verbose(uint32_t ctlid, struct imsg *imsg)
{
	struct ctl_result	res;
	int			v;

	if (imsg_get_data(imsg, &v, sizeof(v)) == -1 || v < 0 || v > 3)
		return (-1);
	log_setverbose(v);
	children_broadcast(IMSG_LOG_SETVERBOSE, &v, sizeof(v));
	memset(&res, 0, sizeof(res));
	snprintf(res.msg, sizeof(res.msg), "logging %s",
	    v ? "verbose" : "brief");
	log_info("%s", res.msg);
	imsg_compose_event(&pvd_env->children[PROC_NET].iev, IMSG_CTL_RESULT,
	    ctlid, 0, -1, &res, sizeof(res));
	return (0);
}

static int
child_node_state(struct child *c, struct imsg *imsg)
{
	struct pv_node_state	ns;

	if (imsg_get_data(imsg, &ns, sizeof(ns)) == -1 ||
	    !strbuf_terminated(ns.node_id, sizeof(ns.node_id)) ||
	    !strbuf_terminated(ns.reason, sizeof(ns.reason)) ||
	    ns.status > NODE_FAILED)
		return (-1);
	printable(ns.reason);
	pvd_env->node = ns;
	pvd_env->node_known = 1;
	if (ns.status != NODE_OK)
		log_warnx("storage refuses to serve: %s", ns.reason);
	imsg_compose_event(&pvd_env->children[PROC_NET].iev, IMSG_NODE_ID, 0,
	    0, -1, &ns, sizeof(ns));
	return (0);
}

/*
 * One dispatch function for the channels to the children.  A child is
 * less trusted than the parent: a message that is malformed or not
 * legal on its channel means the child is broken, so it is killed and
 * the restart policy applies.
 */
static void
child_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct child	*c = iev->data;
	struct imsg	 imsg;
	ssize_t		 n;
	uint32_t	 type;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			log_warn("channel to %s", pv_procs[c->proc].title);
		/*
		 * A child without its channel is useless even if it lives
		 * on: make sure it dies, and SIGCHLD restarts it.
		 */
		goto kill;
	}

	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1) {
			log_warn("%s: bad imsg", pv_procs[c->proc].title);
			goto kill;
		}
		if (n == 0)
			break;
		type = imsg_get_type(&imsg);
		switch (type) {
		case IMSG_CHILD_READY:
			child_ready(c);
			break;
		case IMSG_CHILD_LOG:
			if (child_log(c, &imsg) == -1)
				goto malformed;
			break;
		case IMSG_NODE_STATE:
			if (c->proc != PROC_STORAGE)
				goto refuse;
			if (child_node_state(c, &imsg) == -1)
				goto malformed;
			break;
		case IMSG_CTL_STATUS:
			if (c->proc != PROC_NET)
				goto refuse;
			ctl_status(imsg_get_id(&imsg));
			break;
		case IMSG_CTL_RELOAD:
			if (c->proc != PROC_NET)
				goto refuse;
			parent_reload(imsg_get_id(&imsg));
			break;
		case IMSG_CTL_LOG_VERBOSE:
			if (c->proc != PROC_NET)
				goto refuse;
			if (ctl_log_verbose(imsg_get_id(&imsg), &imsg) == -1)
				goto malformed;
			break;
		default:
			goto refuse;
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
	return;

 malformed:
	log_warnx("%s sent a malformed imsg type %u: killing it",
	    pv_procs[c->proc].title, type);
	imsg_free(&imsg);
	goto kill;
 refuse:
	log_warnx("%s sent imsg type %u, which it may not: killing it",
	    pv_procs[c->proc].title, type);
	imsg_free(&imsg);
 kill:
	imsgev_clear(iev);
	if (c->pid != 0)
		kill(c->pid, SIGKILL);
}
