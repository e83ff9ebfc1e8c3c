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
 * Storing and returning files.  A store streams the client's descriptor
 * once through the blob writer into tmp/, in constant memory; then the
 * blob is made durable, renamed into blobs/, the rename made durable, and
 * only then is the name committed to the index.  Stores that finish in
 * the same turn of the event loop do this together (commit_flush()).
 * A get streams a blob through the blob reader, which releases only
 * verified bytes, into the client's descriptor.  Both are jobs driven by
 * the event loop, a bounded number at a time, so that one slow client
 * never stalls the others.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "storaged.h"

#define JOB_MAX_ACTIVE		8	/* jobs moving bytes at once */
#define JOB_MAX_QUEUED		256	/* jobs waiting for their turn */
#define JOB_READS_PER_TURN	4	/* buffers per callback */
#define JOB_IDLE_SECS		30	/* a still pipe gives way after */
#define JOB_IDLE_CHECK		5	/* looked for this often, seconds */

static TAILQ_HEAD(, job)	jobs_active =
    TAILQ_HEAD_INITIALIZER(jobs_active);
static TAILQ_HEAD(, job)	jobs_queued =
    TAILQ_HEAD_INITIALIZER(jobs_queued);
static TAILQ_HEAD(, job)	jobs_committing =
    TAILQ_HEAD_INITIALIZER(jobs_committing);
static struct event		commit_ev;
static struct event		idle_ev;
static size_t			njobs_active, njobs_queued;
static int64_t			hlc_last;

static void	job_run(struct job *);
static void	idle_arm(void);
static void	idle_check(int, short, void *);
static void	job_io(int, short, void *);
static void	job_end(struct job *);
static void	commit_flush(int, short, void *);
static uint32_t	replicas_elsewhere(const char *);

/*
 * An error for a client.  tag is the client's own mark of a pipelined
 * request (pvctl store -r), returned with each answer to it, since the
 * jobs of one client may end in another order than they began.
 */
void
ctl_fail(uint32_t ctlid, uint32_t tag, const char *fmt, ...)
{
	struct ctl_result	res;
	va_list			ap;

	memset(&res, 0, sizeof(res));
	res.code = 1;
	va_start(ap, fmt);
	vsnprintf(res.msg, sizeof(res.msg), fmt, ap);
	va_end(ap);
	storaged_to_net(IMSG_CTL_FAIL, ctlid, tag, -1, &res, sizeof(res));
}

/*
 * A hybrid logical clock value: milliseconds since the epoch in the
 * high bits, a counter in the low 16, never going back.
 */
static int64_t
hlc_next(void)
{
	struct timespec	ts;
	int64_t		now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) << 16;
	hlc_last = now > hlc_last ? now : hlc_last + 1;
	return (hlc_last);
}

/* A clock value from a peer: ours never falls behind what we saw. */
int64_t
hlc_observe(int64_t remote)
{
	if (remote > hlc_last)
		hlc_last = remote;
	return (hlc_last);
}

/*
 * How much a store may still write: the quota (pvctl quota set wins over
 * pvd.conf) less what the blobs use, and the disk's free space less the
 * reserve.  Fills q when given.
 */
int
quota_available(uint64_t *avail, struct ctl_quota *q)
{
	struct ctl_quota	 tmp;
	struct statvfs		 sv;

	if (q == NULL)
		q = &tmp;
	memset(q, 0, sizeof(*q));
	q->used = env->used;
	q->quota = quota_limit();
	q->reserve = env->conf != NULL ? env->conf->g.reserve : 0;
	if (fstatvfs(env->dirfd, &sv) == -1) {
		log_warn("statvfs of the data directory");
		return (-1);
	}
	q->disk_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	q->available = quota_room(q->used, q->quota, q->disk_free,
	    q->reserve);
	*avail = q->available;
	return (0);
}

/* The quota in force: a value set with pvctl, else pvd.conf's. */
uint64_t
quota_limit(void)
{
	char		buf[32];
	const char	*errstr;
	uint64_t	v;

	if (index_meta_get(env->db, "quota", buf, sizeof(buf)) == 1) {
		v = strtonum(buf, 0, LLONG_MAX, &errstr);
		if (errstr == NULL)
			return (v);
	}
	return (env->conf != NULL ? env->conf->g.quota : 0);
}

/* The stores that wait for their commit. */
static size_t
commit_count(void)
{
	struct job	*j;
	size_t		 n = 0;

	TAILQ_FOREACH(j, &jobs_committing, entry)
		n++;
	return (n);
}

/* The blobs of the stores that wait for their commit. */
static uint64_t
committing_bytes(void)
{
	struct job	*j;
	uint64_t	 n = 0;

	TAILQ_FOREACH(j, &jobs_committing, entry)
		if (!j->deduplicated)
			n += j->blob.disk_size;
	return (n);
}

