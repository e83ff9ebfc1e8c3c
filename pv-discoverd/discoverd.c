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
 * pv-discoverd: jailed in an empty directory, it finds peers and tells
 * pv-netd their numeric addresses.  It is the only process that resolves
 * names: the bootstrap list is resolved with evdns, whose resolv.conf and
 * hosts file are read before the jail, and re-resolved every
 * BOOTSTRAP_INTERVAL seconds; pv-netd redials an address it lost.
 * Multicast DNS and peer exchange come later.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <event2/dns.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"

#define BOOTSTRAP_INTERVAL	300	/* seconds between resolutions */
#define BOOTSTRAP_RETRY		30	/* after a failed resolution */
#define BOOTSTRAP_ADDRS_MAX	256	/* addresses remembered in all */

/* A resolved address, resent to pv-netd when it comes back. */
struct boot_addr {
	TAILQ_ENTRY(boot_addr)	 entry;
	struct pv_peer_addr	 pa;
};
TAILQ_HEAD(boot_addrs, boot_addr);

/* One resolution in flight; gen tells a stale answer after a reload. */
struct boot_query {
	struct pv_endpoint	 ep;
	unsigned int		 gen;
};

struct discoverd {
	struct event_base	*evbase;
	struct evdns_base	*dns;
	struct imsgev		 iev_parent;
	struct imsgev		 iev_net;
	struct pv_config	*conf;
	struct pv_config	*staging;
	int			 ready;
	struct boot_addrs	 addrs;
	size_t			 naddrs;
	unsigned int		 gen;
	struct event		 timer;
};

static void	discoverd_dispatch_parent(int, short, void *);
static void	discoverd_dispatch_net(int, short, void *);
static void	bootstrap_resolve(int, short, void *);
static void	bootstrap_send_all(void);

static struct discoverd	 env;

