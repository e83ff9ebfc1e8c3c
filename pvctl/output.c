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

#include <sys/types.h>

#include <err.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvd.h"
#include "pvctl.h"

/*
 * A status answer is kept whole until its IMSG_CTL_END: the text form
 * aligns its columns over every row, the JSON form groups the
 * addresses by kind, and a broken answer prints nothing half done.
 */
struct status_answer {
	struct ctl_node	 node;
	struct ctl_addr	*addrs;
	size_t		 naddrs;
	struct ctl_proc	*procs;
	size_t		 nprocs;
	struct ctl_repl	 repl;
	int		 has_repl;
};

static struct status_answer	 answer;

/* The rows of a peers answer, kept until its IMSG_CTL_END. */
struct peers_answer {
	struct ctl_peer	*rows;
	size_t		 nrows;
};

static struct peers_answer	 peers;

/* The files of a list answer, kept until its IMSG_CTL_END. */
struct list_row {
	char		*name;
	char		 id[PVD_ID_HEXLEN];
	uint64_t	 size;
	int64_t		 mtime;
	uint32_t	 replicas;
};

struct list_answer {
	struct list_row	*rows;
	size_t		 nrows;
	size_t		 cap;
};

static struct list_answer	 list;

/*
 * store -r: the width of the name column for text, the files so far
 * for JSON.
 */
struct tree_answer {
	int		 width;
	int		 header;	/* the header line is out */
	struct list_row	*rows;
	size_t		 nrows;
	size_t		 cap;
};

static struct tree_answer	 tree;

#define LABEL_WIDTH	18	/* "Control protocol: " */
#define PROC_COLUMNS	5	/* PROCESS PID STATE RESTARTS UP */
#define CELL_MAX	32
#define SIZE_COLUMN	10	/* "1023.9 KiB" */
#define QUOTA_LABEL	12	/* "Available:  " */
#define SHORT_ID	8	/* list shows this many digits of an id */

static void	 collect_node(const struct ctl_node *);
static void	 collect_addr(const struct ctl_addr *);
static void	 collect_proc(const struct ctl_proc *);
static void	 answer_clear(void);
static const char *node_status_name(uint32_t);
static const struct ctl_addr *answer_addr(enum ctl_addr_kind, size_t *);
static uint32_t	 seconds(int64_t);
static void	 print_padded(const char *, int, int);
static void	 show_label(const char *, const char *);
static void	 proc_cells(const struct ctl_proc *,
		    char [PROC_COLUMNS][CELL_MAX]);
static void	 show_row(const char *[PROC_COLUMNS], const int *);
static void	 show_procs(void);
static void	 show_tail(void);
static void	 show_result(const struct ctl_result *);
static void	 json_tail(void);
static void	 json_result(const struct ctl_result *);
static void	 rows_add(struct list_row **, size_t *, size_t *,
		    const struct ctl_file *);
static void	 rows_free(struct list_row **, size_t *, size_t *);
static void	 collect_file(const struct ctl_file *);
static void	 show_list_end(void);
static void	 show_file_row(const struct ctl_file *, int);
static void	 show_stored(const struct ctl_file *);
static void	 show_tree_start(const char *, int);
static void	 show_tree_file(const struct ctl_file *);
static void	 show_tree_end(uint64_t, uint64_t);
static void	 show_got(const struct ctl_file *, const char *);
static void	 show_quota(const struct ctl_quota *);
static void	 show_scrub(const struct ctl_scrub *);
static void	 json_list_end(void);
static void	 json_file_object(const struct list_row *);
static void	 json_stored(const struct ctl_file *);
static void	 json_tree_start(const char *, int);
static void	 json_tree_file(const struct ctl_file *);
static void	 json_tree_end(uint64_t, uint64_t);
static void	 json_got(const struct ctl_file *, const char *);
static void	 json_quota(const struct ctl_quota *);
static void	 json_scrub(const struct ctl_scrub *);
static void	 json_done(void);
static void	 collect_repl(const struct ctl_repl *);
static void	 collect_peer(const struct ctl_peer *);
static const char *peer_state_name(uint32_t);
static void	 show_repl(void);
static void	 show_peers_end(void);
static void	 json_peers_end(void);

