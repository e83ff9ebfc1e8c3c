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

#include "pvd.h"

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
};

/* index.c */
int		 index_open(sqlite3 **, const char *);
const char	*index_node_id(sqlite3 *, const char *);
void		 index_close(sqlite3 *);

#endif /* STORAGED_H */
