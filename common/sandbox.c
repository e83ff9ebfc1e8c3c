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
 * The seccomp allow-lists, one sandbox_<proc>() per child.  Each child
 * calls its own after all heavy initialisation (OpenSSL, SQLite, the
 * event base) and after dropping privileges, so the lists hold only what
 * the steady state needs.  Anything else kills the process; pvd logs the
 * death and restarts it.  With PV_SANDBOX_TRAP=1 in the environment a
 * forbidden call is still refused, but the child first writes the
 * number of the call to stderr, to find what a list misses.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pvd.h"

/* Every child: imsg, libevent, malloc, time, signals, exit. */
static const int sandbox_base[] = {
	SCMP_SYS(brk),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(close),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(fstat),
	SCMP_SYS(futex),
	SCMP_SYS(getpid),
	SCMP_SYS(getrandom),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(madvise),
	SCMP_SYS(mremap),
	SCMP_SYS(munmap),
	SCMP_SYS(nanosleep),
	SCMP_SYS(newfstatat),
	SCMP_SYS(read),
	SCMP_SYS(readv),
	SCMP_SYS(recvmsg),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sendmsg),
	SCMP_SYS(sendto),
	SCMP_SYS(write),
	SCMP_SYS(writev),
#ifdef PV_ASAN
	/* the sanitizer runtimes, for their reports */
	SCMP_SYS(getrlimit),
	SCMP_SYS(openat),
	SCMP_SYS(prctl),
	SCMP_SYS(prlimit64),
	SCMP_SYS(readlink),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sigaltstack),
#endif
};

/* pv-storaged: files under its jail, SQLite's locks, WAL and fsync. */
static const int sandbox_storage[] = {
	SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2),
	SCMP_SYS(fadvise64),
	SCMP_SYS(fallocate),
	SCMP_SYS(fchmod),
	SCMP_SYS(fchown),
	SCMP_SYS(fdatasync),
	SCMP_SYS(fstatfs),
	SCMP_SYS(fsync),
	SCMP_SYS(ftruncate),
	SCMP_SYS(getcwd),
	SCMP_SYS(getdents64),
	SCMP_SYS(geteuid),
	SCMP_SYS(lseek),
	SCMP_SYS(mkdir),
	SCMP_SYS(mkdirat),
	SCMP_SYS(openat),
	SCMP_SYS(pread64),
	SCMP_SYS(pwrite64),
	SCMP_SYS(readlinkat),
	SCMP_SYS(rename),
	SCMP_SYS(renameat),
	SCMP_SYS(renameat2),
	SCMP_SYS(statx),
	SCMP_SYS(sync_file_range),
	SCMP_SYS(syncfs),
	SCMP_SYS(unlink),
	SCMP_SYS(unlinkat),
	SCMP_SYS(fcntl),
};

/*
 * pv-netd: the control socket, peers over TCP (dialled too), and the
 * blob descriptors pv-storaged hands it: read to send, written and
 * truncated to receive.  It opens no path.
 */
static const int sandbox_net[] = {
	SCMP_SYS(accept4),
	SCMP_SYS(connect),
	SCMP_SYS(fcntl),
	SCMP_SYS(ftruncate),
	SCMP_SYS(getpeername),
	SCMP_SYS(getsockname),
	SCMP_SYS(getsockopt),
	SCMP_SYS(pread64),
	SCMP_SYS(pwrite64),
	SCMP_SYS(recvfrom),
	SCMP_SYS(setsockopt),
	SCMP_SYS(shutdown),
	SCMP_SYS(socket),
};

/*
 * pv-discoverd: datagrams on sockets it was handed, and evdns's own
 * UDP sockets to the name servers of resolv.conf.
 */
static const int sandbox_discover[] = {
	SCMP_SYS(bind),
	SCMP_SYS(connect),
	SCMP_SYS(fcntl),
	SCMP_SYS(getsockname),
	SCMP_SYS(getsockopt),
	SCMP_SYS(recvfrom),
	SCMP_SYS(setsockopt),
	SCMP_SYS(socket),
};

static void
sandbox_sigsys(int sig, siginfo_t *info, void *ctx)
{
	char	msg[96];
	int	len;

	len = snprintf(msg, sizeof(msg), "sandbox: forbidden system call %d\n",
	    info->si_syscall);
	if (len > 0)
		(void)write(STDERR_FILENO, msg, (size_t)len);
	_exit(1);
}

static void
sandbox_add(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i],
		    0)) < 0)
			fatalx("seccomp_rule_add %d: %s", calls[i],
			    strerror(-rc));
}

/* Memory may be mapped, but never made executable. */
static void
sandbox_add_mmap(scmp_filter_ctx ctx)
{
	int	rc;

	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		fatalx("seccomp_rule_add mmap: %s", strerror(-rc));
}

static void
sandbox_load(const char *name, const int *extra, size_t nextra)
{
	scmp_filter_ctx		ctx;
	struct sigaction	sa;
	uint32_t		deny = SCMP_ACT_KILL_PROCESS;
	const char		*trap;
	int			rc;

	if ((trap = getenv("PV_SANDBOX_TRAP")) != NULL &&
	    strcmp(trap, "1") == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("sigaction SIGSYS");
		deny = SCMP_ACT_TRAP;
	}

	if ((ctx = seccomp_init(deny)) == NULL)
		fatalx("seccomp_init failed");
	sandbox_add(ctx, sandbox_base, sizeof(sandbox_base) /
	    sizeof(sandbox_base[0]));
	sandbox_add(ctx, extra, nextra);
	sandbox_add_mmap(ctx);
	if (deny == SCMP_ACT_TRAP)
		sandbox_add(ctx, (const int []){ SCMP_SYS(rt_sigaction) }, 1);

	/* no_new_privs was set when privileges were dropped */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0)
		fatalx("seccomp_attr_set: %s", strerror(-rc));
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %s", strerror(-rc));
	seccomp_release(ctx);
	log_debug("sandbox installed for %s", name);
}

void
sandbox_storaged(void)
{
	sandbox_load("storage", sandbox_storage, sizeof(sandbox_storage) /
	    sizeof(sandbox_storage[0]));
}

void
sandbox_netd(void)
{
	sandbox_load("net", sandbox_net, sizeof(sandbox_net) /
	    sizeof(sandbox_net[0]));
}

void
sandbox_discoverd(void)
{
	sandbox_load("discover", sandbox_discover, sizeof(sandbox_discover) /
	    sizeof(sandbox_discover[0]));
}

#ifdef PV_ASAN
/*
 * LeakSanitizer inspects a process from a ptrace'd helper thread at
 * exit, which the sandbox and PR_SET_DUMPABLE 0 forbid; the sandboxed
 * children run the other sanitizers only.  The unit tests keep it.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return ("detect_leaks=0");
}
#endif