const struct output show_output = {
	.node = collect_node,
	.addr = collect_addr,
	.proc = collect_proc,
	.repl = collect_repl,
	.tail = show_tail,
	.result = show_result,
	.file = collect_file,
	.list_end = show_list_end,
	.stored = show_stored,
	.tree_start = show_tree_start,
	.tree_file = show_tree_file,
	.tree_end = show_tree_end,
	.got = show_got,
	.quota = show_quota,
	.scrub = show_scrub,
	.peer = collect_peer,
	.peers_end = show_peers_end
};

const struct output json_output = {
	.node = collect_node,
	.addr = collect_addr,
	.proc = collect_proc,
	.repl = collect_repl,
	.tail = json_tail,
	.result = json_result,
	.file = collect_file,
	.list_end = json_list_end,
	.stored = json_stored,
	.tree_start = json_tree_start,
	.tree_file = json_tree_file,
	.tree_end = json_tree_end,
	.got = json_got,
	.quota = json_quota,
	.scrub = json_scrub,
	.peer = collect_peer,
	.peers_end = json_peers_end
};

static void
collect_node(const struct ctl_node *node)
{
	answer.node = *node;
}

static void
collect_addr(const struct ctl_addr *addr)
{
	struct ctl_addr	*a;

	a = reallocarray(answer.addrs, answer.naddrs + 1, sizeof(*a));
	if (a == NULL)
		err(1, NULL);
	a[answer.naddrs++] = *addr;
	answer.addrs = a;
}

static void
collect_proc(const struct ctl_proc *proc)
{
	struct ctl_proc	*p;

	p = reallocarray(answer.procs, answer.nprocs + 1, sizeof(*p));
	if (p == NULL)
		err(1, NULL);
	p[answer.nprocs++] = *proc;
	answer.procs = p;
}

static void
answer_clear(void)
{
	free(answer.addrs);
	free(answer.procs);
	memset(&answer, 0, sizeof(answer));
}

static const char *
node_status_name(uint32_t status)
{
	switch (status) {
	case NODE_OK:
		return ("ok");
	case NODE_NO_MARKER:
		return ("no marker");
	case NODE_BAD_MARKER:
		return ("bad marker");
	default:
		return ("failed");
	}
}

/* The next address of this kind after *iter (start with 0), or NULL. */
static const struct ctl_addr *
answer_addr(enum ctl_addr_kind kind, size_t *iter)
{
	while (*iter < answer.naddrs) {
		if (answer.addrs[(*iter)++].kind == kind)
			return (&answer.addrs[*iter - 1]);
	}
	return (NULL);
}

static uint32_t
seconds(int64_t s)
{
	if (s < 0)
		return (0);
	if (s > UINT32_MAX)
		return (UINT32_MAX);
	return ((uint32_t)s);
}

/*
 * Print a string that came from pvd so that it cannot drive the
 * terminal: control characters (C0, DEL and C1) and bytes that are not
 * UTF-8 become '?'; other UTF-8 passes through.
 */
