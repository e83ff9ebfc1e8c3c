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

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "pvd.h"
#include "repl.h"
#include "wire.h"

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

/*
 * A peer connection (peer.c).  It goes TCP connect or accept, TLS
 * handshake, HELLO both ways, then PEER_HEALTHY; peer.c owns the
 * socket, TLS, framing, keepalive and the outgoing blob stream, and
 * hands every other frame to repl.c.
 */
struct peer_target;

struct peer {
	TAILQ_ENTRY(peer)	 entry;
	uint32_t		 id;		/* imsg peerid, never 0 */
	int			 state;		/* enum ctl_peer_state */
	int			 outbound;
	int			 hello_sent;
	int			 hello_rcvd;
	struct sockaddr_storage	 ss;		/* the remote address */
	char			 addr[PVD_HOST_MAX + 8];
	uint8_t			 node[PVD_NODEID_LEN];	/* from HELLO */
	char			 node_hex[PVD_NODEID_HEXLEN];
	struct pv_endpoint	 advertised;	/* from HELLO */
	struct peer_target	*target;	/* outbound: what we dialled */
	SSL			*ssl;
	struct bufferevent	*bev;
	struct event		 timer;		/* keepalive, handshake */
	time_t			 last_rx;	/* monotonic seconds */
	time_t			 last_seen;	/* wall clock, for pvctl */
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;

	/* the outgoing blob stream (one at a time) */
	int			 tx_fd;
	uint32_t		 tx_tag;
	uint64_t		 tx_off;
	uint64_t		 tx_end;

	void			*repl;		/* repl.c's state */
};
TAILQ_HEAD(peers, peer);

struct netd {
	struct event_base	*evbase;	/* from event_init() */
	struct imsgev		 iev_parent;
	struct imsgev		 iev_storage;
	struct imsgev		 iev_discover;
	struct pv_config	*conf;
	struct pv_config	*staging;
	struct pv_keys_net	 keys;
	struct pv_node_state	 node;
	struct netd_listeners	 listeners;
	int			 ready;
	uint8_t			 node_id[PVD_NODEID_LEN];
	int			 have_node_id;
	struct peers		 peers;
	uint64_t		 bytes_in;	/* every peer, ever */
	uint64_t		 bytes_out;
};

extern struct netd	*netd_env;

/* peer.c */
void	 peer_init(void);			/* SSL_CTX, before the jail */
void	 peer_accept(int, const struct pv_endpoint *);	/* a listener */
void	 peer_add_target(const struct pv_peer_addr *);
void	 peer_shutdown(void);
struct peer *peer_find(uint32_t);		/* by id, healthy or not */
int	 peer_send(struct peer *, uint16_t, const void *, size_t);
int	 peer_stream(struct peer *, uint32_t, int, uint64_t, uint64_t);
void	 peer_stream_cancel(struct peer *);
void	 peer_drop(struct peer *, const char *, ...)
	    __attribute__((__format__ (printf, 2, 3)));
void	 peer_ctl_list(uint32_t);		/* pvctl peers */
uint32_t peer_count_healthy(void);

/* repl.c: called by peer.c */
void	 repl_peer_up(struct peer *);		/* HELLO done */
void	 repl_peer_down(struct peer *);		/* before it is freed */
void	 repl_frame(struct peer *, uint16_t, const uint8_t *, size_t);
void	 repl_data(struct peer *, uint32_t, const uint8_t *, size_t);
void	 repl_stream_done(struct peer *, uint32_t, int);
/* repl.c: called by netd.c */
void	 repl_init(void);
void	 repl_storage_imsg(struct imsg *);	/* an IMSG_REPL_* */
void	 repl_storage_lost(void);
void	 repl_storage_back(void);
void	 repl_ctl_status(uint32_t);		/* IMSG_CTL_REPL */
void	 repl_shutdown(void);

/* control.c */
void	 control_listen(int, const struct ctl_auth *);
void	 control_relay(struct imsg *);
void	 control_shutdown(void);
void	 control_storage_lost(void);
int	 control_send_to(uint32_t, uint32_t, uint32_t, const void *, size_t);

#endif /* NETD_H */
