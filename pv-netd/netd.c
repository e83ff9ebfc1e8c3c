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
 * pv-netd: jailed in an empty directory, it serves the control socket
 * and holds the peer listening sockets and the transport key.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "log.h"
#include "netd.h"

static void	netd_dispatch_parent(int, short, void *);
static void	netd_dispatch_storage(int, short, void *);
static void	netd_dispatch_discover(int, short, void *);

static struct netd	 env;
struct netd		*netd_env = &env;

int
main(int argc, char *argv[])
{
	struct child_opts	 opts;

	child_parse_args(PROC_NET, argc, argv, &opts);
	child_malloc_tune();
	child_check_parent(PROC_NET);
	log_init(1, LOG_DAEMON);
	log_procinit("net");
	log_setverbose(opts.verbose);
	setproctitle("-pvd: %s", pv_procs[PROC_NET].title);
	TAILQ_INIT(&env.listeners);

	/* before the jail: OpenSSL loads its configuration and providers */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		fatalx("OPENSSL_init_ssl");
	peer_init();

	env.evbase = event_init();
	if (imsgev_init(&env.iev_parent, PVD_PARENT_FD, 1,
	    netd_dispatch_parent, NULL) == -1)
		fatal("imsgbuf_init");
	env.iev_parent.proc = PROC_PARENT;
	if (!opts.debug)
		child_log_to_parent(&env.iev_parent);

	child_drop_privileges(&opts);
	child_signals();

	sandbox_netd();
	repl_init();

	event_dispatch();

	repl_shutdown();
	peer_shutdown();
	control_shutdown();
	explicit_bzero(&env.keys, sizeof(env.keys));
	return (0);
}


static void
netd_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct ctl_auth		 auth;
	struct pv_endpoint	 ep;
	ssize_t			 n;
	int			 dfd;

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
			imsg_free(&imsg);
			continue;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_SOCKET_PEER:
			if (imsg_get_id(&imsg) == PROC_STORAGE) {
				child_link_sibling(&imsg, &env.iev_storage,
				    netd_dispatch_storage);
				repl_storage_back();
			} else if (imsg_get_id(&imsg) == PROC_DISCOVER)
				child_link_sibling(&imsg, &env.iev_discover,
				    netd_dispatch_discover);
			else
				fatalx("link to an unexpected process");
			break;
		case IMSG_KEYS_NET:
			if (imsg_get_data(&imsg, &env.keys,
			    sizeof(env.keys)) == -1)
				fatalx("bad transport key");
			explicit_bzero(imsg.data, imsg_get_len(&imsg));
			break;
		case IMSG_CONTROL_FD:
			if (imsg_get_data(&imsg, &auth, sizeof(auth)) == -1)
				fatalx("bad control socket message");
			if ((dfd = imsg_get_fd(&imsg)) == -1)
				fatalx("missing control socket descriptor");
			control_listen(dfd, &auth);
			break;
		case IMSG_LISTEN_FD:
			if (config_recv_endpoint(&imsg, &ep) == -1)
				fatalx("bad listener message");
			if ((dfd = imsg_get_fd(&imsg)) == -1)
				fatalx("missing listener descriptor for %s",
				    endpoint_str(&ep));
			peer_accept(dfd, &ep);
			break;
		case IMSG_NODE_ID:
			if (imsg_get_data(&imsg, &env.node,
			    sizeof(env.node)) == -1 ||
			    !strbuf_terminated(env.node.node_id,
			    sizeof(env.node.node_id)))
				fatalx("bad node id message");
			env.have_node_id = env.node.status == NODE_OK &&
			    hex_decode(env.node.node_id, env.node_id,
			    sizeof(env.node_id)) == 0;
			break;
		case IMSG_CTL_STATUS_NODE:
		case IMSG_CTL_STATUS_ADDR:
		case IMSG_CTL_STATUS_PROC:
		case IMSG_CTL_END:
		case IMSG_CTL_RESULT:
		case IMSG_CTL_FAIL:
			control_relay(&imsg);
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/* Answers of pv-storaged for control clients. */
static void
netd_dispatch_storage(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			fatal("channel to storage");
		log_debug("storage went away, waiting for its successor");
		imsgev_clear(iev);
		control_storage_lost();
		repl_storage_lost();
		return;
	}
	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_FILE:
		case IMSG_CTL_END:
		case IMSG_CTL_RESULT:
		case IMSG_CTL_FAIL:
		case IMSG_CTL_QUOTA_INFO:
		case IMSG_CTL_SCRUB_RESULT:
			control_relay(&imsg);
			break;
		case IMSG_REPL_ENTRY:
		case IMSG_REPL_HAVE:
		case IMSG_REPL_SUMMARY:
		case IMSG_REPL_BUCKETS:
		case IMSG_REPL_WANTED:
		case IMSG_REPL_WANTED_CHANGED:
		case IMSG_REPL_RECV_FD:
		case IMSG_REPL_RECV_RESULT:
		case IMSG_REPL_SEND_FD:
		case IMSG_REPL_SEND_FAIL:
		case IMSG_REPL_FETCH:
		case IMSG_REPL_LOOKUP:
		case IMSG_REPL_LOOKUP_PEER:
			repl_storage_imsg(&imsg);
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/* Addresses to dial, from pv-discoverd (bootstrap, later mDNS and pex). */
static void
netd_dispatch_discover(int fd, short event, void *arg)
{
	struct imsgev		*iev = arg;
	struct imsg		 imsg;
	struct pv_peer_addr	 pa;
	ssize_t			 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			fatal("channel to discover");
		log_debug("discover went away, waiting for its successor");
		imsgev_clear(iev);
		return;
	}
	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		switch (imsg_get_type(&imsg)) {
		case IMSG_PEER_ADDR:
			if (imsg_get_data(&imsg, &pa, sizeof(pa)) == -1 ||
			    !strbuf_terminated(pa.host, sizeof(pa.host)) ||
			    !strbuf_terminated(pa.name, sizeof(pa.name)) ||
			    pa.port == 0 || pa.source > ADDR_PEX) {
				log_warnx("bad peer address from discover");
				break;
			}
			peer_add_target(&pa);
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}
