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
 * Replication, net's half: it carries entries, summaries and lookups
 * between the peers and pv-storaged, and moves blobs.  Storage decides
 * what is wanted and verifies what arrives; this file decides from whom
 * and when: at most REPL_FETCH_MAX blobs come in at once, known holders
 * first, then every other peer in turn, and a blob that every peer
 * failed waits REPL_RETRY_SECS.  Blob bytes go straight from a DATA
 * frame into the descriptor storage handed over, and out of one by
 * peer_stream(); nothing here buffers them.
 *
 * A frame from a peer that breaks the protocol drops that peer; a bad
 * message from storage is logged and ignored.
 */

#include <sys/types.h>

#include <errno.h>
#include <event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netd.h"

#define REPL_FETCH_MAX		4	/* blobs coming in at once */
#define REPL_AE_INTERVAL	60	/* s: anti-entropy with each peer */
#define REPL_TICK		10	/* s: ask for wanted blobs again */
#define REPL_RETRY_SECS		30	/* s: a blob every peer failed */
#define REPL_LOOKUP_SECS	5
#define REPL_WANTED_WAIT	30	/* s: storage owes an answer */
#define REPL_QUEUE_MAX		16	/* GETs waiting per peer */
#define REPL_SEND_MAX		8	/* blob descriptors being sent */
#define REPL_WANT_MAX		(4 * REPL_WANT_BATCH)
#define REPL_LOOKUP_MAX		256
#define REPL_PROGRESS_STEP	(4 * 1024 * 1024)	/* verify behind this */
#define REPL_TRIED_MAX		1024	/* peers tried for a blob */
#define REPL_CANCELLED		16	/* stale tags remembered per peer */

/* A blob storage wants, from IMSG_REPL_WANTED or IMSG_REPL_FETCH. */
struct want {
	TAILQ_ENTRY(want)	 entry;
	struct repl_want	 w;
	struct fetch		*fetch;
	uint32_t		*tried;		/* peer ids, this round */
	size_t			 ntried;
	time_t			 retry_at;	/* monotonic, 0: now */
	int			 listed;	/* in the last WANTED */
	int			 urgent;	/* a get waits for it */
	int			 other_fail;	/* a failure not NOTFOUND */
};
TAILQ_HEAD(wants, want);

enum fetch_state {
	FETCH_OPEN,		/* RECV_OPEN sent, waiting for the fd */
	FETCH_GET,		/* GET sent, waiting for BLOB */
	FETCH_DATA,		/* receiving DATA */
	FETCH_VERIFY		/* RECV_DONE sent, waiting for RESULT */
};

struct fetch {
	TAILQ_ENTRY(fetch)	 entry;
	struct want		*want;
	uint32_t		 xfer;		/* and the GET's tag */
	uint32_t		 peerid;
	char			 addr[PVD_HOST_MAX + 8];
	enum fetch_state	 state;
	int			 fd;
	uint64_t		 offset;	/* bytes in the file */
	uint64_t		 total;
	uint64_t		 limit;		/* longest total, 0: any */
	uint64_t		 reported;	/* offset storage was told */
	struct event		 timer;		/* stalled */
};
TAILQ_HEAD(fetches, fetch);

enum serve_state {
	SERVE_QUEUED,
	SERVE_OPEN,		/* SEND_OPEN sent */
	SERVE_STREAM		/* given to peer_stream() */
};

/* A GET a peer sent us. */
struct serve {
	TAILQ_ENTRY(serve)	 entry;
	uint32_t		 xfer;		/* to storage */
	enum serve_state	 state;
	struct wire_get		 get;
};
TAILQ_HEAD(serves, serve);

/* peer->repl */
struct repl_peer {
	struct peer		*peer;
	struct event		 ae_timer;
	struct serves		 serves;	/* the first one is served */
	unsigned int		 nserves;
	uint32_t		 cancelled[REPL_CANCELLED];
	unsigned int		 ncancelled;
};

/* A name storage asked the peers about. */
struct lookup {
	TAILQ_ENTRY(lookup)	 entry;
	uint32_t		 tag;		/* storage's */
	uint32_t		 wtag;		/* on the wire */
	int			 found;
	char			 name[PVD_NAME_MAX + 1];
	uint32_t		*peers;		/* yet to answer */
	size_t			 npeers;
	struct event		 timer;
};
TAILQ_HEAD(lookups, lookup);

static struct {
	struct wants		 wants;
	unsigned int		 nwants;
	struct fetches		 fetches;
	unsigned int		 nfetches;
	struct lookups		 lookups;
	unsigned int		 nlookups;
	unsigned int		 nsending;	/* serves open or streaming */
	uint32_t		 next_tag;
	uint32_t		 rr;		/* the peer picked last */
	int			 wanted_asked;
	int			 wanted_again;
	time_t			 wanted_at;
	uint64_t		 pending;	/* of the last WANTED */
	uint64_t		 blocked;
	uint64_t		 blocked_need;
	struct event		 tick;
	int			 ready;
} repl = {
	.wants = TAILQ_HEAD_INITIALIZER(repl.wants),
	.fetches = TAILQ_HEAD_INITIALIZER(repl.fetches),
	.lookups = TAILQ_HEAD_INITIALIZER(repl.lookups),
};

static void	 repl_schedule(void);
static void	 repl_wanted_req(void);
static void	 serve_kick_all(void);
static void	 fetch_stall(int, short, void *);

static uint32_t
repl_tag(void)
{
	if (++repl.next_tag == 0)
		repl.next_tag = 1;
	return (repl.next_tag);
}

static uint32_t
repl_peer_timeout(void)
{
	struct pv_config	*conf = netd_env->conf;

	if (conf == NULL || conf->g.peer_timeout == 0)
		return (PVD_TIMEOUT_DEFAULT);
	return (conf->g.peer_timeout);
}

/* The first 8 hex digits of a blob id, for the log. */
static const char *
repl_id8(const uint8_t *id, char *buf, size_t len)
{
	hex_encode(id, 4, buf, len);
	return (buf);
}

static int
repl_storage_up(void)
{
	return (netd_env->iev_storage.handler != NULL);
}

static int
repl_to_storage(uint32_t type, uint32_t peerid, int fd, const void *data,
    size_t len)
{
	if (!repl_storage_up()) {
		if (fd != -1)
			close(fd);
		return (-1);
	}
	if (imsg_compose_event(&netd_env->iev_storage, type, peerid, 0, fd,
	    data, len) == -1) {
		log_warn("%s: imsg %u", __func__, type);
		return (-1);
	}
	return (0);
}

/* A peer that replication may use: repl_peer_up() ran, not stale. */
static int
repl_usable(struct peer *p)
{
	return (p->repl != NULL && p->state == PEER_HEALTHY);
}

static void
repl_malformed(struct peer *p, uint16_t type)
{
	log_warnx("dropping %s: malformed %s frame", p->addr,
	    wire_type_name(type));
	peer_drop(p, "malformed %s frame", wire_type_name(type));
}