static int
quota_check(uint32_t ctlid, uint32_t tag, uint64_t need)
{
	char		a[32], b[32];
	uint64_t	avail, pending;

	if (quota_available(&avail, NULL) == -1) {
		ctl_fail(ctlid, tag, "cannot tell the space available");
		return (-1);
	}
	/* what the stores waiting for their commit will take */
	pending = committing_bytes();
	avail = avail > pending ? avail - pending : 0;
	if (need > avail) {
		fmt_size(need, a, sizeof(a));
		fmt_size(avail, b, sizeof(b));
		ctl_fail(ctlid, tag, "quota exceeded: need %s, available %s", a,
		    b);
		return (-1);
	}
	return (0);
}

static struct job *
job_new(enum job_type type, uint32_t ctlid, uint32_t tag, const char *name,
    int fd)
{
	struct job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (NULL);
	j->type = type;
	j->ctlid = ctlid;
	j->tag = tag;
	strlcpy(j->name, name, sizeof(j->name));
	j->fd = fd;
	j->tmpfd = -1;
	j->blobfd = -1;
	return (j);
}

/* Queue a job; it runs when fewer than JOB_MAX_ACTIVE are running. */
static void
job_enqueue(struct job *j)
{
	if (njobs_active < JOB_MAX_ACTIVE) {
		TAILQ_INSERT_TAIL(&jobs_active, j, entry);
		njobs_active++;
		job_run(j);
	} else {
		TAILQ_INSERT_TAIL(&jobs_queued, j, entry);
		njobs_queued++;
		idle_arm();
	}
}

static void
idle_arm(void)
{
	struct timeval	tv = { JOB_IDLE_CHECK, 0 };

	if (!evtimer_initialized(&idle_ev))
		evtimer_set(&idle_ev, idle_check, NULL);
	if (!evtimer_pending(&idle_ev, NULL))
		evtimer_add(&idle_ev, &tv);
}

/*
 * While requests wait for a turn, a job whose client's pipe moved
 * nothing for JOB_IDLE_SECS gives its turn up: a client stopped, or
 * reading a file that never answers, must not hold the others.  A file
 * the store reads itself never waits on its client.
 */
static void
idle_check(int fd, short event, void *arg)
{
	struct job	*j, *t;
	const char	*what;
	time_t		 now = monotime();

	TAILQ_FOREACH_SAFE(j, &jobs_active, entry, t) {
		if (njobs_queued == 0)
			break;
		if (j->regular || now - j->moved < JOB_IDLE_SECS)
			continue;
		what = j->type == JOB_STORE ? "store" : "get";
		log_warnx("%s %s: its pipe moved nothing in %d s while other "
		    "requests waited; dropped", what, j->name, JOB_IDLE_SECS);
		ctl_fail(j->ctlid, j->tag, "%s %s: nothing moved in %d s "
		    "while other requests waited", what, j->name,
		    JOB_IDLE_SECS);
		job_end(j);
	}
	if (njobs_queued > 0)
		idle_arm();
}

/* Ask for the next turn: readiness for a pipe, a zero timer for a file. */
static void
job_wait(struct job *j, short what)
{
	struct timeval	tv = { 0, 0 };

	if (event_initialized(&j->ev))
		event_del(&j->ev);
	if (j->regular) {
		evtimer_set(&j->ev, job_io, j);
		evtimer_add(&j->ev, &tv);
	} else {
		event_set(&j->ev, j->fd, what, job_io, j);
		event_add(&j->ev, NULL);
	}
}

/*
 * Check the client's descriptor: a pipe, made non-blocking, or a regular
 * file on a filesystem that answers in bounded time (fs_local()), open
 * the right way.  -2 for a regular file elsewhere, its filesystem in fs.
 */
static int
fd_prepare(struct job *j, int want_write, char *fs, size_t fslen)
{
	struct stat	sb;
	int		fl, mode;

	if (fstat(j->fd, &sb) == -1 || (fl = fcntl(j->fd, F_GETFL)) == -1)
		return (-1);
	mode = fl & O_ACCMODE;
	if (want_write ? mode == O_RDONLY : mode == O_WRONLY)
		return (-1);
	if (S_ISREG(sb.st_mode)) {
		switch (fs_local(j->fd, fs, fslen)) {
		case 1:
			break;
		case 0:
			return (-2);
		default:
			return (-1);
		}
		j->regular = 1;
	} else if (S_ISFIFO(sb.st_mode)) {
		if (fcntl(j->fd, F_SETFL, fl | O_NONBLOCK) == -1)
			return (-1);
	} else
		return (-1);
	return (0);
}