void
print_clean(FILE *fp, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;

	for (; *p != '\0'; p += n) {
		n = utf8_seqlen(p);
		if (n == 0 || *p < 0x20 || *p == 0x7f ||
		    (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fputc('?', fp);
			n = n == 0 ? 1 : n;
		} else
			fwrite(p, 1, n, fp);
	}
}

/* How many columns print_clean() takes for s, one per character. */
int
clean_width(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;
	int			 w = 0;

	for (; *p != '\0'; p += n, w++)
		if ((n = utf8_seqlen(p)) == 0)
			n = 1;
	return (w);
}

/* Column of width w, left or right aligned. */
static void
print_padded(const char *s, int w, int right)
{
	int	 pad;

	pad = w - clean_width(s);
	if (right && pad > 0)
		printf("%*s", pad, "");
	print_clean(stdout, s);
	if (!right && pad > 0)
		printf("%*s", pad, "");
}

static void
show_label(const char *label, const char *value)
{
	printf("%-*s", LABEL_WIDTH, label);
	print_clean(stdout, value);
	printf("\n");
}

static void
proc_cells(const struct ctl_proc *p, char cell[PROC_COLUMNS][CELL_MAX])
{
	if (strlcpy(cell[0], p->name, CELL_MAX) >= CELL_MAX)
		errx(1, "process name too long");
	if (p->pid > 0)
		snprintf(cell[1], CELL_MAX, "%d", (int)p->pid);
	else
		strlcpy(cell[1], "-", CELL_MAX);
	strlcpy(cell[2], proc_state_name(p->state), CELL_MAX);
	snprintf(cell[3], CELL_MAX, "%u", p->restarts);
	if (p->state == PSTATE_STOPPED)
		strlcpy(cell[4], "-", CELL_MAX);
	else
		fmt_duration(seconds(p->started), cell[4], CELL_MAX);
}

/* PID and RESTARTS are numbers, aligned to the right; UP is last. */
static void
show_row(const char *row[PROC_COLUMNS], const int *w)
{
	int	 c;

	for (c = 0; c < PROC_COLUMNS - 1; c++) {
		print_padded(row[c], w[c], c == 1 || c == 3);
		printf("  ");
	}
	print_clean(stdout, row[PROC_COLUMNS - 1]);
	printf("\n");
}

static void
show_procs(void)
{
	static const char *head[PROC_COLUMNS] = {
		"PROCESS", "PID", "STATE", "RESTARTS", "UP"
	};
	const char	*row[PROC_COLUMNS];
	char		 cell[PROC_COLUMNS][CELL_MAX];
	int		 c, w[PROC_COLUMNS];
	size_t		 i;

	for (c = 0; c < PROC_COLUMNS; c++) {
		w[c] = clean_width(head[c]);
		row[c] = cell[c];
	}
	for (i = 0; i < answer.nprocs; i++) {
		proc_cells(&answer.procs[i], cell);
		for (c = 0; c < PROC_COLUMNS; c++)
			if (clean_width(cell[c]) > w[c])
				w[c] = clean_width(cell[c]);
	}

	show_row(head, w);
	for (i = 0; i < answer.nprocs; i++) {
		proc_cells(&answer.procs[i], cell);
		show_row(row, w);
	}
}

static void
show_tail(void)
{
	const struct ctl_node	*n = &answer.node;
	const struct ctl_addr	*a;
	const char		*label;
	char			 buf[64];
	size_t			 iter;

	if (n->node_status == NODE_OK)
		show_label("Node id:", n->node_id);
	else {
		printf("%-*srefused: ", LABEL_WIDTH, "Storage:");
		print_clean(stdout, n->node_reason[0] != '\0' ?
		    n->node_reason : node_status_name(n->node_status));
		printf("\n");
	}
	show_label("Version:", n->version);
	printf("%-*s%u\n", LABEL_WIDTH, "Control protocol:", n->ctl_version);
	fmt_duration(seconds(n->uptime), buf, sizeof(buf));
	show_label("Uptime:", buf);

	label = "Listen:";
	for (iter = 0; (a = answer_addr(CTL_ADDR_LISTEN, &iter)) != NULL;
	    label = "")
		show_label(label, endpoint_str(&a->ep));
	if (*label != '\0')
		show_label(label, "none");
	show_label("Advertise:", n->has_advertise ?
	    endpoint_str(&n->advertise) : "none");
	iter = 0;
	if ((a = answer_addr(CTL_ADDR_METRICS, &iter)) != NULL)
		show_label("Metrics:", endpoint_str(&a->ep));

	show_repl();

	printf("\n");
	show_procs();
	answer_clear();
}

static void
show_result(const struct ctl_result *r)
{
	if (r->code == 0) {
		if (r->msg[0] != '\0') {
			print_clean(stdout, r->msg);
			printf("\n");
		}
		return;
	}
	fprintf(stderr, "%s: ", getprogname());
	print_clean(stderr, r->msg[0] != '\0' ? r->msg : "request failed");
	fprintf(stderr, "\n");
}

static void
json_tail(void)
{
	const struct ctl_node	*n = &answer.node;
	const struct ctl_proc	*p;
	const struct ctl_addr	*a;
	size_t			 i, iter;

	json_start(stdout);
	json_object_open(NULL);
	if (n->node_id[0] != '\0')
		json_string("node_id", n->node_id);
	else
		json_null("node_id");
	json_string("node_status", node_status_name(n->node_status));
	if (n->node_status != NODE_OK)
		json_string("node_reason", n->node_reason);
	else
		json_null("node_reason");
	json_string("version", n->version);
	json_int("control_protocol", n->ctl_version);
	json_int("uptime_seconds", n->uptime > 0 ? n->uptime : 0);

	json_array_open("listen");
	for (iter = 0; (a = answer_addr(CTL_ADDR_LISTEN, &iter)) != NULL;)
		json_string(NULL, endpoint_str(&a->ep));
	json_array_close();
	if (n->has_advertise)
		json_string("advertise", endpoint_str(&n->advertise));
	else
		json_null("advertise");
	iter = 0;
	if ((a = answer_addr(CTL_ADDR_METRICS, &iter)) != NULL)
		json_string("metrics", endpoint_str(&a->ep));
	else
		json_null("metrics");

	if (answer.has_repl) {
		json_int("peers", answer.repl.peers);
		json_object_open("replication");
		json_uint("pending", answer.repl.pending);
		json_uint("blocked", answer.repl.blocked);
		json_uint("blocked_bytes", answer.repl.blocked_need);
		json_uint("transfers", answer.repl.transfers);
		json_uint("bytes_in", answer.repl.bytes_in);
		json_uint("bytes_out", answer.repl.bytes_out);
		json_object_close();
	} else {
		json_null("peers");
		json_null("replication");
	}

	json_array_open("processes");
	for (i = 0; i < answer.nprocs; i++) {
		p = &answer.procs[i];
		json_object_open(NULL);
		json_string("name", p->name);
		if (p->pid > 0)
			json_int("pid", p->pid);
		else
			json_null("pid");
		json_string("state", proc_state_name(p->state));
		json_int("restarts", p->restarts);
		json_int("uptime_seconds", p->started > 0 ? p->started : 0);
		json_object_close();
	}
	json_array_close();
	json_object_close();
	if (json_finish() == -1)
		err(1, "stdout");
	answer_clear();
}

static void
json_result(const struct ctl_result *r)
{
	json_start(stdout);
	json_object_open(NULL);
	json_bool("ok", r->code == 0);
	json_string("message", r->msg);
	json_object_close();
	if (json_finish() == -1)
		err(1, "stdout");
}

static void
json_done(void)
{
	if (json_finish() == -1)
		err(1, "stdout");
}

/*
 * used as a percentage of quota, rounded down; above 100 when the
 * quota was lowered below what is used.  Exact and without overflow:
 * the remainder's hundredths are counted by adding it a hundred times
 * modulo quota.
 */
unsigned int
quota_percent(uint64_t used, uint64_t quota)
{
	uint64_t	 q, r, acc = 0, pct;
	int		 i;

	if (quota == 0)
		return (0);
	q = used / quota;
	r = used % quota;
	if (q > UINT_MAX / 100)
		return (UINT_MAX);
	pct = q * 100;
	for (i = 0; i < 100; i++) {
		if (acc >= quota - r) {
			acc -= quota - r;
			pct++;
		} else
			acc += r;
	}
	return (pct > UINT_MAX ? UINT_MAX : (unsigned int)pct);
}

static void
rows_add(struct list_row **rows, size_t *n, size_t *cap,
    const struct ctl_file *f)
{
	struct list_row	*v;
	size_t		 c;

	if (*n == *cap) {
		c = *cap == 0 ? 64 : *cap * 2;
		if ((v = reallocarray(*rows, c, sizeof(*v))) == NULL)
			err(1, NULL);
		*rows = v;
		*cap = c;
	}
	v = &(*rows)[*n];
	if ((v->name = strdup(f->name)) == NULL)
		err(1, NULL);
	memcpy(v->id, f->id, sizeof(v->id));
	v->size = f->size;
	v->mtime = f->mtime;
	v->replicas = f->replicas;
	(*n)++;
}

static void
rows_free(struct list_row **rows, size_t *n, size_t *cap)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		free((*rows)[i].name);
	free(*rows);
	*rows = NULL;
	*n = *cap = 0;
}