static void
repl_state_send(void)
{
	struct repl_state	 st;
	struct peer		*p;

	memset(&st, 0, sizeof(st));
	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (repl_usable(p))
			st.peers++;
	(void)repl_to_storage(IMSG_REPL_STATE, 0, -1, &st, sizeof(st));
}

/* A tag we gave up on: its late BLOB and DATA frames are no offence. */
static void
repl_cancel_tag(struct peer *p, uint32_t tag)
{
	struct repl_peer	*rp = p->repl;
	uint8_t			 buf[4];

	if (rp == NULL)
		return;
	rp->cancelled[rp->ncancelled++ % REPL_CANCELLED] = tag;
	if (wire_enc_u32(buf, sizeof(buf), tag) != 0)
		(void)peer_send(p, WIRE_CANCEL, buf, sizeof(buf));
}

static int
repl_cancelled(struct repl_peer *rp, uint32_t tag)
{
	unsigned int	i;

	for (i = 0; i < REPL_CANCELLED; i++)
		if (rp->cancelled[i] == tag)
			return (1);
	return (0);
}

/* Wanted blobs. */

static struct want *
want_find(const uint8_t *id)
{
	struct want	*w;

	TAILQ_FOREACH(w, &repl.wants, entry)
		if (memcmp(w->w.id, id, PVD_ID_LEN) == 0)
			return (w);
	return (NULL);
}

static struct want *
want_new(const struct repl_want *rw)
{
	struct want	*w;

	if (repl.nwants >= REPL_WANT_MAX)
		return (NULL);
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	w->w = *rw;
	TAILQ_INSERT_TAIL(&repl.wants, w, entry);
	repl.nwants++;
	return (w);
}

static void
want_free(struct want *w)
{
	TAILQ_REMOVE(&repl.wants, w, entry);
	repl.nwants--;
	free(w->tried);
	free(w);
}

static void
want_add_holder(struct want *w, const uint8_t *node)
{
	uint32_t	i;

	for (i = 0; i < w->w.nholders; i++)
		if (memcmp(w->w.holders[i], node, PVD_NODEID_LEN) == 0)
			return;
	if (w->w.nholders < REPL_WANT_HOLDERS)
		memcpy(w->w.holders[w->w.nholders++], node, PVD_NODEID_LEN);
}

static int
want_is_holder(const struct want *w, const uint8_t *node)
{
	uint32_t	i;

	for (i = 0; i < w->w.nholders; i++)
		if (memcmp(w->w.holders[i], node, PVD_NODEID_LEN) == 0)
			return (1);
	return (0);
}

static int
want_tried(const struct want *w, uint32_t peerid)
{
	size_t	i;

	for (i = 0; i < w->ntried; i++)
		if (w->tried[i] == peerid)
			return (1);
	return (0);
}

static int
want_try(struct want *w, uint32_t peerid)
{
	uint32_t	*t;

	if (w->ntried >= REPL_TRIED_MAX)
		return (-1);
	if ((t = reallocarray(w->tried, w->ntried + 1, sizeof(*t))) == NULL) {
		log_warn("%s", __func__);
		return (-1);
	}
	w->tried = t;
	w->tried[w->ntried++] = peerid;
	return (0);
}

/* Tell storage the gets waiting for w will not see it soon. */
static void
want_fetch_fail(struct want *w)
{
	struct repl_fetch	f;
	char			id8[9];

	if (!w->urgent)
		return;
	w->urgent = 0;
	log_debug("blob %s: no peer can send it",
	    repl_id8(w->w.id, id8, sizeof(id8)));
	memset(&f, 0, sizeof(f));
	f.want = w->w;
	(void)repl_to_storage(IMSG_REPL_FETCH_FAIL, 0, -1, &f, sizeof(f));
}

/* A new round after REPL_RETRY_SECS: every peer may be tried again. */
static void
want_backoff(struct want *w, int fail)
{
	char	id8[9];

	log_debug("blob %s: every peer tried, again in %d seconds",
	    repl_id8(w->w.id, id8, sizeof(id8)), REPL_RETRY_SECS);
	w->retry_at = monotime() + REPL_RETRY_SECS;
	free(w->tried);
	w->tried = NULL;
	w->ntried = 0;
	w->other_fail = 0;
	if (fail)
		want_fetch_fail(w);
}

/* Storage answered for good: the blob is here, or nobody wants it. */
static void
want_done(struct want *w, enum repl_code code)
{
	if (code != REPL_OK && code != REPL_HAVE)
		want_fetch_fail(w);
	want_free(w);
}

/* A healthy peer not yet tried: holders first, then in turn. */
static struct peer *
want_pick(struct want *w)
{
	struct peer	*p, *best = NULL;
	uint32_t	 key, best_key = 0;
	int		 holder, best_holder = 0;

	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if (!repl_usable(p) || want_tried(w, p->id))
			continue;
		holder = want_is_holder(w, p->node);
		/* the next id after the last pick comes first */
		key = p->id - repl.rr - 1;
		if (best == NULL || holder > best_holder ||
		    (holder == best_holder && key < best_key)) {
			best = p;
			best_key = key;
			best_holder = holder;
		}
	}
	return (best);
}

/* Fetches. */

static struct fetch *
fetch_by_xfer(uint32_t xfer)
{
	struct fetch	*f;

	TAILQ_FOREACH(f, &repl.fetches, entry)
		if (f->xfer == xfer)
			return (f);
	return (NULL);
}

static void
fetch_free(struct fetch *f)
{
	evtimer_del(&f->timer);
	if (f->fd != -1)
		close(f->fd);
	TAILQ_REMOVE(&repl.fetches, f, entry);
	repl.nfetches--;
	if (f->want != NULL)
		f->want->fetch = NULL;
	free(f);
}

static void
fetch_arm(struct fetch *f)
{
	struct timeval	tv;

	timerclear(&tv);
	tv.tv_sec = repl_peer_timeout();
	evtimer_add(&f->timer, &tv);
}

/*
 * Give up on f, whose peer failed it: the bytes written stay in the
 * temporary file for a resume, and the blob goes to the next peer.
 */
static void
fetch_abort(struct fetch *f, int notfound)
{
	struct repl_done	d;

	if (f->state == FETCH_GET || f->state == FETCH_DATA) {
		close(f->fd);
		f->fd = -1;
		memset(&d, 0, sizeof(d));
		d.xfer = f->xfer;
		memcpy(d.id, f->want->w.id, sizeof(d.id));
		d.length = f->offset;
		(void)repl_to_storage(IMSG_REPL_RECV_ABORT, f->peerid, -1, &d,
		    sizeof(d));
	}
	if (!notfound)
		f->want->other_fail = 1;
	fetch_free(f);
}

/* A local failure: the temporary file, storage; not the peer's fault. */
static void
fetch_local_fail(struct fetch *f)
{
	struct want	*w = f->want;

	fetch_abort(f, 1);
	want_backoff(w, 1);
}

