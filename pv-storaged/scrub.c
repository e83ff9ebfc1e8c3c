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
 * The scrub, which is also the GC: every blob is read through the blob
 * reader (every tag, then the id); a damaged one moves to quarantine/
 * and is marked for repair; a blob no live entry names is removed, and
 * so are files under blobs/ the index does not know and temporaries no
 * store owns.  It works a bounded number of bytes per turn and pauses
 * between turns, so stores and gets are served meanwhile.  It cannot
 * race with a store: a store moves its blob into blobs/ and commits its
 * entry within one turn of the event loop.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
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

#define SCRUB_BATCH		32		/* blobs fetched at once */
#define SCRUB_TURN_BYTES	(1024 * 1024)	/* read per turn */
#define SCRUB_PAUSE_MS		5		/* between turns */
#define SCRUB_WAITERS		16		/* pvctl scrub at once */

static struct {
	int			 running;
	struct event		 ev;		/* next turn */
	struct event		 timer;		/* the periodic scrub */
	struct index_blob	 batch[SCRUB_BATCH];
	int			 nbatch, next;
	char			 cursor[PVD_ID_HEXLEN];
	struct blob_reader	 br;
	int			 reader_open;
	int			 fd;
	struct ctl_scrub	 res;
	struct timespec		 start;
	uint32_t		 waiters[SCRUB_WAITERS];
	int			 nwaiters;
	uint8_t			 buf[64 * 1024];
} scrub = { .fd = -1 };

static void	scrub_turn(int, short, void *);

static void
scrub_schedule(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(&scrub.ev, &tv);
}

static void
scrub_close_blob(void)
{
	if (scrub.reader_open)
		blob_reader_free(&scrub.br);
	scrub.reader_open = 0;
	if (scrub.fd != -1)
		close(scrub.fd);
	scrub.fd = -1;
}

/* Move a damaged blob aside and mark its entries for repair. */
static void
scrub_quarantine(const struct index_blob *b, const char *why)
{
	char	from[BLOB_PATH_LEN], to[PATH_MAX];

	log_warnx("scrub: blob %s is damaged: %s; moved to quarantine/",
	    b->id, why);
	blob_file_path(b->file, from);
	snprintf(to, sizeof(to), "quarantine/%s", b->file);
	if (rename(from, to) == -1 && errno != ENOENT)
		log_warn("scrub: rename %s", from);
	if (index_blob_set_state(env->db, b->id, BLOB_DAMAGED) == -1)
		log_warnx("scrub: cannot mark %s damaged", b->id);
	scrub.res.damaged++;
	/* a good copy is to be fetched from a peer */
	repl_wanted_changed();
}

/* Start on the next blob; 0 when there is none left. */
static int
scrub_next_blob(void)
{
	struct index_blob	*b;
	char			 path[BLOB_PATH_LEN];
	uint8_t			 id[PVD_ID_LEN];
	int			 rc;

	for (;;) {
		if (scrub.next == scrub.nbatch) {
			scrub.nbatch = index_blob_batch(env->db, scrub.cursor,
			    scrub.batch, SCRUB_BATCH);
			scrub.next = 0;
			if (scrub.nbatch <= 0)
				return (0);
		}
		b = &scrub.batch[scrub.next++];
		strlcpy(scrub.cursor, b->id, sizeof(scrub.cursor));
		if (b->state != BLOB_OK) {
			/* damaged and named by no entry: nothing to repair */
			if (index_blob_referenced(env->db, b->id) == 0 &&
			    blob_collect(b->id) == 0)
				scrub.res.removed++;
			continue;
		}
		if ((rc = index_blob_referenced(env->db, b->id)) == 0) {
			/* 1: a store in progress holds it */
			if (blob_collect(b->id) == 0)
				scrub.res.removed++;
			continue;
		}
		if (rc == -1)
			continue;
		scrub.res.checked++;
		blob_file_path(b->file, path);
		if ((scrub.fd = open(path, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1) {
			scrub_quarantine(b, strerror(errno));
			continue;
		}
		hex_decode(b->id, id, sizeof(id));
		if (blob_reader_init(&scrub.br, env->keys.blob_key, scrub.fd,
		    id) == -1) {
			scrub_quarantine(b, blob_reader_error(&scrub.br));
			blob_reader_free(&scrub.br);
			close(scrub.fd);
			scrub.fd = -1;
			continue;
		}
		scrub.reader_open = 1;
		return (1);
	}
}

/* Files under blobs/ that the index does not know, stale temporaries. */
static void
scrub_orphans(void)
{
	DIR		*d1, *d2, *d3;
	struct dirent	*e1, *e2, *e3;
	char		 p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];

	if ((d1 = opendir("blobs")) == NULL)
		return;
	while ((e1 = readdir(d1)) != NULL) {
		if (e1->d_name[0] == '.')
			continue;
		if (snprintf(p1, sizeof(p1), "blobs/%s", e1->d_name) >=
		    (int)sizeof(p1) || (d2 = opendir(p1)) == NULL)
			continue;
		while ((e2 = readdir(d2)) != NULL) {
			if (e2->d_name[0] == '.')
				continue;
			if (snprintf(p2, sizeof(p2), "%s/%s", p1,
			    e2->d_name) >= (int)sizeof(p2) ||
			    (d3 = opendir(p2)) == NULL)
				continue;
			while ((e3 = readdir(d3)) != NULL) {
				if (e3->d_name[0] == '.' ||
				    index_blob_file_known(env->db,
				    e3->d_name) != 0 ||
				    jobs_hold_blob(NULL, e3->d_name))
					continue;
				if (snprintf(p3, sizeof(p3), "%s/%s", p2,
				    e3->d_name) < (int)sizeof(p3) &&
				    unlink(p3) == 0) {
					log_info("scrub: removed orphan %s",
					    p3);
					scrub.res.removed++;
				}
			}
			closedir(d3);
		}
		closedir(d2);
	}
	closedir(d1);
	scrub.res.removed += jobs_clean_tmp(1);
}

static void
scrub_finish(void)
{
	struct timespec	now;
	int		i;

	scrub_orphans();
	clock_gettime(CLOCK_MONOTONIC, &now);
	scrub.res.duration_ms = (now.tv_sec - scrub.start.tv_sec) * 1000 +
	    (now.tv_nsec - scrub.start.tv_nsec) / 1000000;
	log_info("scrub: %llu blobs checked, %llu damaged, %llu removed, in "
	    "%lld ms", (unsigned long long)scrub.res.checked,
	    (unsigned long long)scrub.res.damaged,
	    (unsigned long long)scrub.res.removed,
	    (long long)scrub.res.duration_ms);
	for (i = 0; i < scrub.nwaiters; i++)
		storaged_to_net(IMSG_CTL_SCRUB_RESULT, scrub.waiters[i], 0, -1,
		    &scrub.res, sizeof(scrub.res));
	scrub.nwaiters = 0;
	scrub.running = 0;
}

/* One turn: up to SCRUB_TURN_BYTES of blobs verified. */
static void
scrub_turn(int fd, short event, void *arg)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < SCRUB_TURN_BYTES) {
		if (!scrub.reader_open && !scrub_next_blob()) {
			scrub_finish();
			return;
		}
		n = blob_reader_read(&scrub.br, scrub.buf, sizeof(scrub.buf));
		if (n == -1) {
			scrub_quarantine(&scrub.batch[scrub.next - 1],
			    blob_reader_error(&scrub.br));
			scrub_close_blob();
		} else if (n == 0)
			scrub_close_blob();
		else {
			done += n;
			scrub.res.bytes += n;
		}
	}
	scrub_schedule(SCRUB_PAUSE_MS);
}

