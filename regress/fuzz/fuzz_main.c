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
 * A main() for fuzz targets built without libFuzzer: it runs
 * LLVMFuzzerTestOneInput() once over every file named on the command
 * line, and over every regular file in each directory named there, so
 * that a seed corpus serves as a regression test in `make check'.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_INPUT_MAX	(1024 * 1024)

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 run_file(const char *);
static void	 run_dir(const char *);
static void	 usage(void) __attribute__((__noreturn__));

static int	 nrun;

static void
usage(void)
{
	fprintf(stderr, "usage: %s file | directory ...\n", getprogname());
	exit(1);
}

static void
run_file(const char *path)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		err(1, "%s", path);
	if (fstat(fd, &st) == -1)
		err(1, "%s", path);
	if (st.st_size < 0 || st.st_size > FUZZ_INPUT_MAX)
		errx(1, "%s: larger than %d bytes", path, FUZZ_INPUT_MAX);
	len = st.st_size;
	/* exactly len bytes, so that ASan catches a read past the input */
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		err(1, NULL);
	while (off < len) {
		if ((n = read(fd, buf + off, len - off)) == -1)
			err(1, "%s", path);
		if (n == 0)
			errx(1, "%s: shorter than its size", path);
		off += n;
	}
	close(fd);
	/* named first, so that the log shows which input crashed */
	fprintf(stderr, "%s\n", path);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	nrun++;
}

static void
run_dir(const char *path)
{
	struct dirent	**names;
	struct stat	 st;
	char		 file[PATH_MAX];
	int		 i, n;

	if ((n = scandir(path, &names, NULL, alphasort)) == -1)
		err(1, "%s", path);
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] == '.')
			goto next;
		if (snprintf(file, sizeof(file), "%s/%s", path,
		    names[i]->d_name) >= (int)sizeof(file))
			errx(1, "%s/%s: path too long", path,
			    names[i]->d_name);
		if (stat(file, &st) == -1)
			err(1, "%s", file);
		if (S_ISREG(st.st_mode))
			run_file(file);
 next:
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	int		 i;

	if (argc < 2)
		usage();
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == -1)
			err(1, "%s", argv[i]);
		if (S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	if (nrun == 0)
		errx(1, "no input found");
	fprintf(stderr, "%s: %d inputs ran\n", getprogname(), nrun);
	return (0);
}