static void
fetch_start(struct want *w, struct peer *p)
{
	struct repl_open	 o;
	struct fetch		*f;
	char			 id8[9];

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	if (want_try(w, p->id) == -1) {
		free(f);
		want_backoff(w, 0);
		return;
	}
	f->want = w;
	f->xfer = repl_tag();
	f->peerid = p->id;
	(void)strlcpy(f->addr, p->addr, sizeof(f->addr));
	f->state = FETCH_OPEN;
	f->fd = -1;
	evtimer_set(&f->timer, fetch_stall, f);
	TAILQ_INSERT_TAIL(&repl.fetches, f, entry);
	repl.nfetches++;
	w->fetch = f;
	repl.rr = p->id;

	memset(&o, 0, sizeof(o));
	o.xfer = f->xfer;
	memcpy(o.id, w->w.id, sizeof(o.id));
	log_debug("blob %s: fetching from %s (transfer %u)",
	    repl_id8(w->w.id, id8, sizeof(id8)), f->addr, f->xfer);
	if (repl_to_storage(IMSG_REPL_RECV_OPEN, p->id, -1, &o,
	    sizeof(o)) == -1)
		fetch_free(f);
}

/* Start what may start: urgent blobs are at the front. */
static void
repl_schedule(void)
{
	struct want	*w;
	struct peer	*p;
	time_t		 now;
	int		 any = 0;

	if (!repl_storage_up() || !repl.ready)
		return;
	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (repl_usable(p))
			any = 1;
	now = monotime();
	TAILQ_FOREACH(w, &repl.wants, entry) {
		if (w->fetch != NULL)
			continue;
		if (!any) {
			/* nobody to ask: the first peer to come will do */
			want_fetch_fail(w);
			continue;
		}
		if (repl.nfetches >= REPL_FETCH_MAX)
			break;
		if (w->retry_at > now)
			continue;
		if ((p = want_pick(w)) == NULL) {
			/* fail the gets only when every peer said NOTFOUND */
			want_backoff(w, !w->other_fail);
			continue;
		}
		fetch_start(w, p);
	}
}

/* After a transfer ends, whichever way: what next. */
static void
repl_fetch_ended(void)
{
	repl_wanted_req();
	repl_schedule();
}

static void
fetch_stall(int fd, short event, void *arg)
{
	struct fetch	*f = arg;
	struct peer	*p;
	char		 id8[9];

	log_debug("blob %s: nothing from %s for %u seconds, trying "
	    "elsewhere", repl_id8(f->want->w.id, id8, sizeof(id8)), f->addr,
	    repl_peer_timeout());
	if ((p = peer_find(f->peerid)) != NULL)
		repl_cancel_tag(p, f->xfer);
	fetch_abort(f, 0);
	repl_fetch_ended();
}

/* Every byte is in: storage verifies and commits. */
static void
fetch_complete(struct fetch *f)
{
	struct repl_done	d;

	evtimer_del(&f->timer);
	close(f->fd);
	f->fd = -1;
	f->state = FETCH_VERIFY;
	memset(&d, 0, sizeof(d));
	d.xfer = f->xfer;
	memcpy(d.id, f->want->w.id, sizeof(d.id));
	d.length = f->total;
	if (repl_to_storage(IMSG_REPL_RECV_DONE, f->peerid, -1, &d,
	    sizeof(d)) == -1)
		fetch_free(f);
}

/* Storage's descriptor for the temporary file: ask the peer. */
static void
fetch_recv_fd(struct fetch *f, int fd, uint64_t offset)
{
	struct wire_get	 g;
	struct peer	*p;
	uint8_t		 buf[WIRE_HDR_LEN + 160];
	size_t		 len;
	ssize_t		 n;
	char		 id8[9];

	f->fd = fd;
	f->offset = offset;
	f->state = FETCH_GET;
	if ((p = peer_find(f->peerid)) == NULL || !repl_usable(p)) {
		fetch_abort(f, 0);
		repl_fetch_ended();
		return;
	}
	memset(&g, 0, sizeof(g));
	g.tag = f->xfer;
	memcpy(g.id, f->want->w.id, sizeof(g.id));
	if (offset >= REPL_HEADER_LEN) {
		/* the sender checks that we hold the same sealing */
		do {
			n = pread(fd, g.header, REPL_HEADER_LEN, 0);
		} while (n == -1 && errno == EINTR);
		if (n == REPL_HEADER_LEN)
			g.has_header = 1;
	}
	g.offset = g.has_header ? offset : 0;
	if ((len = wire_enc_get(buf, sizeof(buf), &g)) == 0) {
		log_warnx("blob %s: cannot encode a GET",
		    repl_id8(g.id, id8, sizeof(id8)));
		fetch_local_fail(f);
		repl_fetch_ended();
		return;
	}
	if (peer_send(p, WIRE_GET, buf, len) == -1) {
		fetch_abort(f, 0);
		repl_fetch_ended();
		return;
	}
	if (offset > 0)
		log_info("blob %s: resuming at %llu from %s",
		    repl_id8(g.id, id8, sizeof(id8)),
		    (unsigned long long)g.offset, f->addr);
	fetch_arm(f);
}

/* BLOB: the sender's answer to our GET. */
static void
fetch_blob(struct peer *p, const struct wire_blob *b)
{
	struct fetch	*f;
	char		 id8[9];

	f = fetch_by_xfer(b->tag);
	if (f == NULL || f->peerid != p->id || f->state != FETCH_GET) {
		if (f == NULL && repl_cancelled(p->repl, b->tag))
			return;
		repl_malformed(p, WIRE_BLOB);
		return;
	}
	repl_id8(f->want->w.id, id8, sizeof(id8));
	if (b->status != WIRE_BLOB_OK) {
		log_debug("blob %s: %s says %s", id8, p->addr,
		    b->status == WIRE_BLOB_BUSY ? "busy" : "not found");
		fetch_abort(f, b->status == WIRE_BLOB_NOTFOUND);
		repl_fetch_ended();
		return;
	}
	if (b->offset > f->offset) {
		repl_malformed(p, WIRE_BLOB);
		return;
	}
	if (f->limit != 0 && b->total > f->limit) {
		/* it would fill the disk before the check could fail it */
		log_warnx("blob %s: %s offers %llu bytes, at most %llu "
		    "expected", id8, p->addr, (unsigned long long)b->total,
		    (unsigned long long)f->limit);
		repl_cancel_tag(p, b->tag);
		fetch_abort(f, 0);
		repl_fetch_ended();
		return;
	}
	if (b->offset < f->offset) {
		/* not the same sealing, or less than we had: start over */
		if (ftruncate(f->fd, (off_t)b->offset) == -1) {
			log_warn("blob %s: truncating the temporary file",
			    id8);
			fetch_local_fail(f);
			repl_fetch_ended();
			return;
		}
		f->offset = b->offset;
	}
	f->total = b->total;
	f->state = FETCH_DATA;
	if (f->offset == f->total) {
		fetch_complete(f);
		return;
	}
	fetch_arm(f);
}

static int
fetch_write(struct fetch *f, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = pwrite(f->fd, buf, len, (off_t)f->offset);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return (-1);
		}
		buf += n;
		len -= n;
		f->offset += n;
	}
	return (0);
}