static void
collect_file(const struct ctl_file *f)
{
	rows_add(&list.rows, &list.nrows, &list.cap, f);
}

/* NAME  SIZE  ID  REPLICAS, or a sentence when there is nothing. */
static void
show_list_end(void)
{
	const struct list_row	*r;
	char			 size[CELL_MAX], id[SHORT_ID + 1];
	char			 replicas[CELL_MAX];
	size_t			 i;
	int			 wname = 4, wsize = 4, wrep = 8, w;

	if (list.nrows == 0) {
		printf("No files stored on this node\n");
		return;
	}
	for (i = 0; i < list.nrows; i++) {
		r = &list.rows[i];
		if ((w = clean_width(r->name)) > wname)
			wname = w;
		fmt_size(r->size, size, sizeof(size));
		if ((w = strlen(size)) > wsize)
			wsize = w;
		snprintf(replicas, sizeof(replicas), "%u", r->replicas);
		if ((w = strlen(replicas)) > wrep)
			wrep = w;
	}
	printf("%-*s  %*s  %-*s  %*s\n", wname, "NAME", wsize, "SIZE",
	    SHORT_ID, "ID", wrep, "REPLICAS");
	for (i = 0; i < list.nrows; i++) {
		r = &list.rows[i];
		fmt_size(r->size, size, sizeof(size));
		(void)strlcpy(id, r->id, sizeof(id));
		print_padded(r->name, wname, 0);
		printf("  %*s  %s  %*u\n", wsize, size, id, wrep,
		    r->replicas);
	}
	rows_free(&list.rows, &list.nrows, &list.cap);
}