void
store_start(uint32_t ctlid, uint32_t tag, const struct ctl_store *req, int fd)
{
	struct job	*j;
	uint64_t	 need;

	if (env->node.status != NODE_OK) {
		close(fd);
		ctl_fail(ctlid, tag, "storage refuses data: %s",
		    env->node.reason);
		return;
	}
	if (req->size_known) {
		/* 0: more than a blob can hold */
		need = blob_stored_size(req->size, BLOB_SEGMENT_SIZE);
		if (need == 0 && req->size != 0) {
			close(fd);
			ctl_fail(ctlid, tag, "%s is too large to store",
			    req->name);
			return;
		}
		if (quota_check(ctlid, tag, need) == -1) {
			close(fd);
			return;
		}
	}
	if (njobs_queued >= JOB_MAX_QUEUED ||
	    (j = job_new(JOB_STORE, ctlid, tag, req->name, fd)) == NULL) {
		close(fd);
		ctl_fail(ctlid, tag, "storage is busy, try again");
		return;
	}
	j->expect = req->size_known ? req->size : 0;
	j->size_known = req->size_known;
	job_enqueue(j);
}

static int
store_open_tmp(struct job *j)
{
	uint8_t	rnd[8];
	char	hex[sizeof(rnd) * 2 + 1];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);
	hex_encode(rnd, sizeof(rnd), hex, sizeof(hex));
	snprintf(j->tmpname, sizeof(j->tmpname), "tmp/%s.blob", hex);
	if ((j->tmpfd = open(j->tmpname, O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return (-1);
	return (blob_writer_init(&j->bw, env->keys.blob_key,
	    BLOB_SEGMENT_SIZE, j->tmpfd));
}

/*
 * mkdir blobs/ab and blobs/ab/cd as needed.  With sync, what changed is
 * fsynced; without, the caller makes it durable (by syncfs(2)).
 */
int
blob_dirs(const char *file, char *dir, size_t len, int sync)
{
	char	top[16];

	snprintf(top, sizeof(top), "blobs/%.2s", file);
	snprintf(dir, len, "blobs/%.2s/%.2s", file, file + 2);
	if (mkdir(top, 0700) == 0) {
		if (sync && fsync_path("blobs") == -1)
			return (-1);
	} else if (errno != EEXIST)
		return (-1);
	if (mkdir(dir, 0700) == 0) {
		if (sync && fsync_path(top) == -1)
			return (-1);
	} else if (errno != EEXIST)
		return (-1);
	return (0);
}

/*
 * The content is all in tmp/.  Drop it when the same content is stored
 * already; otherwise it waits, with every other store that got this far
 * in the same turn of the event loop, for commit_flush().
 */
static void
store_finish(struct job *j)
{
	struct index_blob	 old;
	struct timeval		 tv = { 0, 0 };
	uint8_t			 id[BLOB_ID_LEN];
	uint64_t		 size;
	int			 have;

	if (blob_writer_finish(&j->bw, id, &size) == -1) {
		ctl_fail(j->ctlid, j->tag, "cannot write the blob of %s: %s",
		    j->name, strerror(errno));
		job_end(j);
		return;
	}
	memset(&j->blob, 0, sizeof(j->blob));
	hex_encode(id, sizeof(id), j->blob.id, sizeof(j->blob.id));
	blob_name(env->keys.name_key, id, j->blob.file);
	j->blob.size = size;
	j->blob.disk_size = blob_stored_size(size, BLOB_SEGMENT_SIZE);

	if ((have = index_blob_get(env->db, j->blob.id, &old)) == -1) {
		ctl_fail(j->ctlid, j->tag, "index error");
		job_end(j);
		return;
	}
	if (have && old.state == BLOB_OK) {
		/* the same content is stored already */
		unlink(j->tmpname);
		j->tmpname[0] = '\0';
		j->deduplicated = 1;
	} else if (quota_check(j->ctlid, j->tag, j->blob.disk_size) == -1) {
		job_end(j);
		return;
	}

	TAILQ_REMOVE(&jobs_active, j, entry);
	TAILQ_INSERT_TAIL(&jobs_committing, j, entry);
	if (!evtimer_initialized(&commit_ev) ||
	    !evtimer_pending(&commit_ev, NULL)) {
		evtimer_set(&commit_ev, commit_flush, NULL);
		evtimer_add(&commit_ev, &tv);
	}
}

/* A store of the batch that cannot go on: answer it, and let it go. */
static void
commit_drop(struct job *j, const char *what)
{
	TAILQ_REMOVE(&jobs_committing, j, entry);
	TAILQ_INSERT_TAIL(&jobs_active, j, entry);
	ctl_fail(j->ctlid, j->tag, "cannot store %s: %s: %s", j->name, what,
	    strerror(errno));
	job_end(j);
}

/*
 * Make what the stores of a batch wrote durable, and then their renames
 * into blobs/.  A batch of one is fsynced file by file and directory by
 * directory.  A larger one is made durable by one syncfs(2) for all the
 * contents and one for all the renames: on a journalling filesystem that
 * is one commit and one cache flush each, where an fsync per file, and per
 * directory it lands in, would be as many of each as there are files.
 * Returns -1 when nothing of the batch can go on; a store whose own rename
 * fails is answered and dropped, and the others go on.
 */
static int
commit_durable(char *why, size_t whylen)
{
	struct job	*j, *t;
	char		 path[BLOB_PATH_LEN];
	int		 n = 0, fd = -1, batch;

	/* fd: the blob of a batch of one */
	TAILQ_FOREACH(j, &jobs_committing, entry)
		if (!j->deduplicated) {
			n++;
			fd = j->tmpfd;
		}
	if (n == 0)
		return (0);
	batch = n > 1;
	if (batch ? syncfs_path(".") == -1 : fsync(fd) == -1) {
		snprintf(why, whylen, "cannot make its content durable: %s",
		    strerror(errno));
		return (-1);
	}
	TAILQ_FOREACH_SAFE(j, &jobs_committing, entry, t) {
		if (j->deduplicated)
			continue;
		blob_file_path(j->blob.file, path);
		if (blob_dirs(j->blob.file, j->dir, sizeof(j->dir),
		    !batch) == -1) {
			commit_drop(j, "cannot make its directory");
			continue;
		}
		if (rename(j->tmpname, path) == -1) {
			commit_drop(j, "cannot move it into blobs/");
			continue;
		}
		j->tmpname[0] = '\0';
		if (!batch && fsync_path(j->dir) == -1) {
			snprintf(why, whylen, "cannot sync %s: %s", j->dir,
			    strerror(errno));
			return (-1);
		}
	}
	if (batch && syncfs_path(".") == -1) {
		snprintf(why, whylen, "cannot make its name durable: %s",
		    strerror(errno));
		return (-1);
	}
	return (0);
}

static int
commit_one(struct job *j, struct index_entry *e)
{
	struct index_blob	old;
	struct index_entry	prev;
	int			have;

	/* the version this one replaces, whose blob may be collected */
	j->oldid[0] = '\0';
	if ((have = index_entry_get(env->db, j->name, &prev)) == -1)
		return (-1);
	if (have)
		strlcpy(j->oldid, prev.id, sizeof(j->oldid));
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, j->name, sizeof(e->name));
	strlcpy(e->id, j->blob.id, sizeof(e->id));
	e->size = j->blob.size;
	e->hlc = j->hlc = hlc_next();
	strlcpy(e->origin, env->node.node_id, sizeof(e->origin));
	e->mtime = time(NULL);
	if (!j->deduplicated) {
		/*
		 * Another store of this batch may have added it; a damaged
		 * row is replaced by the good blob just moved into place.
		 */
		if ((have = index_blob_get(env->db, j->blob.id, &old)) == -1)
			return (-1);
		if (have && old.state == BLOB_OK)
			j->deduplicated = 1;
		else if (index_blob_add(env->db, &j->blob) == -1)
			return (-1);
		else if (have)
			j->replaced = old.disk_size;
	}
	return (index_entry_put(env->db, e));
}

static void
commit_flush(int fd, short event, void *arg)
{
	struct index_entry	 e;
	struct ctl_file		 f;
	struct job		*j;
	char			 why[128];
	int			 failed = 0;

	strlcpy(why, "cannot record it in the index", sizeof(why));
	if (commit_durable(why, sizeof(why)) == -1) {
		log_warnx("commit of %zu stores: %s", commit_count(), why);
		failed = 1;
	}
	if (!failed && index_begin(env->db) == 0) {
		TAILQ_FOREACH(j, &jobs_committing, entry)
			if (commit_one(j, &e) == -1)
				failed = 1;
		if (failed || index_commit(env->db) == -1) {
			index_rollback(env->db);
			failed = 1;
		}
	} else
		failed = 1;
	if (!failed)
		repl_index_changed();

	while ((j = TAILQ_FIRST(&jobs_committing)) != NULL) {
		TAILQ_REMOVE(&jobs_committing, j, entry);
		TAILQ_INSERT_TAIL(&jobs_active, j, entry);
		if (failed) {
			/* the blobs are orphans now: the scrub removes them */
			ctl_fail(j->ctlid, j->tag, "cannot store %s: %s",
			    j->name, why);
			job_end(j);
			continue;
		}
		if (!j->deduplicated) {
			/* the damaged row it replaced was counted already */
			env->used = env->used > j->replaced ?
			    env->used - j->replaced : 0;
			env->used += j->blob.disk_size;
		}
		memset(&e, 0, sizeof(e));
		strlcpy(e.name, j->name, sizeof(e.name));
		strlcpy(e.id, j->blob.id, sizeof(e.id));
		e.size = j->blob.size;
		e.hlc = j->hlc;
		strlcpy(e.origin, env->node.node_id, sizeof(e.origin));
		e.mtime = time(NULL);
		repl_announce(&e, 0, 0);
		if (j->oldid[0] != '\0' && strcmp(j->oldid, j->blob.id) != 0 &&
		    blob_collect(j->oldid) == -1)
			log_warnx("store %s: blob %s left for the scrub",
			    j->name, j->oldid);
		log_debug("stored %s, %llu bytes, id %s%s", j->name,
		    (unsigned long long)j->blob.size, j->blob.id,
		    j->deduplicated ? " (deduplicated)" : "");
		memset(&f, 0, sizeof(f));
		strlcpy(f.name, j->name, sizeof(f.name));
		strlcpy(f.id, j->blob.id, sizeof(f.id));
		f.size = j->blob.size;
		f.mtime = time(NULL);
		f.replicas = 1 + replicas_elsewhere(j->blob.id);
		f.deduplicated = j->deduplicated;
		storaged_to_net(IMSG_CTL_FILE, j->ctlid, j->tag, -1, &f,
		    sizeof(f));
		storaged_to_net(IMSG_CTL_END, j->ctlid, j->tag, -1, NULL, 0);
		job_end(j);
	}
}

/* One turn of a store: a few buffers from the client into the blob. */
static void
store_turn(struct job *j)
{
	uint64_t	avail;
	ssize_t		n;
	int		i;

	for (i = 0; i < JOB_READS_PER_TURN; i++) {
		if ((n = read(j->fd, j->buf, sizeof(j->buf))) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				job_wait(j, EV_READ);
				return;
			}
			ctl_fail(j->ctlid, j->tag, "reading %s: %s", j->name,
			    strerror(errno));
			job_end(j);
			return;
		}
		if (n == 0) {
			if (!j->regular && j->size_known &&
			    j->done != j->expect) {
				/* the pipe's writer stopped short */
				ctl_fail(j->ctlid, j->tag, "the input of %s "
				    "ended after %llu of its %llu bytes",
				    j->name, (unsigned long long)j->done,
				    (unsigned long long)j->expect);
				job_end(j);
				return;
			}
			store_finish(j);
			return;
		}
		if (!j->regular && j->size_known &&
		    (uint64_t)n > j->expect - j->done) {
			ctl_fail(j->ctlid, j->tag, "the input of %s is longer "
			    "than the %llu bytes announced", j->name,
			    (unsigned long long)j->expect);
			job_end(j);
			return;
		}
		if (blob_writer_update(&j->bw, j->buf, n) == -1) {
			ctl_fail(j->ctlid, j->tag, "writing the blob of %s: %s",
			    j->name, strerror(errno));
			job_end(j);
			return;
		}
		j->done += n;
		j->moved = monotime();
	}
	/* a pipe has no size to check in advance: check as it grows */
	if (!j->size_known && (j->done >> 20) != (j->checked >> 20)) {
		j->checked = j->done;
		if (quota_available(&avail, NULL) == 0 &&
		    blob_stored_size(j->done, BLOB_SEGMENT_SIZE) > avail) {
			quota_check(j->ctlid, j->tag, blob_stored_size(j->done,
			    BLOB_SEGMENT_SIZE));
			job_end(j);
			return;
		}
	}
	job_wait(j, EV_READ);
}

