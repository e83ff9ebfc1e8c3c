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
 * Replication, storage's half: pv-netd carries the frames, this file
 * decides.  It merges the entries peers send (last writer wins on the
 * hybrid logical clock), answers anti-entropy with bucket summaries,
 * lists the blobs this node lacks, hands pv-netd descriptors to send a
 * blob from and to receive one into, and commits a received blob only
 * once every segment and the id verified.  A get of a file that is not
 * here waits, parked, while pv-netd looks the name up or fetches the
 * blob.  Every message from pv-netd is checked: it faces the network.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "storaged.h"

#define PARK_MAX		64	/* gets waiting for the network */
#define PARK_SECS		60
#define SEND_MAX		64	/* BUCKETS answers under way */
#define SEND_PER_TURN		64	/* entries per turn */
#define SEND_QUEUE_HIGH		256	/* imsgs queued to net: wait */
#define SEND_PAUSE_MS		10
/* a peer's clock this far ahead of ours is not believed: ms */
#define HLC_AHEAD_MAX		(24LL * 3600 * 1000)

/* A get waiting for a lookup or for its blob. */
struct parked {
	TAILQ_ENTRY(parked)	 entry;
	uint32_t		 ctlid;
	uint32_t		 tag;		/* the client's */
	char			 name[PVD_NAME_MAX + 1];
	int			 fd;		/* the client's descriptor */
	int			 lookup;	/* 1: waits for LOOKUP_DONE */
	uint32_t		 lookup_tag;
	char			 id[PVD_ID_HEXLEN];	/* fetch: the blob */
	struct event		 timer;
};

/*
 * A blob being received, verified while it arrives: net reports how
 * far it has written (IMSG_REPL_RECV_PROGRESS) and the whole segments
 * up to there are checked from our own descriptor, so that little is
 * left to check when the transfer ends.
 */
struct recv_check {
	TAILQ_ENTRY(recv_check)	 entry;
	uint8_t			 id[PVD_ID_LEN];
	int			 fd;		/* read only */
	int			 started;	/* br holds the header */
	int			 failed;
	struct writeback	 wb;		/* of what verified */
	struct blob_reader	 br;
};
#define RECV_CHECK_MAX		16

/* The entries of some buckets, going to one peer. */
struct bucket_send {
	TAILQ_ENTRY(bucket_send) entry;
	uint32_t		 peerid;
	struct repl_buckets	 buckets;
	char			 cursor[PVD_NAME_MAX + 1];
};

static struct {
	TAILQ_HEAD(, parked)	 parked;
	int			 nparked;
	uint32_t		 lookup_tag;
	TAILQ_HEAD(, bucket_send) sends;
	TAILQ_HEAD(, recv_check) checks;
	int			 nchecks;
	int			 nsends;
	struct event		 send_ev;
	struct event		 changed_ev;
	struct repl_summary	 summary;
	int			 summary_valid;
	uint64_t		 blocked;	/* of the last WANTED */
	uint32_t		 peers;
	struct index_entry	 batch[SEND_PER_TURN];
	uint8_t			 buf[BLOB_SEGMENT_SIZE];
} repl = {
	.parked = TAILQ_HEAD_INITIALIZER(repl.parked),
	.sends = TAILQ_HEAD_INITIALIZER(repl.sends),
	.checks = TAILQ_HEAD_INITIALIZER(repl.checks),
};

static void	repl_send_turn(int, short, void *);

/* What a blob of size plaintext bytes takes on disk. */
uint64_t
repl_disk_size(uint64_t size)
{
	return (blob_stored_size(size, BLOB_SEGMENT_SIZE));
}

/* The hlc before which deletes are forgotten (tombstone lifetime). */
int64_t
repl_tomb_oldest(void)
{
	struct timespec	now;
	uint32_t	lifetime = PVD_TOMBSTONE_DEFAULT;
	int64_t		ms;

	if (env->conf != NULL && env->conf->g.tombstone_lifetime != 0)
		lifetime = env->conf->g.tombstone_lifetime;
	clock_gettime(CLOCK_REALTIME, &now);
	ms = (int64_t)now.tv_sec * 1000 - (int64_t)lifetime * 1000;
	return (ms > 0 ? ms << 16 : 0);
}

/* The largest hlc a peer may send: a day after now, every counter. */
static int64_t
repl_hlc_ahead(void)
{
	struct timespec	now;
	int64_t		ms;

	clock_gettime(CLOCK_REALTIME, &now);
	ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 +
	    HLC_AHEAD_MAX;
	return (ms << 16 | 0xffff);
}

static int
net_present(void)
{
	return (env->iev_net.handler != NULL);
}

/*
 * Tell the peers about an entry: peerid 0 is every peer but `except',
 * else that peer only.  HAVE when the blob is here and verified.
 */
void
repl_announce(const struct index_entry *e, uint32_t peerid, uint32_t except)
{
	struct repl_entry	r;

	if (env->node.status != NODE_OK || !net_present())
		return;
	if (index_entry_to_repl(e, &r) == -1) {
		log_warnx("entry %s is damaged in the index", e->name);
		return;
	}
	if (e->id[0] != '\0' && index_blob_local(env->db, e->id) == 1)
		r.flags |= REPL_F_HAVE;
	r.except = except;
	storaged_to_net(IMSG_REPL_ENTRY, peerid, 0, -1, &r, sizeof(r));
}

