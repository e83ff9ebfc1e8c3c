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
 * pvd, the parent: it parses the configuration, holds the network key,
 * opens the sockets that need privilege, starts the three children and
 * then only supervises them.  It never parses input from the network or
 * from control clients.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "log.h"
#include "parent.h"
#include "pvd_conf.h"

struct parent	*pvd_env;

static struct event	ev_sigint, ev_sigterm, ev_sighup, ev_sigchld;
static pid_t		parent_pid;

/*
 * Whatever way the parent exits, fatal() included, the control socket
 * goes with it; the children, forked from it, must not remove it.
 */
static void
parent_atexit(void)
{
	if (getpid() == parent_pid)
		control_close();
}

static __dead void
usage(void)
{
	extern char	*__progname;

	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file] "
	    "[-s socket]\n", __progname);
	exit(1);
}

int64_t
timespec_ms_since(const struct timespec *then)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - then->tv_sec) * 1000 +
	    (now.tv_nsec - then->tv_nsec) / 1000000);
}

static int
endpoints_equal(const struct pv_endpoints *a, const struct pv_endpoints *b)
{
	const struct pv_endpoint_entry	*x, *y;

	for (x = TAILQ_FIRST(a), y = TAILQ_FIRST(b); x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (strcmp(x->ep.host, y->ep.host) != 0 ||
		    x->ep.port != y->ep.port)
			return (0);
	return (x == NULL && y == NULL);
}

/*
 * Settings that shape the process tree and its privileges take effect
 * only at start-up; a reload keeps the running values and says so.
 */
static void
reload_keep_startup(struct pv_config *nconf, const struct pv_config *oconf)
{
	struct pv_endpoint_entry	*e;
	struct pv_globals		*n = &nconf->g;
	const struct pv_globals		*o = &oconf->g;

#define KEEP_STR(f, kw) do {						\
	if (strcmp(n->f, o->f) != 0) {					\
		log_warnx("reload: %s changed, restart pvd to apply", kw); \
		memcpy(n->f, o->f, sizeof(n->f));			\
	}								\
} while (0)
	KEEP_STR(data_dir, "data");
	KEEP_STR(key_file, "key");
	KEEP_STR(user, "user");
	KEEP_STR(socket_path, "socket");
#undef KEEP_STR

	if (n->has_metrics != o->has_metrics ||
	    strcmp(n->metrics.host, o->metrics.host) != 0 ||
	    n->metrics.port != o->metrics.port) {
		log_warnx("reload: metrics listen changed, restart pvd to "
		    "apply");
		n->has_metrics = o->has_metrics;
		n->metrics = o->metrics;
	}
	if (n->discover_local != o->discover_local) {
		log_warnx("reload: discover local changed, restart pvd to "
		    "apply");
		n->discover_local = o->discover_local;
	}
	if (!endpoints_equal(&nconf->listen, &oconf->listen)) {
		log_warnx("reload: listen changed, restart pvd to apply");
		while ((e = TAILQ_FIRST(&nconf->listen)) != NULL) {
			TAILQ_REMOVE(&nconf->listen, e, entry);
			free(e);
		}
		TAILQ_FOREACH(e, &oconf->listen, entry)
			if (config_add_endpoint(&nconf->listen, &e->ep) == -1)
				fatal("reload");
	}
}

/*
 * Re-read the configuration.  A file with errors is reported and the
 * running configuration kept.  A request from pvctl (ctlid != 0) gets
 * the outcome as IMSG_CTL_RESULT through pv-netd.
 */
void
parent_reload(uint32_t ctlid)
{
	struct pv_config	*nconf;
	struct ctl_result	 res;
	size_t			 i;

	memset(&res, 0, sizeof(res));
	log_info("reloading configuration %s", pvd_env->conffile);
	notify_systemd("RELOADING=1");

	if ((nconf = parse_config(pvd_env->conffile,
	    pvd_env->conf_flags | PARSE_LOG)) == NULL) {
		log_warnx("configuration file %s has errors, not reloading",
		    pvd_env->conffile);
		res.code = 1;
		snprintf(res.msg, sizeof(res.msg), "configuration not "
		    "reloaded, old one kept: %s", parse_last_error());
	} else {
		/* -s wins over the file */
		strlcpy(nconf->g.socket_path, pvd_env->sockpath,
		    sizeof(nconf->g.socket_path));
		reload_keep_startup(nconf, pvd_env->conf);
		config_clear(pvd_env->conf);
		free(pvd_env->conf);
		pvd_env->conf = nconf;
		for (i = PROC_STORAGE; i < PROC_MAX; i++)
			child_send_config(&pvd_env->children[i]);
		log_info("configuration reloaded");
		snprintf(res.msg, sizeof(res.msg), "configuration reloaded");
	}
	if (pvd_env->all_ready)
		notify_systemd("READY=1");

	if (ctlid != 0)
		imsg_compose_event(&pvd_env->children[PROC_NET].iev,
		    IMSG_CTL_RESULT, ctlid, 0, -1, &res, sizeof(res));
}

void
parent_shutdown(int code)
{
	notify_systemd("STOPPING=1");
	children_stop();
	control_close();
	explicit_bzero(&pvd_env->keys_storage, sizeof(pvd_env->keys_storage));
	explicit_bzero(&pvd_env->keys_net, sizeof(pvd_env->keys_net));
	log_info("%s", code == 0 ? "terminating" : "exiting on error");
	exit(code);
}

