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
 * store and get: file contents never travel in imsgs.  pvctl passes a
 * descriptor that pv-storaged reads from (store: the file itself, or a
 * pipe that pvctl fills) or writes into (get: a pipe that pvctl
 * drains), and the control channel carries only the request and the
 * answer.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvd.h"
#include "parser.h"
#include "pvctl.h"

#define COPY_BUF_SIZE		(64 * 1024)
#define TREE_WINDOW		32	/* store -r requests in flight */
#define EOF_GRACE_MS		10000	/* get: END seen, pipe still open */

/*
 * store -r tags each request in the imsg pid field for its answers to
 * echo.  An answer that does not (its pid field holds the sender's
 * process id, always below this bit) is for the oldest request.
 */
#define TAG_BIT			0x40000000U
#define TAG_MASK		(TAG_BIT - 1)

/* store -r: one regular file found under the directory. */
struct tree_entry {
	char		*path;		/* to open */
	char		*name;		/* to store it under */
};

/* store -r: a request in flight. */
struct tree_request {
	uint32_t	 tag;		/* 0: a free slot */
	uint64_t	 seq;		/* the order it was sent in */
	size_t		 entry;		/* in tree.v */
	int		 have_file;
	struct ctl_file	 file;
	pid_t		 pump;		/* pump_start()'s child, or -1 */
};

struct tree {
	struct tree_entry *v;		/* the files found, in order */
	size_t		 n;
	size_t		 cap;
	size_t		 next;		/* the next one to send */
	int		 width;		/* of the widest name, in columns */
	int		 window;	/* requests in flight at most */
	struct tree_request req[TREE_WINDOW];
	size_t		 inflight;
	uint32_t	 next_tag;
	uint64_t	 next_seq;
	uint64_t	 files;		/* stored */
	uint64_t	 bytes;
	uint64_t	 failed;
};

/* get: the temporary file, removed on any exit before the rename. */
static char			 tmp_path[PATH_MAX];
static volatile sig_atomic_t	 tmp_live;

static int	 open_input(const char *);
static void	 store_wait(struct imsgbuf *, const char *, int, int, int,
		    off_t, struct ctl_file *);
static int	 pump_start(int, const char *, const char *, struct ctl_store *,
		    pid_t *);
static __dead void pump_copy(int, int, const char *, uint64_t);
static int	 proxy_fill(int, char *, size_t *);
static int	 proxy_drain(int, char *, size_t *);
static void	 tree_send(struct imsgbuf *, struct tree *);
static struct tree_request *tree_request_of(struct tree *, struct imsg *,
		    const char *);
static void	 tree_answer(struct tree *, struct imsg *);
static int	 tree_walk(const char *, const char *, struct tree *);
static int	 tree_add(struct tree *, const char *, const char *);
static void	 tree_free(struct tree *);
static int	 tree_cmp(const FTSENT **, const FTSENT **);
static int	 tree_open(const struct tree_entry *, struct ctl_store *,
		    pid_t *);
static int	 tree_window(void);
static int	 tmp_create(const char *);
static void	 tmp_remove(void);
static void	 tmp_signal(int);
static void	 write_all(int, const char *, size_t, const char *);
static void	 fsync_dir(const char *);

/* A file to store, or standard input for "-"; -1 after a warning. */
static int
open_input(const char *path)
{
	int	 fd;

	if (strcmp(path, "-") == 0)
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		warn("%s", strcmp(path, "-") == 0 ? "standard input" : path);
	return (fd);
}

/*
 * store FILE [NAME].  A regular file goes to pv-storaged as it is, with
 * its size so that the quota is checked before a byte is written; a
 * pipe goes as it is, size unknown; anything else (a terminal, a
 * socket, a device) is copied by pvctl into a pipe of its own, and so
 * is a regular file on a filesystem pv-storaged does not read from
 * (fs_local()), with its size.
 */
