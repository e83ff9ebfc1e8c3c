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

/*
 * One implementation per output format (bgpctl's struct output).  The
 * receive loop in pvctl.c hands it every reply once the reply has been
 * checked, and never knows which format is printed.
 */
struct output {
	void	(*node)(const struct ctl_node *);
	void	(*addr)(const struct ctl_addr *);
	void	(*proc)(const struct ctl_proc *);
	void	(*tail)(void);		/* the end of a status answer */
	void	(*result)(const struct ctl_result *);
};

/* output.c */
extern const struct output show_output;		/* text for people */
extern const struct output json_output;		/* -j, for scripts */
void	 print_clean(FILE *, const char *);

/* json.c */
void	 json_start(FILE *);
int	 json_finish(void);
void	 json_object_open(const char *);
void	 json_object_close(void);
void	 json_array_open(const char *);
void	 json_array_close(void);
void	 json_string(const char *, const char *);
void	 json_int(const char *, int64_t);
void	 json_bool(const char *, int);
void	 json_null(const char *);
size_t	 utf8_seqlen(const unsigned char *);

#endif /* PVCTL_H */