/*
 * Every REPL_PROGRESS_STEP bytes, tell storage how far the file is
 * written, so that it verifies while the rest arrives.
 */
static void
fetch_progress(struct fetch *f)
{
	struct repl_done	d;

	if (f->offset < f->reported + REPL_PROGRESS_STEP)
		return;
	memset(&d, 0, sizeof(d));
	d.xfer = f->xfer;
	memcpy(d.id, f->want->w.id, sizeof(d.id));
	d.length = f->offset;
	if (repl_to_storage(IMSG_REPL_RECV_PROGRESS, f->peerid, -1, &d,
	    sizeof(d)) == 0)
		f->reported = f->offset;
}

/* Serving GETs. */

static struct serve *
serve_by_xfer(uint32_t xfer, struct repl_peer **rpp)
{
	struct peer		*p;
	struct repl_peer	*rp;
	struct serve		*s;

	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if ((rp = p->repl) == NULL)
			continue;
		/* only the first of a queue is ever open */
		if ((s = TAILQ_FIRST(&rp->serves)) != NULL &&
		    s->state == SERVE_OPEN && s->xfer == xfer) {
			*rpp = rp;
			return (s);
		}
	}
	return (NULL);
}

static void
serve_answer(struct peer *p, uint32_t tag, uint8_t status, uint64_t total,
    uint64_t offset)
{
	struct wire_blob	b;
	uint8_t			buf[32];
	size_t			len;

	memset(&b, 0, sizeof(b));
	b.tag = tag;
	b.status = status;
	b.total = total;
	b.offset = offset;
	if ((len = wire_enc_blob(buf, sizeof(buf), &b)) == 0) {
		log_warnx("%s: cannot encode a BLOB for %s", __func__,
		    p->addr);
		return;
	}
	(void)peer_send(p, WIRE_BLOB, buf, len);
}

static void
serve_free(struct repl_peer *rp, struct serve *s)
{
	if (s->state != SERVE_QUEUED)
		repl.nsending--;
	TAILQ_REMOVE(&rp->serves, s, entry);
	rp->nserves--;
	free(s);
}

/* Open the first GET of rp's queue, when nothing of rp's is open. */
static void
serve_kick(struct repl_peer *rp)
{
	struct repl_open	 o;
	struct serve		*s;

	while ((s = TAILQ_FIRST(&rp->serves)) != NULL &&
	    s->state == SERVE_QUEUED) {
		if (repl.nsending >= REPL_SEND_MAX)
			return;
		s->xfer = repl_tag();
		s->state = SERVE_OPEN;
		repl.nsending++;
		memset(&o, 0, sizeof(o));
		o.xfer = s->xfer;
		memcpy(o.id, s->get.id, sizeof(o.id));
		if (repl_to_storage(IMSG_REPL_SEND_OPEN, rp->peer->id, -1,
		    &o, sizeof(o)) == 0)
			return;
		serve_answer(rp->peer, s->get.tag, WIRE_BLOB_BUSY, 0, 0);
		serve_free(rp, s);
	}
}

static void
serve_kick_all(void)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if (repl.nsending >= REPL_SEND_MAX)
			break;
		if (p->repl != NULL)
			serve_kick(p->repl);
	}
}

static void
serve_get(struct peer *p, const struct wire_get *g)
{
	struct repl_peer	*rp = p->repl;
	struct serve		*s;
	char			 id8[9];

	repl_id8(g->id, id8, sizeof(id8));
	if (!repl_storage_up() || rp->nserves > REPL_QUEUE_MAX ||
	    (TAILQ_EMPTY(&rp->serves) && repl.nsending >= REPL_SEND_MAX)) {
		log_debug("blob %s: busy for %s", id8, p->addr);
		serve_answer(p, g->tag, WIRE_BLOB_BUSY, 0, 0);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s", __func__);
		serve_answer(p, g->tag, WIRE_BLOB_BUSY, 0, 0);
		return;
	}
	s->get = *g;
	s->state = SERVE_QUEUED;
	TAILQ_INSERT_TAIL(&rp->serves, s, entry);
	rp->nserves++;
	log_debug("blob %s: %s asks from %llu (transfer %u)", id8, p->addr,
	    (unsigned long long)g->offset, g->tag);
	serve_kick(rp);
}

/* The descriptor of the blob: answer BLOB and stream it. */
static void
serve_send_fd(struct repl_peer *rp, struct serve *s, int fd,
    uint64_t total)
{
	struct peer	*p = rp->peer;
	uint8_t		 hdr[REPL_HEADER_LEN];
	uint64_t	 offset = s->get.offset;
	ssize_t		 n;

	if (offset > 0) {
		/* resume only onto the same sealing of the same content */
		do {
			n = pread(fd, hdr, sizeof(hdr), 0);
		} while (n == -1 && errno == EINTR);
		if (!s->get.has_header || offset > total ||
		    n != (ssize_t)sizeof(hdr) ||
		    memcmp(hdr, s->get.header, sizeof(hdr)) != 0)
			offset = 0;
	}
	serve_answer(p, s->get.tag, WIRE_BLOB_OK, total, offset);
	if (peer_stream(p, s->get.tag, fd, offset, total) == -1) {
		close(fd);
		serve_free(rp, s);
		serve_kick(rp);
		return;
	}
	s->state = SERVE_STREAM;
}

/* CANCEL: the receiver gives up on tag. */
static void
serve_cancel(struct peer *p, uint32_t tag)
{
	struct repl_peer	*rp = p->repl;
	struct serve		*s;

	TAILQ_FOREACH(s, &rp->serves, entry)
		if (s->get.tag == tag)
			break;
	if (s == NULL)
		return;		/* it ended meanwhile */
	log_debug("%s cancels transfer %u", p->addr, tag);
	if (s->state == SERVE_STREAM)
		peer_stream_cancel(p);
	serve_free(rp, s);
	serve_kick(rp);
	serve_kick_all();
}

/* Lookups. */

static void
lookup_done(struct lookup *lk)
{
	struct repl_lookup	l;

	memset(&l, 0, sizeof(l));
	l.tag = lk->tag;
	l.found = lk->found;
	(void)strlcpy(l.name, lk->name, sizeof(l.name));
	log_debug("lookup %s: %s", lk->name, lk->found ? "found" :
	    "not found");
	(void)repl_to_storage(IMSG_REPL_LOOKUP_DONE, 0, -1, &l, sizeof(l));
	evtimer_del(&lk->timer);
	TAILQ_REMOVE(&repl.lookups, lk, entry);
	repl.nlookups--;
	free(lk->peers);
	free(lk);
}

static void
lookup_timeout(int fd, short event, void *arg)
{
	lookup_done(arg);
}

/* Peer peerid answered lk, or went away: -1 when it was not asked. */
static int
lookup_forget(struct lookup *lk, uint32_t peerid)
{
	size_t	i;

	for (i = 0; i < lk->npeers; i++)
		if (lk->peers[i] == peerid) {
			lk->peers[i] = lk->peers[--lk->npeers];
			return (0);
		}
	return (-1);
}