int
main(int argc, char *argv[])
{
	struct child_opts	 opts;

	child_parse_args(PROC_DISCOVER, argc, argv, &opts);
	child_malloc_tune();
	child_check_parent(PROC_DISCOVER);
	log_init(1, LOG_DAEMON);
	log_procinit("discover");
	log_setverbose(opts.verbose);
	setproctitle("-pvd: %s", pv_procs[PROC_DISCOVER].title);

	env.evbase = event_init();
	TAILQ_INIT(&env.addrs);
	evtimer_set(&env.timer, bootstrap_resolve, NULL);

	/* before the jail: evdns reads resolv.conf and the hosts file */
	if ((env.dns = evdns_base_new(env.evbase,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		fatalx("evdns_base_new");
	if (evdns_base_load_hosts(env.dns, NULL) != 0)
		log_debug("no hosts file: names go to the name servers");

	if (imsgev_init(&env.iev_parent, PVD_PARENT_FD, 1,
	    discoverd_dispatch_parent, NULL) == -1)
		fatal("imsgbuf_init");
	env.iev_parent.proc = PROC_PARENT;
	if (!opts.debug)
		child_log_to_parent(&env.iev_parent);

	child_drop_privileges(&opts);
	child_signals();

	sandbox_discoverd();

	event_dispatch();
	return (0);
}

static void
discoverd_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		/* the parent is gone: so are we */
		if (errno != 0)
			fatal("channel to the parent");
		event_loopexit(NULL);
		return;
	}

	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		if (child_dispatch_common(iev, &imsg, &env.staging, &env.conf,
		    &env.ready)) {
			/* a new configuration: resolve its bootstrap list */
			if (imsg_get_type(&imsg) == IMSG_CONF_END)
				bootstrap_resolve(-1, 0, NULL);
			imsg_free(&imsg);
			continue;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_SOCKET_PEER:
			if (imsg_get_id(&imsg) != PROC_NET)
				fatalx("link to an unexpected process");
			child_link_sibling(&imsg, &env.iev_net,
			    discoverd_dispatch_net);
			bootstrap_send_all();
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/* pv-netd sends nothing yet; this notices it going away. */
static void
discoverd_dispatch_net(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			fatal("channel to net");
		log_debug("net went away, waiting for its successor");
		imsgev_clear(iev);
		return;
	}
	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		fatalx("%s: unexpected imsg %u", __func__,
		    imsg_get_type(&imsg));
	}
	imsg_event_add(iev);
}

static void
bootstrap_send(const struct pv_peer_addr *pa)
{
	if (env.iev_net.handler == NULL)
		return;
	imsg_compose_event(&env.iev_net, IMSG_PEER_ADDR, 0, 0, -1, pa,
	    sizeof(*pa));
}

static void
bootstrap_send_all(void)
{
	struct boot_addr	*ba;

	TAILQ_FOREACH(ba, &env.addrs, entry)
		bootstrap_send(&ba->pa);
}

/* Remember an address (once) and tell pv-netd about it. */
static void
bootstrap_add(const struct pv_endpoint *ep, const struct sockaddr *sa)
{
	struct boot_addr	*ba;
	struct pv_peer_addr	 pa;
	const void		*src;

	memset(&pa, 0, sizeof(pa));
	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else
		return;
	if (inet_ntop(sa->sa_family, src, pa.host, sizeof(pa.host)) == NULL)
		return;
	pa.port = ep->port;
	pa.source = ADDR_BOOTSTRAP;
	if (strlcpy(pa.name, ep->host, sizeof(pa.name)) >= sizeof(pa.name))
		return;

	TAILQ_FOREACH(ba, &env.addrs, entry)
		if (strcmp(ba->pa.host, pa.host) == 0 &&
		    ba->pa.port == pa.port)
			break;
	if (ba == NULL) {
		if (env.naddrs >= BOOTSTRAP_ADDRS_MAX) {
			log_warnx("bootstrap: more than %d addresses, "
			    "ignoring %s", BOOTSTRAP_ADDRS_MAX, pa.host);
			return;
		}
		if ((ba = calloc(1, sizeof(*ba))) == NULL) {
			log_warn("bootstrap");
			return;
		}
		ba->pa = pa;
		TAILQ_INSERT_TAIL(&env.addrs, ba, entry);
		env.naddrs++;
		log_debug("bootstrap %s resolves to %s", ep->host, pa.host);
	}
	bootstrap_send(&pa);
}

static void
bootstrap_answer(int result, struct evutil_addrinfo *res, void *arg)
{
	struct boot_query	*q = arg;
	struct evutil_addrinfo	*ai;
	struct timeval		 retry = { BOOTSTRAP_RETRY, 0 };

	if (q->gen == env.gen) {
		if (result != 0) {
			log_warnx("bootstrap %s: %s, retrying in %d s",
			    q->ep.host, evutil_gai_strerror(result),
			    BOOTSTRAP_RETRY);
			evtimer_del(&env.timer);
			evtimer_add(&env.timer, &retry);
		} else
			for (ai = res; ai != NULL; ai = ai->ai_next)
				bootstrap_add(&q->ep, ai->ai_addr);
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	free(q);
}

/*
 * Resolve every bootstrap statement; numeric addresses answer at once.
 * A reload starts a new generation, so answers for the old list are
 * dropped; what the old list resolved to stays known to pv-netd.
 */
static void
bootstrap_resolve(int fd, short event, void *arg)
{
	struct pv_endpoint_entry	*e;
	struct evutil_addrinfo		 hints;
	struct boot_query		*q;
	struct timeval			 tv = { BOOTSTRAP_INTERVAL, 0 };

	if (env.conf == NULL)
		return;
	env.gen++;
	evtimer_del(&env.timer);
	if (TAILQ_EMPTY(&env.conf->bootstrap))
		return;
	evtimer_add(&env.timer, &tv);
	TAILQ_FOREACH(e, &env.conf->bootstrap, entry) {
		if ((q = calloc(1, sizeof(*q))) == NULL) {
			log_warn("bootstrap");
			return;
		}
		q->ep = e->ep;
		q->gen = env.gen;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_protocol = IPPROTO_TCP;
		/* may call bootstrap_answer() before it returns */
		evdns_getaddrinfo(env.dns, e->ep.host, NULL, &hints,
		    bootstrap_answer, q);
	}
}
