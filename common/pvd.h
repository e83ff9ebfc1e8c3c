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
 * The one shared header: process table, imsg types, the configuration
 * and the payloads that cross process boundaries, and a prototype block
 * per file of common/.
 */

#ifndef PVD_H
#define PVD_H

#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>

#include <event.h>

#include "imsg.h"

#define PVD_CONF_FILE		SYSCONFDIR "/peervault/pvd.conf"
#define PVD_SOCKET		RUNSTATEDIR "/pvd.sock"
#define PVD_DATA_DIR		LOCALSTATEDIR "/lib/peervault"
#define PVD_KEY_FILE		SYSCONFDIR "/peervault/network.key"
#define PVD_USER		"_peervault"
#define PVD_LIBEXEC_DIR		LIBEXECDIR "/peervault"
#define PVD_PORT		3000

/* Where the children that hold no files are jailed. */
#define PVD_EMPTY_DIR		"/var/empty"

/* The node marker inside the data directory. */
#define PVD_MARKER_FILE		"node-id"

/* Defaults of pvd.conf(5). */
#define PVD_RESERVE_DEFAULT	(1024ULL * 1024 * 1024)
#define PVD_SCRUB_DEFAULT	3600
#define PVD_TIMEOUT_DEFAULT	30
#define PVD_TOMBSTONE_DEFAULT	(180 * 86400)
#define PVD_PEX_DEFAULT		300

/* Bounds of pvd.conf(5) values. */
#define PVD_HOST_MAX		256	/* host or address, with NUL */
#define PVD_USER_MAX		33	/* user name, with NUL */
#define PVD_SOCKPATH_MAX	108	/* sizeof(sun_path) */
#define PVD_LISTEN_MAX		16
#define PVD_BOOTSTRAP_MAX	64

#define PVD_KEY_LEN		32
#define PVD_NODEID_LEN		16	/* 128 random bits */
#define PVD_NODEID_HEXLEN	(PVD_NODEID_LEN * 2 + 1)

/* Supervision (DESIGN §1). */
#define PVD_CRASH_MAX		5	/* more deaths than this ... */
#define PVD_CRASH_WINDOW	60	/* ... in this many seconds: give up */

/* The child's end of the socket to its parent. */
#define PVD_PARENT_FD		3

/*
 * Version of the control protocol carried in the peerid of every pvctl
 * request.  Bump it whenever a control message type or payload changes.
 */
#define PVD_CTL_VERSION		3

/* Processes, as data: adding one is one row in proc.c and one directory. */
enum pv_proc {
	PROC_PARENT,
	PROC_STORAGE,
	PROC_NET,
	PROC_DISCOVER,
	PROC_MAX
};

struct pv_proc_info {
	const char	*title;		/* setproctitle: "pvd: <title>" */
	const char	*binary;	/* file in PVD_LIBEXEC_DIR */
	unsigned int	 links;		/* bit mask of siblings it talks to */
	int		 jail_data;	/* chroot into the data directory */
};
extern const struct pv_proc_info pv_procs[PROC_MAX];

/*
 * imsg types.  The control messages come first and keep their numbers
 * across versions, so that a mismatched pvctl still understands that
 * it is mismatched; the rest is internal to one build.
 */
enum imsg_type {
	IMSG_NONE = 0,