/* One row of NAME  SIZE  ID, with the full id. */
static void
show_file_row(const struct ctl_file *f, int wname)
{
	char	 size[CELL_MAX];

	fmt_size(f->size, size, sizeof(size));
	print_padded(f->name, wname, 0);
	printf("  %*s  %s\n", SIZE_COLUMN, size, f->id);
}

static void
show_stored(const struct ctl_file *f)
{
	int	 w;

	if ((w = clean_width(f->name)) < 4)
		w = 4;
	printf("%-*s  %*s  %s\n", w, "NAME", SIZE_COLUMN, "SIZE", "ID");
	show_file_row(f, w);
}

static void
show_tree_start(const char *dir, int width)
{
	(void)dir;
	memset(&tree, 0, sizeof(tree));
	tree.width = width < 4 ? 4 : width;
}

/* Each file as it is stored: a long store shows how far it is. */
static void
show_tree_file(const struct ctl_file *f)
{
	if (!tree.header) {
		printf("%-*s  %*s  %s\n", tree.width, "NAME", SIZE_COLUMN,
		    "SIZE", "ID");
		tree.header = 1;
	}
	show_file_row(f, tree.width);
	fflush(stdout);
}

static void
show_tree_end(uint64_t files, uint64_t bytes)
{
	char	 size[CELL_MAX];

	fmt_size(bytes, size, sizeof(size));
	printf("%llu file%s, %s stored\n", (unsigned long long)files,
	    files == 1 ? "" : "s", size);
}

/* get into a file says nothing, as cp does. */
static void
show_got(const struct ctl_file *f, const char *path)
{
	(void)f;
	(void)path;
}

static void
show_quota(const struct ctl_quota *q)
{
	char	 buf[CELL_MAX];

	fmt_size(q->used, buf, sizeof(buf));
	printf("%-*s%s\n", QUOTA_LABEL, "Used:", buf);
	if (q->quota == 0)
		printf("%-*s%s\n", QUOTA_LABEL, "Quota:", "none");
	else {
		fmt_size(q->quota, buf, sizeof(buf));
		printf("%-*s%s\n", QUOTA_LABEL, "Quota:", buf);
	}
	fmt_size(q->available, buf, sizeof(buf));
	printf("%-*s%s\n", QUOTA_LABEL, "Available:", buf);
	if (q->quota == 0)
		printf("%-*s%s\n", QUOTA_LABEL, "Used%:", "-");
	else
		printf("%-*s%u%%\n", QUOTA_LABEL, "Used%:",
		    quota_percent(q->used, q->quota));
	printf("%-*s%llu\n", QUOTA_LABEL, "Files:",
	    (unsigned long long)q->files);
	fmt_size(q->disk_free, buf, sizeof(buf));
	printf("%-*s%s\n", QUOTA_LABEL, "Disk free:", buf);
	fmt_size(q->reserve, buf, sizeof(buf));
	printf("%-*s%s\n", QUOTA_LABEL, "Reserve:", buf);
}

/* "checked 12 blobs (1.5 GiB) in 3.2s: 0 damaged (quarantined), 1 removed" */
static void
show_scrub(const struct ctl_scrub *sc)
{
	char		 size[CELL_MAX];
	uint64_t	 ms;

	fmt_size(sc->bytes, size, sizeof(size));
	ms = sc->duration_ms > 0 ? (uint64_t)sc->duration_ms : 0;
	printf("checked %llu blob%s (%s) in %llu.%llus: %llu damaged "
	    "(quarantined), %llu removed\n", (unsigned long long)sc->checked,
	    sc->checked == 1 ? "" : "s", size, (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000 / 100),
	    (unsigned long long)sc->damaged, (unsigned long long)sc->removed);
}

