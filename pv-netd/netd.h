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

/* pv-netd, private. */

#ifndef NETD_H
#define NETD_H

#include "pvd.h"

/* Control clients: at most this many at once, and per user. */
#define CONTROL_MAX_CLIENTS	64
#define CONTROL_MAX_PER_UID	16

struct netd_listener {
	TAILQ_ENTRY(netd_listener)	 entry;
	struct event			 ev;
	struct pv_endpoint		 ep;
	int				 fd;
};
TAILQ_HEAD(netd_listeners, netd_listener);

struct netd {
	struct imsgev		 iev_parent;
	struct imsgev		 iev_storage;
	struct imsgev		 iev_discover;
	struct pv_config	*conf;
	struct pv_config	*staging;
	struct pv_keys_net	 keys;
	struct pv_node_state	 node;
	struct netd_listeners	 listeners;
	int			 ready;
};

extern struct netd	*netd_env;

/* control.c */
void	 control_listen(int, const struct ctl_auth *);
void	 control_relay(struct imsg *);
void	 control_shutdown(void);
void	 control_storage_lost(void);

#endif /* NETD_H */
