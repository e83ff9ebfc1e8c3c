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

#ifndef PVCTL_H
#define PVCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

struct ctl_node;
struct ctl_addr;
struct ctl_proc;
struct ctl_result;
struct ctl_file;
struct ctl_quota;
struct ctl_scrub;
struct ctl_peer;
struct ctl_repl;
struct imsg;
struct imsgbuf;
struct parse_result;

/*
 * One implementation per output format (bgpctl's struct output).  The
 * receive loops hand it every reply once the reply has been checked,
 * and never know which format is printed.
 */
struct output {
	void	(*node)(const struct ctl_node *);
	void	(*addr)(const struct ctl_addr *);
	void	(*proc)(const struct ctl_proc *);
	void	(*repl)(const struct ctl_repl *);	/* status, from net */
	void	(*tail)(void);		/* the end of a status answer */
	void	(*result)(const struct ctl_result *);
	void	(*file)(const struct ctl_file *);	/* a row of list */
	void	(*list_end)(void);
	void	(*stored)(const struct ctl_file *);	/* store FILE */
	void	(*tree_start)(const char *, int);	/* store -r DIR */
	void	(*tree_file)(const struct ctl_file *);
	void	(*tree_end)(uint64_t, uint64_t);	/* files, bytes */
	void	(*got)(const struct ctl_file *, const char *);	/* get */
	void	(*quota)(const struct ctl_quota *);
	void	(*scrub)(const struct ctl_scrub *);
	void	(*peer)(const struct ctl_peer *);	/* a row of peers */
	void	(*peers_end)(void);
};

/* Files over this size show a progress bar on a terminal. */
#define PROGRESS_MIN	(4ULL * 1024 * 1024)

/* pvctl.c */
extern const struct output	*out;
int	 ctl_run(int, char *[]);
void	 ctl_open(struct imsgbuf *);
void	 ctl_close(struct imsgbuf *);
void	 ctl_compose(struct imsgbuf *, uint32_t, int, const void *, size_t);
void	 ctl_compose_tag(struct imsgbuf *, uint32_t, uint32_t, int,
	    const void *, size_t);
void	 ctl_flush(struct imsgbuf *);
void	 ctl_read(struct imsgbuf *);
int	 ctl_next(struct imsgbuf *, struct imsg *);
void	 ctl_wait(struct imsgbuf *, struct imsg *);
void	 reply_result(struct imsg *, struct ctl_result *);
void	 reply_file(struct imsg *, struct ctl_file *);
void	 reply_end(struct imsg *);
__dead void reply_fail(struct imsg *);
__dead void bad_reply(uint32_t, const char *);
int	 check_name(const char *, const char *);

/* transfer.c */
int	 store_file(const struct parse_result *);
int	 store_tree(const struct parse_result *);
int	 get_file(const struct parse_result *);

/* names.c */
void	 base_name(const char *, char *, size_t);
int	 name_join(const char *, const char *, char *, size_t);

/* progress.c */
void	 progress_start(uint64_t);
void	 progress_update(uint64_t);
void	 progress_end(void);

/* shell.c */
int	 shell(void);

/* output.c */
extern const struct output show_output;		/* text for people */
extern const struct output json_output;		/* -j, for scripts */
void	 print_clean(FILE *, const char *);
int	 clean_width(const char *);
unsigned int quota_percent(uint64_t, uint64_t);

/* json.c */
void	 json_start(FILE *);
int	 json_finish(void);
void	 json_object_open(const char *);
void	 json_object_close(void);
void	 json_array_open(const char *);
void	 json_array_close(void);
void	 json_string(const char *, const char *);
void	 json_int(const char *, int64_t);
void	 json_uint(const char *, uint64_t);
void	 json_bool(const char *, int);
void	 json_null(const char *);
size_t	 utf8_seqlen(const unsigned char *);

#endif /* PVCTL_H */
