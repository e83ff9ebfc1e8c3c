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
 * The peer transport of pv-netd: TLS 1.3 with the network's external
 * PSK over TCP, framing, the HELLO exchange, keepalive, dialling with
 * back-off, and the outgoing blob stream.  Every frame after HELLO is
 * checked here and handed to repl.c.  doc/PROTOCOL.md describes the
 * protocol.
 *
 * A dropped peer is taken out of every list and its socket closed at
 * once, but its memory is freed only from the event loop, so that the
 * callers (repl.c walking the peers, a read callback between frames)
 * never touch freed memory.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "netd.h"

#define PEER_MAX		256	/* connections, both ways */
#define PEER_TARGET_MAX		256	/* addresses to dial */
#define PEER_READ_HIGH		(256 * 1024)	/* input watermark */
#define PEER_TX_HIGH		(256 * 1024)	/* refill below */
#define PEER_TX_LOW		(64 * 1024)	/* write callback below */
/* more output than this: the peer does not read */
#define PEER_OUTPUT_MAX		(64 * 1024 * 1024)
#define PEER_BACKOFF_MIN	1	/* seconds */
#define PEER_BACKOFF_MAX	60
#define PEER_INBOUND_LOG	10	/* a failure logged per ... s */
#define PEER_REASON_MAX		160
/* imsgs queued to storage: frames that add to them wait */
#define PEER_STORAGE_HIGH	512
#define PEER_RX_PAUSE_MS	20

/* TLS_AES_128_GCM_SHA256, as on the wire */
static const unsigned char peer_suite[] = { 0x13, 0x01 };

/* An address to dial, from pv-discoverd. */
struct peer_target {
	TAILQ_ENTRY(peer_target) entry;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 addr[PVD_HOST_MAX + 8];
	struct event		 ev;		/* redial */
	struct peer		*peer;		/* the live dial */
	uint8_t			 node[PVD_NODEID_LEN];
	int			 have_node;	/* node answered */
	int			 waiting;	/* ev pending */
	int			 self;		/* never again */
	unsigned int		 backoff;	/* next delay, s */
	time_t			 last_seen;	/* wall clock */
};
TAILQ_HEAD(peer_targets, peer_target);

/* What peer.c keeps beside struct peer; p is first. */
struct peer_priv {
	struct peer		 p;
	TAILQ_ENTRY(peer_priv)	 dead_entry;
	struct event		 conn_ev;	/* outbound connect */
	struct event		 tx_ev;		/* stream kick */
	struct event		 rx_ev;		/* storage caught up? */
	int			 fd;		/* before TLS */
	time_t			 created;	/* monotonic */
	time_t			 last_tx;	/* monotonic */
	int			 tls_up;
	int			 up;		/* repl_peer_up */
	int			 dropped;
	int			 doomed;	/* drop from timer */
	char			 doom[PEER_REASON_MAX];
};
TAILQ_HEAD(peer_dead, peer_priv);

#define PRIV(p)		((struct peer_priv *)(p))

static SSL_CTX			*peer_ctx;
static struct peer_targets	 peer_targets;
static struct peer_dead		 peer_dead;
static struct event		 peer_reap_ev;
static struct event		 peer_pause_ev;
static uint32_t			 peer_next_id;
static unsigned int		 peer_npeers;
static unsigned int		 peer_ntargets;
static time_t			 peer_inbound_logged;
static int			 peer_stopping;
static int			 peer_events_ready;