void
get_start(uint32_t ctlid, uint32_t tag, const char *name, int fd)
{
	get_run(ctlid, tag, name, fd, GET_LOOKUP | GET_FETCH);
}

/*
 * A get.  A name this node does not know is looked up on the peers, and
 * a blob that is not here is fetched from them, as flags allow: the get
 * waits in repl.c meanwhile, and runs here again when it can go on.
 */
void
get_run(uint32_t ctlid, uint32_t tag, const char *name, int fd, int flags)
{
	struct index_entry	 e;
	struct index_blob	 b;
	struct ctl_file		 f;
	struct job		*j;
	char			 path[BLOB_PATH_LEN];
	uint8_t			 id[BLOB_ID_LEN];
	int			 rc;

	if (env->node.status != NODE_OK) {
		close(fd);
		ctl_fail(ctlid, tag, "storage refuses to serve: %s",
		    env->node.reason);
		return;
	}
	if ((rc = index_entry_get(env->db, name, &e)) == -1) {
		close(fd);
		ctl_fail(ctlid, tag, "index error");
		return;
	}
	if (rc == 0 && (flags & GET_LOOKUP) &&
	    repl_park_lookup(ctlid, tag, name, fd) == 0)
		return;
	if (rc == 0 || e.id[0] == '\0') {
		close(fd);
		if (rc == 0 && !(flags & GET_LOOKUP))
			ctl_fail(ctlid, tag, "no such file: %s: not found on "
			    "the network", name);
		else
			ctl_fail(ctlid, tag, "no such file: %s", name);
		return;
	}
	if ((rc = index_blob_get(env->db, e.id, &b)) == -1) {
		close(fd);
		ctl_fail(ctlid, tag, "index error");
		return;
	}
	if (rc == 0 || b.state != BLOB_OK) {
		if ((flags & GET_FETCH) &&
		    repl_park_fetch(ctlid, tag, name, fd, &e) == 0)
			return;
		close(fd);
		if (!(flags & GET_FETCH))
			ctl_fail(ctlid, tag, "%s: not found on the network",
			    name);
		else
			ctl_fail(ctlid, tag, "the content of %s is not on "
			    "this node%s", name,
			    rc == 1 ? " (damaged, in quarantine)" : "");
		return;
	}
	if ((j = job_new(JOB_GET, ctlid, tag, name, fd)) == NULL) {
		close(fd);
		ctl_fail(ctlid, tag, "storage is busy, try again");
		return;
	}
	blob_file_path(b.file, path);
	hex_decode(e.id, id, sizeof(id));
	if ((j->blobfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || blob_reader_init(&j->br, env->keys.blob_key, j->blobfd,
	    id) == -1) {
		ctl_fail(ctlid, tag, "%s failed verification: %s", name,
		    j->blobfd == -1 ? strerror(errno) :
		    blob_reader_error(&j->br));
		job_end(j);
		return;
	}
	/*
	 * The id was checked when the blob was written here or received
	 * from a peer, the header binds it, and the scrub checks it again:
	 * a get checks every tag, which no one without the key can forge,
	 * and spares the SHA-256 of the whole content.
	 */
	blob_reader_tags_only(&j->br);
	j->reader_open = 1;

	memset(&f, 0, sizeof(f));
	strlcpy(f.name, e.name, sizeof(f.name));
	strlcpy(f.id, e.id, sizeof(f.id));
	f.size = e.size;
	f.mtime = e.mtime;
	f.replicas = 1 + replicas_elsewhere(e.id);
	storaged_to_net(IMSG_CTL_FILE, ctlid, tag, -1, &f, sizeof(f));
	job_enqueue(j);
}

/* One turn of a get: verified bytes from the blob out to the client. */
static void
get_turn(struct job *j)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < JOB_READS_PER_TURN; i++) {
		if (j->buflen == 0) {
			if ((n = blob_reader_read(&j->br, j->buf,
			    sizeof(j->buf))) == -1) {
				log_warnx("get %s: %s", j->name,
				    blob_reader_error(&j->br));
				ctl_fail(j->ctlid, j->tag,
				    "%s failed verification: %s",
				    j->name, blob_reader_error(&j->br));
				job_end(j);
				return;
			}
			if (n == 0) {
				/* close first: the client waits for EOF */
				close(j->fd);
				j->fd = -1;
				storaged_to_net(IMSG_CTL_END, j->ctlid,
				    j->tag, -1,
				    NULL, 0);
				job_end(j);
				return;
			}
			j->buflen = n;
			j->bufoff = 0;
		}
		n = write(j->fd, j->buf + j->bufoff, j->buflen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				job_wait(j, EV_WRITE);
				return;
			}
			ctl_fail(j->ctlid, j->tag, "writing %s: %s", j->name,
			    strerror(errno));
			job_end(j);
			return;
		}
		j->bufoff += n;
		j->buflen -= n;
		j->done += n;
		j->moved = monotime();
	}
	job_wait(j, EV_WRITE);
}