	/* control protocol: pvctl <-> pv-netd, relayed inside */
	IMSG_CTL_VERSION_MISMATCH = 1,	/* u_int32_t: the server's version */
	IMSG_CTL_FAIL = 2,		/* struct ctl_result */
	IMSG_CTL_RESULT = 3,		/* struct ctl_result */
	IMSG_CTL_END = 4,
	IMSG_CTL_STATUS = 5,		/* request, no payload */
	IMSG_CTL_STATUS_NODE = 6,	/* struct ctl_node */
	IMSG_CTL_STATUS_ADDR = 7,	/* struct ctl_addr */
	IMSG_CTL_STATUS_PROC = 8,	/* struct ctl_proc */
	IMSG_CTL_RELOAD = 9,		/* request, no payload */
	IMSG_CTL_LOG_VERBOSE = 10,	/* request, int: verbosity */
	IMSG_CTL_STORE = 11,		/* struct ctl_store + fd to read */
	IMSG_CTL_GET = 12,		/* struct ctl_name + fd to write */
	IMSG_CTL_DELETE = 13,		/* struct ctl_name */
	IMSG_CTL_LIST = 14,		/* request, no payload */
	IMSG_CTL_FILE = 15,		/* struct ctl_file */
	IMSG_CTL_QUOTA = 16,		/* request, no payload */
	IMSG_CTL_QUOTA_INFO = 17,	/* struct ctl_quota */
	IMSG_CTL_QUOTA_SET = 18,	/* uint64_t: bytes, 0: no quota */
	IMSG_CTL_SCRUB = 19,		/* request, no payload */
	IMSG_CTL_SCRUB_RESULT = 20,	/* struct ctl_scrub */
	IMSG_CTL_PEERS = 21,		/* request, no payload */
	IMSG_CTL_PEER = 22,		/* struct ctl_peer */
	IMSG_CTL_REPL = 23,		/* request, no payload */
	IMSG_CTL_REPL_INFO = 24,	/* struct ctl_repl */

	/* parent -> child */
	IMSG_SOCKET_PEER = 100,		/* fd; peerid: the sibling's proc */
	IMSG_LISTEN_FD,			/* fd; struct pv_endpoint */
	IMSG_CONTROL_FD,		/* fd; struct ctl_auth */
	IMSG_KEYS_STORAGE,		/* struct pv_keys_storage */
	IMSG_KEYS_NET,			/* struct pv_keys_net */
	IMSG_CONF_START,		/* struct pv_globals */
	IMSG_CONF_LISTEN,		/* struct pv_endpoint */
	IMSG_CONF_BOOTSTRAP,		/* struct pv_endpoint */
	IMSG_CONF_END,
	IMSG_LOG_SETVERBOSE,		/* int */

	/* child -> parent */
	IMSG_CHILD_READY,		/* after the first IMSG_CONF_END */
	IMSG_CHILD_LOG,			/* struct pv_logline */
	IMSG_NODE_STATE,		/* struct pv_node_state, storage */

	/* parent -> net, net -> parent: control requests relayed */
	IMSG_NODE_ID,			/* struct pv_node_state, to net */

	/* net -> storage */
	IMSG_CTL_CANCEL,		/* the client of peerid has gone */

	/* discover -> net */
	IMSG_PEER_ADDR,			/* struct pv_peer_addr */

	/* replication, net <-> storage: payloads in repl.h */
	IMSG_REPL_ENTRY,		/* s->n struct repl_entry */
	IMSG_REPL_MERGE,		/* n->s struct repl_entry */
	IMSG_REPL_HAVE,			/* both, struct repl_have */
	IMSG_REPL_SUMMARY_REQ,		/* n->s, no payload */
	IMSG_REPL_SUMMARY,		/* s->n struct repl_summary */
	IMSG_REPL_SUMMARY_CMP,		/* n->s struct repl_summary */
	IMSG_REPL_BUCKETS,		/* both, struct repl_buckets */
	IMSG_REPL_WANTED_REQ,		/* n->s, no payload */
	IMSG_REPL_WANTED,		/* s->n struct repl_wanted */
	IMSG_REPL_WANTED_CHANGED,	/* s->n, no payload: ask again */
	IMSG_REPL_RECV_OPEN,		/* n->s struct repl_open */
	IMSG_REPL_RECV_FD,		/* s->n struct repl_xfer (+fd) */
	IMSG_REPL_RECV_DONE,		/* n->s struct repl_done */
	IMSG_REPL_RECV_ABORT,		/* n->s struct repl_done */
	IMSG_REPL_RECV_PROGRESS,	/* n->s struct repl_done */
	IMSG_REPL_RECV_RESULT,		/* s->n struct repl_xfer */
	IMSG_REPL_SEND_OPEN,		/* n->s struct repl_open */
	IMSG_REPL_SEND_FD,		/* s->n struct repl_xfer + fd */
	IMSG_REPL_SEND_FAIL,		/* s->n struct repl_xfer */
	IMSG_REPL_FETCH,		/* s->n struct repl_fetch */
	IMSG_REPL_FETCH_FAIL,		/* n->s struct repl_fetch */
	IMSG_REPL_LOOKUP,		/* s->n struct repl_lookup */
	IMSG_REPL_LOOKUP_DONE,		/* n->s struct repl_lookup */
	IMSG_REPL_LOOKUP_PEER,		/* both, struct repl_lookup */
	IMSG_REPL_STATE,		/* n->s struct repl_state */
};