static void
lookup_start(const struct repl_lookup *l)
{
	struct wire_lookup	 wl;
	struct lookup		*lk;
	struct peer		*p;
	struct repl_lookup	 ans;
	struct timeval		 tv;
	uint8_t			 buf[WIRE_HDR_LEN + PVD_NAME_MAX + 16];
	size_t			 len = 0, n = 0;

	if (repl.nlookups < REPL_LOOKUP_MAX &&
	    (lk = calloc(1, sizeof(*lk))) != NULL) {
		TAILQ_FOREACH(p, &netd_env->peers, entry)
			if (repl_usable(p))
				n++;
		if (n > 0 && (lk->peers = reallocarray(NULL, n,
		    sizeof(*lk->peers))) == NULL)
			n = 0;
		lk->tag = l->tag;
		lk->wtag = repl_tag();
		(void)strlcpy(lk->name, l->name, sizeof(lk->name));
		memset(&wl, 0, sizeof(wl));
		wl.tag = lk->wtag;
		(void)strlcpy(wl.name, l->name, sizeof(wl.name));
		if (n > 0)
			len = wire_enc_lookup(buf, sizeof(buf), &wl);
		TAILQ_FOREACH(p, &netd_env->peers, entry) {
			if (len == 0 || lk->npeers >= n)
				break;
			if (repl_usable(p) &&
			    peer_send(p, WIRE_LOOKUP, buf, len) == 0)
				lk->peers[lk->npeers++] = p->id;
		}
		if (lk->npeers > 0) {
			log_debug("lookup %s: asking %zu peers", lk->name,
			    lk->npeers);
			evtimer_set(&lk->timer, lookup_timeout, lk);
			timerclear(&tv);
			tv.tv_sec = REPL_LOOKUP_SECS;
			evtimer_add(&lk->timer, &tv);
			TAILQ_INSERT_TAIL(&repl.lookups, lk, entry);
			repl.nlookups++;
			return;
		}
		free(lk->peers);
		free(lk);
	}
	/* nobody to ask */
	memset(&ans, 0, sizeof(ans));
	ans.tag = l->tag;
	(void)strlcpy(ans.name, l->name, sizeof(ans.name));
	(void)repl_to_storage(IMSG_REPL_LOOKUP_DONE, 0, -1, &ans,
	    sizeof(ans));
}

static void
lookup_reply(struct peer *p, const struct wire_lookup *wl)
{
	struct lookup	*lk;

	TAILQ_FOREACH(lk, &repl.lookups, entry)
		if (lk->wtag == wl->tag)
			break;
	/* a late answer, after the time limit */
	if (lk == NULL || lookup_forget(lk, p->id) == -1)
		return;
	if (wl->found)
		lk->found = 1;
	if (lk->found || lk->npeers == 0)
		lookup_done(lk);
}

/* Per peer. */

static void
repl_ae_timer(int fd, short event, void *arg)
{
	struct repl_peer	*rp = arg;
	struct timeval		 tv;

	(void)repl_to_storage(IMSG_REPL_SUMMARY_REQ, rp->peer->id, -1, NULL,
	    0);
	timerclear(&tv);
	tv.tv_sec = REPL_AE_INTERVAL;
	evtimer_add(&rp->ae_timer, &tv);
}

void
repl_peer_up(struct peer *p)
{
	struct repl_peer	*rp;
	struct want		*w;
	struct timeval		 tv;

	if (p->repl != NULL)
		return;
	if ((rp = calloc(1, sizeof(*rp))) == NULL) {
		log_warn("%s: no replication with %s", __func__, p->addr);
		return;
	}
	rp->peer = p;
	TAILQ_INIT(&rp->serves);
	evtimer_set(&rp->ae_timer, repl_ae_timer, rp);
	timerclear(&tv);
	tv.tv_sec = REPL_AE_INTERVAL;
	evtimer_add(&rp->ae_timer, &tv);
	p->repl = rp;

	(void)repl_to_storage(IMSG_REPL_SUMMARY_REQ, p->id, -1, NULL, 0);
	/* a new peer may hold what every other one lacked */
	TAILQ_FOREACH(w, &repl.wants, entry)
		w->retry_at = 0;
	repl_state_send();
	repl_wanted_req();
	repl_schedule();
}

void
repl_peer_down(struct peer *p)
{
	struct repl_peer	*rp = p->repl;
	struct serve		*s;
	struct fetch		*f, *tf;
	struct lookup		*lk, *tlk;
	int			 aborted = 0;

	if (rp == NULL)
		return;
	/* from here on, nothing picks this peer */
	p->repl = NULL;
	evtimer_del(&rp->ae_timer);
	/* peer.c closes the descriptor it streams from */
	while ((s = TAILQ_FIRST(&rp->serves)) != NULL)
		serve_free(rp, s);
	TAILQ_FOREACH_SAFE(f, &repl.fetches, entry, tf) {
		if (f->peerid != p->id || f->state == FETCH_VERIFY)
			continue;
		fetch_abort(f, 0);
		aborted = 1;
	}
	TAILQ_FOREACH_SAFE(lk, &repl.lookups, entry, tlk)
		if (lookup_forget(lk, p->id) == 0 && lk->npeers == 0)
			lookup_done(lk);
	free(rp);

	repl_state_send();
	serve_kick_all();
	if (aborted)
		repl_fetch_ended();
	else
		repl_schedule();
}

/* Frames from peers: peer.c checked them with the decoders once. */
void
repl_frame(struct peer *p, uint16_t type, const uint8_t *buf, size_t len)
{
	struct repl_entry	 e;
	struct repl_summary	 sum;
	struct repl_buckets	 bk;
	struct repl_have	 h;
	struct repl_lookup	 l;
	struct wire_get		 g;
	struct wire_blob	 b;
	struct wire_lookup	 wl;
	struct want		*w;
	uint32_t		 tag;

	if (p->repl == NULL)
		return;
	switch (type) {
	case WIRE_ENTRY:
		if (wire_dec_entry(buf, len, &e) == -1)
			break;
		memcpy(e.node, p->node, sizeof(e.node));
		e.except = 0;
		if ((e.flags & REPL_F_HAVE) && (w = want_find(e.id)) != NULL)
			want_add_holder(w, p->node);
		(void)repl_to_storage(IMSG_REPL_MERGE, p->id, -1, &e,
		    sizeof(e));
		return;
	case WIRE_SUMMARY:
		if (wire_dec_summary(buf, len, &sum) == -1)
			break;
		(void)repl_to_storage(IMSG_REPL_SUMMARY_CMP, p->id, -1, &sum,
		    sizeof(sum));
		return;
	case WIRE_BUCKETS:
		if (wire_dec_buckets(buf, len, &bk) == -1)
			break;
		(void)repl_to_storage(IMSG_REPL_BUCKETS, p->id, -1, &bk,
		    sizeof(bk));
		return;
	case WIRE_GET:
		if (wire_dec_get(buf, len, &g) == -1)
			break;
		serve_get(p, &g);
		return;
	case WIRE_BLOB:
		if (wire_dec_blob(buf, len, &b) == -1)
			break;
		fetch_blob(p, &b);
		return;
	case WIRE_HAVE:
		memset(&h, 0, sizeof(h));
		if (wire_dec_id(buf, len, h.id) == -1)
			break;
		memcpy(h.node, p->node, sizeof(h.node));
		if ((w = want_find(h.id)) != NULL) {
			want_add_holder(w, p->node);
			w->retry_at = 0;
		}
		(void)repl_to_storage(IMSG_REPL_HAVE, p->id, -1, &h,
		    sizeof(h));
		repl_schedule();
		return;
	case WIRE_LOOKUP:
		if (wire_dec_lookup(buf, len, &wl) == -1)
			break;
		memset(&l, 0, sizeof(l));
		l.tag = wl.tag;
		(void)strlcpy(l.name, wl.name, sizeof(l.name));
		(void)repl_to_storage(IMSG_REPL_LOOKUP_PEER, p->id, -1, &l,
		    sizeof(l));
		return;
	case WIRE_LOOKUP_REPLY:
		if (wire_dec_lookup(buf, len, &wl) == -1)
			break;
		lookup_reply(p, &wl);
		return;
	case WIRE_CANCEL:
		if (wire_dec_u32(buf, len, &tag) == -1)
			break;
		serve_cancel(p, tag);
		return;
	default:
		break;
	}
	repl_malformed(p, type);
}