static void
json_list_end(void)
{
	size_t	 i;

	json_start(stdout);
	json_array_open(NULL);
	for (i = 0; i < list.nrows; i++)
		json_file_object(&list.rows[i]);
	json_array_close();
	json_done();
	rows_free(&list.rows, &list.nrows, &list.cap);
}

static void
json_file_object(const struct list_row *r)
{
	json_object_open(NULL);
	json_string("name", r->name);
	json_string("id", r->id);
	json_uint("size", r->size);
	json_int("mtime", r->mtime);
	json_uint("replicas", r->replicas);
	json_object_close();
}

static void
json_stored(const struct ctl_file *f)
{
	json_start(stdout);
	json_object_open(NULL);
	json_string("name", f->name);
	json_string("id", f->id);
	json_uint("size", f->size);
	json_bool("deduplicated", f->deduplicated);
	json_object_close();
	json_done();
}

static void
json_tree_start(const char *dir, int width)
{
	(void)dir;
	(void)width;
	memset(&tree, 0, sizeof(tree));
}

/* The document is written whole at the end, as for every command. */
static void
json_tree_file(const struct ctl_file *f)
{
	rows_add(&tree.rows, &tree.nrows, &tree.cap, f);
}

static void
json_tree_end(uint64_t files, uint64_t bytes)
{
	size_t	 i;

	json_start(stdout);
	json_object_open(NULL);
	json_array_open("files");
	for (i = 0; i < tree.nrows; i++) {
		json_object_open(NULL);
		json_string("name", tree.rows[i].name);
		json_string("id", tree.rows[i].id);
		json_uint("size", tree.rows[i].size);
		json_object_close();
	}
	json_array_close();
	json_uint("total_files", files);
	json_uint("total_bytes", bytes);
	json_object_close();
	json_done();
	rows_free(&tree.rows, &tree.nrows, &tree.cap);
}

static void
json_got(const struct ctl_file *f, const char *path)
{
	json_start(stdout);
	json_object_open(NULL);
	json_string("name", f->name);
	json_uint("size", f->size);
	json_string("id", f->id);
	json_string("file", path);
	json_object_close();
	json_done();
}

static void
json_quota(const struct ctl_quota *q)
{
	json_start(stdout);
	json_object_open(NULL);
	json_uint("used", q->used);
	json_uint("quota", q->quota);
	if (q->quota == 0)
		json_null("used_percent");
	else
		json_uint("used_percent", quota_percent(q->used, q->quota));
	json_uint("available", q->available);
	json_uint("files", q->files);
	json_uint("disk_free", q->disk_free);
	json_uint("reserve", q->reserve);
	json_object_close();
	json_done();
}

static void
json_scrub(const struct ctl_scrub *sc)
{
	json_start(stdout);
	json_object_open(NULL);
	json_uint("checked", sc->checked);
	json_uint("damaged", sc->damaged);
	json_uint("removed", sc->removed);
	json_uint("bytes", sc->bytes);
	json_int("duration_ms", sc->duration_ms > 0 ? sc->duration_ms : 0);
	json_object_close();
	json_done();
}

static void
collect_repl(const struct ctl_repl *r)
{
	answer.repl = *r;
	answer.has_repl = 1;
}

/* Status lines for the peers and what replication still has to do. */
static void
show_repl(void)
{
	const struct ctl_repl	*r = &answer.repl;
	char			 buf[128], need[CELL_MAX];

	if (!answer.has_repl)
		return;
	snprintf(buf, sizeof(buf), "%u connected", r->peers);
	show_label("Peers:", buf);
	if (r->pending == 0)
		(void)strlcpy(buf, "up to date", sizeof(buf));
	else if (r->blocked == 0)
		snprintf(buf, sizeof(buf), "%llu file%s pending",
		    (unsigned long long)r->pending, r->pending == 1 ? "" : "s");
	else {
		fmt_size(r->blocked_need, need, sizeof(need));
		snprintf(buf, sizeof(buf), "%llu file%s pending, %llu waiting "
		    "for space (quota exceeded: need %s)",
		    (unsigned long long)r->pending, r->pending == 1 ? "" : "s",
		    (unsigned long long)r->blocked, need);
	}
	show_label("Replication:", buf);
}