static void
parent_sig_handler(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		pvd_env->shutting_down = 1;
		parent_shutdown(0);
		/* NOTREACHED */
	case SIGHUP:
		parent_reload(0);
		break;
	case SIGCHLD:
		children_reap();
		break;
	}
}

/* -s and relative -f are made absolute: the paths serve across reloads. */
static const char *
absolute_path(const char *path)
{
	char	cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return (path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		err(1, "getcwd");
	if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		err(1, "asprintf");
	return (abs);
}

static void
resolve_user(struct parent *env)
{
	struct passwd	*pw;

	if (geteuid() != 0) {
		env->privsep = 0;
		env->uid = geteuid();
		env->gid = getegid();
		return;
	}
	env->privsep = 1;
	if ((pw = getpwnam(env->conf->g.user)) == NULL)
		errx(1, "unknown user %s: create it (make install-user, or "
		    "see README.md), or set another with \"user\" in %s",
		    env->conf->g.user, env->conffile);
	if (pw->pw_uid == 0)
		errx(1, "user %s is root: the children must run "
		    "unprivileged", env->conf->g.user);
	env->uid = pw->pw_uid;
	env->gid = pw->pw_gid;
}

int
main(int argc, char *argv[])
{
	struct parent	 env;
	uint8_t		 netkey[PVD_KEY_LEN];
	const char	*sockopt = NULL, *libexec;
	sigset_t	 sigs;
	int		 ch, noaction = 0, missing_ok = 1;
	size_t		 i, argv0len = strlen(argv[0]);

	memset(&env, 0, sizeof(env));
	pvd_env = &env;
	env.conffile = PVD_CONF_FILE;
	env.control_fd = -1;

	log_init(1, LOG_DAEMON);	/* stderr until daemonized */
	log_procinit("pvd");

	while ((ch = getopt(argc, argv, "D:df:ns:v")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(1, "could not parse macro definition %s",
				    optarg);
			break;
		case 'd':
			env.debug = 1;
			break;
		case 'f':
			env.conffile = optarg;
			missing_ok = 0;
			break;
		case 'n':
			noaction = 1;
			break;
		case 's':
			sockopt = optarg;
			break;
		case 'v':
			env.verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0)
		usage();

	env.conffile = absolute_path(env.conffile);
	env.conf_flags = missing_ok ? PARSE_MISSING_OK : 0;
	if ((env.conf = parse_config(env.conffile, env.conf_flags)) == NULL)
		exit(1);
	if (noaction) {
		if (env.verbose)
			print_config(stdout, env.conf);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	if (sockopt != NULL) {
		if (strlcpy(env.sockpath, absolute_path(sockopt),
		    sizeof(env.sockpath)) >= sizeof(env.sockpath))
			errx(1, "socket path too long: %s", sockopt);
	} else
		strlcpy(env.sockpath, env.conf->g.socket_path,
		    sizeof(env.sockpath));
	/* -s wins over the file, now and across reloads */
	strlcpy(env.conf->g.socket_path, env.sockpath,
	    sizeof(env.conf->g.socket_path));

	if ((libexec = getenv("PV_LIBEXEC_DIR")) == NULL || *libexec == '\0')
		libexec = PVD_LIBEXEC_DIR;
	env.libexec = libexec;
	for (i = PROC_STORAGE; i < PROC_MAX; i++) {
		char	path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", env.libexec,
		    pv_procs[i].binary);
		if (access(path, X_OK) == -1)
			err(1, "%s", path);
	}

	/* Everything that can fail on the user's terminal, fails here. */
	resolve_user(&env);
	control_check_running(env.sockpath);
	key_load(env.conf->g.key_file, netkey);
	if (key_derive_storage(netkey, &env.keys_storage) == -1 ||
	    key_derive_net(netkey, &env.keys_net) == -1)
		errx(1, "cannot derive keys from %s", env.conf->g.key_file);
	explicit_bzero(netkey, sizeof(netkey));
	datadir_prepare(env.conf);
	if (env.privsep)
		emptydir_prepare();
	else
		log_warnx("not running as root: the children are not "
		    "chrooted and keep uid %u; the seccomp sandbox still "
		    "applies", (unsigned)env.uid);
	listeners_open(env.conf);

	/* held until the event loop handles them, then delivered */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	control_open();

	log_init(env.debug, LOG_DAEMON);
	log_procinit("pvd");
	log_setverbose(env.verbose);
	if (!env.debug && daemon(1, 0) == -1) {
		control_close();
		fatal("daemon");
	}
	parent_pid = getpid();
	atexit(parent_atexit);

	/*
	 * libbsd marks a title shorter than the original argv[0] with a
	 * trailing '.'; blanks that pad it to that length show as nothing.
	 */
	setproctitle("-%-*s", (int)argv0len, "pvd: parent");
	clock_gettime(CLOCK_MONOTONIC, &env.start_time);
	log_info("starting PeerVault %s", PACKAGE_VERSION);

	event_init();
	signal_set(&ev_sigint, SIGINT, parent_sig_handler, NULL);
	signal_set(&ev_sigterm, SIGTERM, parent_sig_handler, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig_handler, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig_handler, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);

	children_start();
	event_dispatch();

	parent_shutdown(1);
}