/* DATA: blob bytes of the fetch tag, written where they belong. */
void
repl_data(struct peer *p, uint32_t tag, const uint8_t *buf, size_t len)
{
	struct repl_peer	*rp = p->repl;
	struct fetch		*f;
	char			 id8[9];

	if (rp == NULL)
		return;
	f = fetch_by_xfer(tag);
	if (f == NULL || f->peerid != p->id || f->state != FETCH_DATA) {
		if (f == NULL && repl_cancelled(rp, tag))
			return;
		repl_malformed(p, WIRE_DATA);
		return;
	}
	if (len > f->total - f->offset) {
		repl_malformed(p, WIRE_DATA);
		return;
	}
	if (fetch_write(f, buf, len) == -1) {
		log_warn("blob %s: writing the temporary file",
		    repl_id8(f->want->w.id, id8, sizeof(id8)));
		repl_cancel_tag(p, tag);
		fetch_local_fail(f);
		repl_fetch_ended();
		return;
	}
	if (f->offset == f->total)
		fetch_complete(f);
	else {
		fetch_progress(f);
		fetch_arm(f);
	}
}

void
repl_stream_done(struct peer *p, uint32_t tag, int err)
{
	struct repl_peer	*rp = p->repl;
	struct serve		*s;

	if (rp == NULL)
		return;
	if ((s = TAILQ_FIRST(&rp->serves)) != NULL &&
	    s->state == SERVE_STREAM && s->get.tag == tag) {
		log_debug("transfer %u to %s %s", tag, p->addr,
		    err ? "failed" : "done");
		serve_free(rp, s);
	}
	serve_kick(rp);
	serve_kick_all();
}

/* Messages from storage. */

static void
repl_bad_imsg(struct imsg *imsg)
{
	log_warnx("bad imsg %u from storage, ignored", imsg_get_type(imsg));
}

static void
repl_entry_out(uint32_t peerid, const struct repl_entry *e)
{
	struct peer	*p;
	uint8_t		 buf[WIRE_HDR_LEN + PVD_NAME_MAX + 96];
	size_t		 len;

	if ((len = wire_enc_entry(buf, sizeof(buf), e)) == 0) {
		log_warnx("storage sent an entry that cannot go out: %s",
		    e->name);
		return;
	}
	if (peerid != 0) {
		if ((p = peer_find(peerid)) != NULL && p->repl != NULL)
			(void)peer_send(p, WIRE_ENTRY, buf, len);
		return;
	}
	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (repl_usable(p) && p->id != e->except)
			(void)peer_send(p, WIRE_ENTRY, buf, len);
}

static void
repl_have_out(const struct repl_have *h)
{
	struct peer	*p;
	struct want	*w;
	uint8_t		 buf[PVD_ID_LEN];
	size_t		 len;

	/* the blob is here: no need to fetch it */
	if ((w = want_find(h->id)) != NULL && w->fetch == NULL)
		want_done(w, REPL_HAVE);
	if ((len = wire_enc_id(buf, sizeof(buf), h->id)) == 0)
		return;
	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (repl_usable(p))
			(void)peer_send(p, WIRE_HAVE, buf, len);
}

static void
repl_wanted(const struct repl_wanted *rw)
{
	struct want	*w, *tw;
	uint32_t	 i, j;

	repl.wanted_asked = 0;
	repl.pending = rw->pending;
	repl.blocked = rw->blocked;
	repl.blocked_need = rw->blocked_need;
	TAILQ_FOREACH(w, &repl.wants, entry)
		w->listed = 0;
	for (i = 0; i < rw->nwant; i++) {
		if ((w = want_find(rw->want[i].id)) == NULL) {
			if ((w = want_new(&rw->want[i])) == NULL)
				continue;
		} else {
			w->w.size = rw->want[i].size;
			for (j = 0; j < rw->want[i].nholders; j++)
				want_add_holder(w, rw->want[i].holders[j]);
		}
		w->listed = 1;
	}
	TAILQ_FOREACH_SAFE(w, &repl.wants, entry, tw)
		if (!w->listed && !w->urgent && w->fetch == NULL)
			want_free(w);
	if (repl.wanted_again) {
		repl.wanted_again = 0;
		repl_wanted_req();
	}
	repl_schedule();
}

/* IMSG_REPL_FETCH: a get waits for this blob. */
static void
repl_fetch_urgent(const struct repl_fetch *rf)
{
	struct want	*w;
	uint32_t	 i;
	char		 id8[9];

	if ((w = want_find(rf->want.id)) == NULL) {
		if ((w = want_new(&rf->want)) == NULL) {
			(void)repl_to_storage(IMSG_REPL_FETCH_FAIL, 0, -1, rf,
			    sizeof(*rf));
			return;
		}
	} else
		for (i = 0; i < rf->want.nholders; i++)
			want_add_holder(w, rf->want.holders[i]);
	log_debug("blob %s: a get waits for it",
	    repl_id8(w->w.id, id8, sizeof(id8)));
	w->urgent = 1;
	w->retry_at = 0;
	TAILQ_REMOVE(&repl.wants, w, entry);
	TAILQ_INSERT_HEAD(&repl.wants, w, entry);
	repl_schedule();
}

