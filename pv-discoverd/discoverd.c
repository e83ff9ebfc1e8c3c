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
 * pv-discoverd: jailed in an empty directory, it will find peers by the
 * bootstrap list, multicast DNS and peer exchange.  Today it receives its
 * configuration and keeps its link to pv-netd.
 */

#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"

struct discoverd {
	struct imsgev		 iev_parent;
	struct imsgev		 iev_net;
	struct pv_config	*conf;
	struct pv_config	*staging;
	int			 ready;
};

static void	discoverd_dispatch_parent(int, short, void *);

static struct discoverd	 env;

int
main(int argc, char *argv[])
{
	struct child_opts	 opts;

	child_parse_args(PROC_DISCOVER, argc, argv, &opts);
	child_check_parent(PROC_DISCOVER);
	log_init(1, LOG_DAEMON);
	log_procinit("discover");
	log_setverbose(opts.verbose);
	setproctitle("-pvd: %s", pv_procs[PROC_DISCOVER].title);

	event_init();
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
			imsg_free(&imsg);
			continue;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_SOCKET_PEER:
			if (imsg_get_id(&imsg) != PROC_NET)
				fatalx("link to an unexpected process");
			child_link_sibling(&imsg, &env.iev_net,
			    child_dispatch_idle);
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}