/* IMSG_PEER_ADDR: an address to dial, numeric, from pv-discoverd. */
enum pv_addr_source {
	ADDR_BOOTSTRAP,
	ADDR_MDNS,
	ADDR_PEX
};

struct pv_peer_addr {
	char		host[PVD_HOST_MAX];	/* numeric address */
	uint16_t	port;
	uint32_t	source;			/* enum pv_addr_source */
	char		name[PVD_HOST_MAX];	/* what it was resolved from */
};

/* A host (or "*") and a port: listen, bootstrap, advertise, metrics. */
struct pv_endpoint {
	char		host[PVD_HOST_MAX];
	uint16_t	port;
};

struct pv_endpoint_entry {
	TAILQ_ENTRY(pv_endpoint_entry)	 entry;
	struct pv_endpoint		 ep;
};
TAILQ_HEAD(pv_endpoints, pv_endpoint_entry);

/*
 * The scalar part of the configuration.  It is also the payload of
 * IMSG_CONF_START, so it holds no pointers; every string is NUL
 * terminated within its array (checked by the receiver).
 */
struct pv_globals {
	char		data_dir[PATH_MAX];
	char		key_file[PATH_MAX];
	char		user[PVD_USER_MAX];
	char		socket_path[PVD_SOCKPATH_MAX];
	struct pv_endpoint advertise;
	struct pv_endpoint metrics;
	uint64_t	quota;		/* bytes, 0: no quota */
	uint64_t	reserve;	/* bytes left free on the disk */
	uint32_t	scrub_interval;	/* seconds */
	uint32_t	peer_timeout;	/* seconds */
	uint32_t	tombstone_lifetime; /* seconds */
	uint32_t	pex_interval;	/* seconds */
	uint8_t		has_advertise;
	uint8_t		has_metrics;
	uint8_t		discover_local;
	uint8_t		discover_pex;
};

struct pv_config {
	struct pv_globals	g;
	struct pv_endpoints	listen;
	struct pv_endpoints	bootstrap;
};

/* IMSG_CONTROL_FD: who may use the control socket. */
struct ctl_auth {
	uid_t		uid;		/* the daemon user (or pvd's uid) */
	gid_t		gid;		/* the socket's group */
};

/* Key material, only what each child needs (DESIGN §1). */
struct pv_keys_storage {
	uint8_t		blob_key[PVD_KEY_LEN];	/* segment encryption */
	uint8_t		name_key[PVD_KEY_LEN];	/* on-disk blob names */
};

struct pv_keys_net {
	uint8_t		psk[PVD_KEY_LEN];	/* TLS 1.3 external PSK */
};

#define PVD_LOGLINE_MAX		1024
struct pv_logline {
	int		priority;	/* syslog priority */
	char		msg[PVD_LOGLINE_MAX];
};

/* What pv-storaged found in the data directory. */
enum pv_node_status {
	NODE_OK,
	NODE_NO_MARKER,
	NODE_BAD_MARKER,
	NODE_FAILED
};

struct pv_node_state {
	uint32_t	status;		/* enum pv_node_status */
	char		node_id[PVD_NODEID_HEXLEN];
	char		reason[256];
};

/*
 * File names: 1 to PVD_NAME_MAX bytes of UTF-8, no NUL and no control
 * characters (name_valid() in util.c says why one is refused).
 */
