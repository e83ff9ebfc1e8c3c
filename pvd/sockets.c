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
 * What the parent opens with its privilege before any child runs: the
 * control socket, the listening sockets, the data directory and its node
 * marker, the empty jail, and the network key.  These run before pvd
 * daemonizes, so their errors reach the user's terminal.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "parent.h"

static int
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path))
		return (-1);
	return (0);
}

/* A second pvd on the same control socket refuses to start. */
void
control_check_running(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if (sun_fill(&sun, path) == -1)
		errx(1, "socket path too long: %s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		err(1, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		errx(1, "pvd is already running on %s", path);
	close(fd);
}

void
control_open(void)
{
	struct parent		*env = pvd_env;
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 old_umask;
	int			 fd;

	if (sun_fill(&sun, env->sockpath) == -1)
		errx(1, "socket path too long: %s", env->sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		err(1, "socket");
	/* only a stale socket is replaced, never another kind of file */
	if (lstat(env->sockpath, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode))
			errx(1, "%s exists and is not a socket", env->sockpath);
		if (unlink(env->sockpath) == -1)
			err(1, "unlink %s", env->sockpath);
	} else if (errno != ENOENT)
		err(1, "%s", env->sockpath);

	old_umask = umask(S_IXUSR | S_IXGRP | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(1, "bind %s", env->sockpath);
	umask(old_umask);

	/* root:<daemon group> 0660 (the umask), so the group may use pvctl */
	if (env->privsep && fchownat(AT_FDCWD, env->sockpath, 0, env->gid,
	    AT_SYMLINK_NOFOLLOW) == -1)
		err(1, "chown %s", env->sockpath);
	if (listen(fd, 16) == -1)
		err(1, "listen %s", env->sockpath);
	env->control_fd = fd;
}

void
control_close(void)
{
	struct parent	*env = pvd_env;

	if (env->control_fd == -1)
		return;
	close(env->control_fd);
	env->control_fd = -1;
	if (unlink(env->sockpath) == -1 && errno != ENOENT)
		log_warn("unlink %s", env->sockpath);
}

static void
listener_add(const char *host, uint16_t port)
{
	struct parent		*env = pvd_env;
	struct listener		*l;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd, on = 1;

	if (env->nlisteners >= sizeof(env->listeners) /
	    sizeof(env->listeners[0]))
		errx(1, "too many listening sockets");

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else
		errx(1, "listen on %s: not a numeric address", host);

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		if (ss.ss_family == AF_INET6 && errno == EAFNOSUPPORT) {
			log_warnx("listen on [%s]:%u: no IPv6 on this host, "
			    "skipped", host, port);
			return;
		}
		err(1, "socket");
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		err(1, "setsockopt SO_REUSEADDR");
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		err(1, "setsockopt IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		if (ss.ss_family == AF_INET6 && errno == EADDRNOTAVAIL) {
			log_warnx("listen on [%s]:%u: IPv6 address not "
			    "available, skipped", host, port);
			close(fd);
			return;
		}
		err(1, "cannot listen on %s%s%s:%u",
		    ss.ss_family == AF_INET6 ? "[" : "", host,
		    ss.ss_family == AF_INET6 ? "]" : "", port);
	}
	if (listen(fd, 128) == -1)
		err(1, "listen");

	l = &env->listeners[env->nlisteners++];
	l->fd = fd;
	strlcpy(l->ep.host, host, sizeof(l->ep.host));
	l->ep.port = port;
}

/* "*" is every IPv4 and every IPv6 address. */
void
listeners_open(const struct pv_config *conf)
{
	struct pv_endpoint_entry	*e;

	TAILQ_FOREACH(e, &conf->listen, entry) {
		if (strcmp(e->ep.host, "*") == 0) {
			listener_add("0.0.0.0", e->ep.port);
			listener_add("::", e->ep.port);
		} else
			listener_add(e->ep.host, e->ep.port);
	}
}

/*
 * pvd creates the data directory, and the marker naming its node, only
 * when the directory does not exist.  An existing directory is never
 * initialised here: if it lacks the marker (an unmounted disk, a wrong
 * path), pv-storaged refuses to serve rather than take an empty disk
 * for a node whose files were all deleted.
 */
void
datadir_prepare(const struct pv_config *conf)
{
	struct parent	*env = pvd_env;
	const char	*dir = conf->g.data_dir;
	struct stat	 sb;
	uint8_t		 id[PVD_NODEID_LEN];
	char		 hex[PVD_NODEID_HEXLEN], marker[PATH_MAX];
	char		 parentdir[PATH_MAX];
	int		 fd;

	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			errx(1, "data directory %s is not a directory", dir);
		if (sb.st_uid != env->uid)
			errx(1, "data directory %s belongs to uid %u, not to "
			    "the daemon user (uid %u): fix its owner",
			    dir, (unsigned)sb.st_uid, (unsigned)env->uid);
		return;
	}
	if (errno != ENOENT)
		err(1, "data directory %s", dir);

	strlcpy(parentdir, dir, sizeof(parentdir));
	if (stat(dirname(parentdir), &sb) == -1 || !S_ISDIR(sb.st_mode))
		errx(1, "cannot create data directory %s: its parent does "
		    "not exist", dir);
	if (mkdir(dir, 0700) == -1)
		err(1, "mkdir %s", dir);
	if (env->privsep && chown(dir, env->uid, env->gid) == -1)
		err(1, "chown %s", dir);

	if (RAND_bytes(id, sizeof(id)) != 1)
		errx(1, "cannot generate a node id");
	hex_encode(id, sizeof(id), hex, sizeof(hex));
	if (snprintf(marker, sizeof(marker), "%s/%s", dir,
	    PVD_MARKER_FILE) >= (int)sizeof(marker))
		errx(1, "data directory path too long");
	if ((fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		err(1, "create %s", marker);
	if (dprintf(fd, "%s\n", hex) < 0 || fsync(fd) == -1)
		err(1, "write %s", marker);
	if (env->privsep && fchown(fd, env->uid, env->gid) == -1)
		err(1, "chown %s", marker);
	close(fd);
	strlcpy(parentdir, dir, sizeof(parentdir));
	if (fsync_path(dir) == -1 || fsync_path(dirname(parentdir)) == -1)
		err(1, "fsync %s", dir);
	log_info("created data directory %s for new node %s", dir, hex);
}

/* The jail of the children that hold no files: empty, root's, read-only. */
void
emptydir_prepare(void)
{
	struct stat	sb;

	if (mkdir(PVD_EMPTY_DIR, 0755) == -1 && errno != EEXIST)
		err(1, "mkdir %s", PVD_EMPTY_DIR);
	if (stat(PVD_EMPTY_DIR, &sb) == -1)
		err(1, "%s", PVD_EMPTY_DIR);
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != 0 ||
	    (sb.st_mode & (S_IWGRP | S_IWOTH)))
		errx(1, "%s must be a directory owned by root and writable "
		    "only by root", PVD_EMPTY_DIR);
}

static void
key_create(const char *path)
{
	uint8_t	key[PVD_KEY_LEN];
	char	hex[PVD_KEY_LEN * 2 + 1], dir[PATH_MAX];
	int	fd;

	strlcpy(dir, path, sizeof(dir));
	if (mkdir(dirname(dir), 0755) == -1 && errno != EEXIST)
		err(1, "mkdir %s", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		err(1, "create key file %s", path);
	if (RAND_bytes(key, sizeof(key)) != 1)
		errx(1, "cannot generate a key");
	hex_encode(key, sizeof(key), hex, sizeof(hex));
	explicit_bzero(key, sizeof(key));
	if (dprintf(fd, "%s\n", hex) < 0 || fsync(fd) == -1)
		err(1, "write %s", path);
	explicit_bzero(hex, sizeof(hex));
	close(fd);
	log_info("created a new network key in %s: copy this file to every "
	    "node of the network", path);
}

/*
 * There is no default key: a missing file is created with a new random
 * key.  A key that group or others can read is refused.
 */
void
key_load(const char *path, uint8_t *key)
{
	struct stat	sb;
	uint8_t		buf[PVD_KEY_LEN * 4];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			err(1, "key file %s", path);
		key_create(path);
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
			err(1, "key file %s", path);
	}
	if (fstat(fd, &sb) == -1)
		err(1, "fstat %s", path);
	if (!S_ISREG(sb.st_mode))
		errx(1, "key file %s is not a regular file", path);
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		errx(1, "key file %s is readable by group or others (mode "
		    "%04o): chmod 600 %s", path,
		    (unsigned)(sb.st_mode & 07777), path);
	if (sb.st_uid != 0 && sb.st_uid != geteuid())
		errx(1, "key file %s belongs to uid %u: it must belong to "
		    "root or to the user running pvd", path,
		    (unsigned)sb.st_uid);

	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n == -1)
		err(1, "read %s", path);
	if (key_parse(buf, n, key) == -1) {
		explicit_bzero(buf, sizeof(buf));
		errx(1, "key file %s: expected 32 bytes, or 64 hex digits",
		    path);
	}
	explicit_bzero(buf, sizeof(buf));
}
