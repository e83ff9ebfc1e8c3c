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
 * Small helpers shared by every program: sizes and durations as the
 * configuration and pvctl write them, endpoints as text, and the rule
 * for file names, and the filesystems pv-storaged reads and writes files on.
 */

#include <sys/types.h>
#include <sys/vfs.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pvd.h"

/*
 * Parse an unsigned decimal number at the start of s into *val.
 * Returns a pointer to the first character after the digits, or NULL
 * when there are no digits or the number does not fit in 64 bits.
 * Signs and leading white space, which strtoull would take, are refused.
 */
static const char *
parse_digits(const char *s, uint64_t *val)
{
	uint64_t	v = 0;
	unsigned int	d;

	if (*s < '0' || *s > '9')
		return (NULL);
	for (; *s >= '0' && *s <= '9'; s++) {
		d = *s - '0';
		if (v > (UINT64_MAX - d) / 10)
			return (NULL);
		v = v * 10 + d;
	}
	*val = v;
	return (s);
}

/*
 * "1024", "10M", "5G", "2t": bytes, or a number with one binary
 * suffix K, M, G or T in either case.
 */
int
parse_size(const char *s, uint64_t *out)
{
	const char	*end;
	uint64_t	 v, mult;

	if (s == NULL || (end = parse_digits(s, &v)) == NULL)
		return (-1);
	switch (*end) {
	case '\0':
		mult = 1;
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0')
		return (-1);
	if (v > UINT64_MAX / mult)
		return (-1);
	*out = v * mult;
	return (0);
}

/*
 * "90", "90s", "15m", "1h", "180d": seconds, or a number with one
 * suffix s, m, h or d.  The result must fit in 32 bits.
 */
int
parse_duration(const char *s, uint32_t *out)
{
	const char	*end;
	uint64_t	 v, mult;

	if (s == NULL || (end = parse_digits(s, &v)) == NULL)
		return (-1);
	switch (*end) {
	case '\0':
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0')
		return (-1);
	if (v > UINT32_MAX / mult)
		return (-1);
	*out = v * mult;
	return (0);
}

/*
 * What a store may still write: the quota less what the blobs use (no
 * quota: no limit), and the disk's free space less the reserve, the
 * smaller of the two; never below 0, whatever the figures (a quota set
 * below what is used, a disk fuller than the reserve).
 */
uint64_t
quota_room(uint64_t used, uint64_t quota, uint64_t disk_free,
    uint64_t reserve)
{
	uint64_t	by_quota = UINT64_MAX, by_disk;

	if (quota != 0)
		by_quota = quota > used ? quota - used : 0;
	by_disk = disk_free > reserve ? disk_free - reserve : 0;
	return (by_quota < by_disk ? by_quota : by_disk);
}

/* For people: "512 B", "1.5 KiB", "5.0 GiB". */
void
fmt_size(uint64_t size, char *buf, size_t len)
{
	static const char	*units[] = {
	    "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	unsigned int		 u = 0;
	uint64_t		 div = 1;
	uint64_t		 tenths;

	if (size < 1024) {
		(void)snprintf(buf, len, "%llu B", (unsigned long long)size);
		return;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) &&
	    size / div >= 1024) {
		div <<= 10;
		u++;
	}
	/*
	 * Integer tenths, rounded to nearest, so that no double rounding
	 * shows "1024.0 KiB"; when rounding reaches 1024 of a unit, move
	 * to the next one.
	 */
	tenths = size / div * 10 +
	    ((size % div) * 10 + div / 2) / div;
	if (tenths >= 10240 && u + 1 < sizeof(units) / sizeof(units[0])) {
		div <<= 10;
		u++;
		tenths = size / div * 10 +
		    ((size % div) * 10 + div / 2) / div;
	}
	(void)snprintf(buf, len, "%llu.%llu %s",
	    (unsigned long long)(tenths / 10),
	    (unsigned long long)(tenths % 10), units[u]);
}

/*
 * For people: the largest unit and the next one when it is not zero,
 * "45s", "1h", "1h 30m", "3d 4h".
 */
void
fmt_duration(uint32_t secs, char *buf, size_t len)
{
	static const struct {
		uint32_t	 secs;
		const char	*name;
	} units[] = {
		{ 86400, "d" },
		{ 3600, "h" },
		{ 60, "m" },
		{ 1, "s" }
	};
	unsigned int	i;
	uint32_t	hi, lo;

	for (i = 0; i < 3; i++)
		if (secs >= units[i].secs)
			break;
	hi = secs / units[i].secs;
	if (i == 3) {
		(void)snprintf(buf, len, "%us", hi);
		return;
	}
	lo = secs % units[i].secs / units[i + 1].secs;
	if (lo == 0)
		(void)snprintf(buf, len, "%u%s", hi, units[i].name);
	else
		(void)snprintf(buf, len, "%u%s %u%s", hi, units[i].name,
		    lo, units[i + 1].name);
}

/* "host:port", "[::1]:3000", "*:3000"; a static buffer. */
const char *
endpoint_str(const struct pv_endpoint *ep)
{
	static char	buf[PVD_HOST_MAX + sizeof("[]:65535")];

	if (strchr(ep->host, ':') != NULL)
		(void)snprintf(buf, sizeof(buf), "[%s]:%u", ep->host,
		    ep->port);
	else
		(void)snprintf(buf, sizeof(buf), "%s:%u", ep->host,
		    ep->port);
	return (buf);
}

#if PVD_NAME_MAX != 1024
#error "name_valid() names PVD_NAME_MAX in its message"
#endif

/*
 * The code point of the well-formed UTF-8 sequence at p, which ends at
 * or before end, with its length in *len; -1 where the bytes are not
 * UTF-8: a stray continuation byte, an overlong form, a surrogate, a
 * code point above U+10FFFF or a truncated sequence.
 */
int32_t
utf8_decode(const unsigned char *p, const unsigned char *end, size_t *len)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	int32_t		 cp;
	size_t		 i, n;

	if (p[0] < 0x80) {
		*len = 1;
		return (p[0]);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return (-1);

	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return (-1);
	for (i = 1; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (-1);
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*len = n;
	return (cp);
}

/*
 * A file name is 1 to PVD_NAME_MAX bytes of UTF-8 without control
 * characters (C0, DEL and C1).  Returns 1 when name is one; otherwise
 * 0, with the reason in *why when why is not NULL.
 */
int
name_valid(const char *name, const char **why)
{
	const unsigned char	*p, *end;
	const char		*reason = NULL;
	int32_t			 cp;
	size_t			 len, n;

	len = strnlen(name, PVD_NAME_MAX + 1);
	if (len == 0)
		reason = "name is empty";
	else if (len > PVD_NAME_MAX)
		reason = "name longer than 1024 bytes";
	p = (const unsigned char *)name;
	end = p + len;
	for (; reason == NULL && p < end; p += n) {
		if ((cp = utf8_decode(p, end, &n)) == -1)
			reason = "name is not valid UTF-8";
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			reason = "name contains a control character";
	}
	if (reason == NULL)
		return (1);
	if (why != NULL)
		*why = reason;
	return (0);
}

/* Seconds of the monotonic clock, for timeouts and ages. */
time_t
monotime(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (ts.tv_sec);
}

static int
dir_sync(const char *dir, int (*fn)(int))
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fn(fd);
	close(fd);
	return (rc);
}

/* fsync a directory, so that the names created in it are durable. */
int
fsync_path(const char *dir)
{
	return (dir_sync(dir, fsync));
}

/*
 * Commit everything written on the filesystem that holds the directory
 * dir: contents, names and directories, with one journal commit and one
 * cache flush.
 */
int
syncfs_path(const char *dir)
{
	return (dir_sync(dir, syncfs));
}

/*
 * The first done bytes of the file fd are written: every WRITEBACK_STEP
 * bytes, start writing them out without waiting, and let the step before,
 * whose writeback started a step ago, go from the page cache once it is
 * on disk.  The disk works while the rest arrives, the fsync(2) at the end
 * has little left to do, and a large file holds a few steps of memory
 * rather than all its pages.  Only hints: the fsync at the end is what
 * makes the file durable.
 */
void
writeback_step(int fd, struct writeback *wb, uint64_t done)
{
	uint64_t	upto;

	if (done < wb->started + WRITEBACK_STEP)
		return;
	(void)sync_file_range(fd, (off_t)wb->started,
	    (off_t)(done - wb->started), SYNC_FILE_RANGE_WRITE);
	upto = wb->started;
	wb->started = done;
	if (upto <= wb->dropped)
		return;
	(void)sync_file_range(fd, (off_t)wb->dropped,
	    (off_t)(upto - wb->dropped), SYNC_FILE_RANGE_WAIT_BEFORE |
	    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(fd, (off_t)wb->dropped,
	    (off_t)(upto - wb->dropped), POSIX_FADV_DONTNEED);
	wb->dropped = upto;
}

/*
 * Filesystems whose reads and writes the kernel serves from a local
 * device or from memory: a read or write of a regular file there ends in
 * bounded time.  On any other filesystem it may not: FUSE is served by a
 * process that may be the client's own and may never answer, a network
 * filesystem waits for its server, and a stacked one (overlayfs) may sit
 * on either.  pv-storaged, one process that serves everyone, takes a
 * client's regular file only from a filesystem named here; pvctl pipes
 * the others itself.  The numbers are statfs(2)'s f_type.
 */
static const struct {
	unsigned long	 type;
	const char	*name;
} fs_types[] = {
	{ 0x0000ef53, "ext4" },		/* ext2, ext3 too */
	{ 0x58465342, "xfs" },
	{ 0x9123683e, "btrfs" },
	{ 0xf2f52010, "f2fs" },
	{ 0x2fc12fc1, "zfs" },
	{ 0xca451a4e, "bcachefs" },
	{ 0x3153464a, "jfs" },
	{ 0x52654973, "reiserfs" },
	{ 0x00003434, "nilfs2" },
	{ 0x00004d44, "vfat" },
	{ 0x2011bab0, "exfat" },
	{ 0x7366746e, "ntfs3" },
	{ 0x0000482b, "hfsplus" },
	{ 0x00009660, "iso9660" },
	{ 0x15013346, "udf" },
	{ 0x73717368, "squashfs" },
	{ 0xe0f5e1e2, "erofs" },
	{ 0x01021994, "tmpfs" },
	{ 0x858458f6, "ramfs" },
};

/*
 * Names for the others, for the error that refuses them.  The files of
 * the kernel's own (proc, sysfs and the like) have a size that says
 * nothing of their content, 0 or 4096: fs_sizeless() tells.
 */
static const struct {
	unsigned long	 type;
	const char	*name;
	int		 sizeless;
} fs_other[] = {
	{ 0x65735546, "fuse", 0 },
	{ 0x00006969, "nfs", 0 },
	{ 0xff534d42, "cifs", 0 },
	{ 0xfe534d42, "smb2", 0 },
	{ 0x01021997, "9p", 0 },
	{ 0x00c36400, "ceph", 0 },
	{ 0x794c7630, "overlay", 0 },
	{ 0x00009fa0, "proc", 1 },
	{ 0x62656572, "sysfs", 1 },
	{ 0x64626720, "debugfs", 1 },
	{ 0x74726163, "tracefs", 1 },
	{ 0x62656570, "configfs", 1 },
	{ 0x73636673, "securityfs", 1 },
	{ 0x0027e0eb, "cgroup", 1 },
	{ 0x63677270, "cgroup2", 1 },
	{ 0xde5e81e4, "efivarfs", 1 },
	{ 0xcafe4a11, "bpf", 1 },
	{ 0x42494e4d, "binfmt_misc", 1 },
};

/*
 * Whether the regular file fd is on a filesystem of fs_types: 1 or 0,
 * with its name (or its number in hex) in name; -1 when fstatfs fails.
 */
int
fs_local(int fd, char *name, size_t len)
{
	struct statfs	sf;
	unsigned long	type;
	size_t		i;

	if (fstatfs(fd, &sf) == -1)
		return (-1);
	type = (unsigned long)sf.f_type & 0xffffffffUL;
	for (i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (fs_types[i].type == type) {
			(void)strlcpy(name, fs_types[i].name, len);
			return (1);
		}
	for (i = 0; i < sizeof(fs_other) / sizeof(fs_other[0]); i++)
		if (fs_other[i].type == type) {
			(void)strlcpy(name, fs_other[i].name, len);
			return (0);
		}
	(void)snprintf(name, len, "type 0x%lx", type);
	return (0);
}

/* Whether name, from fs_local(), is a filesystem whose sizes say nothing. */
int
fs_sizeless(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(fs_other) / sizeof(fs_other[0]); i++)
		if (strcmp(fs_other[i].name, name) == 0)
			return (fs_other[i].sizeless);
	return (0);
}