static void
job_io(int fd, short event, void *arg)
{
	struct job	*j = arg;

	if (j->type == JOB_STORE)
		store_turn(j);
	else
		get_turn(j);
}

static void
job_run(struct job *j)
{
	char	fs[FS_NAME_MAX];

	j->moved = monotime();
	switch (fd_prepare(j, j->type == JOB_GET, fs, sizeof(fs))) {
	case -1:
		ctl_fail(j->ctlid, j->tag,
		    "refusing the descriptor for %s: not a "
		    "regular file or a pipe open the right way", j->name);
		job_end(j);
		return;
	case -2:
		ctl_fail(j->ctlid, j->tag,
		    "refusing the descriptor for %s: a file on %s, which "
		    "may not answer in time; pass a pipe instead", j->name,
		    fs);
		job_end(j);
		return;
	}
	if (j->type == JOB_STORE && store_open_tmp(j) == -1) {
		ctl_fail(j->ctlid, j->tag, "cannot create a temporary blob: %s",
		    strerror(errno));
		job_end(j);
		return;
	}
	j->writer_open = j->type == JOB_STORE;
	job_wait(j, j->type == JOB_STORE ? EV_READ : EV_WRITE);
}

/* Release a job, whatever its state, and start the next one waiting. */
static void
job_end(struct job *j)
{
	struct job	*next;

	if (event_initialized(&j->ev))
		event_del(&j->ev);
	if (j->writer_open)
		blob_writer_free(&j->bw);
	if (j->reader_open)
		blob_reader_free(&j->br);
	if (j->tmpname[0] != '\0')
		unlink(j->tmpname);
	if (j->tmpfd != -1)
		close(j->tmpfd);
	if (j->blobfd != -1)
		close(j->blobfd);
	if (j->fd != -1)
		close(j->fd);
	TAILQ_REMOVE(&jobs_active, j, entry);
	njobs_active--;
	explicit_bzero(j->buf, sizeof(j->buf));
	free(j);

	if ((next = TAILQ_FIRST(&jobs_queued)) != NULL) {
		TAILQ_REMOVE(&jobs_queued, next, entry);
		njobs_queued--;
		TAILQ_INSERT_TAIL(&jobs_active, next, entry);
		njobs_active++;
		job_run(next);
	}
}