static void
repl_recv_fd(struct repl_xfer *x, int fd)
{
	struct fetch	*f;
	struct want	*w;
	char		 id8[9];

	f = fetch_by_xfer(x->xfer);
	if (f == NULL || f->state != FETCH_OPEN ||
	    memcmp(f->want->w.id, x->id, sizeof(x->id)) != 0) {
		/* its peer went away meanwhile */
		if (fd != -1)
			close(fd);
		return;
	}
	w = f->want;
	repl_id8(x->id, id8, sizeof(id8));
	switch (x->code) {
	case REPL_OK:
		if (fd == -1) {
			log_warnx("blob %s: storage sent no descriptor", id8);
			fetch_local_fail(f);
			break;
		}
		/* storage's bound: the longest blob the entry's size allows */
		f->limit = x->disk_size;
		fetch_recv_fd(f, fd, x->offset);
		return;
	case REPL_HAVE:
	case REPL_UNWANTED:
	case REPL_QUOTA:
		if (fd != -1)
			close(fd);
		log_debug("blob %s: storage says %s", id8,
		    x->code == REPL_HAVE ? "it is here" :
		    x->code == REPL_QUOTA ? "no room" : "not wanted");
		fetch_free(f);
		want_done(w, x->code);
		break;
	default:
		if (fd != -1)
			close(fd);
		log_warnx("blob %s: cannot receive it: %s", id8,
		    x->msg[0] != '\0' ? x->msg : "storage failed");
		fetch_local_fail(f);
		break;
	}
	repl_fetch_ended();
}

static void
repl_recv_result(const struct repl_xfer *x)
{
	struct fetch	*f;
	struct want	*w;
	char		 id8[9], size[32];

	f = fetch_by_xfer(x->xfer);
	if (f == NULL || f->state != FETCH_VERIFY ||
	    memcmp(f->want->w.id, x->id, sizeof(x->id)) != 0) {
		log_debug("result of unknown transfer %u", x->xfer);
		return;
	}
	w = f->want;
	repl_id8(x->id, id8, sizeof(id8));
	switch (x->code) {
	case REPL_OK:
		fmt_size(w->w.size, size, sizeof(size));
		log_info("fetched blob %s (%s) from %s", id8, size, f->addr);
		fetch_free(f);
		want_done(w, REPL_OK);
		break;
	case REPL_BAD:
		log_warnx("blob %s from %s failed verification: %s", id8,
		    f->addr, x->msg[0] != '\0' ? x->msg : "bad content");
		fetch_abort(f, 0);
		break;
	case REPL_HAVE:
	case REPL_UNWANTED:
	case REPL_QUOTA:
		log_debug("blob %s from %s: %s", id8, f->addr,
		    x->msg[0] != '\0' ? x->msg : "not needed any more");
		fetch_free(f);
		want_done(w, x->code);
		break;
	default:
		log_warnx("blob %s from %s: %s", id8, f->addr,
		    x->msg[0] != '\0' ? x->msg : "storage failed");
		fetch_local_fail(f);
		break;
	}
	repl_fetch_ended();
}

static void
repl_send_result(uint32_t type, const struct repl_xfer *x, int fd)
{
	struct repl_peer	*rp;
	struct serve		*s;

	if ((s = serve_by_xfer(x->xfer, &rp)) == NULL ||
	    memcmp(s->get.id, x->id, sizeof(x->id)) != 0) {
		/* cancelled, or its peer went away */
		if (fd != -1)
			close(fd);
		return;
	}
	if (type == IMSG_REPL_SEND_FD && fd != -1) {
		serve_send_fd(rp, s, fd, x->disk_size);
		return;
	}
	if (type == IMSG_REPL_SEND_FD)
		log_warnx("transfer %u: storage sent no descriptor", x->xfer);
	else if (fd != -1)
		close(fd);
	serve_answer(rp->peer, s->get.tag, x->code == REPL_NOTFOUND ?
	    WIRE_BLOB_NOTFOUND : WIRE_BLOB_BUSY, 0, 0);
	serve_free(rp, s);
	serve_kick(rp);
}

static void
repl_lookup_answer(uint32_t peerid, const struct repl_lookup *l)
{
	struct wire_lookup	 wl;
	struct peer		*p;
	uint8_t			 buf[WIRE_HDR_LEN + PVD_NAME_MAX + 16];
	size_t			 len;

	if ((p = peer_find(peerid)) == NULL || p->repl == NULL)
		return;
	memset(&wl, 0, sizeof(wl));
	wl.tag = l->tag;
	wl.found = l->found;
	(void)strlcpy(wl.name, l->name, sizeof(wl.name));
	if ((len = wire_enc_lookup(buf, sizeof(buf), &wl)) == 0) {
		log_warnx("lookup answer for %s cannot go out", p->addr);
		return;
	}
	(void)peer_send(p, WIRE_LOOKUP_REPLY, buf, len);
}

void
repl_storage_imsg(struct imsg *imsg)
{
	struct repl_entry	 e;
	struct repl_have	 h;
	struct repl_summary	 sum;
	struct repl_buckets	 bk;
	struct repl_wanted	*rw;
	struct repl_xfer	 x;
	struct repl_fetch	 rf;
	struct repl_lookup	 l;
	struct peer		*p;
	uint8_t			 buf[WIRE_HDR_LEN + 2056];
	uint32_t		 peerid = imsg_get_id(imsg), i;
	uint32_t		 type = imsg_get_type(imsg);
	size_t			 len;
	int			 fd;

	switch (type) {
	case IMSG_REPL_ENTRY:
		if (imsg_get_data(imsg, &e, sizeof(e)) == -1 ||
		    !strbuf_terminated(e.name, sizeof(e.name))) {
			repl_bad_imsg(imsg);
			break;
		}
		repl_entry_out(peerid, &e);
		break;
	case IMSG_REPL_HAVE:
		if (imsg_get_data(imsg, &h, sizeof(h)) == -1) {
			repl_bad_imsg(imsg);
			break;
		}
		repl_have_out(&h);
		break;
	case IMSG_REPL_SUMMARY:
		if (imsg_get_data(imsg, &sum, sizeof(sum)) == -1) {
			repl_bad_imsg(imsg);
			break;
		}
		if ((p = peer_find(peerid)) == NULL || p->repl == NULL)
			break;
		if ((len = wire_enc_summary(buf, sizeof(buf), &sum)) != 0)
			(void)peer_send(p, WIRE_SUMMARY, buf, len);
		break;
	case IMSG_REPL_BUCKETS:
		if (imsg_get_data(imsg, &bk, sizeof(bk)) == -1) {
			repl_bad_imsg(imsg);
			break;
		}
		if ((p = peer_find(peerid)) == NULL || p->repl == NULL)
			break;
		for (i = 0; i < REPL_BUCKET_BITMAP; i++)
			if (bk.bitmap[i] != 0)
				break;
		if (i == REPL_BUCKET_BITMAP)
			break;		/* in agreement */
		log_debug("asking %s for differing buckets", p->addr);
		if ((len = wire_enc_buckets(buf, sizeof(buf), &bk)) != 0)
			(void)peer_send(p, WIRE_BUCKETS, buf, len);
		break;
	case IMSG_REPL_WANTED:
		if ((rw = malloc(sizeof(*rw))) == NULL) {
			log_warn("%s", __func__);
			break;
		}
		if (imsg_get_data(imsg, rw, sizeof(*rw)) == -1 ||
		    rw->nwant > REPL_WANT_BATCH) {
			repl_bad_imsg(imsg);
			free(rw);
			break;
		}
		for (i = 0; i < rw->nwant; i++)
			if (rw->want[i].nholders > REPL_WANT_HOLDERS)
				break;
		if (i < rw->nwant)
			repl_bad_imsg(imsg);
		else
			repl_wanted(rw);
		free(rw);
		break;
	case IMSG_REPL_WANTED_CHANGED:
		if (imsg_get_len(imsg) != 0) {
			repl_bad_imsg(imsg);
			break;
		}
		repl_wanted_req();
		break;
	case IMSG_REPL_RECV_FD:
	case IMSG_REPL_RECV_RESULT:
	case IMSG_REPL_SEND_FD:
	case IMSG_REPL_SEND_FAIL:
		fd = imsg_get_fd(imsg);
		if (imsg_get_data(imsg, &x, sizeof(x)) == -1 ||
		    !strbuf_terminated(x.msg, sizeof(x.msg))) {
			/* the transfer waits until storage comes back */
			repl_bad_imsg(imsg);
			if (fd != -1)
				close(fd);
			break;
		}
		if (type == IMSG_REPL_RECV_FD)
			repl_recv_fd(&x, fd);
		else if (type == IMSG_REPL_RECV_RESULT) {
			if (fd != -1)
				close(fd);
			repl_recv_result(&x);
		} else
			repl_send_result(type, &x, fd);
		break;
	case IMSG_REPL_FETCH:
		if (imsg_get_data(imsg, &rf, sizeof(rf)) == -1 ||
		    rf.want.nholders > REPL_WANT_HOLDERS) {
			repl_bad_imsg(imsg);
			break;
		}
		repl_fetch_urgent(&rf);
		break;
	case IMSG_REPL_LOOKUP:
		if (imsg_get_data(imsg, &l, sizeof(l)) == -1 ||
		    !strbuf_terminated(l.name, sizeof(l.name))) {
			repl_bad_imsg(imsg);
			break;
		}
		lookup_start(&l);
		break;
	case IMSG_REPL_LOOKUP_PEER:
		if (imsg_get_data(imsg, &l, sizeof(l)) == -1 ||
		    !strbuf_terminated(l.name, sizeof(l.name)) ||
		    l.found > 1) {
			repl_bad_imsg(imsg);
			break;
		}
		repl_lookup_answer(peerid, &l);
		break;
	default:
		repl_bad_imsg(imsg);
		break;
	}
}

