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
 * The progress bar of a long transfer: one line on standard error,
 * redrawn at most every PROGRESS_INTERVAL_MS and erased at the end.  It
 * is drawn only when standard error is a terminal and the file is over
 * PROGRESS_MIN, so that scripts and logs never see it.
 */

#include <sys/types.h>
#include <sys/ioctl.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvd.h"
#include "pvctl.h"

#define PROGRESS_INTERVAL_MS	100
#define PROGRESS_WIDTH_MIN	20	/* narrower terminals get none */

struct progress {
	int		 on;
	int		 columns;
	uint64_t	 total;
	uint64_t	 done;
	int64_t		 start_ms;
	int64_t		 drawn_ms;
};

static struct progress	 bar;

static int64_t	 now_ms(void);
static void	 progress_draw(int64_t);

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
progress_start(uint64_t total)
{
	struct winsize	 ws;

	memset(&bar, 0, sizeof(bar));
	if (total <= PROGRESS_MIN || !isatty(STDERR_FILENO))
		return;
	bar.columns = 80;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		bar.columns = ws.ws_col;
	if (bar.columns < PROGRESS_WIDTH_MIN)
		return;
	bar.on = 1;
	bar.total = total;
	bar.start_ms = now_ms();
	progress_draw(bar.start_ms);
}

void
progress_update(uint64_t done)
{
	int64_t	 now;

	if (!bar.on)
		return;
	bar.done = done > bar.total ? bar.total : done;
	now = now_ms();
	if (now - bar.drawn_ms >= PROGRESS_INTERVAL_MS)
		progress_draw(now);
}

/* Erase the line, so that what comes next starts on a clean one. */
void
progress_end(void)
{
	if (!bar.on)
		return;
	fprintf(stderr, "\r%*s\r", bar.columns - 1, "");
	fflush(stderr);
	bar.on = 0;
}

/* "[#########          ]  45%  12.3 MiB of 27.0 MiB  34.5 MiB/s" */
static void
progress_draw(int64_t now)
{
	char		 text[128], done[32], total[32], rate[32];
	uint64_t	 persec = 0;
	unsigned int	 pct;
	int		 fill, i, len, width;

	pct = bar.total > 0 ? quota_percent(bar.done, bar.total) : 100;
	fmt_size(bar.done, done, sizeof(done));
	fmt_size(bar.total, total, sizeof(total));
	if (now > bar.start_ms)
		persec = bar.done / (uint64_t)(now - bar.start_ms) * 1000 +
		    bar.done % (uint64_t)(now - bar.start_ms) * 1000 /
		    (uint64_t)(now - bar.start_ms);
	fmt_size(persec, rate, sizeof(rate));
	/* Fixed widths, so that the bar keeps its length as numbers grow. */
	len = snprintf(text, sizeof(text), " %3u%%  %10s of %-10s  %10s/s",
	    pct, done, total, rate);
	if (len < 0 || len >= (int)sizeof(text))
		return;

	/* The bar takes what the text leaves, less the last column. */
	width = bar.columns - 1 - len - 2;
	fputc('\r', stderr);
	if (width >= 10) {
		fill = (int)((uint64_t)width * pct / 100);
		fputc('[', stderr);
		for (i = 0; i < width; i++)
			fputc(i < fill ? '#' : ' ', stderr);
		fputc(']', stderr);
	}
	if (len < bar.columns)
		fputs(text, stderr);
	fflush(stderr);
	bar.drawn_ms = now;
}