/* The client went away: drop its jobs, leaving nothing behind. */
void
jobs_cancel(uint32_t ctlid)
{
	struct job	*j, *t;

	TAILQ_FOREACH_SAFE(j, &jobs_queued, entry, t)
		if (j->ctlid == ctlid) {
			TAILQ_REMOVE(&jobs_queued, j, entry);
			njobs_queued--;
			/* a queued job is counted as active by job_end */
			TAILQ_INSERT_TAIL(&jobs_active, j, entry);
			njobs_active++;
			job_end(j);
		}
	TAILQ_FOREACH_SAFE(j, &jobs_active, entry, t)
		if (j->ctlid == ctlid)
			job_end(j);
	repl_cancel(ctlid);
}

void
jobs_cancel_all(void)
{
	struct job	*j;

	/* what reached its commit is committed, not thrown away */
	if (!TAILQ_EMPTY(&jobs_committing)) {
		evtimer_del(&commit_ev);
		commit_flush(-1, 0, NULL);
	}

	while ((j = TAILQ_FIRST(&jobs_queued)) != NULL) {
		TAILQ_REMOVE(&jobs_queued, j, entry);
		njobs_queued--;
		TAILQ_INSERT_TAIL(&jobs_active, j, entry);
		njobs_active++;
		job_end(j);
	}
	while ((j = TAILQ_FIRST(&jobs_active)) != NULL)
		job_end(j);
	repl_cancel_all();
}

