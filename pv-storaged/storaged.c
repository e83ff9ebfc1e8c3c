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
 * pv-storaged: jailed in the data directory, it owns the node marker,
 * the SQLite index and (later) the blobs.  It refuses to serve when the
 * marker is missing or names another node.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "pvd.h"
#include "storaged.h"

static void	storaged_dispatch_parent(int, short, void *);
static void	storaged_dispatch_net(int, short, void *);

static struct storaged	 storaged_env;
struct storaged		*env = &storaged_env;

/* Read the node marker: 32 hex digits and a newline. */
static void
storaged_read_marker(struct pv_node_state *ns)
{
	uint8_t	id[PVD_NODEID_LEN];
	char	buf[PVD_NODEID_HEXLEN + 8];
	ssize_t	n;
	int	fd;

	if ((fd = open(PVD_MARKER_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		ns->status = errno == ENOENT ? NODE_NO_MARKER : NODE_FAILED;
		snprintf(ns->reason, sizeof(ns->reason), "data directory "
		    "has no readable node marker %s (%s): an unmounted disk "
		    "or a wrong data path?", PVD_MARKER_FILE,
		    strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (hex_decode(buf, id, sizeof(id)) == -1) {
		ns->status = NODE_BAD_MARKER;
		snprintf(ns->reason, sizeof(ns->reason), "node marker %s is "
		    "damaged", PVD_MARKER_FILE);
		return;
	}
	hex_encode(id, sizeof(id), ns->node_id, sizeof(ns->node_id));
	ns->status = NODE_OK;
}

/*
 * Open the index and check that it belongs to the node the marker names.
 * A fresh index records the marker's node id.
 */
static void
storaged_open_index(struct pv_node_state *ns)
{
	const char	*id;

	if (index_open(&env->db, "pv.db") == -1) {
		ns->status = NODE_FAILED;
		snprintf(ns->reason, sizeof(ns->reason), "cannot open index "
		    "pv.db: %s", env->db ? sqlite3_errmsg(env->db) :
		    "out of memory");
		return;
	}
	if ((id = index_node_id(env->db, ns->node_id)) == NULL) {
		ns->status = NODE_FAILED;
		snprintf(ns->reason, sizeof(ns->reason), "index pv.db: %s",
		    sqlite3_errmsg(env->db));
		return;
	}
	if (strcmp(id, ns->node_id) != 0) {
		ns->status = NODE_BAD_MARKER;
		snprintf(ns->reason, sizeof(ns->reason), "node marker names "
		    "node %s but the index belongs to node %s", ns->node_id,
		    id);
	}
}

/* blobs/, tmp/ and quarantine/ under the data directory. */
static void
storaged_prepare_dirs(struct pv_node_state *ns)
{
	const char	*dirs[] = { "blobs", "tmp", "quarantine" };
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) == -1 && errno != EEXIST) {
			ns->status = NODE_FAILED;
			snprintf(ns->reason, sizeof(ns->reason), "cannot "
			    "create %s/: %s", dirs[i], strerror(errno));
			return;
		}
	if ((env->dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fsync_path(".") == -1) {
		ns->status = NODE_FAILED;
		snprintf(ns->reason, sizeof(ns->reason), "data directory: %s",
		    strerror(errno));
		return;
	}
	/* leftovers of stores that a crash interrupted: never committed */
	if ((n = jobs_clean_tmp(0)) > 0)
		log_info("removed %d temporary files of interrupted stores", n);
}

void
storaged_to_net(uint32_t type, uint32_t ctlid, uint32_t tag, int fd,
    const void *data, size_t len)
{
	if (imsg_compose_event(&env->iev_net, type, ctlid, tag, fd, data,
	    len) == -1)
		log_debug("net is away: answer %u for client %u dropped",
		    type, ctlid);
}

int
main(int argc, char *argv[])
{
	struct child_opts	 opts;
	uint64_t		 files;
	uint32_t		 rnd;

	env->dirfd = -1;
	child_parse_args(PROC_STORAGE, argc, argv, &opts);
	child_malloc_tune();
	child_check_parent(PROC_STORAGE);
	log_init(1, LOG_DAEMON);
	log_procinit("storage");
	log_setverbose(opts.verbose);
	setproctitle("-pvd: %s", pv_procs[PROC_STORAGE].title);

	/* before the jail: SQLite seeds its generator from /dev/urandom */
	if (sqlite3_initialize() != SQLITE_OK)
		fatalx("sqlite3_initialize");
	sqlite3_randomness(sizeof(rnd), &rnd);

	event_init();
	if (imsgev_init(&env->iev_parent, PVD_PARENT_FD, 1,
	    storaged_dispatch_parent, NULL) == -1)
		fatal("imsgbuf_init");
	env->iev_parent.proc = PROC_PARENT;
	if (!opts.debug)
		child_log_to_parent(&env->iev_parent);

	child_drop_privileges(&opts);

	storaged_read_marker(&env->node);
	if (env->node.status == NODE_OK)
		storaged_open_index(&env->node);
	if (env->node.status == NODE_OK)
		storaged_prepare_dirs(&env->node);
	if (env->node.status == NODE_OK &&
	    index_usage(env->db, &env->used, &files) == -1) {
		env->node.status = NODE_FAILED;
		strlcpy(env->node.reason, "cannot read the index",
		    sizeof(env->node.reason));
	}
	if (env->node.status == NODE_OK)
		log_info("serving node %s", env->node.node_id);
	else
		log_warnx("refusing to serve: %s", env->node.reason);

	child_signals();

	sandbox_storaged();

	imsg_compose_event(&env->iev_parent, IMSG_NODE_STATE, 0, 0, -1,
	    &env->node, sizeof(env->node));

	event_dispatch();

	scrub_stop();
	jobs_cancel_all();
	index_close(env->db);
	explicit_bzero(&env->keys, sizeof(env->keys));
	return (0);
}

static void
storaged_dispatch_parent(int fd, short event, void *arg)
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
		if (child_dispatch_common(iev, &imsg, &env->staging, &env->conf,
		    &env->ready)) {
			/* a new scrub interval may have come */
			if (imsg_get_type(&imsg) == IMSG_CONF_END &&
			    env->node.status == NODE_OK)
				scrub_arm();
			imsg_free(&imsg);
			continue;
		}
		switch (imsg_get_type(&imsg)) {
		case IMSG_SOCKET_PEER:
			if (imsg_get_id(&imsg) != PROC_NET)
				fatalx("link to an unexpected process");
			child_link_sibling(&imsg, &env->iev_net,
			    storaged_dispatch_net);
			break;
		case IMSG_KEYS_STORAGE:
			if (imsg_get_data(&imsg, &env->keys,
			    sizeof(env->keys)) == -1)
				fatalx("bad storage keys");
			explicit_bzero(imsg.data, imsg_get_len(&imsg));
			env->have_keys = 1;
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/* A request from a control client, relayed by pv-netd. */
static int
storaged_net_request(struct imsg *imsg)
{
	struct ctl_store	req;
	struct ctl_name		n;
	uint64_t		bytes;
	uint32_t		ctlid = imsg_get_id(imsg);
	int			fd;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_STORE:
		if (imsg_get_data(imsg, &req, sizeof(req)) == -1 ||
		    !strbuf_terminated(req.name, sizeof(req.name)) ||
		    req.name[0] == '\0' || (fd = imsg_get_fd(imsg)) == -1)
			return (-1);
		store_start(ctlid, imsg_get_pid(imsg), &req, fd);
		break;
	case IMSG_CTL_GET:
		if (imsg_get_data(imsg, &n, sizeof(n)) == -1 ||
		    !strbuf_terminated(n.name, sizeof(n.name)) ||
		    (fd = imsg_get_fd(imsg)) == -1)
			return (-1);
		get_start(ctlid, imsg_get_pid(imsg), n.name, fd);
		break;
	case IMSG_CTL_DELETE:
		if (imsg_get_data(imsg, &n, sizeof(n)) == -1 ||
		    !strbuf_terminated(n.name, sizeof(n.name)))
			return (-1);
		delete_name(ctlid, n.name);
		break;
	case IMSG_CTL_LIST:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		list_names(ctlid);
		break;
	case IMSG_CTL_QUOTA:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		quota_report(ctlid);
		break;
	case IMSG_CTL_QUOTA_SET:
		if (imsg_get_data(imsg, &bytes, sizeof(bytes)) == -1)
			return (-1);
		quota_set(ctlid, bytes);
		break;
	case IMSG_CTL_SCRUB:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		scrub_start(ctlid);
		break;
	case IMSG_CTL_CANCEL:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		jobs_cancel(ctlid);
		break;
	case IMSG_REPL_MERGE:
	case IMSG_REPL_HAVE:
	case IMSG_REPL_SUMMARY_REQ:
	case IMSG_REPL_SUMMARY_CMP:
	case IMSG_REPL_BUCKETS:
	case IMSG_REPL_WANTED_REQ:
	case IMSG_REPL_RECV_OPEN:
	case IMSG_REPL_RECV_DONE:
	case IMSG_REPL_RECV_ABORT:
	case IMSG_REPL_RECV_PROGRESS:
	case IMSG_REPL_SEND_OPEN:
	case IMSG_REPL_FETCH_FAIL:
	case IMSG_REPL_LOOKUP_DONE:
	case IMSG_REPL_LOOKUP_PEER:
	case IMSG_REPL_STATE:
		return (repl_dispatch(imsg));
	default:
		return (-1);
	}
	return (0);
}

/*
 * pv-netd faces the network and the control clients: every message is
 * checked, and one that is malformed or not legal here means pv-netd is
 * broken, which is fatal (pvd restarts us).
 */
static void
storaged_dispatch_net(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsgev_dispatch_io(iev, event) == -1) {
		if (errno != 0)
			fatal("channel to net");
		log_debug("net went away, waiting for its successor");
		imsgev_clear(iev);
		/* its clients are gone with it */
		jobs_cancel_all();
		return;
	}
	for (;;) {
		if ((n = imsgbuf_get(&iev->ibuf, &imsg)) == -1)
			fatal("%s: imsgbuf_get", __func__);
		if (n == 0)
			break;
		if (storaged_net_request(&imsg) == -1)
			fatalx("%s: bad imsg %u from net", __func__,
			    imsg_get_type(&imsg));
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}