static void
collect_peer(const struct ctl_peer *p)
{
	struct ctl_peer	*rows;

	rows = reallocarray(peers.rows, peers.nrows + 1, sizeof(*rows));
	if (rows == NULL)
		err(1, NULL);
	rows[peers.nrows++] = *p;
	peers.rows = rows;
}

static const char *
peer_state_name(uint32_t state)
{
	switch (state) {
	case PEER_CONNECTING:
		return ("connecting");
	case PEER_HEALTHY:
		return ("healthy");
	case PEER_STALE:
		return ("stale");
	default:
		return ("backoff");
	}
}

#define PEER_COLUMNS	7	/* ADDRESS NODE DIR STATE SEEN IN OUT */

#define PEER_CELL	(PVD_HOST_MAX + 8)

static void
peer_cells(const struct ctl_peer *p, char cell[PEER_COLUMNS][PEER_CELL])
{
	char	age[CELL_MAX];

	snprintf(cell[0], sizeof(cell[0]), "%s", p->addr);
	snprintf(cell[1], sizeof(cell[1]), "%s",
	    p->node_id[0] != '\0' ? p->node_id : "-");
	snprintf(cell[2], sizeof(cell[2]), "%s", p->outbound ? "out" : "in");
	snprintf(cell[3], sizeof(cell[3]), "%s", peer_state_name(p->state));
	if (p->last_seen < 0)
		snprintf(cell[4], sizeof(cell[4]), "never");
	else {
		fmt_duration(seconds(p->last_seen), age, sizeof(age));
		snprintf(cell[4], sizeof(cell[4]), "%s ago", age);
	}
	fmt_size(p->bytes_in, cell[5], sizeof(cell[5]));
	fmt_size(p->bytes_out, cell[6], sizeof(cell[6]));
}

static void
show_peers_end(void)
{
	static const char	*head[PEER_COLUMNS] = { "ADDRESS", "NODE",
	    "DIRECTION", "STATE", "LAST SEEN", "IN", "OUT" };
	char			 cell[PEER_COLUMNS][PEER_CELL];
	int			 w[PEER_COLUMNS], i, len;
	size_t			 r;

	if (peers.nrows == 0) {
		printf("No peers connected\n");
		return;
	}
	for (i = 0; i < PEER_COLUMNS; i++)
		w[i] = strlen(head[i]);
	for (r = 0; r < peers.nrows; r++) {
		peer_cells(&peers.rows[r], cell);
		for (i = 0; i < PEER_COLUMNS; i++)
			if ((len = clean_width(cell[i])) > w[i])
				w[i] = len;
	}
	for (i = 0; i < PEER_COLUMNS; i++)
		printf("%-*s%s", i == PEER_COLUMNS - 1 ? 0 : w[i], head[i],
		    i == PEER_COLUMNS - 1 ? "\n" : "  ");
	for (r = 0; r < peers.nrows; r++) {
		peer_cells(&peers.rows[r], cell);
		for (i = 0; i < PEER_COLUMNS; i++) {
			print_padded(cell[i], i == PEER_COLUMNS - 1 ? 0 : w[i],
			    i >= 5);
			printf("%s", i == PEER_COLUMNS - 1 ? "\n" : "  ");
		}
	}
	free(peers.rows);
	memset(&peers, 0, sizeof(peers));
}

static void
json_peers_end(void)
{
	const struct ctl_peer	*p;
	size_t			 r;

	json_start(stdout);
	json_array_open(NULL);
	for (r = 0; r < peers.nrows; r++) {
		p = &peers.rows[r];
		json_object_open(NULL);
		json_string("address", p->addr);
		if (p->node_id[0] != '\0')
			json_string("node_id", p->node_id);
		else
			json_null("node_id");
		json_string("direction", p->outbound ? "outbound" :
		    "inbound");
		json_string("state", peer_state_name(p->state));
		if (p->last_seen >= 0)
			json_int("last_seen_seconds", p->last_seen);
		else
			json_null("last_seen_seconds");
		json_uint("bytes_in", p->bytes_in);
		json_uint("bytes_out", p->bytes_out);
		json_uint("transfers", p->transfers);
		json_object_close();
	}
	json_array_close();
	if (json_finish() == -1)
		err(1, "stdout");
	free(peers.rows);
	memset(&peers, 0, sizeof(peers));
}
