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
 * libFuzzer target for pvd.conf(5): the input is the file parse_config()
 * reads.  A configuration that parses must also survive the pvd -nv
 * round trip: printed, parsed again and printed again, it gives the
 * same text, or the run aborts.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvd.h"
#include "pvd_conf.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 path[PATH_MAX];
static char	 path2[PATH_MAX];

static void
remove_files(void)
{
	if (path[0] != '\0')
		unlink(path);
	if (path2[0] != '\0')
		unlink(path2);
}

static int
make_file(char *buf, size_t size)
{
	const char	*tmp;
	int		 fd;

	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	if ((size_t)snprintf(buf, size, "%s/fuzz_parse.XXXXXX", tmp) >= size)
		abort();
	if ((fd = mkstemp(buf)) == -1)
		abort();
	return (fd);
}

/* Replace the file's contents with len bytes of data. */
static void
fill(int fd, const void *data, size_t len)
{
	const uint8_t	*p = data;
	ssize_t		 n;

	if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		abort();
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1)
			abort();
		p += n;
		len -= n;
	}
}

static char *
print_to_string(const struct pv_config *conf, size_t *len)
{
	char	*buf = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&buf, len)) == NULL)
		abort();
	print_config(fp, conf);
	if (fclose(fp) != 0)
		abort();
	return (buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 fd = -1, fd2 = -1;
	struct pv_config	*conf, *again;
	char			*text, *text2;
	size_t			 len, len2;

	if (fd == -1) {
		fd = make_file(path, sizeof(path));
		fd2 = make_file(path2, sizeof(path2));
		atexit(remove_files);
		/* One macro from the command line, as pvd -D gives. */
		if (cmdline_symset("fuzz=3000") == -1)
			abort();
	}

	fill(fd, data, size);
	if ((conf = parse_config(path, PARSE_QUIET)) == NULL) {
		if (parse_last_error()[0] == '\0')
			abort();
		return (0);
	}

	text = print_to_string(conf, &len);
	fill(fd2, text, len);
	if ((again = parse_config(path2, PARSE_QUIET)) == NULL) {
		fprintf(stderr, "printed configuration does not parse: %s\n",
		    parse_last_error());
		abort();
	}
	text2 = print_to_string(again, &len2);
	if (len != len2 || memcmp(text, text2, len) != 0 ||
	    memcmp(&conf->g, &again->g, sizeof(conf->g)) != 0) {
		fprintf(stderr, "round trip differs:\n%s---\n%s", text, text2);
		abort();
	}

	free(text);
	free(text2);
	config_clear(again);
	free(again);
	config_clear(conf);
	free(conf);
	return (0);
}