/* The entries changed: the next summary is computed afresh. */
void
repl_index_changed(void)
{
	repl.summary_valid = 0;
}

static void
repl_changed_cb(int fd, short event, void *arg)
{
	storaged_to_net(IMSG_REPL_WANTED_CHANGED, 0, 0, -1, NULL, 0);
}

/* The wanted list may differ: tell net once this turn of the loop. */
void
repl_wanted_changed(void)
{
	struct timeval	tv = { 0, 0 };

	if (!net_present())
		return;
	if (evtimer_initialized(&repl.changed_ev) &&
	    evtimer_pending(&repl.changed_ev, NULL))
		return;
	evtimer_set(&repl.changed_ev, repl_changed_cb, NULL);
	evtimer_add(&repl.changed_ev, &tv);
}

static void
repl_xfer_send(uint32_t type, uint32_t peerid, struct repl_xfer *x, int fd,
    uint32_t code, const char *msg)
{
	x->code = code;
	if (msg != NULL)
		strlcpy(x->msg, msg, sizeof(x->msg));
	storaged_to_net(type, peerid, 0, fd, x, sizeof(*x));
}

/* Merge. */

static void
repl_merge(uint32_t peerid, const struct repl_entry *r)
{
	struct index_entry	 e;
	char			 oldid[PVD_ID_HEXLEN];
	char			 node[PVD_NODEID_HEXLEN];
	const char		*why;
	uint64_t		 size;
	int			 applied, held = 0;

	if (env->node.status != NODE_OK)
		return;
	if (index_entry_from_repl(r, &e, &why) == -1) {
		log_warnx("entry from peer %u refused: %s", peerid, why);
		return;
	}
	/* near INT64_MAX, our own clock would overflow once it saw it */
	if (e.hlc > repl_hlc_ahead()) {
		log_warnx("entry %s from peer %u refused: its clock is more "
		    "than a day ahead", e.name, peerid);
		return;
	}
	hlc_observe(e.hlc);
	hex_encode(r->node, sizeof(r->node), node, sizeof(node));

	if (index_begin(env->db) == -1)
		goto fail;
	if ((applied = index_merge(env->db, &e, repl_tomb_oldest(), oldid,
	    sizeof(oldid))) == -1)
		goto fail;
	/* holders of blobs an entry names only: no table a peer can fill */
	if ((r->flags & REPL_F_HAVE) && e.id[0] != '\0' &&
	    strcmp(node, env->node.node_id) != 0 &&
	    index_id_size(env->db, e.id, &size) == 1) {
		if (index_holder_add(env->db, e.id, node) == -1)
			goto fail;
		held = 1;
	}
	if (index_commit(env->db) == -1)
		goto fail;

	if (applied) {
		log_debug("merged %s %s from peer %u", e.name,
		    e.id[0] == '\0' ? "(deleted)" : e.id, peerid);
		repl_index_changed();
		if (oldid[0] != '\0' && strcmp(oldid, e.id) != 0 &&
		    blob_collect(oldid) == -1)
			log_warnx("merge %s: blob %s left for the scrub",
			    e.name, oldid);
		repl_announce(&e, 0, peerid);
	}
	if ((applied || held) && e.id[0] != '\0' &&
	    index_blob_local(env->db, e.id) == 0 &&
	    index_id_size(env->db, e.id, &size) == 1)
		repl_wanted_changed();
	return;
 fail:
	index_rollback(env->db);
	log_warnx("cannot merge the entry of %s from peer %u", e.name,
	    peerid);
}

static void
repl_have(const struct repl_have *h)
{
	static const uint8_t	zero[PVD_ID_LEN];
	char			id[PVD_ID_HEXLEN], node[PVD_NODEID_HEXLEN];
	uint64_t		size;

	if (env->node.status != NODE_OK ||
	    memcmp(h->id, zero, sizeof(zero)) == 0)
		return;
	hex_encode(h->id, sizeof(h->id), id, sizeof(id));
	hex_encode(h->node, sizeof(h->node), node, sizeof(node));
	if (strcmp(node, env->node.node_id) == 0)
		return;
	/* only blobs an entry names: a peer cannot fill the table */
	if (index_id_size(env->db, id, &size) != 1)
		return;
	if (index_holder_add(env->db, id, node) == -1) {
		log_warnx("cannot record that a peer holds %s", id);
		return;
	}
	/* a new source for a blob this node waits for */
	if (index_blob_local(env->db, id) == 0)
		repl_wanted_changed();
}

/* Anti-entropy. */

static int
repl_summary_one(const struct index_entry *e, void *arg)
{
	struct repl_summary	*s = arg;
	struct repl_entry	 r;

	if (index_entry_to_repl(e, &r) == 0)
		repl_summary_add(s, &r);
	return (0);
}

static int
repl_summary_get(struct repl_summary **sp)
{
	if (!repl.summary_valid) {
		memset(&repl.summary, 0, sizeof(repl.summary));
		if (index_entry_walk_all(env->db, repl_summary_one,
		    &repl.summary) == -1) {
			log_warnx("cannot summarise the index");
			return (-1);
		}
		repl.summary_valid = 1;
	}
	*sp = &repl.summary;
	return (0);
}

