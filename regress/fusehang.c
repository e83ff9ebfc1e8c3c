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
 * A test-only FUSE filesystem for the regress scripts; not installed.
 * Needs root (mount(2)) and /dev/fuse.
 *
 *	fusehang DIR SIZE serve|hang|grow
 *	fusehang -p SIZE
 *
 * mounts on DIR (allow_other, so that every user may use it) a
 * filesystem that holds one file, DIR/file, of SIZE bytes, byte i
 * being i % 251.  With serve its reads are answered; with hang they
 * never are, as a hostile or broken filesystem would do, and a read(2)
 * of the file waits until fusehang goes; with grow, reads find 4096
 * bytes more than its size says, as in a file that grows.  Prints
 * "mounted" when it serves (and "read" at the first read it holds), and
 * unmounts on SIGTERM or SIGINT; what waits on a read then gets an
 * error.  Exits 77 when the machine does not allow the mount.  Talks
 * the kernel's protocol of <linux/fuse.h> directly: no libfuse.  With
 * -p it prints the content of such a file, to compare with.
 */

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <linux/fuse.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT_INO	1
#define FILE_INO	2
#define BUF_SIZE	(128 * 1024)
#define MAX_WRITE	4096

static volatile sig_atomic_t	 quit;
static uint64_t			 file_size;
static int			 hang;
static uint64_t			 read_size;	/* what reads find */
static int			 said_read;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
reply(int fd, uint64_t unique, int error, const void *data, size_t len)
{
	struct fuse_out_header	 oh;
	static char		 out[sizeof(oh) + BUF_SIZE];

	if (len > BUF_SIZE)
		errx(1, "reply too long");
	oh.len = sizeof(oh) + len;
	oh.error = -error;
	oh.unique = unique;
	memcpy(out, &oh, sizeof(oh));
	if (len > 0)
		memcpy(out + sizeof(oh), data, len);
	/* ENOENT: the request was interrupted meanwhile */
	if (write(fd, out, oh.len) == -1 && errno != ENOENT)
		warn("write /dev/fuse");
}

static void
fill_attr(uint64_t ino, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = ino == ROOT_INO ? 2 : 1;
	a->mode = ino == ROOT_INO ? (S_IFDIR | 0755) : (S_IFREG | 0644);
	a->size = ino == ROOT_INO ? 0 : file_size;
	a->blocks = (a->size + 511) / 512;
	a->blksize = 4096;
}