/*
 * Remove what is in tmp/ but belongs to no store in progress: what a
 * crash or a killed client left.  With keep_recv, a blob being received
 * from a peer (tmp/recv-*) that changed within the last hour stays, for
 * its transfer to resume.  Returns how many files went.
 */
int
jobs_clean_tmp(int keep_recv)
{
	DIR		*d;
	struct dirent	*de;
	struct job	*j;
	struct stat	 sb;
	char		 path[PATH_MAX];
	int		 n = 0, owned;

	if ((d = opendir("tmp")) == NULL) {
		log_warn("opendir tmp");
		return (0);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "tmp/%s", de->d_name);
		owned = 0;
		TAILQ_FOREACH(j, &jobs_active, entry)
			if (strcmp(j->tmpname, path) == 0)
				owned = 1;
		if (owned)
			continue;
		if (keep_recv && strncmp(de->d_name, RECV_PREFIX,
		    sizeof(RECV_PREFIX) - 1) == 0 &&
		    lstat(path, &sb) == 0 &&
		    sb.st_mtime > time(NULL) - RECV_KEEP_SECS)
			continue;
		if (unlink(path) == 0)
			n++;
		else
			log_warn("unlink %s", path);
	}
	closedir(d);
	return (n);
}

/*
 * Does a store between its rename and its index commit hold this blob
 * (by id or by file name)?  Such a blob is never collected: its entry
 * is about to name it.
 */
int
jobs_hold_blob(const char *id, const char *file)
{
	struct job	*j;

	TAILQ_FOREACH(j, &jobs_committing, entry)
		if ((id != NULL && strcmp(j->blob.id, id) == 0) ||
		    (file != NULL && strcmp(j->blob.file, file) == 0))
			return (1);
	return (0);
}

/* Blob id is no longer named by a live entry: remove it. */
int
blob_collect(const char *id)
{
	struct index_blob	b;
	char			path[BLOB_PATH_LEN];
	int			rc;

	if ((rc = index_blob_referenced(env->db, id)) != 0)
		return (rc);
	if (jobs_hold_blob(id, NULL))
		return (1);
	if (index_blob_get(env->db, id, &b) != 1)
		return (0);
	blob_file_path(b.file, path);
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("unlink %s", path);
		return (-1);
	}
	if (index_blob_remove(env->db, id) == -1)
		return (-1);
	env->used = env->used > b.disk_size ? env->used - b.disk_size : 0;
	repl_wanted_changed();
	return (0);
}