static void
repl_summary_req(uint32_t peerid)
{
	struct repl_summary	*s;

	if (env->node.status != NODE_OK || repl_summary_get(&s) == -1)
		return;
	storaged_to_net(IMSG_REPL_SUMMARY, peerid, 0, -1, s, sizeof(*s));
}

static void
repl_summary_cmp(uint32_t peerid, const struct repl_summary *theirs)
{
	struct repl_summary	*ours;
	struct repl_buckets	 diff;

	if (env->node.status != NODE_OK || repl_summary_get(&ours) == -1)
		return;
	repl_summary_diff(ours, theirs, &diff);
	storaged_to_net(IMSG_REPL_BUCKETS, peerid, 0, -1, &diff,
	    sizeof(diff));
}

static void
repl_send_schedule(int ms)
{
	struct timeval	tv = { 0, ms * 1000 };

	if (evtimer_initialized(&repl.send_ev) &&
	    evtimer_pending(&repl.send_ev, NULL))
		return;
	evtimer_set(&repl.send_ev, repl_send_turn, NULL);
	evtimer_add(&repl.send_ev, &tv);
}

/* A peer asked for the entries of some buckets. */
static void
repl_buckets(uint32_t peerid, const struct repl_buckets *bk)
{
	struct bucket_send	*bs;
	int			 i;

	if (env->node.status != NODE_OK)
		return;
	TAILQ_FOREACH(bs, &repl.sends, entry)
		if (bs->peerid == peerid)
			break;
	if (bs == NULL) {
		if (repl.nsends >= SEND_MAX ||
		    (bs = calloc(1, sizeof(*bs))) == NULL) {
			log_debug("buckets of peer %u dropped: busy", peerid);
			return;
		}
		bs->peerid = peerid;
		TAILQ_INSERT_TAIL(&repl.sends, bs, entry);
		repl.nsends++;
	}
	/* asked again: start over, with the new buckets too */
	for (i = 0; i < REPL_BUCKET_BITMAP; i++)
		bs->buckets.bitmap[i] |= bk->bitmap[i];
	bs->cursor[0] = '\0';
	repl_send_schedule(0);
}

static void
repl_send_free(struct bucket_send *bs)
{
	TAILQ_REMOVE(&repl.sends, bs, entry);
	repl.nsends--;
	free(bs);
}

/*
 * One turn of the BUCKETS answers: a batch of entries of the first one,
 * then the next turn, while net keeps up.
 */
static void
repl_send_turn(int fd, short event, void *arg)
{
	struct bucket_send	*bs;
	struct index_entry	*e;
	int			 i, n;

	if ((bs = TAILQ_FIRST(&repl.sends)) == NULL)
		return;
	if (!net_present() || env->node.status != NODE_OK) {
		while ((bs = TAILQ_FIRST(&repl.sends)) != NULL)
			repl_send_free(bs);
		return;
	}
	if (imsgbuf_queuelen(&env->iev_net.ibuf) > SEND_QUEUE_HIGH) {
		repl_send_schedule(SEND_PAUSE_MS);
		return;
	}
	n = index_entry_batch(env->db, bs->cursor, repl.batch, SEND_PER_TURN);
	for (i = 0; i < n; i++) {
		e = &repl.batch[i];
		if (repl_bucket_isset(&bs->buckets,
		    repl_entry_bucket(e->name)))
			repl_announce(e, bs->peerid, 0);
	}
	if (n > 0)
		strlcpy(bs->cursor, repl.batch[n - 1].name,
		    sizeof(bs->cursor));
	if (n < SEND_PER_TURN) {
		if (n == -1)
			log_warnx("cannot read the entries asked for by "
			    "peer %u", bs->peerid);
		repl_send_free(bs);
	}
	if (!TAILQ_EMPTY(&repl.sends))
		repl_send_schedule(0);
}

/* Wanted blobs. */

static void
repl_wanted_req(void)
{
	struct repl_wanted	w;
	uint64_t		avail;
	char			need[32], have[32];

	memset(&w, 0, sizeof(w));
	if (env->node.status == NODE_OK) {
		if (quota_available(&avail, NULL) == -1)
			avail = 0;
		if (index_wanted(env->db, avail, repl_disk_size,
		    env->node.node_id, &w) == -1) {
			log_warnx("cannot list the blobs to fetch");
			memset(&w, 0, sizeof(w));
		}
		if (w.blocked > 0 && repl.blocked == 0) {
			fmt_size(w.blocked_need, need, sizeof(need));
			fmt_size(avail, have, sizeof(have));
			log_warnx("replication paused: quota exceeded: need "
			    "%s, available %s", need, have);
		} else if (w.blocked == 0 && repl.blocked > 0)
			log_info("replication resumed");
		repl.blocked = w.blocked;
	}
	storaged_to_net(IMSG_REPL_WANTED, 0, 0, -1, &w, sizeof(w));
}

/* Receiving a blob. */