#define PVD_NAME_MAX		1024
#define PVD_ID_LEN		32	/* SHA-256 */
#define PVD_ID_HEXLEN		(PVD_ID_LEN * 2 + 1)

/* Control payloads. */
#define CTL_RESULT_MSG_MAX	512
struct ctl_result {
	int32_t		code;		/* 0: ok */
	char		msg[CTL_RESULT_MSG_MAX];
};

struct ctl_node {
	char		node_id[PVD_NODEID_HEXLEN];
	uint32_t	node_status;	/* enum pv_node_status */
	char		node_reason[256];
	int64_t		uptime;		/* seconds */
	struct pv_endpoint advertise;
	uint8_t		has_advertise;
	uint32_t	ctl_version;
	char		version[32];	/* PACKAGE_VERSION */
};

struct ctl_name {
	char		name[PVD_NAME_MAX + 1];
};

/*
 * IMSG_CTL_STORE: the descriptor is a regular file or a pipe open for
 * reading.  size is its length when known (a regular file), so that the
 * quota is checked before a byte is written.
 */
struct ctl_store {
	char		name[PVD_NAME_MAX + 1];
	uint64_t	size;
	uint8_t		size_known;
};

/*
 * IMSG_CTL_FILE: one file, in answer to list, store (what was stored)
 * and get (sent before the content, so pvctl knows the size).
 */
struct ctl_file {
	char		name[PVD_NAME_MAX + 1];
	char		id[PVD_ID_HEXLEN];
	uint64_t	size;
	int64_t		mtime;		/* seconds since the epoch */
	uint32_t	replicas;	/* nodes known to hold it */
	uint8_t		deduplicated;	/* store: content was there */
};

struct ctl_quota {
	uint64_t	used;		/* bytes of blobs on disk */
	uint64_t	quota;		/* 0: none */
	uint64_t	reserve;	/* kept free on the disk */
	uint64_t	disk_free;	/* free on the data directory's disk */
	uint64_t	available;	/* what a store may still use */
	uint64_t	files;
};

struct ctl_scrub {
	uint64_t	checked;
	uint64_t	damaged;	/* moved to quarantine/ */
	uint64_t	removed;	/* orphaned blobs, stale temporaries */
	uint64_t	bytes;
	int64_t		duration_ms;
};

/* IMSG_CTL_PEER: one connected (or being dialled) peer. */
enum ctl_peer_state {
	PEER_CONNECTING,	/* TCP or TLS handshake, HELLO */
	PEER_HEALTHY,
	PEER_STALE,		/* silent for peer timeout */
	PEER_BACKOFF		/* a dial target waiting to redial */
};

struct ctl_peer {
	char		addr[PVD_HOST_MAX + 8];	/* host:port, [v6]:port */
	char		node_id[PVD_NODEID_HEXLEN];	/* "": not yet */
	uint8_t		outbound;	/* 1: we dialled */
	uint32_t	state;		/* enum ctl_peer_state */
	int64_t		last_seen;	/* seconds ago, -1: never */
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint32_t	transfers;	/* blobs moving now */
};

/* IMSG_CTL_REPL_INFO: replication, for pvctl status. */
struct ctl_repl {
	uint32_t	peers;		/* healthy connections */
	uint32_t	transfers;	/* blobs moving now */
	uint64_t	pending;	/* live entries without a blob */
	uint64_t	blocked;	/* of those: no space */
	uint64_t	blocked_need;	/* bytes they need */
	uint64_t	bytes_in;
	uint64_t	bytes_out;
};

enum ctl_addr_kind {
	CTL_ADDR_LISTEN,
	CTL_ADDR_METRICS
};

struct ctl_addr {
	uint32_t	kind;		/* enum ctl_addr_kind */
	struct pv_endpoint ep;
};

enum pv_proc_state {
	PSTATE_STARTING,
	PSTATE_RUNNING,
	PSTATE_RESTARTING,
	PSTATE_STOPPED
};