void
delete_name(uint32_t ctlid, const char *name)
{
	struct index_entry	e;
	struct ctl_result	res;
	char			id[PVD_ID_HEXLEN];
	int			rc;

	if (env->node.status != NODE_OK) {
		ctl_fail(ctlid, 0, "storage refuses data: %s",
		    env->node.reason);
		return;
	}
	if ((rc = index_entry_get(env->db, name, &e)) != 1 ||
	    e.id[0] == '\0') {
		ctl_fail(ctlid, 0, rc == -1 ? "index error" :
		    "no such file: %s", name);
		return;
	}
	strlcpy(id, e.id, sizeof(id));
	e.id[0] = '\0';
	e.size = 0;
	e.hlc = hlc_next();
	strlcpy(e.origin, env->node.node_id, sizeof(e.origin));
	e.mtime = time(NULL);
	if (index_entry_put(env->db, &e) == -1) {
		ctl_fail(ctlid, 0, "cannot record the delete of %s", name);
		return;
	}
	repl_index_changed();
	repl_announce(&e, 0, 0);
	if (blob_collect(id) == -1)
		log_warnx("delete %s: blob %s left for the scrub", name, id);
	memset(&res, 0, sizeof(res));
	snprintf(res.msg, sizeof(res.msg), "deleted %s", name);
	storaged_to_net(IMSG_CTL_RESULT, ctlid, 0, -1, &res, sizeof(res));
}

/* Other nodes known to hold a verified copy of blob id. */
static uint32_t
replicas_elsewhere(const char *id)
{
	int	n;

	n = index_holder_count(env->db, id, env->node.node_id);
	return (n > 0 ? n : 0);
}

static int
list_one(const struct index_entry *e, void *arg)
{
	struct ctl_file		f;
	struct index_blob	b;
	uint32_t		ctlid = *(uint32_t *)arg;

	memset(&f, 0, sizeof(f));
	strlcpy(f.name, e->name, sizeof(f.name));
	strlcpy(f.id, e->id, sizeof(f.id));
	f.size = e->size;
	f.mtime = e->mtime;
	f.replicas = (index_blob_get(env->db, e->id, &b) == 1 &&
	    b.state == BLOB_OK ? 1 : 0) + replicas_elsewhere(e->id);
	storaged_to_net(IMSG_CTL_FILE, ctlid, 0, -1, &f, sizeof(f));
	return (0);
}

void
list_names(uint32_t ctlid)
{
	if (env->node.status != NODE_OK) {
		ctl_fail(ctlid, 0, "storage refuses to serve: %s",
		    env->node.reason);
		return;
	}
	if (index_entry_walk(env->db, list_one, &ctlid) == -1) {
		ctl_fail(ctlid, 0, "index error");
		return;
	}
	storaged_to_net(IMSG_CTL_END, ctlid, 0, -1, NULL, 0);
}

void
quota_report(uint32_t ctlid)
{
	struct ctl_quota	q;
	uint64_t		avail, files;

	if (env->node.status != NODE_OK) {
		ctl_fail(ctlid, 0, "storage refuses to serve: %s",
		    env->node.reason);
		return;
	}
	/* the exact figures: a recount, which also corrects the running sum */
	if (index_usage(env->db, &env->used, &files) == -1 ||
	    quota_available(&avail, &q) == -1) {
		ctl_fail(ctlid, 0, "cannot tell the space available");
		return;
	}
	q.files = files;
	storaged_to_net(IMSG_CTL_QUOTA_INFO, ctlid, 0, -1, &q, sizeof(q));
}

void
quota_set(uint32_t ctlid, uint64_t bytes)
{
	struct ctl_result	res;
	char			buf[32], human[32];

	if (env->node.status != NODE_OK) {
		ctl_fail(ctlid, 0, "storage refuses data: %s",
		    env->node.reason);
		return;
	}
	if (bytes > LLONG_MAX) {
		ctl_fail(ctlid, 0, "quota too large");
		return;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	if (index_meta_set(env->db, "quota", buf) == -1) {
		ctl_fail(ctlid, 0, "cannot record the quota");
		return;
	}
	memset(&res, 0, sizeof(res));
	if (bytes == 0)
		snprintf(res.msg, sizeof(res.msg), "quota removed");
	else {
		fmt_size(bytes, human, sizeof(human));
		snprintf(res.msg, sizeof(res.msg), "quota set to %s", human);
	}
	log_info("%s", res.msg);
	storaged_to_net(IMSG_CTL_RESULT, ctlid, 0, -1, &res, sizeof(res));
	repl_wanted_changed();
}