/* Ask storage what to fetch; one question at a time. */
static void
repl_wanted_req(void)
{
	if (repl.wanted_asked) {
		repl.wanted_again = 1;
		return;
	}
	if (repl_to_storage(IMSG_REPL_WANTED_REQ, 0, -1, NULL, 0) == -1)
		return;
	repl.wanted_asked = 1;
	repl.wanted_at = monotime();
}

static void
repl_tick(int fd, short event, void *arg)
{
	struct timeval	tv;

	if (repl.wanted_asked &&
	    monotime() - repl.wanted_at > REPL_WANTED_WAIT) {
		log_debug("storage did not answer WANTED_REQ, asking again");
		repl.wanted_asked = 0;
	}
	if (repl.pending > 0 || !TAILQ_EMPTY(&repl.wants))
		repl_wanted_req();
	repl_schedule();
	timerclear(&tv);
	tv.tv_sec = REPL_TICK;
	evtimer_add(&repl.tick, &tv);
}

void
repl_init(void)
{
	struct timeval	tv;

	evtimer_set(&repl.tick, repl_tick, NULL);
	timerclear(&tv);
	tv.tv_sec = REPL_TICK;
	evtimer_add(&repl.tick, &tv);
	repl.ready = 1;
}

/* Storage has gone: what it gave or owed us is void. */
/* Forget every lookup in flight, without answering it. */
static void
lookups_clear(void)
{
	struct lookup	*lk;

	while ((lk = TAILQ_FIRST(&repl.lookups)) != NULL) {
		evtimer_del(&lk->timer);
		TAILQ_REMOVE(&repl.lookups, lk, entry);
		repl.nlookups--;
		free(lk->peers);
		free(lk);
	}
}

void
repl_storage_lost(void)
{
	struct fetch		*f;
	struct want		*w;
	struct peer		*p;
	struct repl_peer	*rp;
	struct serve		*s, *ts;

	while ((f = TAILQ_FIRST(&repl.fetches)) != NULL) {
		if ((f->state == FETCH_GET || f->state == FETCH_DATA) &&
		    (p = peer_find(f->peerid)) != NULL)
			repl_cancel_tag(p, f->xfer);
		fetch_free(f);
	}
	while ((w = TAILQ_FIRST(&repl.wants)) != NULL)
		want_free(w);
	lookups_clear();
	/* a stream in progress reads its own descriptor to the end */
	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if ((rp = p->repl) == NULL)
			continue;
		TAILQ_FOREACH_SAFE(s, &rp->serves, entry, ts) {
			if (s->state == SERVE_STREAM)
				continue;
			serve_answer(p, s->get.tag, WIRE_BLOB_BUSY, 0, 0);
			serve_free(rp, s);
		}
	}
	repl.wanted_asked = 0;
	repl.wanted_again = 0;
}

/* Storage is (back) there: catch up with every peer. */
void
repl_storage_back(void)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &netd_env->peers, entry)
		if (p->repl != NULL)
			(void)repl_to_storage(IMSG_REPL_SUMMARY_REQ, p->id, -1,
			    NULL, 0);
	repl_state_send();
	repl_wanted_req();
}

void
repl_ctl_status(uint32_t ctlid)
{
	struct ctl_repl	cr;

	memset(&cr, 0, sizeof(cr));
	cr.peers = peer_count_healthy();
	cr.transfers = repl.nfetches + repl.nsending;
	cr.pending = repl.pending;
	cr.blocked = repl.blocked;
	cr.blocked_need = repl.blocked_need;
	cr.bytes_in = netd_env->bytes_in;
	cr.bytes_out = netd_env->bytes_out;
	if (control_send_to(ctlid, IMSG_CTL_REPL_INFO, 0, &cr,
	    sizeof(cr)) == -1)
		return;
	(void)control_send_to(ctlid, IMSG_CTL_END, 0, NULL, 0);
}

void
repl_shutdown(void)
{
	struct peer		*p;
	struct repl_peer	*rp;
	struct serve		*s;
	struct fetch		*f;
	struct want		*w;

	repl.ready = 0;
	if (evtimer_initialized(&repl.tick))
		evtimer_del(&repl.tick);
	while ((f = TAILQ_FIRST(&repl.fetches)) != NULL)
		fetch_free(f);
	while ((w = TAILQ_FIRST(&repl.wants)) != NULL)
		want_free(w);
	lookups_clear();
	TAILQ_FOREACH(p, &netd_env->peers, entry) {
		if ((rp = p->repl) == NULL)
			continue;
		p->repl = NULL;
		evtimer_del(&rp->ae_timer);
		while ((s = TAILQ_FIRST(&rp->serves)) != NULL)
			serve_free(rp, s);
		free(rp);
	}
}