/*
 * Forget the deletes older than the tombstone lifetime, and the holders
 * of blobs that no entry names any more.
 */
static void
scrub_tombstones(void)
{
	int	n;

	if ((n = index_tombstone_purge(env->db,
	    repl_tomb_oldest())) == -1)
		log_warnx("scrub: cannot forget old tombstones");
	else if (n > 0) {
		log_info("scrub: forgot %d deletes older than the tombstone "
		    "lifetime", n);
		repl_index_changed();
	}
	if (index_holders_prune(env->db) == -1)
		log_warnx("scrub: cannot prune the holders of old blobs");
}

/* Start a scrub; ctlid (not 0) is a pvctl waiting for the result. */
void
scrub_start(uint32_t ctlid)
{
	struct ctl_result	res;

	if (env->node.status != NODE_OK) {
		if (ctlid != 0) {
			memset(&res, 0, sizeof(res));
			res.code = 1;
			snprintf(res.msg, sizeof(res.msg), "storage refuses to "
			    "serve: %s", env->node.reason);
			storaged_to_net(IMSG_CTL_FAIL, ctlid, 0, -1, &res,
			    sizeof(res));
		}
		return;
	}
	if (ctlid != 0) {
		if (scrub.nwaiters == SCRUB_WAITERS) {
			memset(&res, 0, sizeof(res));
			res.code = 1;
			strlcpy(res.msg, "a scrub is running and too many "
			    "clients wait for it; try again later",
			    sizeof(res.msg));
			storaged_to_net(IMSG_CTL_FAIL, ctlid, 0, -1, &res,
			    sizeof(res));
			return;
		}
		scrub.waiters[scrub.nwaiters++] = ctlid;
	}
	if (scrub.running)
		return;
	scrub.running = 1;
	scrub_tombstones();
	memset(&scrub.res, 0, sizeof(scrub.res));
	scrub.cursor[0] = '\0';
	scrub.nbatch = scrub.next = 0;
	clock_gettime(CLOCK_MONOTONIC, &scrub.start);
	evtimer_set(&scrub.ev, scrub_turn, NULL);
	scrub_schedule(0);
}

static void
scrub_timer(int fd, short event, void *arg)
{
	scrub_start(0);
	scrub_arm();
}

/* (Re)arm the periodic scrub from the configuration. */
void
scrub_arm(void)
{
	struct timeval	tv = { PVD_SCRUB_DEFAULT, 0 };

	if (env->conf != NULL)
		tv.tv_sec = env->conf->g.scrub_interval;
	if (evtimer_initialized(&scrub.timer))
		evtimer_del(&scrub.timer);
	evtimer_set(&scrub.timer, scrub_timer, NULL);
	evtimer_add(&scrub.timer, &tv);
}

void
scrub_stop(void)
{
	if (scrub.running) {
		evtimer_del(&scrub.ev);
		scrub_close_blob();
		scrub.running = 0;
	}
}
