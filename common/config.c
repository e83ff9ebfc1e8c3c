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
 * The configuration outside the parser: defaults, the endpoint lists,
 * and the checks a child makes on the configuration its parent streams
 * to it (IMSG_CONF_START, IMSG_CONF_LISTEN, IMSG_CONF_BOOTSTRAP, then
 * IMSG_CONF_END).
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pvd.h"

/*
 * Every default of pvd.conf(5).  The endpoint lists start empty: the
 * parser adds the default "listen on * port 3000" when the file has no
 * listen statement, and a child fills them from its parent's messages.
 */
void
config_init(struct pv_config *conf)
{
	struct pv_globals	*g = &conf->g;

	memset(conf, 0, sizeof(*conf));
	TAILQ_INIT(&conf->listen);
	TAILQ_INIT(&conf->bootstrap);

	/* All of these fit their arrays: pvd.h sizes them. */
	(void)strlcpy(g->data_dir, PVD_DATA_DIR, sizeof(g->data_dir));
	(void)strlcpy(g->key_file, PVD_KEY_FILE, sizeof(g->key_file));
	(void)strlcpy(g->user, PVD_USER, sizeof(g->user));
	(void)strlcpy(g->socket_path, PVD_SOCKET, sizeof(g->socket_path));
	g->quota = 0;
	g->reserve = PVD_RESERVE_DEFAULT;
	g->scrub_interval = PVD_SCRUB_DEFAULT;
	g->peer_timeout = PVD_TIMEOUT_DEFAULT;
	g->tombstone_lifetime = PVD_TOMBSTONE_DEFAULT;
	g->pex_interval = PVD_PEX_DEFAULT;
}

static void
config_clear_endpoints(struct pv_endpoints *list)
{
	struct pv_endpoint_entry	*e;

	while ((e = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, e, entry);
		free(e);
	}
}

/*
 * Free what the configuration holds.  The structure itself is the
 * caller's; it may be freed, or used again after config_init().
 */
void
config_clear(struct pv_config *conf)
{
	config_clear_endpoints(&conf->listen);
	config_clear_endpoints(&conf->bootstrap);
}

/*
 * Append a copy of ep to the list.  A duplicate (same port, and the
 * same host ignoring case) is refused with EEXIST; the bounds
 * PVD_LISTEN_MAX and PVD_BOOTSTRAP_MAX are the caller's to enforce,
 * since only the caller knows which list this is.
 * Returns 0, or -1 with errno set (EEXIST, ENOMEM).
 */
int
config_add_endpoint(struct pv_endpoints *list, const struct pv_endpoint *ep)
{
	struct pv_endpoint_entry	*e;

	TAILQ_FOREACH(e, list, entry) {
		if (e->ep.port == ep->port &&
		    strcasecmp(e->ep.host, ep->host) == 0) {
			errno = EEXIST;
			return (-1);
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return (-1);
	e->ep = *ep;
	TAILQ_INSERT_TAIL(list, e, entry);
	return (0);
}

/* Is there a NUL within the size bytes of buf? */
int
strbuf_terminated(const char *buf, size_t size)
{
	return (memchr(buf, '\0', size) != NULL);
}

/*
 * IMSG_CONF_START: the payload must be exactly a struct pv_globals and
 * every string in it terminated within its array.  *g is written only
 * when all checks pass.  Returns 0, or -1 for a malformed message.
 */
int
config_recv_globals(struct imsg *imsg, struct pv_globals *g)
{
	struct pv_globals	 tmp;

	if (imsg_get_data(imsg, &tmp, sizeof(tmp)) == -1)
		return (-1);
	if (!strbuf_terminated(tmp.data_dir, sizeof(tmp.data_dir)) ||
	    !strbuf_terminated(tmp.key_file, sizeof(tmp.key_file)) ||
	    !strbuf_terminated(tmp.user, sizeof(tmp.user)) ||
	    !strbuf_terminated(tmp.socket_path, sizeof(tmp.socket_path)) ||
	    !strbuf_terminated(tmp.advertise.host,
	    sizeof(tmp.advertise.host)) ||
	    !strbuf_terminated(tmp.metrics.host, sizeof(tmp.metrics.host)))
		return (-1);
	*g = tmp;
	return (0);
}

/*
 * IMSG_CONF_LISTEN and IMSG_CONF_BOOTSTRAP (and IMSG_LISTEN_FD's
 * payload): exactly a struct pv_endpoint with a terminated host.
 * Returns 0, or -1 for a malformed message.
 */
int
config_recv_endpoint(struct imsg *imsg, struct pv_endpoint *ep)
{
	struct pv_endpoint	 tmp;

	if (imsg_get_data(imsg, &tmp, sizeof(tmp)) == -1)
		return (-1);
	if (!strbuf_terminated(tmp.host, sizeof(tmp.host)))
		return (-1);
	*ep = tmp;
	return (0);
}