static int
repl_recv_path(const uint8_t *id, char *path, size_t len, char *file)
{
	blob_name(env->keys.name_key, id, file);
	if (file[0] == '\0')
		return (-1);
	if (snprintf(path, len, "tmp/" RECV_PREFIX "%s", file) >= (int)len)
		return (-1);
	return (0);
}

/*
 * Read fd from the start through the blob reader.  Returns the length
 * of its prefix that verifies segment by segment (the header and whole
 * segments; 0 when even the header does not) and sets *complete when
 * the whole blob verifies, with *size its plaintext length.  err, when
 * not NULL, says what failed.
 */
static off_t
repl_recv_verify(int fd, const uint8_t *id, int *complete, uint64_t *size,
    char *err, size_t errlen)
{
	struct blob_reader	br;
	struct stat		sb;
	ssize_t			n;
	off_t			good = 0;

	*complete = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (fstat(fd, &sb) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
		if (err != NULL)
			snprintf(err, errlen, "%s", strerror(errno));
		return (0);
	}
	if (sb.st_size < BLOB_HEADER_LEN) {
		if (err != NULL)
			snprintf(err, errlen, "truncated header");
		return (0);
	}
	if (blob_reader_init(&br, env->keys.blob_key, fd, id) == -1) {
		if (err != NULL)
			strlcpy(err, blob_reader_error(&br), errlen);
		blob_reader_free(&br);
		return (0);
	}
	while ((n = blob_reader_read(&br, repl.buf, sizeof(repl.buf))) > 0)
		;
	if (n == 0) {
		*complete = 1;
		*size = blob_reader_size(&br);
		good = sb.st_size;
	} else {
		if (err != NULL)
			strlcpy(err, blob_reader_error(&br), errlen);
		/* what every whole segment that opened adds up to */
		if (br.seg < br.nseg)
			good = BLOB_HEADER_LEN +
			    (off_t)br.seg * (br.segsize + BLOB_TAG_LEN);
	}
	blob_reader_free(&br);
	explicit_bzero(repl.buf, sizeof(repl.buf));
	return (good);
}

/* Resume the gets that wait for blob id. */
static void
repl_park_resume(const char *id)
{
	struct parked	*p, *t;

	TAILQ_FOREACH_SAFE(p, &repl.parked, entry, t) {
		if (p->lookup || strcmp(p->id, id) != 0)
			continue;
		TAILQ_REMOVE(&repl.parked, p, entry);
		repl.nparked--;
		evtimer_del(&p->timer);
		get_run(p->ctlid, p->tag, p->name, p->fd, GET_FETCH);
		free(p);
	}
}

/*
 * The verified blob in tmp/ (open as fd) goes into blobs/ and the index:
 * fsync, rename, fsync of the directory, then the row, replacing a
 * damaged one.  Closes fd.
 */
static int
repl_recv_commit(int fd, const char *tmppath, const uint8_t *id,
    const char *file, uint64_t size, uint64_t disk_size, char *err,
    size_t errlen)
{
	struct index_blob	b, old;
	struct repl_have	h;
	char			dir[16], path[BLOB_PATH_LEN];
	int			have;

	memset(&b, 0, sizeof(b));
	hex_encode(id, PVD_ID_LEN, b.id, sizeof(b.id));
	strlcpy(b.file, file, sizeof(b.file));
	b.size = size;
	b.disk_size = disk_size;
	b.state = BLOB_OK;
	blob_file_path(b.file, path);
	if (fsync(fd) == -1 || blob_dirs(b.file, dir, sizeof(dir), 1) == -1 ||
	    rename(tmppath, path) == -1 || fsync_path(dir) == -1) {
		snprintf(err, errlen, "cannot store it: %s", strerror(errno));
		close(fd);
		return (-1);
	}
	close(fd);
	if (index_begin(env->db) == -1 ||
	    (have = index_blob_get(env->db, b.id, &old)) == -1 ||
	    index_blob_add(env->db, &b) == -1 ||
	    index_commit(env->db) == -1) {
		/* the file is an orphan now: the scrub removes it */
		index_rollback(env->db);
		snprintf(err, errlen, "cannot record it in the index");
		return (-1);
	}
	if (have)
		env->used = env->used > old.disk_size ?
		    env->used - old.disk_size : 0;
	env->used += b.disk_size;
	log_info("received blob %s, %llu bytes", b.id,
	    (unsigned long long)size);

	memset(&h, 0, sizeof(h));
	memcpy(h.id, id, sizeof(h.id));
	storaged_to_net(IMSG_REPL_HAVE, 0, 0, -1, &h, sizeof(h));
	repl_park_resume(b.id);
	return (0);
}

/*
 * Is blob id still to be received?  REPL_OK with the room it needs,
 * else the code to answer with.
 */
static uint32_t
repl_recv_wanted(const char *id, uint64_t *need, char *err, size_t errlen)
{
	uint64_t	size, avail;
	int		rc;

	if (env->node.status != NODE_OK) {
		strlcpy(err, env->node.reason, errlen);
		return (REPL_ERROR);
	}
	if ((rc = index_blob_local(env->db, id)) == 1)
		return (REPL_HAVE);
	if (rc == -1 || (rc = index_id_size(env->db, id, &size)) == -1) {
		strlcpy(err, "index error", errlen);
		return (REPL_ERROR);
	}
	if (rc == 0)
		return (REPL_UNWANTED);
	if ((*need = repl_disk_size(size)) == 0 ||
	    quota_available(&avail, NULL) == -1 || *need > avail) {
		strlcpy(err, "quota exceeded", errlen);
		return (REPL_QUOTA);
	}
	return (REPL_OK);
}