struct ctl_proc {
	char		name[32];
	int32_t		pid;
	uint32_t	state;		/* enum pv_proc_state */
	uint32_t	restarts;
	int64_t		started;	/* seconds since this instance began */
};

/* The imsg channel of a process, glued into libevent. */
struct imsgev {
	struct imsgbuf	 ibuf;
	void		(*handler)(int, short, void *);
	struct event	 ev;
	short		 events;
	void		*data;
	int		 proc;		/* enum pv_proc at the other end */
};

/* proc.c */
int	 imsg_compose_event(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
void	 imsg_event_add(struct imsgev *);
int	 imsgev_init(struct imsgev *, int, int,
	    void (*)(int, short, void *), void *);
void	 imsgev_clear(struct imsgev *);
int	 imsgev_dispatch_io(struct imsgev *, short);
const char *proc_state_name(enum pv_proc_state);
struct child_opts {
	enum pv_proc	 proc;
	int		 debug;
	int		 verbose;
	uid_t		 uid;		/* (uid_t)-1: keep */
	gid_t		 gid;
	const char	*jail;		/* NULL: no chroot */
	const char	*workdir;	/* chdir here when not jailed */
};
void	 child_malloc_tune(void);
void	 child_parse_args(enum pv_proc, int, char *[], struct child_opts *);
void	 child_check_parent(enum pv_proc);
void	 child_drop_privileges(const struct child_opts *);
void	 child_log_to_parent(struct imsgev *);
int	 config_recv_stream(struct imsg *, struct pv_config **,
	    struct pv_config **);
int	 child_dispatch_common(struct imsgev *, struct imsg *,
	    struct pv_config **, struct pv_config **, int *);
void	 child_link_sibling(struct imsg *, struct imsgev *,
	    void (*)(int, short, void *));
void	 child_dispatch_idle(int, short, void *);
void	 child_signals(void);

/* config.c (common) */
void	 config_init(struct pv_config *);
void	 config_clear(struct pv_config *);
int	 config_recv_globals(struct imsg *, struct pv_globals *);
int	 config_recv_endpoint(struct imsg *, struct pv_endpoint *);
int	 config_add_endpoint(struct pv_endpoints *, const struct pv_endpoint *);
int	 strbuf_terminated(const char *, size_t);

/* crypto.c */
int	 key_derive(const uint8_t *, const char *, uint8_t *, size_t);
int	 key_derive_storage(const uint8_t *, struct pv_keys_storage *);
int	 key_derive_net(const uint8_t *, struct pv_keys_net *);
int	 key_parse(const uint8_t *, size_t, uint8_t *);
void	 hex_encode(const uint8_t *, size_t, char *, size_t);
int	 hex_decode(const char *, uint8_t *, size_t);

/* sandbox.c: one per process, each installs its own allow-list */
void	 sandbox_storaged(void);
void	 sandbox_netd(void);
void	 sandbox_discoverd(void);

/* util.c */
const char *endpoint_str(const struct pv_endpoint *);
int	 parse_size(const char *, uint64_t *);
int	 parse_duration(const char *, uint32_t *);
uint64_t quota_room(uint64_t, uint64_t, uint64_t, uint64_t);
void	 fmt_size(uint64_t, char *, size_t);
void	 fmt_duration(uint32_t, char *, size_t);
int32_t	 utf8_decode(const unsigned char *, const unsigned char *,
	    size_t *);
int	 name_valid(const char *, const char **);
time_t	 monotime(void);
int	 fsync_path(const char *);
int	 syncfs_path(const char *);
#define FS_NAME_MAX		32
int	 fs_local(int, char *, size_t);
int	 fs_sizeless(const char *);

/*
 * A large file written in one go goes to disk as it grows, and out of the
 * page cache behind it, WRITEBACK_STEP bytes at a time: writeback_step().
 */
#define WRITEBACK_STEP		(8 * 1024 * 1024)
struct writeback {
	uint64_t	started;	/* writeback started up to */
	uint64_t	dropped;	/* out of the page cache up to */
};
void	 writeback_step(int, struct writeback *, uint64_t);

#endif /* PVD_H */
