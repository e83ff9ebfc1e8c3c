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

/* pv-storaged, private. */

#ifndef STORAGED_H
#define STORAGED_H

#include <sqlite3.h>

#include "blob.h"
#include "pvd.h"
#include "repl.h"

struct storaged {
	struct imsgev		 iev_parent;
	struct imsgev		 iev_net;
	struct pv_config	*conf;
	struct pv_config	*staging;
	struct pv_keys_storage	 keys;
	int			 have_keys;
	int			 ready;
	struct pv_node_state	 node;
	sqlite3			*db;
	int			 dirfd;		/* the data directory */
	uint64_t		 used;		/* bytes of blobs, current */
};

extern struct storaged	*env;


/* A row of the blobs table: content on this disk. */
enum blob_state {
	BLOB_OK,
	BLOB_DAMAGED		/* quarantined, to be fetched again */
};

struct index_blob {
	char		id[PVD_ID_HEXLEN];
	char		file[PVD_ID_HEXLEN];	/* name under blobs/ */
	uint64_t	size;			/* plaintext */
	uint64_t	disk_size;
	int		state;			/* enum blob_state */
};

/* A row of the entries table: a name; id "" is a tombstone. */
struct index_entry {
	char		name[PVD_NAME_MAX + 1];
	char		id[PVD_ID_HEXLEN];
	uint64_t	size;
	int64_t		hlc;
	char		origin[PVD_NODEID_HEXLEN];
	int64_t		mtime;
};

/* A store or a get in progress. */
enum job_type {
	JOB_STORE,
	JOB_GET
};

#define JOB_BUFSIZE		(64 * 1024)

/* tmp/recv-<blob file>: a blob coming from a peer, kept for a resume */
#define RECV_PREFIX		"recv-"
#define RECV_KEEP_SECS		3600

struct job {
	TAILQ_ENTRY(job)	 entry;
	enum job_type		 type;
	uint32_t		 ctlid;		/* the control client */
	uint32_t		 tag;		/* its mark of the request */
	char			 name[PVD_NAME_MAX + 1];
	int			 fd;		/* the client's descriptor */
	int			 regular;	/* fd is a file, not a pipe */
	int			 size_known;
	uint64_t		 expect;	/* store: size announced */
	uint64_t		 done;		/* bytes moved */
	time_t			 moved;		/* monotonic: when last */
	uint64_t		 checked;	/* store: quota checked at */
	int			 deduplicated;
	uint64_t		 replaced;	/* store: a damaged row's size */
	struct index_blob	 blob;		/* store: what it made */
	int64_t			 hlc;		/* store: its entry's */
	char			 oldid[PVD_ID_HEXLEN];	/* store: replaced */
	char			 dir[16];	/* store: blobs/ab/cd */
	int			 tmpfd;
	char			 tmpname[64];	/* "": nothing to remove */
	int			 blobfd;
	int			 writer_open;
	int			 reader_open;
	struct blob_writer	 bw;
	struct blob_reader	 br;
	struct event		 ev;
	size_t			 buflen, bufoff;	/* get: to write */
	uint8_t			 buf[JOB_BUFSIZE];
};

/* get_run() flags: what a get of a blob not here may still try */
#define GET_LOOKUP		0x01	/* ask the peers for an unknown name */
#define GET_FETCH		0x02	/* fetch a blob from a peer */

/* storaged.c */
void		 storaged_to_net(uint32_t, uint32_t, uint32_t, int,
		    const void *, size_t);

/* store.c */
void		 ctl_fail(uint32_t, uint32_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
int64_t		 hlc_observe(int64_t);
int		 blob_dirs(const char *, char *, size_t, int);
void		 store_start(uint32_t, uint32_t, const struct ctl_store *, int);
void		 get_start(uint32_t, uint32_t, const char *, int);
void		 get_run(uint32_t, uint32_t, const char *, int, int);
void		 delete_name(uint32_t, const char *);
void		 list_names(uint32_t);
void		 quota_report(uint32_t);
void		 quota_set(uint32_t, uint64_t);
int		 quota_available(uint64_t *, struct ctl_quota *);
uint64_t	 quota_limit(void);
void		 jobs_cancel(uint32_t);
void		 jobs_cancel_all(void);
int		 blob_collect(const char *);
int		 jobs_hold_blob(const char *, const char *);
int		 jobs_clean_tmp(int);

/* repl.c */
int		 repl_dispatch(struct imsg *);
void		 repl_announce(const struct index_entry *, uint32_t, uint32_t);
void		 repl_index_changed(void);
void		 repl_wanted_changed(void);
int		 repl_park_fetch(uint32_t, uint32_t, const char *, int,
		    const struct index_entry *);
int		 repl_park_lookup(uint32_t, uint32_t, const char *, int);
void		 repl_cancel(uint32_t);
void		 repl_cancel_all(void);
uint64_t	 repl_disk_size(uint64_t);
int64_t		 repl_tomb_oldest(void);

/* scrub.c */
void		 scrub_start(uint32_t);
void		 scrub_arm(void);
void		 scrub_stop(void);

/* index.c */
int		 index_open(sqlite3 **, const char *);
const char	*index_node_id(sqlite3 *, const char *);
void		 index_close(sqlite3 *);
int		 index_begin(sqlite3 *);
int		 index_commit(sqlite3 *);
void		 index_rollback(sqlite3 *);
int		 index_meta_get(sqlite3 *, const char *, char *, size_t);
int		 index_meta_set(sqlite3 *, const char *, const char *);
int		 index_blob_get(sqlite3 *, const char *, struct index_blob *);
int		 index_blob_add(sqlite3 *, const struct index_blob *);
int		 index_blob_set_state(sqlite3 *, const char *, int);
int		 index_blob_remove(sqlite3 *, const char *);
int		 index_blob_file_known(sqlite3 *, const char *);
int		 index_blob_batch(sqlite3 *, const char *, struct index_blob *,
		    int);
int		 index_blob_referenced(sqlite3 *, const char *);
int		 index_usage(sqlite3 *, uint64_t *, uint64_t *);
int		 index_entry_get(sqlite3 *, const char *, struct index_entry *);
int		 index_entry_put(sqlite3 *, const struct index_entry *);
int		 index_entry_walk(sqlite3 *,
		    int (*)(const struct index_entry *, void *), void *);
int		 index_entry_walk_all(sqlite3 *,
		    int (*)(const struct index_entry *, void *), void *);
int		 index_entry_batch(sqlite3 *, const char *,
		    struct index_entry *, int);
int		 index_lww_cmp(const struct index_entry *,
		    const struct index_entry *);
int		 index_merge(sqlite3 *, const struct index_entry *, int64_t,
		    char *, size_t);
int		 index_tombstone_purge(sqlite3 *, int64_t);
int		 index_entry_to_repl(const struct index_entry *,
		    struct repl_entry *);
int		 index_entry_from_repl(const struct repl_entry *,
		    struct index_entry *, const char **);
int		 index_blob_local(sqlite3 *, const char *);
int		 index_id_size(sqlite3 *, const char *, uint64_t *);
int		 index_holder_add(sqlite3 *, const char *, const char *);
int		 index_holder_count(sqlite3 *, const char *, const char *);
int		 index_holders(sqlite3 *, const char *, const char *,
		    uint8_t (*)[PVD_NODEID_LEN], int);
int		 index_holders_prune(sqlite3 *);
int		 index_wanted(sqlite3 *, uint64_t, uint64_t (*)(uint64_t),
		    const char *, struct repl_wanted *);

#endif /* STORAGED_H */