static struct recv_check *
recv_check_find(const uint8_t *id)
{
	struct recv_check	*c;

	TAILQ_FOREACH(c, &repl.checks, entry)
		if (memcmp(c->id, id, sizeof(c->id)) == 0)
			return (c);
	return (NULL);
}

static void
recv_check_free(struct recv_check *c)
{
	TAILQ_REMOVE(&repl.checks, c, entry);
	repl.nchecks--;
	if (c->started)
		blob_reader_free(&c->br);
	close(c->fd);
	free(c);
}

static void
recv_check_free_all(void)
{
	struct recv_check	*c;

	while ((c = TAILQ_FIRST(&repl.checks)) != NULL)
		recv_check_free(c);
}

/* Start checking the temporary blob path as it arrives. */
static void
recv_check_start(const uint8_t *id, const char *path)
{
	struct recv_check	*c;

	if ((c = recv_check_find(id)) != NULL)
		recv_check_free(c);
	if (repl.nchecks >= RECV_CHECK_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		return;		/* checked whole at the end instead */
	if ((c->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		free(c);
		return;
	}
	memcpy(c->id, id, sizeof(c->id));
	TAILQ_INSERT_TAIL(&repl.checks, c, entry);
	repl.nchecks++;
}

/*
 * Check what arrived of the blob, up to length bytes of its file.
 * Returns the verified length, -1 once it failed (the reason in err).
 */
static int64_t
recv_check_advance(struct recv_check *c, uint64_t length, char *err,
    size_t errlen)
{
	int64_t	v;

	if (c->failed)
		return (-1);
	if (!c->started) {
		if (length < BLOB_HEADER_LEN)
			return (0);
		c->started = 1;
		if (blob_reader_init(&c->br, env->keys.blob_key, c->fd,
		    c->id) == -1) {
			if (err != NULL)
				strlcpy(err, blob_reader_error(&c->br), errlen);
			c->failed = 1;
			return (-1);
		}
	}
	if ((v = blob_reader_advance(&c->br, length)) == -1) {
		if (err != NULL)
			strlcpy(err, blob_reader_error(&c->br), errlen);
		c->failed = 1;
	} else
		/* what verified goes to disk during the transfer */
		writeback_step(c->fd, &c->wb, v);
	return (v);
}

static void
repl_recv_progress(const struct repl_done *d)
{
	struct recv_check	*c;

	if ((c = recv_check_find(d->id)) != NULL)
		(void)recv_check_advance(c, d->length, NULL, 0);
}

/*
 * The end of a transfer: what is left to verify of the blob in fd, by
 * its check when it has one, else from the start.  As repl_recv_verify().
 */
static off_t
recv_check_finish(int fd, const uint8_t *id, int *complete, uint64_t *size,
    char *err, size_t errlen)
{
	struct recv_check	*c;
	struct stat		 sb;
	int64_t			 v;

	if ((c = recv_check_find(id)) == NULL)
		return (repl_recv_verify(fd, id, complete, size, err, errlen));
	*complete = 0;
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		recv_check_free(c);
		return (0);
	}
	v = recv_check_advance(c, sb.st_size, err, errlen);
	if (v == sb.st_size && blob_reader_complete(&c->br)) {
		*complete = 1;
		*size = blob_reader_size(&c->br);
	} else if (v != -1)
		snprintf(err, errlen, "truncated after %lld of %lld bytes",
		    (long long)v, (long long)sb.st_size);
	recv_check_free(c);
	return (*complete ? sb.st_size : 0);
}

static void
repl_recv_open(uint32_t peerid, const struct repl_open *o)
{
	struct repl_xfer	x;
	char			id[PVD_ID_HEXLEN], file[BLOB_NAME_HEXLEN];
	char			path[PATH_MAX];
	uint64_t		need, size;
	uint32_t		code;
	off_t			off;
	int			fd, complete;

	memset(&x, 0, sizeof(x));
	x.xfer = o->xfer;
	memcpy(x.id, o->id, sizeof(x.id));
	hex_encode(o->id, sizeof(o->id), id, sizeof(id));
	if ((code = repl_recv_wanted(id, &need, x.msg, sizeof(x.msg))) !=
	    REPL_OK) {
		repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, -1, code, NULL);
		return;
	}
	if (repl_recv_path(o->id, path, sizeof(path), file) == -1 ||
	    (fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, -1, REPL_ERROR,
		    "cannot create a temporary blob");
		return;
	}
	off = repl_recv_verify(fd, o->id, &complete, &size, NULL, 0);
	if (complete) {
		/* an earlier transfer ended but was never committed */
		if (repl_recv_commit(fd, path, o->id, file, size, off, x.msg,
		    sizeof(x.msg)) == -1) {
			unlink(path);
			repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, -1,
			    REPL_ERROR, NULL);
		} else
			repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, -1,
			    REPL_HAVE, NULL);
		return;
	}
	if (ftruncate(fd, off) == -1) {
		close(fd);
		repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, -1, REPL_ERROR,
		    "cannot truncate the temporary blob");
		return;
	}
	if (off > 0)
		log_debug("blob %s: resuming at %lld", id, (long long)off);
	x.offset = off;
	/*
	 * The longest a blob of the entry's size can be (the smallest
	 * segments): net refuses a sender that offers more.
	 */
	if (index_id_size(env->db, id, &size) == 1)
		x.disk_size = blob_stored_size(size, BLOB_SEGMENT_MIN);
	recv_check_start(o->id, path);
	/* the descriptor is net's from here on */
	repl_xfer_send(IMSG_REPL_RECV_FD, peerid, &x, fd, REPL_OK, NULL);
}

