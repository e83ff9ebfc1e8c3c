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

/* The parent process, private. */

#ifndef PARENT_H
#define PARENT_H

#include <sys/time.h>

#include "pvd.h"

/* Back-off before a dead child is started again: 250 ms, doubling. */
#define RESTART_DELAY_MS	250
#define STOP_TIMEOUT_MS		5000

struct child {
	enum pv_proc		 proc;
	pid_t			 pid;
	enum pv_proc_state	 state;
	uint32_t		 restarts;
	struct timespec		 started;	/* monotonic */
	struct timespec		 deaths[PVD_CRASH_MAX + 1];
	size_t			 ndeaths;	/* ring entries in use */
	size_t			 death_next;
	struct imsgev		 iev;
	struct event		 restart_ev;
	int			 ready;		/* IMSG_CHILD_READY seen */
};

struct listener {
	int			 fd;
	struct pv_endpoint	 ep;		/* the bound address */
};

struct parent {
	struct pv_config	*conf;
	const char		*conffile;	/* absolute */
	int			 conf_flags;
	int			 debug;
	int			 verbose;
	int			 privsep;	/* started as root */
	uid_t			 uid;		/* the daemon user */
	gid_t			 gid;
	const char		*libexec;
	char			 sockpath[PVD_SOCKPATH_MAX];
	int			 control_fd;
	struct listener		 listeners[2 * PVD_LISTEN_MAX];
	size_t			 nlisteners;
	struct pv_keys_storage	 keys_storage;
	struct pv_keys_net	 keys_net;
	struct pv_node_state	 node;
	int			 node_known;
	struct timespec		 start_time;
	struct child		 children[PROC_MAX];
	int			 all_ready;	/* READY=1 was sent */
	int			 shutting_down;
};

extern struct parent	*pvd_env;

/* pvd.c */
void	 parent_reload(uint32_t);
void	 parent_shutdown(int) __attribute__((__noreturn__));
int64_t	 timespec_ms_since(const struct timespec *);

/* children.c */
void	 children_start(void);
void	 child_send_config(struct child *);
void	 children_broadcast(uint32_t, const void *, size_t);
void	 children_reap(void);
void	 children_stop(void);
int	 children_running(void);

/* sockets.c */
void	 control_check_running(const char *);
void	 control_open(void);
void	 control_close(void);
void	 listeners_open(const struct pv_config *);
void	 datadir_prepare(const struct pv_config *);
void	 emptydir_prepare(void);
void	 key_load(const char *, uint8_t *);

/* notify.c */
void	 notify_systemd(const char *);

#endif /* PARENT_H */
