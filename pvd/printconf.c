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
 * pvd -nv: the configuration in pvd.conf(5) syntax.  Every setting is
 * printed, defaults too, except what is off; the output parses again to
 * the same configuration, which the regression tests check.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pvd.h"
#include "pvd_conf.h"

/* A quoted string; the lexer reads \" and \\ back. */
static void
print_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

/* Numeric addresses and "*" stay bare, host names are quoted. */
static void
print_host(FILE *fp, const char *host)
{
	struct in6_addr	in6;

	if (strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &in6) == 1 ||
	    inet_pton(AF_INET6, host, &in6) == 1)
		fputs(host, fp);
	else
		print_string(fp, host);
}

/* In the largest unit that is exact: 1536M, not 1.5G. */
static void
print_size(FILE *fp, uint64_t size)
{
	static const char	 units[] = "TGMK";
	unsigned int		 i, shift;

	for (i = 0; size != 0 && i < sizeof(units) - 1; i++) {
		shift = 40 - 10 * i;
		if ((size & ((1ULL << shift) - 1)) == 0) {
			fprintf(fp, "%llu%c",
			    (unsigned long long)(size >> shift), units[i]);
			return;
		}
	}
	fprintf(fp, "%llu", (unsigned long long)size);
}

static void
print_duration(FILE *fp, uint32_t secs)
{
	static const struct {
		uint32_t	secs;
		char		unit;
	} units[] = {
		{ 86400, 'd' },
		{ 3600, 'h' },
		{ 60, 'm' },
		{ 1, 's' }
	};
	unsigned int	i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (secs != 0 && secs % units[i].secs == 0)
			break;
	fprintf(fp, "%u%c", secs / units[i].secs, units[i].unit);
}

void
print_config(FILE *fp, const struct pv_config *conf)
{
	const struct pv_globals		*g = &conf->g;
	const struct pv_endpoint_entry	*e;

	TAILQ_FOREACH(e, &conf->listen, entry)
		fprintf(fp, "listen on %s port %u\n", e->ep.host, e->ep.port);
	if (g->has_advertise) {
		fputs("advertise ", fp);
		print_host(fp, g->advertise.host);
		fprintf(fp, " port %u\n", g->advertise.port);
	}

	fputs("data ", fp);
	print_string(fp, g->data_dir);
	fputs("\nkey ", fp);
	print_string(fp, g->key_file);
	fputs("\nuser ", fp);
	print_string(fp, g->user);
	fputc('\n', fp);

	TAILQ_FOREACH(e, &conf->bootstrap, entry) {
		fputs("bootstrap ", fp);
		print_host(fp, e->ep.host);
		fprintf(fp, " port %u\n", e->ep.port);
	}
	if (g->discover_local)
		fputs("discover local\n", fp);
	if (g->discover_pex) {
		fputs("discover pex interval ", fp);
		print_duration(fp, g->pex_interval);
		fputc('\n', fp);
	}

	if (g->quota != 0) {
		fputs("quota ", fp);
		print_size(fp, g->quota);
		fputc('\n', fp);
	}
	fputs("reserve ", fp);
	print_size(fp, g->reserve);
	fputs("\nscrub interval ", fp);
	print_duration(fp, g->scrub_interval);
	fputs("\npeer timeout ", fp);
	print_duration(fp, g->peer_timeout);
	fputs("\ntombstone lifetime ", fp);
	print_duration(fp, g->tombstone_lifetime);
	fputc('\n', fp);

	if (g->has_metrics)
		fprintf(fp, "metrics listen on %s port %u\n",
		    g->metrics.host, g->metrics.port);
	fputs("socket ", fp);
	print_string(fp, g->socket_path);
	fputc('\n', fp);
}