static void
repl_recv_done(uint32_t peerid, const struct repl_done *d)
{
	struct repl_xfer	x;
	char			id[PVD_ID_HEXLEN], file[BLOB_NAME_HEXLEN];
	char			path[PATH_MAX], a[32], b[32];
	uint64_t		need, size, avail;
	uint32_t		code;
	off_t			len;
	int			fd, complete;

	memset(&x, 0, sizeof(x));
	x.xfer = d->xfer;
	memcpy(x.id, d->id, sizeof(x.id));
	hex_encode(d->id, sizeof(d->id), id, sizeof(id));
	if (repl_recv_path(d->id, path, sizeof(path), file) == -1) {
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1,
		    REPL_ERROR, "cannot name the temporary blob");
		return;
	}
	if ((code = repl_recv_wanted(id, &need, x.msg, sizeof(x.msg))) !=
	    REPL_OK && code != REPL_QUOTA) {
		if (code != REPL_ERROR || env->node.status == NODE_OK)
			unlink(path);
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1, code,
		    NULL);
		return;
	}
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1,
		    REPL_ERROR, "the temporary blob is gone");
		return;
	}
	len = recv_check_finish(fd, d->id, &complete, &size, x.msg,
	    sizeof(x.msg));
	if (!complete) {
		close(fd);
		unlink(path);
		/* net names the peer in its log */
		log_debug("blob %s from peer %u failed verification: %s", id,
		    peerid, x.msg);
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1, REPL_BAD,
		    NULL);
		return;
	}
	if (quota_available(&avail, NULL) == -1 || (uint64_t)len > avail) {
		close(fd);
		unlink(path);
		fmt_size(len, a, sizeof(a));
		fmt_size(avail, b, sizeof(b));
		snprintf(x.msg, sizeof(x.msg), "quota exceeded: need %s, "
		    "available %s", a, b);
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1,
		    REPL_QUOTA, NULL);
		repl_wanted_changed();
		return;
	}
	if (repl_recv_commit(fd, path, d->id, file, size, len, x.msg,
	    sizeof(x.msg)) == -1) {
		unlink(path);
		repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1,
		    REPL_ERROR, NULL);
		return;
	}
	repl_xfer_send(IMSG_REPL_RECV_RESULT, peerid, &x, -1, REPL_OK, NULL);
}

/* Sending a blob. */

static void
repl_send_open(uint32_t peerid, const struct repl_open *o)
{
	struct repl_xfer	x;
	struct index_blob	b;
	struct stat		sb;
	char			id[PVD_ID_HEXLEN], path[BLOB_PATH_LEN];
	int			fd;

	memset(&x, 0, sizeof(x));
	x.xfer = o->xfer;
	memcpy(x.id, o->id, sizeof(x.id));
	hex_encode(o->id, sizeof(o->id), id, sizeof(id));
	if (env->node.status != NODE_OK ||
	    index_blob_get(env->db, id, &b) != 1 || b.state != BLOB_OK) {
		repl_xfer_send(IMSG_REPL_SEND_FAIL, peerid, &x, -1,
		    REPL_NOTFOUND, NULL);
		return;
	}
	blob_file_path(b.file, path);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		if (fd != -1)
			close(fd);
		log_warn("send blob %s: %s", id, path);
		repl_xfer_send(IMSG_REPL_SEND_FAIL, peerid, &x, -1,
		    REPL_NOTFOUND, NULL);
		return;
	}
	x.disk_size = sb.st_size;
	repl_xfer_send(IMSG_REPL_SEND_FD, peerid, &x, fd, REPL_OK, NULL);
}

/* Gets waiting for the network. */

static void
repl_park_free(struct parked *p)
{
	TAILQ_REMOVE(&repl.parked, p, entry);
	repl.nparked--;
	evtimer_del(&p->timer);
	if (p->fd != -1)
		close(p->fd);
	free(p);
}

static void
repl_park_fail(struct parked *p)
{
	if (p->lookup)
		ctl_fail(p->ctlid, p->tag, "no such file: %s: not found on "
		    "the network", p->name);
	else
		ctl_fail(p->ctlid, p->tag, "%s: not found on the network",
		    p->name);
	repl_park_free(p);
}

