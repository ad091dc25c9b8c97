/*
 * vmmapid: manages virtual machines over HTTP/JSON.
 *
 * Start-up order matters: sockets are opened before daemonizing (so a
 * busy socket is reported on the terminal), and every thread is created
 * after it, with SIGINT/SIGTERM blocked so that only main's sigwait()
 * sees them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/policy.h"
#include "api/routes.h"
#include "api/vm_guard.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/timefmt.h"
#include "core/images.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "db/db.h"
#include "core/auth.h"
#include "core/events.h"
#include "core/jails.h"
#include "core/pptdevs.h"
#include "server/config.h"
#include "server/cors.h"
#include "server/http.h"
#include "server/http_jails.h"
#include "server/listen.h"
#include "server/limits.h"
#include "server/tls.h"
#include "vmm-driver/detect.h"
#include "vmm-driver/kick.h"
#include "vmm-driver/vmm.h"

/* Seconds between main's idle checks: the heap is trimmed after one to two
 * of them without a request. */
#define MAIN_IDLE_CHECK_S 3

extern const char vmmapid_openapi[];
extern const size_t vmmapid_openapi_len;

/* Applies the host's CPU and memory counts as the defaults and caps. */
static int
main_limits(const struct config *cf, struct api_context *ctx)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t mem_mib = (uint64_t)pages * (uint64_t)psize >> 20;

	if (cpus < 1)
		cpus = 1;
	/* Like hw.vmm.maxcpu: the host's CPUs by default, never past what
	 * a VM may have; more than the host's CPUs only when asked. */
	ctx->ac_max_vcpus =
	    cpus < VMM_MAX_VCPUS ? (unsigned)cpus : VMM_MAX_VCPUS;
	ctx->ac_max_memory_mib = mem_mib;
	if (cf->cf_max_vcpus != 0) {
		if (cf->cf_max_vcpus > VMM_MAX_VCPUS) {
			log_warnx("--max-vcpus %u is more than the %u vCPUs "
				  "a VM may have",
				  cf->cf_max_vcpus, VMM_MAX_VCPUS);
			return -1;
		}
		if (cf->cf_max_vcpus > (unsigned)cpus)
			log_info("--max-vcpus %u is more than the host's %ld "
				 "CPUs: a VM may have more vCPUs than there "
				 "are CPUs, and they share them",
				 cf->cf_max_vcpus, cpus);
		ctx->ac_max_vcpus = cf->cf_max_vcpus;
	}
	if (cf->cf_max_memory_mib != 0) {
		if (cf->cf_max_memory_mib > mem_mib) {
			log_warnx("--max-memory-mib %llu is more than the "
				  "host's %llu MiB",
				  (unsigned long long)cf->cf_max_memory_mib,
				  (unsigned long long)mem_mib);
			return -1;
		}
		ctx->ac_max_memory_mib = cf->cf_max_memory_mib;
	}
	return 0;
}

/*
 * The gid of group name, looked up in a child process: NSS modules
 * (libnss_systemd and its libraries, ~0.4 MB resident) are loaded by the
 * child and never by the long-running daemon.  Called before any thread
 * exists.  0, or -1 when the group does not exist or the lookup failed.
 */
static int
main_lookup_group(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	long got = -1;
	ssize_t n;
	pid_t pid;
	int p[2], status;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 &&
		    res != NULL)
			got = (long)gr.gr_gid;
		n = write(p[1], &got, sizeof(got));
		_exit(n == (ssize_t)sizeof(got) ? 0 : 1);
	}
	close(p[1]);
	do
		n = read(p[0], &got, sizeof(got));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(got) || got < 0)
		return -1;
	*gid = (gid_t)got;
	return 0;
}

/*
 * The vmm group by name or number.  A name that does not exist leaves the
 * group empty (logged): only root may then act.
 */
static int
main_vmm_group(const char *spec, gid_t *gid)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(spec, &end, 10);
	if (*spec >= '0' && *spec <= '9' && *end == '\0' && errno == 0 &&
	    n < (unsigned long)(gid_t)-1) {
		*gid = (gid_t)n;
		return 0;
	}
	if (main_lookup_group(spec, gid) == 0) {
		log_info("vmm group %s is gid %ld", spec, (long)*gid);
		return 0;
	}
	log_warnx("vmm group %s does not exist: only root may use the "
		  "daemon (--vmm-group NAME or GID)",
		  spec);
	*gid = (gid_t)-1;
	return 0;
}