int
store_file(const struct parse_result *res)
{
	struct imsgbuf		 ibuf;
	struct ctl_store	 req;
	struct ctl_file		 file;
	struct stat		 st;
	const char		*path = res->argv[0];
	off_t			 start = 0;
	char			 fs[FS_NAME_MAX];
	pid_t			 pump = -1;
	int			 fd, copy = -1, input = -1, wfd = -1, p[2];

	memset(&req, 0, sizeof(req));
	if (res->argc == 2) {
		if (check_name(res->argv[1], NULL) == -1)
			return (1);
		(void)strlcpy(req.name, res->argv[1], sizeof(req.name));
	} else if (strcmp(path, "-") == 0) {
		warnx("store -: a NAME is needed");
		return (1);
	} else {
		base_name(path, req.name, sizeof(req.name));
		if (check_name(req.name, path) == -1)
			return (1);
	}

	if ((fd = open_input(path)) == -1)
		return (1);
	if (fstat(fd, &st) == -1)
		err(1, "%s", path);
	if (S_ISDIR(st.st_mode)) {
		warnx("%s: is a directory (store -r stores one)", path);
		close(fd);
		return (1);
	}

	if (S_ISREG(st.st_mode)) {
		/* Standard input may have been read from already. */
		if ((start = lseek(fd, 0, SEEK_CUR)) == -1 ||
		    start > st.st_size)
			start = st.st_size;
		req.size = st.st_size - start;
		req.size_known = 1;
		/* Shares the offset: how far the file has been read. */
		if ((copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
			err(1, "dup");
	}
	if (S_ISREG(st.st_mode) && fs_local(fd, fs, sizeof(fs)) != 1) {
		/*
		 * The child's read holds the offset they share, and an
		 * lseek(2) of ours would wait for it: no progress.
		 */
		close(copy);
		copy = -1;
		if ((fd = pump_start(fd, path, fs, &req, &pump)) == -1)
			return (1);
	} else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		if (pipe2(p, O_CLOEXEC) == -1)
			err(1, "pipe");
		if (fcntl(p[1], F_SETFL, O_NONBLOCK) == -1)
			err(1, "fcntl");
		input = fd;
		wfd = p[1];
		fd = p[0];
	}

	/* fd goes to pvd: the file, the FIFO, or the read end of ours. */
	ctl_open(&ibuf);
	ctl_compose(&ibuf, IMSG_CTL_STORE, fd, &req, sizeof(req));
	ctl_flush(&ibuf);

	if (req.size_known && copy != -1)
		progress_start(req.size);
	store_wait(&ibuf, req.name, input, wfd, copy, start, &file);
	progress_end();
	ctl_close(&ibuf);
	if (copy != -1)
		close(copy);
	if (pump != -1)
		(void)waitpid(pump, NULL, 0);

	out->stored(&file);
	return (0);
}

/*
 * Wait for the answer to a store: IMSG_CTL_FILE then IMSG_CTL_END, or
 * IMSG_CTL_FAIL, which ends pvctl.  Meanwhile copy input into the pipe
 * wfd, when there is one, closing both at the end of the input, and
 * draw the progress of a regular file from the offset of copy.
 */
static void
store_wait(struct imsgbuf *ibuf, const char *name, int input, int wfd,
    int copy, off_t start, struct ctl_file *file)
{
	static char	 buf[COPY_BUF_SIZE];
	struct pollfd	 pfd[3];
	struct imsg	 imsg;
	off_t		 off;
	size_t		 buffered = 0;
	uint32_t	 type;
	int		 have_file = 0, n, nfds, in_idx, out_idx;

	for (;;) {
		pfd[0].fd = ibuf->fd;
		pfd[0].events = POLLIN;
		nfds = 1;
		in_idx = out_idx = -1;
		if (input != -1 && buffered < sizeof(buf)) {
			pfd[nfds].fd = input;
			pfd[nfds].events = POLLIN;
			in_idx = nfds++;
		}
		if (wfd != -1 && buffered > 0) {
			pfd[nfds].fd = wfd;
			pfd[nfds].events = POLLOUT;
			out_idx = nfds++;
		}
		if ((n = poll(pfd, nfds, copy != -1 ? 100 : -1)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (copy != -1 && (off = lseek(copy, 0, SEEK_CUR)) != -1)
			progress_update(off > start ? off - start : 0);

		if (in_idx != -1 && pfd[in_idx].revents != 0 &&
		    proxy_fill(input, buf, &buffered) == 0) {
			/* The end of the input. */
			close(input);
			input = -1;
		}
		if (out_idx != -1 && pfd[out_idx].revents != 0 &&
		    proxy_drain(wfd, buf, &buffered) == -1) {
			/* pv-storaged stopped reading: its answer says why. */
			if (input != -1)
				close(input);
			input = -1;
			buffered = 0;
		}
		if (wfd != -1 && input == -1 && buffered == 0) {
			close(wfd);
			wfd = -1;
		}

		if (pfd[0].revents == 0)
			continue;
		ctl_read(ibuf);
		while (ctl_next(ibuf, &imsg)) {
			type = imsg_get_type(&imsg);
			switch (type) {
			case IMSG_CTL_FAIL:
				progress_end();
				reply_fail(&imsg);
			case IMSG_CTL_FILE:
				if (have_file)
					bad_reply(type, "unexpected");
				reply_file(&imsg, file);
				if (strcmp(file->name, name) != 0)
					bad_reply(type, "answer for another "
					    "name");
				have_file = 1;
				break;
			case IMSG_CTL_END:
				reply_end(&imsg);
				if (!have_file || wfd != -1)
					bad_reply(type, "unexpected");
				imsg_free(&imsg);
				return;
			default:
				bad_reply(type, "unexpected");
			}
			imsg_free(&imsg);
		}
	}
}

/*
 * A regular file on the filesystem fs, which pv-storaged does not read
 * from (fs_local()): a child of pvctl copies its next req->size bytes
 * into a pipe, whose read end is returned and fd closed.  The store
 * announces the size, so pv-storaged refuses a pipe that ends short, as
 * it does when the file cannot be read or shrinks, or that goes on, as
 * when it grew.  The files of proc, sysfs and the like, and files of
 * size 0, are copied to their end, size unknown: their size says
 * nothing.  A read that never returns holds up the child and this
 * pvctl; the child dies with pvctl.
 */
static int
pump_start(int fd, const char *path, const char *fs, struct ctl_store *req,
    pid_t *pid)
{
	uint64_t size = req->size;
	pid_t	 parent = getpid();
	int	 p[2];

	if (size == 0 || fs_sizeless(fs)) {
		req->size_known = 0;
		size = UINT64_MAX;
	}

	if (pipe2(p, O_CLOEXEC) == -1) {
		warn("pipe");
		close(fd);
		return (-1);
	}
	switch ((*pid = fork())) {
	case -1:
		warn("fork");
		close(p[0]);
		close(p[1]);
		close(fd);
		return (-1);
	case 0:
		close(p[0]);
		/* not outlive pvctl, nor hold its output open */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(1);
		pump_copy(fd, p[1], path, size);
		/* NOTREACHED */
	}
	close(p[1]);
	close(fd);
	return (p[0]);
}

/* The child of pump_start(): holds nothing but the file and the pipe. */
static __dead void
pump_copy(int fd, int wfd, const char *path, uint64_t size)
{
	static char	 buf[COPY_BUF_SIZE];
	ssize_t		 n, w;
	size_t		 off, want;
	int		 rdup, wdup, null, more = 0;

	if ((rdup = fcntl(fd, F_DUPFD, 5)) == -1 ||
	    (wdup = fcntl(wfd, F_DUPFD, 5)) == -1 ||
	    dup2(rdup, 3) == -1 || dup2(wdup, 4) == -1 ||
	    (null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1) {
		warn("%s", path);
		_exit(1);
	}
	closefrom(5);
	while (size > 0 || !more) {
		if (size == 0) {
			/* one read more: a file that grew is refused */
			more = 1;
			size = 1;
		}
		want = size < sizeof(buf) ? size : sizeof(buf);
		if ((n = read(3, buf, want)) == -1) {
			if (errno == EINTR)
				continue;
			warn("%s", path);
			_exit(1);
		}
		if (n == 0 && (size == UINT64_MAX || more))
			_exit(0);
		if (n == 0) {
			/* pv-storaged refuses what came: it is short */
			warnx("%s: shrank while it was stored", path);
			_exit(1);
		}
		for (off = 0; off < (size_t)n; off += w) {
			if ((w = write(4, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				_exit(1);	/* pvd stopped reading */
			}
		}
		if (size != UINT64_MAX)
			size -= n;
	}
	_exit(0);
}

/* Read input into the buffer; returns 0 at its end. */
static int
proxy_fill(int input, char *buf, size_t *buffered)
{
	ssize_t	 n;

	n = read(input, buf + *buffered, COPY_BUF_SIZE - *buffered);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return (1);
		/* A half-read input must not be stored: leave, pvd drops it. */
		err(1, "read standard input");
	}
	*buffered += n;
	return (n != 0);
}

/* Write the buffer into the pipe; -1 when nobody reads it any more. */
static int
proxy_drain(int wfd, char *buf, size_t *buffered)
{
	ssize_t	 n;

	n = write(wfd, buf, *buffered);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return (0);
		if (errno == EPIPE)
			return (-1);
		err(1, "write to pvd");
	}
	memmove(buf, buf + n, *buffered - n);
	*buffered -= n;
	return (0);
}

/*
 * store -r DIR [PREFIX]: every regular file under DIR, named
 * PREFIX/path relative to DIR.  The requests are pipelined on one
 * connection, TREE_WINDOW at a time; a file that fails is reported and
 * the others go on.
 */
int
store_tree(const struct parse_result *res)
{
	struct imsgbuf		 ibuf;
	struct imsg		 imsg;
	struct tree		 tree;
	const char		*dir = res->argv[0];
	char			 prefix[PVD_NAME_MAX + 1], *real;
	int			 ret;

	if (res->argc == 2) {
		if (res->argv[1][0] != '\0' &&
		    check_name(res->argv[1], NULL) == -1)
			return (1);
		(void)strlcpy(prefix, res->argv[1], sizeof(prefix));
	} else {
		if ((real = realpath(dir, NULL)) == NULL) {
			warn("%s", dir);
			return (1);
		}
		base_name(real, prefix, sizeof(prefix));
		free(real);
	}

	memset(&tree, 0, sizeof(tree));
	if (tree_walk(dir, prefix, &tree) == -1) {
		tree_free(&tree);
		return (1);
	}
	tree.window = tree_window();

	out->tree_start(dir, tree.width);
	ctl_open(&ibuf);
	for (;;) {
		tree_send(&ibuf, &tree);
		ctl_flush(&ibuf);
		if (tree.inflight == 0)
			break;
		ctl_read(&ibuf);
		while (tree.inflight > 0 && ctl_next(&ibuf, &imsg)) {
			tree_answer(&tree, &imsg);
			imsg_free(&imsg);
		}
		/* pump_start()'s children that are done */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	ctl_close(&ibuf);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;

	out->tree_end(tree.files, tree.bytes);
	ret = 0;
	if (tree.failed > 0) {
		warnx("%llu of %llu files not stored",
		    (unsigned long long)tree.failed,
		    (unsigned long long)(tree.failed + tree.files));
		ret = 1;
	}
	tree_free(&tree);
	return (ret);
}

/* Fill the free slots of the window with requests. */
static void
tree_send(struct imsgbuf *ibuf, struct tree *tree)
{
	struct ctl_store	 req;
	size_t			 slot;
	pid_t			 pump = -1;
	int			 fd;

	for (slot = 0; slot < (size_t)tree->window; slot++) {
		if (tree->req[slot].tag != 0)
			continue;
		fd = -1;
		while (fd == -1 && tree->next < tree->n) {
			fd = tree_open(&tree->v[tree->next], &req, &pump);
			if (fd == -1) {
				tree->failed++;
				tree->next++;
			}
		}
		if (fd == -1)
			break;
		tree->next_tag = (tree->next_tag + 1) & TAG_MASK;
		memset(&tree->req[slot], 0, sizeof(tree->req[slot]));
		tree->req[slot].entry = tree->next++;
		tree->req[slot].seq = tree->next_seq++;
		tree->req[slot].tag = TAG_BIT | tree->next_tag;
		tree->req[slot].pump = pump;
		ctl_compose_tag(ibuf, IMSG_CTL_STORE, tree->req[slot].tag, fd,
		    &req, sizeof(req));
		tree->inflight++;
	}
}

/*
 * The request an answer is for: the one whose tag it echoes.  Without a
 * tag, an IMSG_CTL_FILE names its file, an IMSG_CTL_END follows the
 * IMSG_CTL_FILE of its request, and an IMSG_CTL_FAIL is for the oldest
 * request not answered yet.
 */
static struct tree_request *
tree_request_of(struct tree *tree, struct imsg *imsg, const char *name)
{
	struct tree_request	*r, *found = NULL;
	uint32_t		 tag = (uint32_t)imsg_get_pid(imsg);
	uint32_t		 type = imsg_get_type(imsg);
	size_t			 slot;

	for (slot = 0; slot < TREE_WINDOW; slot++) {
		r = &tree->req[slot];
		if (r->tag == 0)
			continue;
		if (tag & TAG_BIT) {
			if (r->tag == tag)
				return (r);
		} else if (type == IMSG_CTL_FILE) {
			if (!r->have_file &&
			    strcmp(tree->v[r->entry].name, name) == 0)
				return (r);
		} else if (type == IMSG_CTL_END) {
			if (r->have_file)
				return (r);
		} else if (!r->have_file &&
		    (found == NULL || r->seq < found->seq))
			found = r;
	}
	if (found == NULL)
		bad_reply(type, type == IMSG_CTL_FILE ?
		    "answer for another name" : "answer to no request");
	return (found);
}

/* One answer of a store -r: IMSG_CTL_FILE then IMSG_CTL_END, or FAIL. */
static void
tree_answer(struct tree *tree, struct imsg *imsg)
{
	struct tree_request	*r;
	struct ctl_result	 result;
	struct ctl_file		 file;
	uint32_t		 type = imsg_get_type(imsg);

	switch (type) {
	case IMSG_CTL_FILE:
		reply_file(imsg, &file);
		r = tree_request_of(tree, imsg, file.name);
		if (r->have_file ||
		    strcmp(file.name, tree->v[r->entry].name) != 0)
			bad_reply(type, "answer for another name");
		r->file = file;
		r->have_file = 1;
		return;
	case IMSG_CTL_END:
		reply_end(imsg);
		r = tree_request_of(tree, imsg, NULL);
		if (!r->have_file)
			bad_reply(type, "unexpected");
		out->tree_file(&r->file);
		tree->files++;
		tree->bytes += r->file.size;
		break;
	case IMSG_CTL_FAIL:
		reply_result(imsg, &result);
		r = tree_request_of(tree, imsg, NULL);
		fprintf(stderr, "%s: ", getprogname());
		print_clean(stderr, tree->v[r->entry].path);
		fprintf(stderr, ": ");
		print_clean(stderr, result.msg[0] != '\0' ? result.msg :
		    "request failed");
		fprintf(stderr, "\n");
		tree->failed++;
		/* refused: its pump may wait on a read that never returns */
		if (r->pump != -1)
			(void)kill(r->pump, SIGKILL);
		break;
	default:
		bad_reply(type, "unexpected");
	}
	r->tag = 0;
	tree->inflight--;
}

/*
 * Find the regular files under dir, in a stable order.  Symbolic links
 * (but dir itself) are not followed; they and other files that are not
 * regular are skipped with a warning; what cannot be read counts as a
 * failure.  Returns -1 when dir cannot be walked at all.
 */
static int
tree_walk(const char *dir, const char *prefix, struct tree *tree)
{
	char * const	 roots[] = { (char *)dir, NULL };
	char		 name[PVD_NAME_MAX + 1];
	struct stat	 st;
	FTS		*fts;
	FTSENT		*ent;
	const char	*rel;
	size_t		 rootlen = 0;
	int		 w;

	if (stat(dir, &st) == -1) {
		warn("%s", dir);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		warnx("%s: not a directory", dir);
		return (-1);
	}
	if ((fts = fts_open(roots, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR,
	    tree_cmp)) == NULL) {
		warn("%s", dir);
		return (-1);
	}
	for (;;) {
		errno = 0;
		if ((ent = fts_read(fts)) == NULL)
			break;
		if (ent->fts_level == FTS_ROOTLEVEL)
			rootlen = ent->fts_pathlen;
		switch (ent->fts_info) {
		case FTS_D:
		case FTS_DP:
			continue;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			errno = ent->fts_errno;
			warn("%s", ent->fts_path);
			tree->failed++;
			if (ent->fts_level == FTS_ROOTLEVEL) {
				fts_close(fts);
				return (-1);
			}
			continue;
		case FTS_SL:
		case FTS_SLNONE:
			warnx("%s: skipped: a symbolic link", ent->fts_path);
			continue;
		case FTS_F:
			break;
		default:
			warnx("%s: skipped: not a regular file",
			    ent->fts_path);
			continue;
		}
		if (ent->fts_pathlen < rootlen)
			errx(1, "%s: outside of %s", ent->fts_path, dir);
		rel = ent->fts_path + rootlen;
		if (name_join(prefix, rel, name, sizeof(name)) == -1) {
			warnx("%s: invalid name: name longer than %d bytes",
			    ent->fts_path, PVD_NAME_MAX);
			tree->failed++;
			continue;
		}
		if (check_name(name, ent->fts_path) == -1) {
			tree->failed++;
			continue;
		}
		if (tree_add(tree, ent->fts_path, name) == -1)
			err(1, NULL);
		if ((w = clean_width(name)) > tree->width)
			tree->width = w;
	}
	if (errno != 0) {
		warn("%s", dir);
		tree->failed++;
	}
	fts_close(fts);
	return (0);
}

static int
tree_cmp(const FTSENT **a, const FTSENT **b)
{
	return (strcmp((*a)->fts_name, (*b)->fts_name));
}

static int
tree_add(struct tree *tree, const char *path, const char *name)
{
	struct tree_entry	*v;
	size_t			 cap;

	if (tree->n == tree->cap) {
		cap = tree->cap == 0 ? 64 : tree->cap * 2;
		if ((v = reallocarray(tree->v, cap, sizeof(*v))) == NULL)
			return (-1);
		tree->v = v;
		tree->cap = cap;
	}
	v = &tree->v[tree->n];
	if ((v->path = strdup(path)) == NULL)
		return (-1);
	if ((v->name = strdup(name)) == NULL) {
		free(v->path);
		return (-1);
	}
	tree->n++;
	return (0);
}

static void
tree_free(struct tree *tree)
{
	size_t	 i;

	for (i = 0; i < tree->n; i++) {
		free(tree->v[i].path);
		free(tree->v[i].name);
	}
	free(tree->v);
	tree->v = NULL;
	tree->n = tree->cap = 0;
}

/*
 * Open one file found by the walk.  It may have changed since: a file
 * that is no longer regular is skipped.  O_NONBLOCK keeps a FIFO put
 * there meanwhile from blocking the open.  Returns what goes to pvd:
 * the file, or the pipe of pump_start() for a file pv-storaged does not
 * read from.
 */
static int
tree_open(const struct tree_entry *e, struct ctl_store *req, pid_t *pump)
{
	struct stat	 st;
	char		 fs[FS_NAME_MAX];
	int		 fd;

	*pump = -1;
	if ((fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		warn("%s", e->path);
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		warnx("%s: no longer a regular file", e->path);
		close(fd);
		return (-1);
	}
	if (fcntl(fd, F_SETFL, 0) == -1)
		err(1, "fcntl");
	memset(req, 0, sizeof(*req));
	if (strlcpy(req->name, e->name, sizeof(req->name)) >=
	    sizeof(req->name))
		errx(1, "name too long");
	req->size = st.st_size;
	req->size_known = 1;
	if (fs_local(fd, fs, sizeof(fs)) != 1)
		return (pump_start(fd, e->path, fs, req, pump));
	return (fd);
}

/* Requests in flight: TREE_WINDOW, or fewer under a low fd limit. */
static int
tree_window(void)
{
	struct rlimit	 rl;
	rlim_t		 room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return (TREE_WINDOW);
	room = rl.rlim_cur > 16 ? (rl.rlim_cur - 16) / 2 : 1;
	if (room < 1)
		room = 1;
	return (room < TREE_WINDOW ? (int)room : TREE_WINDOW);
}

/*
 * get NAME [FILE].  pv-storaged writes the content into a pipe whose
 * other end pvctl drains into FILE or standard output, and answers
 * IMSG_CTL_FILE before the content and IMSG_CTL_END (or
 * IMSG_CTL_FAIL) after it.  Into FILE, the content goes to a temporary
 * file beside it, renamed only once the whole content has arrived and
 * was verified, so that a failed get leaves no partial file.
 */
int
get_file(const struct parse_result *res)
{
	static char	 buf[COPY_BUF_SIZE];
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	struct ctl_name	 req;
	struct ctl_file	 file;
	struct pollfd	 pfd[2];
	const char	*path = NULL, *what = "stdout";
	struct writeback wb = { 0, 0 };
	uint64_t	 got = 0;
	uint32_t	 type;
	ssize_t		 n;
	int		 p[2], outfd = STDOUT_FILENO, have_file = 0;
	int		 ended = 0, eof = 0, nfds, timeout;

	if (check_name(res->argv[0], NULL) == -1)
		return (1);
	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.name, res->argv[0], sizeof(req.name));
	if (res->argc == 2 && strcmp(res->argv[1], "-") != 0)
		path = what = res->argv[1];
	if (path == NULL && out == &json_output) {
		warnx("get: -j needs a FILE: the content and the JSON "
		    "cannot share standard output");
		return (1);
	}
	if (path != NULL && (outfd = tmp_create(path)) == -1)
		return (1);

	if (pipe2(p, O_CLOEXEC) == -1)
		err(1, "pipe");
	ctl_open(&ibuf);
	ctl_compose(&ibuf, IMSG_CTL_GET, p[1], &req, sizeof(req));
	ctl_flush(&ibuf);

	/* Success needs both the end of the content and IMSG_CTL_END. */
	while (!ended || !eof) {
		nfds = 0;
		if (!ended) {
			pfd[nfds].fd = ibuf.fd;
			pfd[nfds++].events = POLLIN;
		}
		if (!eof) {
			pfd[nfds].fd = p[0];
			pfd[nfds++].events = POLLIN;
		}
		timeout = ended ? EOF_GRACE_MS : -1;
		if ((n = poll(pfd, nfds, timeout)) == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (n == 0)
			errx(1, "pvd did not close the pipe of the content");

		if (!eof && pfd[nfds - 1].revents != 0) {
			if ((n = read(p[0], buf, sizeof(buf))) == -1) {
				if (errno != EINTR && errno != EAGAIN)
					err(1, "read from pvd");
			} else if (n == 0)
				eof = 1;
			else {
				got += n;
				if (have_file && got > file.size)
					bad_reply(IMSG_CTL_FILE, "more content "
					    "than its size");
				write_all(outfd, buf, n, what);
				if (path != NULL)
					writeback_step(outfd, &wb, got);
				progress_update(got);
			}
		}

		if (ended || pfd[0].revents == 0)
			continue;
		ctl_read(&ibuf);
		while (!ended && ctl_next(&ibuf, &imsg)) {
			type = imsg_get_type(&imsg);
			switch (type) {
			case IMSG_CTL_FAIL:
				progress_end();
				reply_fail(&imsg);
			case IMSG_CTL_FILE:
				if (have_file)
					bad_reply(type, "unexpected");
				reply_file(&imsg, &file);
				if (strcmp(file.name, req.name) != 0)
					bad_reply(type, "answer for another "
					    "name");
				if (got > file.size)
					bad_reply(type, "more content than "
					    "its size");
				have_file = 1;
				/* Not over content on the same terminal. */
				if (path != NULL || !isatty(STDOUT_FILENO))
					progress_start(file.size);
				progress_update(got);
				break;
			case IMSG_CTL_END:
				reply_end(&imsg);
				if (!have_file)
					bad_reply(type, "unexpected");
				ended = 1;
				break;
			default:
				bad_reply(type, "unexpected");
			}
			imsg_free(&imsg);
		}
	}
	progress_end();
	close(p[0]);
	ctl_close(&ibuf);
	if (got != file.size)
		errx(1, "invalid reply from pvd: %llu bytes of content, "
		    "%llu announced", (unsigned long long)got,
		    (unsigned long long)file.size);

	if (path != NULL) {
		if (fsync(outfd) == -1 || close(outfd) == -1)
			err(1, "%s", tmp_path);
		if (rename(tmp_path, path) == -1)
			err(1, "rename %s to %s", tmp_path, path);
		tmp_live = 0;
		fsync_dir(path);
		out->got(&file, path);
	}
	return (0);
}

/*
 * The temporary file for get into path, ".BASE.pvctl-XXXXXX" in the
 * same directory so that the rename is atomic, with the mode a new
 * file would get.  Removed by tmp_remove() on any exit until renamed.
 */
static int
tmp_create(const char *path)
{
	static int	 registered;
	struct sigaction sa;
	struct stat	 st;
	char		 base[NAME_MAX + 1], *slash;
	mode_t		 mask;
	int		 fd, len;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		warnx("%s: is a directory", path);
		return (-1);
	}
	base_name(path, base, sizeof(base));
	if ((slash = strrchr(path, '/')) == NULL)
		len = snprintf(tmp_path, sizeof(tmp_path), ".%s.pvctl-XXXXXX",
		    base);
	else
		len = snprintf(tmp_path, sizeof(tmp_path),
		    "%.*s/.%s.pvctl-XXXXXX", (int)(slash - path), path, base);
	if (len < 0 || (size_t)len >= sizeof(tmp_path)) {
		warnx("%s: path too long", path);
		return (-1);
	}

	if (!registered) {
		if (atexit(tmp_remove) != 0)
			err(1, "atexit");
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = tmp_signal;
		sa.sa_flags = SA_RESETHAND;
		if (sigaction(SIGINT, &sa, NULL) == -1 ||
		    sigaction(SIGTERM, &sa, NULL) == -1 ||
		    sigaction(SIGHUP, &sa, NULL) == -1)
			err(1, "sigaction");
		registered = 1;
	}

	if ((fd = mkostemp(tmp_path, O_CLOEXEC)) == -1) {
		warn("%s", path);
		return (-1);
	}
	tmp_live = 1;
	mask = umask(0);
	(void)umask(mask);
	if (fchmod(fd, 0666 & ~mask) == -1)
		err(1, "%s", tmp_path);
	return (fd);
}

static void
tmp_remove(void)
{
	if (tmp_live) {
		(void)unlink(tmp_path);
		tmp_live = 0;
	}
}

/* Interrupted: remove the temporary file, then die of the signal. */
static void
tmp_signal(int sig)
{
	int	 saved_errno = errno;

	if (tmp_live)
		(void)unlink(tmp_path);
	tmp_live = 0;
	(void)raise(sig);
	errno = saved_errno;
}

static void
write_all(int fd, const char *buf, size_t len, const char *what)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			/* A reader that went away (get NAME | head). */
			if (errno == EPIPE && fd == STDOUT_FILENO)
				exit(1);
			err(1, "%s", what);
		}
		buf += n;
		len -= n;
	}
}

/* Make the rename durable: sync the directory that holds path. */
static void
fsync_dir(const char *path)
{
	char	 dir[PATH_MAX], *slash;
	int	 fd;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		errx(1, "%s: path too long", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		(void)strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		err(1, "%s", dir);
	if (fsync(fd) == -1 && errno != EINVAL)
		err(1, "fsync %s", dir);
	close(fd);
}