static void
repl_park_timeout(int fd, short event, void *arg)
{
	struct parked	*p = arg;

	log_debug("get %s: no answer from the network in %d s", p->name,
	    PARK_SECS);
	repl_park_fail(p);
}

static struct parked *
repl_park(uint32_t ctlid, uint32_t tag, const char *name, int fd)
{
	struct parked	*p;
	struct timeval	 tv = { PARK_SECS, 0 };

	if (env->node.status != NODE_OK || !net_present() ||
	    repl.nparked >= PARK_MAX ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->ctlid = ctlid;
	p->tag = tag;
	strlcpy(p->name, name, sizeof(p->name));
	p->fd = fd;
	evtimer_set(&p->timer, repl_park_timeout, p);
	evtimer_add(&p->timer, &tv);
	TAILQ_INSERT_TAIL(&repl.parked, p, entry);
	repl.nparked++;
	return (p);
}

/*
 * A get of a name this node does not know: ask the peers.  0 when the
 * get waits (fd is kept), -1 when it cannot.
 */
int
repl_park_lookup(uint32_t ctlid, uint32_t tag, const char *name, int fd)
{
	struct repl_lookup	 l;
	struct parked		*p;

	if ((p = repl_park(ctlid, tag, name, fd)) == NULL)
		return (-1);
	p->lookup = 1;
	if (++repl.lookup_tag == 0)
		repl.lookup_tag = 1;
	p->lookup_tag = repl.lookup_tag;
	memset(&l, 0, sizeof(l));
	l.tag = p->lookup_tag;
	strlcpy(l.name, name, sizeof(l.name));
	storaged_to_net(IMSG_REPL_LOOKUP, 0, 0, -1, &l, sizeof(l));
	return (0);
}

/*
 * A get of a file whose blob is not here (or damaged): fetch it first.
 * 0 when the get waits, or was answered (no room for the blob); -1 when
 * it cannot wait.
 */
int
repl_park_fetch(uint32_t ctlid, uint32_t tag, const char *name, int fd,
    const struct index_entry *e)
{
	struct repl_fetch	 f;
	struct parked		*p, *q;
	uint64_t		 need, avail;
	char			 a[32], b[32];
	int			 n, asked = 0;

	need = repl_disk_size(e->size);
	if (quota_available(&avail, NULL) == 0 && (need == 0 ||
	    need > avail)) {
		close(fd);
		fmt_size(need, a, sizeof(a));
		fmt_size(avail, b, sizeof(b));
		ctl_fail(ctlid, tag, "%s is not on this node, and there is no "
		    "room to fetch it: quota exceeded: need %s, available %s",
		    name, a, b);
		return (0);
	}
	TAILQ_FOREACH(q, &repl.parked, entry)
		if (!q->lookup && strcmp(q->id, e->id) == 0)
			asked = 1;
	if ((p = repl_park(ctlid, tag, name, fd)) == NULL)
		return (-1);
	strlcpy(p->id, e->id, sizeof(p->id));
	if (asked)
		return (0);
	memset(&f, 0, sizeof(f));
	hex_decode(e->id, f.want.id, sizeof(f.want.id));
	f.want.size = e->size;
	if ((n = index_holders(env->db, e->id, env->node.node_id,
	    f.want.holders, REPL_WANT_HOLDERS)) > 0)
		f.want.nholders = n;
	log_debug("get %s: fetching blob %s", name, e->id);
	storaged_to_net(IMSG_REPL_FETCH, 0, 0, -1, &f, sizeof(f));
	return (0);
}

static void
repl_fetch_fail(const struct repl_fetch *f)
{
	struct parked	*p, *t;
	char		 id[PVD_ID_HEXLEN];

	hex_encode(f->want.id, sizeof(f->want.id), id, sizeof(id));
	TAILQ_FOREACH_SAFE(p, &repl.parked, entry, t)
		if (!p->lookup && strcmp(p->id, id) == 0)
			repl_park_fail(p);
}

static void
repl_lookup_done(const struct repl_lookup *l)
{
	struct parked	*p;
	uint32_t	 ctlid, tag;
	int		 fd;

	TAILQ_FOREACH(p, &repl.parked, entry)
		if (p->lookup && p->lookup_tag == l->tag)
			break;
	if (p == NULL)
		return;		/* it timed out, or its client left */
	if (!l->found) {
		repl_park_fail(p);
		return;
	}
	/* the entry was merged before this answer: the get goes on */
	ctlid = p->ctlid;
	tag = p->tag;
	fd = p->fd;
	p->fd = -1;
	get_run(ctlid, tag, p->name, fd, GET_FETCH);
	repl_park_free(p);
}

/* A peer asks whether we know a name. */
static void
repl_lookup_peer(uint32_t peerid, const struct repl_lookup *l)
{
	struct repl_lookup	 ans;
	struct index_entry	 e;
	const char		*why;

	memset(&ans, 0, sizeof(ans));
	ans.tag = l->tag;
	strlcpy(ans.name, l->name, sizeof(ans.name));
	if (env->node.status == NODE_OK && name_valid(l->name, &why) &&
	    index_entry_get(env->db, l->name, &e) == 1 && e.id[0] != '\0') {
		repl_announce(&e, peerid, 0);
		ans.found = 1;
	}
	storaged_to_net(IMSG_REPL_LOOKUP_PEER, peerid, 0, -1, &ans,
	    sizeof(ans));
}

/* The client of ctlid has gone: so do its waiting gets. */
void
repl_cancel(uint32_t ctlid)
{
	struct parked	*p, *t;

	TAILQ_FOREACH_SAFE(p, &repl.parked, entry, t)
		if (p->ctlid == ctlid)
			repl_park_free(p);
}

/* Net has gone, and every client with it. */
void
repl_cancel_all(void)
{
	struct parked		*p;
	struct bucket_send	*bs;

	while ((p = TAILQ_FIRST(&repl.parked)) != NULL)
		repl_park_free(p);
	while ((bs = TAILQ_FIRST(&repl.sends)) != NULL)
		repl_send_free(bs);
	recv_check_free_all();
	if (evtimer_initialized(&repl.send_ev))
		evtimer_del(&repl.send_ev);
	if (evtimer_initialized(&repl.changed_ev))
		evtimer_del(&repl.changed_ev);
}

/*
 * An IMSG_REPL_* from net.  -1 when it is malformed: a wrong length, a
 * string not terminated, a value out of range.
 */
int
repl_dispatch(struct imsg *imsg)
{
	struct repl_entry	 e;
	struct repl_have	 h;
	struct repl_summary	 s;
	struct repl_buckets	 bk;
	struct repl_open	 o;
	struct repl_done	 d;
	struct repl_fetch	 f;
	struct repl_lookup	 l;
	struct repl_state	 st;
	struct recv_check	*c;
	uint32_t		 peerid = imsg_get_id(imsg);

	switch (imsg_get_type(imsg)) {
	case IMSG_REPL_MERGE:
		if (imsg_get_data(imsg, &e, sizeof(e)) == -1 ||
		    !strbuf_terminated(e.name, sizeof(e.name)))
			return (-1);
		repl_merge(peerid, &e);
		break;
	case IMSG_REPL_HAVE:
		if (imsg_get_data(imsg, &h, sizeof(h)) == -1)
			return (-1);
		repl_have(&h);
		break;
	case IMSG_REPL_SUMMARY_REQ:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		repl_summary_req(peerid);
		break;
	case IMSG_REPL_SUMMARY_CMP:
		if (imsg_get_data(imsg, &s, sizeof(s)) == -1)
			return (-1);
		repl_summary_cmp(peerid, &s);
		break;
	case IMSG_REPL_BUCKETS:
		if (imsg_get_data(imsg, &bk, sizeof(bk)) == -1)
			return (-1);
		repl_buckets(peerid, &bk);
		break;
	case IMSG_REPL_WANTED_REQ:
		if (imsg_get_len(imsg) != 0)
			return (-1);
		repl_wanted_req();
		break;
	case IMSG_REPL_RECV_OPEN:
		if (imsg_get_data(imsg, &o, sizeof(o)) == -1)
			return (-1);
		repl_recv_open(peerid, &o);
		break;
	case IMSG_REPL_RECV_DONE:
		if (imsg_get_data(imsg, &d, sizeof(d)) == -1)
			return (-1);
		repl_recv_done(peerid, &d);
		break;
	case IMSG_REPL_RECV_ABORT:
		/* the verified prefix stays in tmp/ for a resume */
		if (imsg_get_data(imsg, &d, sizeof(d)) == -1)
			return (-1);
		log_debug("transfer %u from peer %u interrupted at %llu",
		    d.xfer, peerid, (unsigned long long)d.length);
		if ((c = recv_check_find(d.id)) != NULL)
			recv_check_free(c);
		break;
	case IMSG_REPL_RECV_PROGRESS:
		if (imsg_get_data(imsg, &d, sizeof(d)) == -1)
			return (-1);
		repl_recv_progress(&d);
		break;
	case IMSG_REPL_SEND_OPEN:
		if (imsg_get_data(imsg, &o, sizeof(o)) == -1)
			return (-1);
		repl_send_open(peerid, &o);
		break;
	case IMSG_REPL_FETCH_FAIL:
		if (imsg_get_data(imsg, &f, sizeof(f)) == -1 ||
		    f.want.nholders > REPL_WANT_HOLDERS)
			return (-1);
		repl_fetch_fail(&f);
		break;
	case IMSG_REPL_LOOKUP_DONE:
		if (imsg_get_data(imsg, &l, sizeof(l)) == -1 ||
		    !strbuf_terminated(l.name, sizeof(l.name)) ||
		    l.found > 1)
			return (-1);
		repl_lookup_done(&l);
		break;
	case IMSG_REPL_LOOKUP_PEER:
		if (imsg_get_data(imsg, &l, sizeof(l)) == -1 ||
		    !strbuf_terminated(l.name, sizeof(l.name)))
			return (-1);
		repl_lookup_peer(peerid, &l);
		break;
	case IMSG_REPL_STATE:
		if (imsg_get_data(imsg, &st, sizeof(st)) == -1)
			return (-1);
		if (st.peers != repl.peers)
			log_debug("%u peers connected", st.peers);
		repl.peers = st.peers;
		break;
	default:
		return (-1);
	}
	return (0);
}
