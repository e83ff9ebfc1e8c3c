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
};

static struct status_answer	 answer;

#define LABEL_WIDTH	18	/* "Control protocol: " */
#define PROC_COLUMNS	5	/* PROCESS PID STATE RESTARTS UP */
#define CELL_MAX	32

static void	 collect_node(const struct ctl_node *);
static void	 collect_addr(const struct ctl_addr *);
static void	 collect_proc(const struct ctl_proc *);
static void	 answer_clear(void);
static const char *node_status_name(uint32_t);
static const struct ctl_addr *answer_addr(enum ctl_addr_kind, size_t *);
static uint32_t	 seconds(int64_t);
static int	 clean_width(const char *);
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

const struct output show_output = {
	.node = collect_node,
	.addr = collect_addr,
	.proc = collect_proc,
	.tail = show_tail,
	.result = show_result
};

const struct output json_output = {
	.node = collect_node,
	.addr = collect_addr,
	.proc = collect_proc,
	.tail = json_tail,
	.result = json_result
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
static int
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