static void	peer_close(struct peer *, int, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static void	peer_timer(int, short, void *);
static void	peer_tx_kick(int, short, void *);
static void	peer_rx_resume(int, short, void *);
static void	peer_connect_done(int, short, void *);
static void	peer_readcb(struct bufferevent *, void *);
static void	peer_writecb(struct bufferevent *, void *);
static void	peer_eventcb(struct bufferevent *, short, void *);
static void	peer_pump(struct peer *);
static void	peer_reap(int, short, void *);
static void	peer_accept_resume(int, short, void *);
static void	target_timer(int, short, void *);
static void	target_dial(struct peer_target *);
static void	target_schedule(struct peer_target *);

static unsigned int
peer_timeout(void)
{
	if (netd_env->conf == NULL || netd_env->conf->g.peer_timeout == 0)
		return (PVD_TIMEOUT_DEFAULT);
	return (netd_env->conf->g.peer_timeout);
}

static unsigned int
peer_tick(void)
{
	unsigned int	t;

	t = peer_timeout() / 3;
	return (t > 0 ? t : 1);
}

/* "192.0.2.1:3000", "[2001:db8::1]:3000"; host alone when port is 0. */
static void
peer_sa_str(const struct sockaddr_storage *ss, int with_port, char *buf,
    size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const void	*a;
	uint16_t	 port;

	if (ss->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		(void)strlcpy(buf, "?", len);
		return;
	}
	if (inet_ntop(ss->ss_family, a, host, sizeof(host)) == NULL)
		(void)strlcpy(host, "?", sizeof(host));
	if (!with_port)
		(void)strlcpy(buf, host, len);
	else if (ss->ss_family == AF_INET6)
		(void)snprintf(buf, len, "[%s]:%u", host, port);
	else
		(void)snprintf(buf, len, "%s:%u", host, port);
}

/* The PSK as a TLS 1.3 session: SHA-256 suite, no certificates. */
static SSL_SESSION *
peer_psk_session(SSL *ssl)
{
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess;

	if ((cipher = SSL_CIPHER_find(ssl, peer_suite)) == NULL ||
	    (sess = SSL_SESSION_new()) == NULL)
		return (NULL);
	if (SSL_SESSION_set1_master_key(sess, netd_env->keys.psk,
	    sizeof(netd_env->keys.psk)) != 1 ||
	    SSL_SESSION_set_cipher(sess, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) != 1) {
		SSL_SESSION_free(sess);
		return (NULL);
	}
	return (sess);
}

/* Client: offer the PSK under WIRE_PSK_IDENTITY. */
static int
peer_psk_use(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	*sess = NULL;
	if (md != NULL && EVP_MD_get_type(md) != NID_sha256)
		return (1);
	if ((*sess = peer_psk_session(ssl)) == NULL)
		return (0);
	*id = (const unsigned char *)WIRE_PSK_IDENTITY;
	*idlen = strlen(WIRE_PSK_IDENTITY);
	return (1);
}

/* Server: the one identity; any other gets no PSK, and no handshake. */
static int
peer_psk_find(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sess)
{
	*sess = NULL;
	if (idlen != strlen(WIRE_PSK_IDENTITY) ||
	    memcmp(id, WIRE_PSK_IDENTITY, idlen) != 0)
		return (1);
	if ((*sess = peer_psk_session(ssl)) == NULL)
		return (0);
	return (1);
}

void
peer_init(void)
{
	TAILQ_INIT(&netd_env->peers);
	TAILQ_INIT(&peer_targets);
	TAILQ_INIT(&peer_dead);

	if ((peer_ctx = SSL_CTX_new(TLS_method())) == NULL)
		fatalx("SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(peer_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(peer_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(peer_ctx,
	    "TLS_AES_128_GCM_SHA256") != 1 ||
	    SSL_CTX_set_num_tickets(peer_ctx, 0) != 1)
		fatalx("cannot set up TLS 1.3");
	/* (EC)DHE with the PSK, always: forward secrecy */
	SSL_CTX_clear_options(peer_ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	/* frames delimit themselves: an EOF without close_notify is EOF */
	SSL_CTX_set_options(peer_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(peer_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(peer_ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(peer_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_psk_use_session_callback(peer_ctx, peer_psk_use);
	SSL_CTX_set_psk_find_session_callback(peer_ctx, peer_psk_find);
}

static void
peer_reap(int fd, short event, void *arg)
{
	struct peer_priv	*priv;

	while ((priv = TAILQ_FIRST(&peer_dead)) != NULL) {
		TAILQ_REMOVE(&peer_dead, priv, dead_entry);
		free(priv);
	}
}

/* The events of this file, once the event base exists. */
static void
peer_events_init(void)
{
	if (peer_events_ready)
		return;
	evtimer_set(&peer_reap_ev, peer_reap, NULL);
	evtimer_set(&peer_pause_ev, peer_accept_resume, NULL);
	peer_events_ready = 1;
}

static struct peer *
peer_new(int outbound, struct peer_target *t,
    const struct sockaddr_storage *ss)
{
	struct peer_priv	*priv;
	struct peer		*p;
	struct timeval		 tv;

	peer_events_init();
	if (peer_npeers >= PEER_MAX)
		return (NULL);
	if ((priv = calloc(1, sizeof(*priv))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	p = &priv->p;
	do {
		if (++peer_next_id == 0)
			peer_next_id = 1;
	} while (peer_find(peer_next_id) != NULL);
	p->id = peer_next_id;
	p->state = PEER_CONNECTING;
	p->outbound = outbound;
	p->target = t;
	p->ss = *ss;
	if (t != NULL)
		(void)strlcpy(p->addr, t->addr, sizeof(p->addr));
	else
		peer_sa_str(ss, 1, p->addr, sizeof(p->addr));
	p->tx_fd = -1;
	priv->fd = -1;
	priv->created = priv->last_tx = p->last_rx = monotime();

	evtimer_set(&p->timer, peer_timer, p);
	evtimer_set(&priv->tx_ev, peer_tx_kick, p);
	evtimer_set(&priv->rx_ev, peer_rx_resume, p);
	event_set(&priv->conn_ev, -1, 0, peer_connect_done, p);
	timerclear(&tv);
	tv.tv_sec = peer_tick();
	evtimer_add(&p->timer, &tv);

	TAILQ_INSERT_TAIL(&netd_env->peers, p, entry);
	peer_npeers++;
	return (p);
}

/* Drops p now: callbacks and repl.c see it gone, the memory stays. */
static void
peer_vclose(struct peer *p, int pri, const char *fmt, va_list ap)
{
	struct peer_priv	*priv = PRIV(p);
	struct peer_target	*t;
	struct timeval		 tv;
	char			 reason[PEER_REASON_MAX];

	if (priv->dropped)
		return;
	priv->dropped = 1;
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	if (p->hello_rcvd)
		logit(pri, "peer %s (%.8s) disconnected: %s", p->addr,
		    p->node_hex, reason);
	else
		log_debug("peer %s: %s", p->addr, reason);

	if (priv->up) {
		priv->up = 0;
		if (!peer_stopping)
			repl_peer_down(p);
	}
	if (p->tx_fd != -1) {
		close(p->tx_fd);
		p->tx_fd = -1;
	}
	evtimer_del(&p->timer);
	evtimer_del(&priv->tx_ev);
	evtimer_del(&priv->rx_ev);
	event_del(&priv->conn_ev);
	if (priv->fd != -1) {
		close(priv->fd);
		priv->fd = -1;
	}
	if (p->bev != NULL) {
		/* a close_notify if it goes out now; SIGPIPE is ignored */
		if (priv->tls_up)
			(void)SSL_shutdown(p->ssl);
		ERR_clear_error();
		/* closes the socket and frees the SSL */
		bufferevent_free(p->bev);
		p->bev = NULL;
		p->ssl = NULL;
	}
	TAILQ_REMOVE(&netd_env->peers, p, entry);
	peer_npeers--;

	if ((t = p->target) != NULL) {
		p->target = NULL;
		t->peer = NULL;
		if (p->hello_rcvd)
			t->last_seen = time(NULL);
		if (!t->self && !peer_stopping)
			target_schedule(t);
	}

	TAILQ_INSERT_TAIL(&peer_dead, priv, dead_entry);
	if (!peer_stopping && !evtimer_pending(&peer_reap_ev, NULL)) {
		timerclear(&tv);
		evtimer_add(&peer_reap_ev, &tv);
	}
}

static void
peer_close(struct peer *p, int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	peer_vclose(p, pri, fmt, ap);
	va_end(ap);
}

void
peer_drop(struct peer *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	peer_vclose(p, LOG_INFO, fmt, ap);
	va_end(ap);
}

/*
 * Drops p from its timer, for the paths that run inside repl.c's
 * calls (peer_send), which may still be walking the peers.
 */
static void
peer_doom(struct peer *p, const char *reason)
{
	struct peer_priv	*priv = PRIV(p);
	struct timeval		 tv;

	if (priv->doomed || priv->dropped)
		return;
	priv->doomed = 1;
	(void)strlcpy(priv->doom, reason, sizeof(priv->doom));
	evtimer_del(&p->timer);
	timerclear(&tv);
	evtimer_add(&p->timer, &tv);
}

static void
peer_malformed(struct peer *p, uint16_t type)
{
	log_warnx("dropping %s: malformed %s frame", p->addr,
	    wire_type_name(type));
	peer_close(p, LOG_INFO, "malformed %s frame", wire_type_name(type));
}

struct peer *
peer_find(uint32_t id)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (p->id == id)
			return (p);
	return (NULL);
}

uint32_t
peer_count_healthy(void)
{
	struct peer	*p;
	uint32_t	 n = 0;

	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (p->state == PEER_HEALTHY)
			n++;
	return (n);
}

/* A live connection that finished HELLO with node. */
static struct peer *
peer_by_node(const uint8_t *node, const struct peer *except)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (p != except && p->hello_rcvd &&
		    memcmp(p->node, node, PVD_NODEID_LEN) == 0)
			return (p);
	return (NULL);
}

int
peer_send(struct peer *p, uint16_t type, const void *data, size_t len)
{
	struct peer_priv	*priv = PRIV(p);
	struct evbuffer		*out;
	uint8_t			 hdr[WIRE_HDR_LEN];

	if (priv->dropped || priv->doomed || p->bev == NULL ||
	    !priv->tls_up)
		return (-1);
	if (wire_max_len(type) == 0 || len < wire_min_len(type) ||
	    len > wire_max_len(type)) {
		log_warnx("%s: %s frame of %zu bytes to %s", __func__,
		    wire_type_name(type), len, p->addr);
		return (-1);
	}
	out = bufferevent_get_output(p->bev);
	if (evbuffer_get_length(out) + WIRE_HDR_LEN + len > PEER_OUTPUT_MAX) {
		peer_doom(p, "not reading: output buffer full");
		return (-1);
	}
	wire_hdr_build(hdr, type, len);
	if (bufferevent_write(p->bev, hdr, sizeof(hdr)) == -1 ||
	    bufferevent_write(p->bev, data, len) == -1) {
		peer_doom(p, "out of memory");
		return (-1);
	}
	p->bytes_out += WIRE_HDR_LEN + len;
	netd_env->bytes_out += WIRE_HDR_LEN + len;
	priv->last_tx = monotime();
	return (0);
}

static void
peer_send_hello(struct peer *p)
{
	struct pv_config	*conf = netd_env->conf;
	struct wire_hello	 h;
	uint8_t			 buf[WIRE_HDR_LEN + 300];
	size_t			 len;

	memset(&h, 0, sizeof(h));
	h.version = WIRE_VERSION;
	memcpy(h.node, netd_env->node_id, sizeof(h.node));
	h.port = PVD_PORT;
	if (conf != NULL && !TAILQ_EMPTY(&conf->listen) &&
	    TAILQ_FIRST(&conf->listen)->ep.port != 0)
		h.port = TAILQ_FIRST(&conf->listen)->ep.port;
	if (conf != NULL && conf->g.has_advertise) {
		(void)strlcpy(h.addr, conf->g.advertise.host, sizeof(h.addr));
		if (conf->g.advertise.port != 0)
			h.port = conf->g.advertise.port;
	}
	if ((len = wire_enc_hello(buf, sizeof(buf), &h)) == 0) {
		/* not an address a peer takes: let it use ours */
		log_debug("advertise address \"%s\" not sent", h.addr);
		h.addr[0] = '\0';
		len = wire_enc_hello(buf, sizeof(buf), &h);
	}
	if (len == 0 || peer_send(p, WIRE_HELLO, buf, len) == -1) {
		peer_close(p, LOG_INFO, "cannot send HELLO");
		return;
	}
	p->hello_sent = 1;
}

/*
 * Of two connections with the same node, the one dialled by the node
 * with the smaller id stays; both ends reach the same answer.  When the
 * same node dialled both, the older stays.
 */
static int
peer_keep_new(const struct peer *new, const struct peer *old)
{
	const uint8_t	*dn, *dold;
	int		 c;

	dn = new->outbound ? netd_env->node_id : new->node;
	dold = old->outbound ? netd_env->node_id : old->node;
	if ((c = memcmp(dn, dold, PVD_NODEID_LEN)) == 0)
		return (0);
	return (c < 0);
}

static void
peer_hello(struct peer *p, const uint8_t *buf, size_t len)
{
	struct peer_priv	*priv = PRIV(p);
	struct peer_target	*t = p->target;
	struct wire_hello	 h;
	struct peer		*q;

	if (wire_dec_hello(buf, len, &h) == -1) {
		if (len >= 2 && h.version != WIRE_VERSION) {
			log_warnx("dropping %s: protocol version %u",
			    p->addr, h.version);
			peer_close(p, LOG_INFO, "protocol version %u",
			    h.version);
		} else
			peer_malformed(p, WIRE_HELLO);
		return;
	}
	if (memcmp(h.node, netd_env->node_id, PVD_NODEID_LEN) == 0) {
		if (t != NULL) {
			t->self = 1;
			log_info("peer %s: connected to itself, not dialling "
			    "it again", p->addr);
		}
		peer_close(p, LOG_DEBUG, "connected to itself");
		return;
	}
	memcpy(p->node, h.node, sizeof(p->node));
	hex_encode(p->node, sizeof(p->node), p->node_hex,
	    sizeof(p->node_hex));
	if (t != NULL) {
		memcpy(t->node, h.node, sizeof(t->node));
		t->have_node = 1;
	}
	if (h.addr[0] != '\0')
		(void)strlcpy(p->advertised.host, h.addr,
		    sizeof(p->advertised.host));
	else
		peer_sa_str(&p->ss, 0, p->advertised.host,
		    sizeof(p->advertised.host));
	p->advertised.port = h.port;

	if ((q = peer_by_node(p->node, p)) != NULL) {
		if (!peer_keep_new(p, q)) {
			log_debug("peer %s: duplicate of %s for %.8s, "
			    "dropping it", p->addr, q->addr, p->node_hex);
			peer_close(p, LOG_DEBUG, "duplicate connection");
			return;
		}
		log_debug("peer %s: duplicate of %s for %.8s, dropping that",
		    p->addr, q->addr, p->node_hex);
		peer_close(q, LOG_DEBUG, "duplicate connection");
	}

	p->hello_rcvd = 1;
	p->state = PEER_HEALTHY;
	if (t != NULL)
		t->backoff = PEER_BACKOFF_MIN;
	log_info("peer %s (%.8s) connected", p->addr, p->node_hex);
	priv->up = 1;
	repl_peer_up(p);
}

/* Every frame repl.c gets has been decoded once here: no surprises. */
static int
peer_frame_valid(uint16_t type, const uint8_t *buf, size_t len)
{
	union {
		struct repl_entry	entry;
		struct repl_summary	summary;
		struct repl_buckets	buckets;
		struct wire_get		get;
		struct wire_blob	blob;
		struct wire_lookup	lookup;
		uint8_t			id[PVD_ID_LEN];
		uint32_t		tag;
	} u;

	switch (type) {
	case WIRE_ENTRY:
		return (wire_dec_entry(buf, len, &u.entry));
	case WIRE_SUMMARY:
		return (wire_dec_summary(buf, len, &u.summary));
	case WIRE_BUCKETS:
		return (wire_dec_buckets(buf, len, &u.buckets));
	case WIRE_GET:
		return (wire_dec_get(buf, len, &u.get));
	case WIRE_BLOB:
		return (wire_dec_blob(buf, len, &u.blob));
	case WIRE_HAVE:
		return (wire_dec_id(buf, len, u.id));
	case WIRE_LOOKUP:
	case WIRE_LOOKUP_REPLY:
		return (wire_dec_lookup(buf, len, &u.lookup));
	case WIRE_CANCEL:
		return (wire_dec_u32(buf, len, &u.tag));
	default:
		return (-1);
	}
}

static void
peer_frame(struct peer *p, uint16_t type, const uint8_t *buf, size_t len)
{
	const uint8_t	*data;
	size_t		 datalen;
	uint64_t	 nonce;
	uint32_t	 tag;
	uint8_t		 pong[8];

	if (!p->hello_rcvd) {
		if (type == WIRE_HELLO)
			peer_hello(p, buf, len);
		else {
			log_warnx("dropping %s: %s frame before HELLO",
			    p->addr, wire_type_name(type));
			peer_close(p, LOG_INFO, "%s frame before HELLO",
			    wire_type_name(type));
		}
		return;
	}
	if (p->state == PEER_STALE) {
		p->state = PEER_HEALTHY;
		log_info("peer %s (%.8s) is back", p->addr, p->node_hex);
	}

	switch (type) {
	case WIRE_HELLO:
		peer_malformed(p, type);
		break;
	case WIRE_PING:
		if (wire_dec_u64(buf, len, &nonce) == -1) {
			peer_malformed(p, type);
			break;
		}
		(void)wire_enc_u64(pong, sizeof(pong), nonce);
		(void)peer_send(p, WIRE_PONG, pong, sizeof(pong));
		break;
	case WIRE_PONG:
		if (wire_dec_u64(buf, len, &nonce) == -1)
			peer_malformed(p, type);
		break;
	case WIRE_DATA:
		if (wire_dec_data(buf, len, &tag, &data, &datalen) == -1) {
			peer_malformed(p, type);
			break;
		}
		repl_data(p, tag, data, datalen);
		break;
	default:
		if (peer_frame_valid(type, buf, len) == -1) {
			peer_malformed(p, type);
			break;
		}
		repl_frame(p, type, buf, len);
		break;
	}
}

static void
peer_tls_up(struct peer *p)
{
	struct peer_priv	*priv = PRIV(p);

	if (priv->tls_up)
		return;
	priv->tls_up = 1;
	log_debug("peer %s: TLS handshake done (%s)", p->addr,
	    SSL_get_cipher_name(p->ssl));
	if (!netd_env->have_node_id) {
		peer_close(p, LOG_DEBUG, "no node id yet");
		return;
	}
	peer_send_hello(p);
}

/*
 * Would this frame add to the imsgs queued to storage while storage is
 * behind?  Then it waits in the input buffer, whose high watermark stops
 * the reads: a peer cannot grow that queue without bound.
 */
static int
peer_storage_busy(uint16_t type)
{
	switch (type) {
	case WIRE_ENTRY:
	case WIRE_SUMMARY:
	case WIRE_BUCKETS:
	case WIRE_HAVE:
	case WIRE_LOOKUP:
		break;
	default:
		return (0);
	}
	return (netd_env->iev_storage.handler != NULL &&
	    imsgbuf_queuelen(&netd_env->iev_storage.ibuf) >= PEER_STORAGE_HIGH);
}

static void
peer_readcb(struct bufferevent *bev, void *arg)
{
	struct peer		*p = arg;
	struct peer_priv	*priv = PRIV(p);
	struct evbuffer		*in;
	struct timeval		 tv;
	uint8_t			 hdr[WIRE_HDR_LEN], *buf;
	size_t			 avail;
	uint32_t		 len;
	uint16_t		 type;

	if (!priv->tls_up)
		peer_tls_up(p);
	in = bufferevent_get_input(bev);
	while (!priv->dropped && !priv->doomed) {
		avail = evbuffer_get_length(in);
		if (avail < WIRE_HDR_LEN)
			break;
		if (evbuffer_copyout(in, hdr, sizeof(hdr)) != sizeof(hdr))
			fatalx("%s: evbuffer_copyout", __func__);
		/* the bound, before waiting for a byte of the payload */
		if (wire_hdr_parse(hdr, &type, &len) == -1) {
			peer_malformed(p, type);
			break;
		}
		if (avail - WIRE_HDR_LEN < len)
			break;
		if (p->hello_rcvd && peer_storage_busy(type)) {
			/* it is sending: not stale, only kept waiting */
			p->last_rx = monotime();
			if (!evtimer_pending(&priv->rx_ev, NULL)) {
				timerclear(&tv);
				tv.tv_usec = PEER_RX_PAUSE_MS * 1000;
				evtimer_add(&priv->rx_ev, &tv);
			}
			break;
		}
		evbuffer_drain(in, WIRE_HDR_LEN);
		if ((buf = evbuffer_pullup(in, len)) == NULL) {
			peer_close(p, LOG_INFO, "out of memory");
			break;
		}
		p->bytes_in += WIRE_HDR_LEN + len;
		netd_env->bytes_in += WIRE_HDR_LEN + len;
		p->last_rx = monotime();
		p->last_seen = time(NULL);
		peer_frame(p, type, buf, len);
		if (priv->dropped)
			break;
		evbuffer_drain(in, len);
	}
}

static void
peer_writecb(struct bufferevent *bev, void *arg)
{
	struct peer	*p = arg;

	if (p->tx_fd != -1)
		peer_pump(p);
}

static void
peer_eventcb(struct bufferevent *bev, short events, void *arg)
{
	struct peer		*p = arg;
	struct peer_priv	*priv = PRIV(p);
	unsigned long		 e, last = 0;
	char			 why[128];
	time_t			 now;
	int			 saved = EVUTIL_SOCKET_ERROR();


	if (events & BEV_EVENT_CONNECTED) {
		peer_tls_up(p);
		return;
	}
	/* libevent also queues SSL_get_error() codes: no library */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) != 0)
			last = e;
	ERR_clear_error();
	if (events & BEV_EVENT_EOF)
		(void)strlcpy(why, "connection closed", sizeof(why));
	else if (last != 0)
		ERR_error_string_n(last, why, sizeof(why));
	else if (saved != 0)
		(void)strlcpy(why, strerror(saved), sizeof(why));
	else
		(void)strlcpy(why, "connection error", sizeof(why));

	if (!priv->tls_up) {
		if (p->outbound)
			log_warnx("handshake with %s failed: wrong network "
			    "key?", p->addr);
		else if ((now = monotime()) - peer_inbound_logged >=
		    PEER_INBOUND_LOG || peer_inbound_logged == 0) {
			peer_inbound_logged = now;
			log_warnx("handshake from %s failed: wrong network "
			    "key?", p->addr);
		}
		peer_close(p, LOG_DEBUG, "handshake failed: %s", why);
		return;
	}
	peer_close(p, LOG_INFO, "%s", why);
}

static void
peer_tls_start(struct peer *p, int fd, enum bufferevent_ssl_state state)
{
	struct bufferevent	*bev;
	SSL			*ssl;
	int			 one = 1;

	/* small frames go out at once */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((ssl = SSL_new(peer_ctx)) == NULL) {
		close(fd);
		peer_close(p, LOG_WARNING, "SSL_new failed");
		return;
	}
	if ((bev = bufferevent_openssl_socket_new(netd_env->evbase, fd, ssl,
	    state, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		/* with BEV_OPT_CLOSE_ON_FREE, libevent freed ssl already */
		close(fd);
		peer_close(p, LOG_WARNING, "bufferevent_openssl_socket_new "
		    "failed");
		return;
	}
	p->ssl = ssl;
	p->bev = bev;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, peer_readcb, peer_writecb, peer_eventcb, p);
	bufferevent_setwatermark(bev, EV_READ, 0, PEER_READ_HIGH);
	bufferevent_setwatermark(bev, EV_WRITE, PEER_TX_LOW, 0);
	if (bufferevent_enable(bev, EV_READ | EV_WRITE) == -1)
		peer_close(p, LOG_WARNING, "bufferevent_enable failed");
}

/* Keepalive, the handshake deadline, staleness, and deferred drops. */
static void
peer_timer(int fd, short event, void *arg)
{
	struct peer		*p = arg;
	struct peer_priv	*priv = PRIV(p);
	struct timeval		 tv;
	time_t			 now, idle;
	unsigned int		 t;
	uint8_t			 ping[8];

	if (priv->doomed) {
		peer_close(p, LOG_INFO, "%s", priv->doom);
		return;
	}
	now = monotime();
	t = peer_timeout();
	if (!p->hello_rcvd) {
		if (now - priv->created >= t) {
			if (p->outbound && priv->fd == -1 && !priv->tls_up)
				log_warnx("handshake with %s failed: wrong "
				    "network key?", p->addr);
			peer_close(p, LOG_DEBUG, "handshake timed out");
			return;
		}
	} else {
		idle = now - p->last_rx;
		if (idle >= 2 * (time_t)t) {
			log_info("peer %s timed out", p->addr);
			peer_close(p, LOG_INFO, "timed out");
			return;
		}
		if (idle >= (time_t)t && p->state == PEER_HEALTHY) {
			p->state = PEER_STALE;
			log_info("peer %s (%.8s) is stale: nothing for %lld "
			    "seconds", p->addr, p->node_hex, (long long)idle);
		}
		if (now - priv->last_tx >= (time_t)peer_tick()) {
			(void)wire_enc_u64(ping, sizeof(ping),
			    ((uint64_t)arc4random() << 32) | arc4random());
			(void)peer_send(p, WIRE_PING, ping, sizeof(ping));
		}
	}
	timerclear(&tv);
	tv.tv_sec = peer_tick();
	evtimer_add(&p->timer, &tv);
}

/* The outgoing stream, at most PEER_TX_HIGH bytes ahead of the socket. */
static void
peer_stream_end(struct peer *p, int status)
{
	uint32_t	tag = p->tx_tag;

	close(p->tx_fd);
	p->tx_fd = -1;
	repl_stream_done(p, tag, status);
}

static void
peer_pump(struct peer *p)
{
	struct peer_priv	*priv = PRIV(p);
	struct evbuffer		*out;
	struct evbuffer_iovec	 v;
	uint8_t			*frame;
	size_t			 n;
	ssize_t			 r;

	while (p->tx_fd != -1 && p->bev != NULL && !priv->dropped &&
	    !priv->doomed) {
		out = bufferevent_get_output(p->bev);
		if (evbuffer_get_length(out) >= PEER_TX_HIGH)
			break;
		if (p->tx_off >= p->tx_end) {
			peer_stream_end(p, 0);
			break;
		}
		n = WIRE_DATA_MAX;
		if (p->tx_end - p->tx_off < n)
			n = p->tx_end - p->tx_off;
		/* the frame is read in place, at the end of the output */
		if (evbuffer_reserve_space(out, WIRE_HDR_LEN + 4 + n, &v,
		    1) != 1 || v.iov_len < WIRE_HDR_LEN + 4 + n) {
			peer_doom(p, "out of memory");
			break;
		}
		frame = v.iov_base;
		r = pread(p->tx_fd, frame + WIRE_HDR_LEN + 4, n,
		    (off_t)p->tx_off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == -1)
				log_warn("peer %s: reading blob stream %u",
				    p->addr, p->tx_tag);
			else
				log_warnx("peer %s: blob stream %u ends at "
				    "%llu, not %llu", p->addr, p->tx_tag,
				    (unsigned long long)p->tx_off,
				    (unsigned long long)p->tx_end);
			peer_stream_end(p, -1);
			break;
		}
		wire_hdr_build(frame, WIRE_DATA, 4 + r);
		(void)wire_enc_u32(frame + WIRE_HDR_LEN, 4, p->tx_tag);
		v.iov_len = WIRE_HDR_LEN + 4 + r;
		if (evbuffer_commit_space(out, &v, 1) == -1) {
			peer_doom(p, "out of memory");
			break;
		}
		p->bytes_out += WIRE_HDR_LEN + 4 + r;
		netd_env->bytes_out += WIRE_HDR_LEN + 4 + r;
		priv->last_tx = monotime();
		p->tx_off += r;
	}
}

static void
peer_tx_kick(int fd, short event, void *arg)
{
	struct peer	*p = arg;

	if (p->tx_fd != -1)
		peer_pump(p);
}

/* The frames left waiting for storage: try them again. */
static void
peer_rx_resume(int fd, short event, void *arg)
{
	struct peer	*p = arg;

	if (!PRIV(p)->dropped && p->bev != NULL)
		peer_readcb(p->bev, p);
}

/*
 * Sends the bytes [offset, total) of fd as DATA frames tagged tag, then
 * closes fd and calls repl_stream_done().  -1 (fd still the caller's)
 * when p cannot take a stream now.
 */
int
peer_stream(struct peer *p, uint32_t tag, int fd, uint64_t offset,
    uint64_t total)
{
	struct peer_priv	*priv = PRIV(p);
	struct timeval		 tv;

	if (priv->dropped || priv->doomed || p->bev == NULL ||
	    !p->hello_rcvd || p->tx_fd != -1 || offset > total)
		return (-1);
	p->tx_fd = fd;
	p->tx_tag = tag;
	p->tx_off = offset;
	p->tx_end = total;
	/* from the event loop: repl_stream_done() never runs inside */
	timerclear(&tv);
	evtimer_add(&priv->tx_ev, &tv);
	return (0);
}

void
peer_stream_cancel(struct peer *p)
{
	if (p->tx_fd == -1)
		return;
	close(p->tx_fd);
	p->tx_fd = -1;
	evtimer_del(&PRIV(p)->tx_ev);
}

static void
peer_accept_resume(int fd, short event, void *arg)
{
	struct netd_listener	*l;

	TAILQ_FOREACH(l, &netd_env->listeners, entry)
		event_add(&l->ev, NULL);
}

static void
peer_accept_cb(int fd, short event, void *arg)
{
	struct netd_listener	*l = arg, *ll;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	struct peer		*p;
	socklen_t		 len = sizeof(ss);
	char			 addr[PVD_HOST_MAX + 8];
	int			 s;

	memset(&ss, 0, sizeof(ss));
	if ((s = accept4(fd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		switch (errno) {
		case EAGAIN:
		case EINTR:
		case ECONNABORTED:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* out of descriptors: stop accepting for a while */
			log_warn("accept on %s", endpoint_str(&l->ep));
			TAILQ_FOREACH(ll, &netd_env->listeners, entry)
				event_del(&ll->ev);
			timerclear(&tv);
			tv.tv_sec = 1;
			evtimer_add(&peer_pause_ev, &tv);
			return;
		default:
			log_warn("accept on %s", endpoint_str(&l->ep));
			return;
		}
	}
	if ((p = peer_new(0, NULL, &ss)) == NULL) {
		peer_sa_str(&ss, 1, addr, sizeof(addr));
		log_debug("refusing %s: too many peers", addr);
		close(s);
		return;
	}
	log_debug("peer %s: accepted on %s", p->addr, endpoint_str(&l->ep));
	peer_tls_start(p, s, BUFFEREVENT_SSL_ACCEPTING);
}

void
peer_accept(int fd, const struct pv_endpoint *ep)
{
	struct netd_listener	*l;
	int			 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		log_warn("listener %s", endpoint_str(ep));
		close(fd);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("%s", __func__);
		close(fd);
		return;
	}
	peer_events_init();
	l->fd = fd;
	l->ep = *ep;
	event_set(&l->ev, fd, EV_READ | EV_PERSIST, peer_accept_cb, l);
	event_add(&l->ev, NULL);
	TAILQ_INSERT_TAIL(&netd_env->listeners, l, entry);
	log_debug("accepting peers on %s", endpoint_str(ep));
}

static void
peer_connect_done(int fd, short event, void *arg)
{
	struct peer		*p = arg;
	struct peer_priv	*priv = PRIV(p);
	socklen_t		 len = sizeof(int);
	int			 err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		peer_close(p, LOG_DEBUG, "connect: %s", strerror(err));
		return;
	}
	priv->fd = -1;
	peer_tls_start(p, fd, BUFFEREVENT_SSL_CONNECTING);
}

static void
target_dial(struct peer_target *t)
{
	struct peer_priv	*priv;
	struct peer		*p;
	int			 fd;

	if ((fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket for %s", t->addr);
		target_schedule(t);
		return;
	}
	if (connect(fd, (struct sockaddr *)&t->ss, t->sslen) == -1 &&
	    errno != EINPROGRESS) {
		log_debug("peer %s: connect: %s", t->addr, strerror(errno));
		close(fd);
		target_schedule(t);
		return;
	}
	if ((p = peer_new(1, t, &t->ss)) == NULL) {
		log_debug("peer %s: too many peers", t->addr);
		close(fd);
		target_schedule(t);
		return;
	}
	priv = PRIV(p);
	t->peer = p;
	priv->fd = fd;
	event_set(&priv->conn_ev, fd, EV_WRITE, peer_connect_done, p);
	event_add(&priv->conn_ev, NULL);
	log_debug("peer %s: dialling", t->addr);
}

/* The next attempt, after the back-off with +-25% jitter. */
static void
target_schedule(struct peer_target *t)
{
	struct timeval	tv;
	uint32_t	ms;

	ms = t->backoff * 1000;
	ms = ms - ms / 4 + arc4random_uniform(ms / 2 + 1);
	timerclear(&tv);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&t->ev, &tv);
	t->waiting = 1;
	log_debug("peer %s: next attempt in %u.%03u s", t->addr, ms / 1000,
	    ms % 1000);
	t->backoff *= 2;
	if (t->backoff > PEER_BACKOFF_MAX)
		t->backoff = PEER_BACKOFF_MAX;
}

/*
 * A node reached over another connection needs no dial of its own: a
 * connection with the node that answered here before, or one whose
 * greeting advertises this very address and port (the node dialled us
 * first, and our own dial lost the tie-break before its greeting).
 */
static int
target_covered(struct peer_target *t)
{
	struct peer	*p;
	char		 host[PVD_HOST_MAX];
	uint16_t	 port;

	if (t->have_node && peer_by_node(t->node, NULL) != NULL)
		return (1);
	peer_sa_str(&t->ss, 0, host, sizeof(host));
	if (t->ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&t->ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&t->ss)->sin_port);
	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if (!p->hello_rcvd || p->state == PEER_CONNECTING ||
		    p->advertised.port != port ||
		    strcmp(p->advertised.host, host) != 0)
			continue;
		memcpy(t->node, p->node, sizeof(t->node));
		t->have_node = 1;
		return (1);
	}
	return (0);
}

static void
target_timer(int fd, short event, void *arg)
{
	struct peer_target	*t = arg;
	struct timeval		 tv;

	t->waiting = 0;
	if (t->peer != NULL || t->self)
		return;
	if (target_covered(t)) {
		timerclear(&tv);
		tv.tv_sec = PEER_BACKOFF_MAX;
		evtimer_add(&t->ev, &tv);
		t->waiting = 1;
		return;
	}
	target_dial(t);
}

void
peer_add_target(const struct pv_peer_addr *pa)
{
	struct peer_target	*t;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, pa->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(pa->port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, pa->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pa->port);
		sslen = sizeof(*sin6);
	} else {
		log_warnx("peer address %s (%s) is not numeric", pa->host,
		    pa->name);
		return;
	}
	if (pa->port == 0) {
		log_warnx("peer address %s (%s) has no port", pa->host,
		    pa->name);
		return;
	}
	TAILQ_FOREACH(t, &peer_targets, entry)
		if (t->sslen == sslen && memcmp(&t->ss, &ss, sslen) == 0)
			return;
	if (peer_ntargets >= PEER_TARGET_MAX) {
		log_debug("peer %s: too many addresses to dial", pa->host);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	t->ss = ss;
	t->sslen = sslen;
	peer_sa_str(&ss, 1, t->addr, sizeof(t->addr));
	t->backoff = PEER_BACKOFF_MIN;
	evtimer_set(&t->ev, target_timer, t);
	TAILQ_INSERT_TAIL(&peer_targets, t, entry);
	peer_ntargets++;
	log_debug("peer %s: new address (%s)", t->addr, pa->name);
	target_dial(t);
}

/* pvctl peers: every connection, then every address in back-off. */
void
peer_ctl_list(uint32_t ctlid)
{
	struct ctl_peer		 cp;
	struct peer		*p;
	struct peer_target	*t;
	time_t			 now = time(NULL);

	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		memset(&cp, 0, sizeof(cp));
		(void)strlcpy(cp.addr, p->addr, sizeof(cp.addr));
		if (p->hello_rcvd)
			(void)strlcpy(cp.node_id, p->node_hex,
			    sizeof(cp.node_id));
		cp.outbound = p->outbound;
		cp.state = p->state;
		cp.last_seen = p->last_seen ? now - p->last_seen : -1;
		cp.bytes_in = p->bytes_in;
		cp.bytes_out = p->bytes_out;
		cp.transfers = p->tx_fd != -1;
		if (control_send_to(ctlid, IMSG_CTL_PEER, 0, &cp,
		    sizeof(cp)) == -1)
			return;
	}
	TAILQ_FOREACH(t, &peer_targets, entry) {
		if (t->peer != NULL || t->self || !t->waiting ||
		    target_covered(t))
			continue;
		memset(&cp, 0, sizeof(cp));
		(void)strlcpy(cp.addr, t->addr, sizeof(cp.addr));
		if (t->have_node)
			hex_encode(t->node, sizeof(t->node), cp.node_id,
			    sizeof(cp.node_id));
		cp.outbound = 1;
		cp.state = PEER_BACKOFF;
		cp.last_seen = t->last_seen ? now - t->last_seen : -1;
		if (control_send_to(ctlid, IMSG_CTL_PEER, 0, &cp,
		    sizeof(cp)) == -1)
			return;
	}
	(void)control_send_to(ctlid, IMSG_CTL_END, 0, NULL, 0);
}

/* At exit, after repl_shutdown(): no calls into repl.c any more. */
void
peer_shutdown(void)
{
	struct peer		*p;
	struct peer_target	*t;
	struct netd_listener	*l;

	peer_stopping = 1;
	while ((p = TAILQ_FIRST(&netd_env->peers)) != NULL)
		peer_close(p, LOG_DEBUG, "shutting down");
	if (peer_events_ready) {
		evtimer_del(&peer_reap_ev);
		evtimer_del(&peer_pause_ev);
	}
	peer_reap(-1, 0, NULL);
	while ((t = TAILQ_FIRST(&peer_targets)) != NULL) {
		TAILQ_REMOVE(&peer_targets, t, entry);
		if (t->waiting)
			evtimer_del(&t->ev);
		free(t);
	}
	peer_ntargets = 0;
	while ((l = TAILQ_FIRST(&netd_env->listeners)) != NULL) {
		TAILQ_REMOVE(&netd_env->listeners, l, entry);
		event_del(&l->ev);
		close(l->fd);
		free(l);
	}
	SSL_CTX_free(peer_ctx);
	peer_ctx = NULL;
}