/*
 * The state directory holds the database, the admin token, the images
 * and the daemon's socket: whoever may write in it may put a symlink or a
 * file of their own where one of those goes.  One that exists must belong
 * to the daemon's user (or root) and be writable by its owner only; one
 * the daemon makes is 0755.  Refused rather than fixed: a directory that
 * others could write may already hold what they put there.  0, or -1
 * with the reason logged.
 */
static int
main_check_state_dir(const char *dir)
{
	struct stat st;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0) {
		log_warn("state directory %s", dir);
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		log_warnx("state directory %s belongs to uid %ld, neither the "
			  "daemon's (uid %ld) nor root: its owner could "
			  "replace the database, the token or the socket; "
			  "chown it or choose another --state-dir",
			  dir, (long)st.st_uid, (long)geteuid());
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		log_warnx("state directory %s is mode %04o: others can write "
			  "in it and replace the database, the token or the "
			  "socket; chmod go-w %s (0755 is enough)",
			  dir, (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

static int
main_daemonize(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");

		if (f == NULL)
			return -1;
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	return 0;
}

/*
 * Reads the metrics token from path into its SHA-256: the file's first
 * line, at least 16 bytes.  A file others may read is refused: the
 * token would be theirs too.  0, or -1 with the reason logged.
 */
static int
main_metrics_token(const char *path, unsigned char hash[32])
{
	char buf[512];
	struct stat st;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		log_warn("--metrics-token-file %s", path);
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & S_IROTH)) {
		log_warnx("--metrics-token-file %s: others may read it (mode "
			  "%04o); chmod o-r it",
			  path, (unsigned)(st.st_mode & 07777));
		fclose(f);
		return -1;
	}
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n < 16) {
		log_warnx("--metrics-token-file %s: the token on its first "
			  "line must have at least 16 characters",
			  path);
		return -1;
	}
	sha256(buf, n, hash);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * Applies what can change while running: the log level, the access log,
 * the CORS origins, who may read /metrics, and the per-caller limits
 * (server/limits.h).  At start-up and on SIGHUP.  0, or -1 when something could
 * not be applied (logged; what could not be applied keeps its previous
 * setting).
 */
static int
main_apply(const struct config *cf)
{
	unsigned char hash[32];
	int rc = 0;

	log_set_verbose(cf->cf_verbose);
	log_access_enable(cf->cf_access_log);
	limits_set(&(struct limits_conf){
	    .lc_conns_per_caller = cf->cf_conns_per_caller,
	    .lc_streams_per_caller = cf->cf_streams_per_caller,
	    .lc_header_timeout = cf->cf_header_timeout,
	    .lc_budget = cf->cf_response_budget_mib << 20,
	});
	if (cors_set(cf->cf_cors, cf->cf_ncors) != 0) {
		log_warn("--cors-origin");
		rc = -1;
	}
	if (cf->cf_metrics_token == NULL) {
		api_metrics_set_access(cf->cf_metrics_anonymous, NULL);
	} else if (main_metrics_token(cf->cf_metrics_token, hash) == 0) {
		api_metrics_set_access(cf->cf_metrics_anonymous, hash);
		explicit_bzero(hash, sizeof(hash));
	} else {
		rc = -1;
	}
	return rc;
}

/*
 * Says at start-up that a plain TCP listener on an address other than
 * loopback refuses tokens (server/http.c, http_plain_refused), so that
 * an operator learns it before a client does.
 */
static void
main_say_plain(const struct config *cf, const struct listen_sock *ls)
{
	char addr[64];

	if (ls->ls_unix || ls->ls_tls || cf->cf_allow_plain_tcp ||
	    tls_local_is_loopback(ls->ls_fd, addr, sizeof(addr)))
		return;
	log_info("%s: plain HTTP on an address other than loopback: requests "
		 "with a token are refused there (401); use a tls: listener, "
		 "or --allow-plain-tcp",
		 ls->ls_name);
}

/*
 * SIGHUP: the command line again, with the --config file as it is now;
 * what can change is applied, what cannot is logged (config_reparse).
 */
static void
main_reload(struct config *cf, int argc, char **argv)
{
	struct config next;
	int i;

	if (config_reparse(cf, &next, argc, argv) != 0) {
		log_warnx("SIGHUP: the settings do not parse (the reason went "
			  "to stderr); keeping the current ones");
		return;
	}
	/* Its own log line either way; nothing when no tls: listener. */
	(void)tls_reload(next.cf_tls_cert, next.cf_tls_key);
	if (main_apply(&next) != 0) {
		log_warnx("SIGHUP: some settings were not applied (above); "
			  "the others were");
		config_free(&next);
		return;
	}
	/* Keep what was applied, for the next SIGHUP's comparison. */
	cf->cf_conns_per_caller = next.cf_conns_per_caller;
	cf->cf_streams_per_caller = next.cf_streams_per_caller;
	cf->cf_header_timeout = next.cf_header_timeout;
	cf->cf_response_budget_mib = next.cf_response_budget_mib;
	cf->cf_verbose = next.cf_verbose;
	cf->cf_access_log = next.cf_access_log;
	cf->cf_metrics_anonymous = next.cf_metrics_anonymous;
	for (i = 0; i < cf->cf_ncors; i++)
		free(cf->cf_cors[i]);
	memcpy(cf->cf_cors, next.cf_cors, sizeof(cf->cf_cors));
	cf->cf_ncors = next.cf_ncors;
	next.cf_ncors = 0;
	free(cf->cf_metrics_token);
	cf->cf_metrics_token = next.cf_metrics_token;
	next.cf_metrics_token = NULL;
	config_free(&next);
	log_info("SIGHUP: reloaded: log level %s, access log %s, %d CORS "
		 "origin(s), metrics %s%s, %u connections and %u streams per "
		 "caller, header timeout %u s, response budget %llu MiB",
		 cf->cf_verbose ? "debug" : "info",
		 cf->cf_access_log ? "on" : "off", cf->cf_ncors,
		 cf->cf_metrics_anonymous ? "anonymous" : "host root",
		 cf->cf_metrics_token != NULL ? " and token" : "",
		 (unsigned)cf->cf_conns_per_caller,
		 (unsigned)cf->cf_streams_per_caller,
		 (unsigned)cf->cf_header_timeout,
		 (unsigned long long)cf->cf_response_budget_mib);
}

/* vmrun_autostart's question, answered by the access policy. */
static int
main_autostart_allowed(void *arg, const char *name, uid_t owner,
		       const char *jail, unsigned *max_runs, char *why,
		       size_t len)
{
	return policy_check_autostart(arg, name, owner, jail, max_runs, why,
				      len);
}

/*
 * Waits for one of sigs for up to MAIN_IDLE_CHECK_S seconds; returns it,
 * or 0 after the wait.  When no request began since the previous wait and
 * none is under way, gives the heap's free memory back to the kernel,
 * once per idle spell: the fixed trim threshold (main) keeps it while
 * requests come, and nothing needs it while none do.
 */
static int
main_wait_signal(const sigset_t *sigs, struct http_server *http)
{
	static unsigned long seen, trimmed = (unsigned long)-1;
	const struct timespec ts = {MAIN_IDLE_CHECK_S, 0};
	unsigned long begun;
	int sig, inflight;

	if ((sig = sigtimedwait(sigs, NULL, &ts)) > 0)
		return sig;
	begun = http_activity(http, &inflight);
	if (begun == seen && inflight == 0 && begun != trimmed) {
#ifdef __GLIBC__
		malloc_trim(0);
#endif
		trimmed = begun;
	}
	seen = begun;
	return 0;
}

/*
 * Says at start whether a guest's processes reach the VMware backdoor
 * (kvm.enable_vmware_backdoor): without it vmware-rpctool inside a Linux
 * guest dies of SIGSEGV, and the operator should hear why and the fix.
 */
static void
main_log_backdoor_user(void)
{
	switch (vmm_kvm_backdoor_user(VMM_KVM_BACKDOOR_PARAM)) {
	case 1:
		log_info("kvm: enable_vmware_backdoor=Y: guests' user space "
			 "reaches the guestinfo backdoor (vmware-rpctool works "
			 "in Linux guests)");
		break;
	case 0:
		log_info("kvm: enable_vmware_backdoor=N: only a guest's kernel "
			 "reaches the guestinfo backdoor, vmware-rpctool in a "
			 "Linux guest dies of SIGSEGV; load kvm with "
			 "enable_vmware_backdoor=1 (modprobe kvm "
			 "enable_vmware_backdoor=1, or options kvm "
			 "enable_vmware_backdoor=1 in /etc/modprobe.d) for it");
		break;
	default:
		log_info("kvm: %s: %s: cannot tell whether guests' user space "
			 "reaches the guestinfo backdoor",
			 VMM_KVM_BACKDOOR_PARAM, strerror(errno));
		break;
	}
}

int
main(int argc, char **argv)
{
	struct config cf;
	struct api_context ctx;
	struct policy policy;
	struct listen_sock socks[CONFIG_MAX_LISTEN];
	struct http_options hopt;
	struct http_server *http = NULL;
	struct db *db = NULL;
	struct vmreg *reg = NULL;
	struct auth *auth = NULL;
	struct jails *jails = NULL;
	struct pptdevs *pptdevs = NULL;
	struct http_jails *hjails = NULL;
	struct jail_info *jl = NULL;
	size_t njl = 0, k;
	struct images *images = NULL;
	struct vmrun *vmrun = NULL;
	struct events *events = NULL;
	struct events_opts evopt;
	char(*was_live)[VMKEY_SIZE] = NULL;
	size_t nwas_live = 0;
	char images_dir[4096], cache_dir[4096];
	char reason[512];
	sigset_t sigs, kick;
	int i, nsocks = 0, have_tcp = 0, have_tls = 0, sig, rc = 1, spares = 0;

	switch (config_parse(&cf, argc, argv)) {
	case 1:
		config_free(&cf);
		return 0;
	case -1:
		config_free(&cf);
		return 2;
	}
	log_init(1, cf.cf_verbose);
	log_access_enable(cf.cf_access_log);
#ifdef __GLIBC__
	/*
	 * glibc gives freed memory back to the kernel and faults it in again
	 * on the next request; with dozens of threads that cost a quarter to
	 * a half of the CPU of a create (docs/benchmarks.md).  A fixed trim
	 * threshold keeps up to 64 MiB of free heap instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif

	/* Only main's sigwait() takes these; every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* The vCPU kick: only vCPU threads take it (they unblock it). */
	sigemptyset(&kick);
	sigaddset(&kick, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&ctx, 0, sizeof(ctx));
	memset(&policy, 0, sizeof(policy));
	if (api_routes_check() != 0 || api_metrics_init() != 0)
		fatalx("the route table is inconsistent");
	if (main_apply(&cf) != 0)
		goto out;
	if (main_limits(&cf, &ctx) != 0)
		goto out;
	if (vmm_detect(cf.cf_driver, &ctx.ac_driver, reason, sizeof(reason)) !=
	    0) {
		log_warnx("%s", reason);
		goto out;
	}
	ctx.ac_driver_reason = reason;
	ctx.ac_ops =
	    strcmp(ctx.ac_driver, "kvm") == 0 ? &vmm_kvm_ops : &vmm_sim_ops;
	log_info("driver %s (%s)", ctx.ac_driver, reason);
	if (strcmp(ctx.ac_driver, "kvm") == 0)
		main_log_backdoor_user();

	/* Traversable, so that callers reach the socket; what is secret in
	 * it (database, token) has its own mode. */
	if (mkdir(cf.cf_state_dir, 0755) != 0 && errno != EEXIST) {
		log_warn("state directory %s", cf.cf_state_dir);
		goto out;
	}
	if (main_check_state_dir(cf.cf_state_dir) != 0)
		goto out;
	for (i = 0; i < cf.cf_nlisten; i++) {
		if (listen_open(cf.cf_listen[i], &socks[nsocks]) != 0)
			goto out;
		have_tcp |= !socks[nsocks].ls_unix;
		have_tls |= socks[nsocks].ls_tls;
		main_say_plain(&cf, &socks[nsocks]);
		nsocks++;
	}
	/* config_parse made sure a tls: listener has both files. */
	if (have_tls && tls_open(cf.cf_tls_cert, cf.cf_tls_key) != 0)
		goto out;
	if (!cf.cf_foreground) {
		if (main_daemonize(cf.cf_pidfile) != 0) {
			log_warn("daemonize");
			goto out;
		}
		log_init(0, cf.cf_verbose);
	}

	/* Before db_open starts the first thread: it forks. */
	if (main_vmm_group(cf.cf_vmm_group, &policy.po_vmm_gid) != 0)
		goto out;
	if ((cf.cf_disk_reserve_mib > 0
		 ? db_open_headroom(&db, cf.cf_db, LIMIT_DISK_HEADROOM)
		 : db_open(&db, cf.cf_db)) != 0) {
		log_warn("database %s", cf.cf_db);
		goto out;
	}
	/* db_open made the database, -wal and -shm 0600 (the daemon's). */
	evopt.eo_buffer = cf.cf_events_buffer;
	evopt.eo_keepalive_s = cf.cf_events_keepalive;
	evopt.eo_keep = (int64_t)cf.cf_events_keep;
	evopt.eo_max_age_s = cf.cf_events_max_age;
	/* Before the first write: reconciliation's events go to it. */
	if (events_open(&events, db, &evopt) != 0) {
		log_warn("event journal");
		goto out;
	}
	policy.po_max_running = cf.cf_max_running;
	if (vmreg_open(&reg, db) != 0) {
		log_warn("loading VM definitions");
		goto out;
	}
	if (auth_open(&auth, db) != 0) {
		log_warn("loading tokens");
		goto out;
	}
	if (have_tcp && auth_bootstrap(auth, cf.cf_state_dir) != 0)
		goto out;
	snprintf(images_dir, sizeof(images_dir), "%s/images", cf.cf_state_dir);
	if (images_open(&images, db, images_dir) != 0) {
		log_warn("image store %s", images_dir);
		goto out;
	}
	/* Kernels the loader decompressed, per image digest (#15). */
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", cf.cf_state_dir);
	/* What vmrun_open will find not running after all. */
	if (vmreg_names(reg, vm_state_is_live, &was_live, &nwas_live) != 0)
		goto out;
	if (vmrun_open(&vmrun, reg, images, ctx.ac_ops, cache_dir) != 0) {
		log_warn("VM runtime");
		goto out;
	}
	/* Signals are blocked and the process has forked for good. */
	if (cf.cf_spare_vms > 0 && ctx.ac_ops->vo_spares_open != NULL) {
		if (ctx.ac_ops->vo_spares_open(cf.cf_spare_vms) == 0) {
			spares = 1;
			log_info("%s: keeping %u VM(s) made ahead of starts",
				 ctx.ac_driver, cf.cf_spare_vms);
		} else {
			log_warn("%s: VMs made ahead (--spare-vms); starts "
				 "make their own",
				 ctx.ac_driver);
		}
	}
	if (events_daemon_started(db, VMMAPID_VERSION, was_live, nwas_live) !=
	    0)
		log_warn("recording the daemon's start");
	ctx.ac_events = events;

	ctx.ac_vmreg = reg;
	ctx.ac_db = db;
	ctx.ac_images = images;
	ctx.ac_vmrun = vmrun;
	ctx.ac_spool_dir = images_spool_dir(images);
	ctx.ac_state_dir = cf.cf_state_dir;
	ctx.ac_upload_max = cf.cf_upload_max_mib << 20;
	ctx.ac_disk_reserve = cf.cf_disk_reserve_mib << 20;
	ctx.ac_openapi = vmmapid_openapi;
	ctx.ac_openapi_len = vmmapid_openapi_len;
	ctx.ac_started_at_ms = (uint64_t)timefmt_now_ms();
	if ((ctx.ac_audit_rate =
		 api_audit_rate_new(LIMIT_AUDIT_REFUSED_PER_MINUTE)) == NULL ||
	    (ctx.ac_vm_guard = vm_guard_new()) == NULL) {
		log_warn("the audit log's rate of refused requests, the VM "
			 "guard");
		goto out;
	}

	memset(&hopt, 0, sizeof(hopt));
	hopt.ho_threads = cf.cf_http_threads;
	if (hopt.ho_threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		hopt.ho_threads = n > 0 ? (unsigned)n : 1;
	}
	hopt.ho_per_connection = cf.cf_per_connection;
	hopt.ho_conn_limit = cf.cf_conn_limit;
	hopt.ho_conn_reserve = cf.cf_conn_reserve;
	hopt.ho_conn_timeout = cf.cf_conn_timeout;
	hopt.ho_workers = cf.cf_workers;
	hopt.ho_verbose = cf.cf_verbose;
	hopt.ho_allow_plain_tcp = cf.cf_allow_plain_tcp;
	/* Jails, and the hooks that give them sockets while running. */
	if (jails_open(&jails, db) != 0) {
		log_warn("loading jails");
		goto out;
	}
	if (http_jails_new(&hjails) != 0) {
		log_warn("jail listeners");
		goto out;
	}
	ctx.ac_jails = jails;
	ctx.ac_auth = auth;
	ctx.ac_jail_listen = http_jails_listen;
	ctx.ac_jail_unlisten = http_jails_unlisten;
	ctx.ac_listen_cls = hjails;
	hopt.ho_jails = hjails;
	/* The stored jails' sockets, bound now and served from http_start
	 * on; one that cannot be bound is logged and left for a PUT of its
	 * jail to retry. */
	if (jails_list(jails, &jl, &njl) == 0) {
		for (k = 0; k < njl; k++)
			if (jl[k].ji_socket[0] != '\0' &&
			    http_jails_listen(hjails, jl[k].ji_name,
					      jl[k].ji_socket) != 0)
				log_warn("jail %s: listening on %s",
					 jl[k].ji_name, jl[k].ji_socket);
		free(jl);
	}
	policy.po_jails = ctx.ac_jails;
	ctx.ac_policy = &policy;
	/*
	 * Once the policy knows the jails: it decides whose VMs may.  The
	 * passthrough devices first: an autostarted VM may be given some.
	 */
	if (pptdevs_open(&pptdevs, db, cf.cf_sysfs_root, cf.cf_ppt_bind) != 0) {
		log_warn("loading PCI passthrough reservations");
		goto out;
	}
	ctx.ac_pptdevs = pptdevs;
	vmrun_set_pptdevs(vmrun, pptdevs);
	vmrun_autostart(vmrun, main_autostart_allowed, &policy);
	if (http_start(&http, &ctx, auth, socks, nsocks, &hopt) != 0)
		goto out;
	log_info("vmmapid %s ready (database %s, schema %d)", VMMAPID_VERSION,
		 cf.cf_db, db_schema_version());

	for (;;) {
		if ((sig = main_wait_signal(&sigs, http)) <= 0)
			continue;
		if (sig == SIGHUP) {
			main_reload(&cf, argc, argv);
			continue;
		}
		log_info("%s: finishing requests in flight (at most %us)",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT",
			 cf.cf_shutdown_timeout);
		break;
	}
	http_stop(http, cf.cf_shutdown_timeout);
	http = NULL;
	rc = 0;
out:
	http_stop(http, 0);
	/* No request is left: what the last minutes did not keep is said. */
	api_audit_rate_flush(&ctx, 0);
	api_audit_rate_free(ctx.ac_audit_rate);
	vm_guard_free(ctx.ac_vm_guard);
	for (i = 0; i < nsocks; i++)
		listen_close(&socks[i]);
	/* Every TLS session went with its listener. */
	tls_close();
	vmrun_close(vmrun);
	if (spares)
		ctx.ac_ops->vo_spares_close();
	images_close(images);
	http_jails_free(hjails);
	jails_close(jails);
	pptdevs_close(pptdevs);
	auth_close(auth);
	vmreg_close(reg);
	db_close(db);
	events_close(events); /* after db_close: it publishes to the last */
	free(was_live);
	if (rc == 0)
		log_info("stopped");
	if (!cf.cf_foreground && cf.cf_pidfile != NULL)
		unlink(cf.cf_pidfile);
	cors_clear();
	config_free(&cf);
	return rc;
}