static void
serve(int fd, const struct fuse_in_header *ih, const char *arg, size_t len)
{
	struct fuse_init_out	 init;
	struct fuse_entry_out	 entry;
	struct fuse_attr_out	 attr;
	struct fuse_open_out	 open_out;
	struct fuse_statfs_out	 st;
	const struct fuse_init_in *init_in;
	const struct fuse_read_in *read_in;
	static unsigned char	 data[BUF_SIZE];
	uint64_t		 off, n, i;

	switch (ih->opcode) {
	case FUSE_INIT:
		if (len < sizeof(uint32_t) * 3)
			errx(1, "short FUSE_INIT");
		init_in = (const struct fuse_init_in *)arg;
		memset(&init, 0, sizeof(init));
		if (init_in->major != FUSE_KERNEL_VERSION)
			errx(1, "FUSE protocol %u, not %u", init_in->major,
			    FUSE_KERNEL_VERSION);
		init.major = FUSE_KERNEL_VERSION;
		init.minor = init_in->minor < FUSE_KERNEL_MINOR_VERSION ?
		    init_in->minor : FUSE_KERNEL_MINOR_VERSION;
		init.max_readahead = init_in->max_readahead;
		init.max_background = 16;
		init.congestion_threshold = 12;
		init.max_write = MAX_WRITE;
		init.time_gran = 1;
		reply(fd, ih->unique, 0, &init, sizeof(init));
		break;
	case FUSE_LOOKUP:
		if (ih->nodeid != ROOT_INO || len < 5 ||
		    strncmp(arg, "file", len) != 0) {
			reply(fd, ih->unique, ENOENT, NULL, 0);
			break;
		}
		memset(&entry, 0, sizeof(entry));
		entry.nodeid = FILE_INO;
		entry.generation = 1;
		entry.entry_valid = entry.attr_valid = 1;
		fill_attr(FILE_INO, &entry.attr);
		reply(fd, ih->unique, 0, &entry, sizeof(entry));
		break;
	case FUSE_GETATTR:
		memset(&attr, 0, sizeof(attr));
		attr.attr_valid = 1;
		fill_attr(ih->nodeid, &attr.attr);
		reply(fd, ih->unique, 0, &attr, sizeof(attr));
		break;
	case FUSE_OPEN:
		memset(&open_out, 0, sizeof(open_out));
		/* every read(2) comes here, none from the page cache */
		open_out.open_flags = FOPEN_DIRECT_IO;
		reply(fd, ih->unique, 0, &open_out, sizeof(open_out));
		break;
	case FUSE_READ:
		if (hang) {
			/* never answered; the test waits for this line */
			if (!said_read) {
				printf("read\n");
				fflush(stdout);
				said_read = 1;
			}
			break;
		}
		if (len < sizeof(*read_in)) {
			reply(fd, ih->unique, EINVAL, NULL, 0);
			break;
		}
		read_in = (const struct fuse_read_in *)arg;
		off = read_in->offset;
		n = read_in->size;
		if (n > BUF_SIZE)
			n = BUF_SIZE;
		if (off >= read_size)
			n = 0;
		else if (n > read_size - off)
			n = read_size - off;
		for (i = 0; i < n; i++)
			data[i] = (off + i) % 251;
		reply(fd, ih->unique, 0, data, n);
		break;
	case FUSE_STATFS:
		memset(&st, 0, sizeof(st));
		st.st.bsize = st.st.frsize = 4096;
		st.st.namelen = 255;
		reply(fd, ih->unique, 0, &st, sizeof(st));
		break;
	case FUSE_FLUSH:
	case FUSE_RELEASE:
		reply(fd, ih->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break;			/* no reply */
	case FUSE_DESTROY:
		reply(fd, ih->unique, 0, NULL, 0);
		quit = 1;
		break;
	default:
		reply(fd, ih->unique, ENOSYS, NULL, 0);
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	struct pollfd		 pfd;
	sigset_t		 block, waiting;
	struct fuse_in_header	 ih;
	static char		 buf[BUF_SIZE + FUSE_MIN_READ_BUFFER];
	char			 opts[256];
	const char		*errstr;
	ssize_t			 n;
	int			 fd;

	if (argc == 3 && strcmp(argv[1], "-p") == 0) {
		file_size = strtonum(argv[2], 0, LLONG_MAX, &errstr);
		if (errstr != NULL)
			errx(1, "size %s: %s", argv[2], errstr);
		for (n = 0; (uint64_t)n < file_size; n++)
			if (putchar(n % 251) == EOF)
				err(1, "stdout");
		if (fflush(stdout) == EOF)
			err(1, "stdout");
		return (0);
	}
	if (argc != 4 || (strcmp(argv[3], "serve") != 0 &&
	    strcmp(argv[3], "hang") != 0 && strcmp(argv[3], "grow") != 0)) {
		fprintf(stderr, "usage: fusehang dir size serve|hang|grow\n"
		    "       fusehang -p size\n");
		return (1);
	}
	file_size = strtonum(argv[2], 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		errx(1, "size %s: %s", argv[2], errstr);
	hang = strcmp(argv[3], "hang") == 0;
	read_size = file_size;
	if (strcmp(argv[3], "grow") == 0)
		read_size += 4096;

	/*
	 * The signals are blocked but in ppoll(2), so that one that comes
	 * between the test of quit and the wait is not lost.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &waiting) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		err(1, "sigaction");
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);

	/* 77: this machine does not let us (a container, no module) */
	if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) == -1)
		err(errno == ENOENT || errno == ENXIO || errno == ENODEV ||
		    errno == EPERM || errno == EACCES ? 77 : 1, "/dev/fuse");
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,"
	    "group_id=0,allow_other", fd);
	if (mount("fusehang", argv[1], "fuse", MS_NOSUID | MS_NODEV,
	    opts) == -1)
		err(errno == ENODEV || errno == EPERM || errno == EACCES ?
		    77 : 1, "mount %s", argv[1]);
	printf("mounted\n");
	fflush(stdout);

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!quit) {
		if (ppoll(&pfd, 1, NULL, &waiting) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "ppoll");
		}
		if ((n = read(fd, buf, sizeof(buf))) == -1) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			if (errno == ENODEV)
				break;		/* unmounted */
			err(1, "read /dev/fuse");
		}
		if ((size_t)n < sizeof(ih))
			errx(1, "short request");
		memcpy(&ih, buf, sizeof(ih));
		if (ih.len != (size_t)n)
			errx(1, "request of %u bytes in %zd", ih.len, n);
		serve(fd, &ih, buf + sizeof(ih), n - sizeof(ih));
	}
	/* what still waits on a read gets an error, and DIR is free */
	close(fd);
	if (umount2(argv[1], MNT_DETACH) == -1 && errno != EINVAL)
		warn("umount %s", argv[1]);
	return (0);
}
