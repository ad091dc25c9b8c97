#include "core/vmrun.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "base/console.h"
#include "core/guestinfo.h"
#include "core/images.h"
#include "core/pptdevs.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "core/vmreg.h"
#include "db/db.h"
#include "vmm-driver/lxboot.h"
#include "vmm-driver/ppt.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

/* The spec's bound and the loader's are one. */
_Static_assert((uint64_t)LIMIT_LINUX_MEMORY_MIB << 20 == LXBOOT_MEMORY_MAX,
	       "LIMIT_LINUX_MEMORY_MIB is not LXBOOT_MEMORY_MAX");

/* What a backend must offer (vo_features) to boot a Linux kernel. */
#define VMRUN_FEATURE_LINUX "linux-boot"
#define VMRUN_FEATURE_PPT "pci-passthrough"

/* One VM's runtime. */
struct vmrt {
	char vt_name[VMKEY_SIZE]; /* the VM's key */
	struct vmrun *vt_vr;
	unsigned vt_refs;           /* guarded by vr_lock */
	int vt_listed;              /* in the table; guarded by vr_lock */
	pthread_mutex_t vt_lock;    /* serializes lifecycle operations */
	struct console *vt_console; /* created on first use */
	/* NULL when not running; written under vt_lock and vr_lock both. */
	struct runner *vt_runner;
	uint64_t
	    vt_run; /* run identity (vmrun_next_run); vt_lock and vr_lock */
	/* The images of this run, each pinned while it runs: the flat
	 * image or the kernel, and a Linux boot's initrd. */
	void *vt_image;
	char vt_image_name[65];
	void *vt_initrd;
	char vt_initrd_name[65];
	/* A Linux boot's loader configuration (rc_linux), pointing into
	 * the two images above and the strings below. */
	struct lxboot_config vt_linux;
	char vt_kernel_sha256[65];
	char vt_cmdline[LIMIT_CMDLINE_LEN + 1];
	char vt_started_at[40];
	/* Set by the runner's exit callback, under vr_lock. */
	struct runner_exit vt_exit;
	uint64_t vt_exited_run; /* the run that ended */
	int vt_reap_queued;     /* in the reaper's queue; vr_lock */
	/* A stop is waiting for the run to end, without vt_lock: it, not
	 * the reaper, finishes the run.  Guarded by vt_lock. */
	int vt_stopping;
	/* The VM's owner, and whether this runtime counts towards the
	 * owner's running VMs (a run, or a start under way); vr_lock. */
	uid_t vt_owner;
	int vt_counts;
	/* The guest's guestinfo channel of the current run. */
	struct guestinfo_channel vt_guestinfo;
	struct vmrt *vt_next;      /* table */
	struct vmrt *vt_reap_next; /* reaper queue */
};

struct vmrun {
	struct vmreg *vr_reg;
	struct images *vr_images;
	const struct vmm_ops *vr_ops;
	char *vr_cache_dir;         /* decompressed kernels; NULL: none */
	struct pptdevs *vr_pptdevs; /* vmrun_set_pptdevs; NULL: none */
	pthread_mutex_t vr_lock; /* guards the table, refs, the reaper queue */
	struct vmrt *vr_list;
	pthread_cond_t vr_reap_cond;
	struct vmrt *vr_reap_head;
	int vr_stopping;
	pthread_t vr_reaper;
	uint64_t vr_last_run; /* the last run identity handed out; vr_lock */
};

/*
 * A new run identity, vr_lock held.  Unique for the daemon's life (each
 * is past the last one) and across restarts: each is at least the
 * wall clock in microseconds, so a daemon started after another one
 * stopped hands out identities past all of the old one's, unless the
 * clock was set back between the two by more than the old daemon ran.
 * Never per VM: a VM deleted and defined again must not reuse its
 * predecessor's numbers (issue #14, finding 3: a monitor-mode request
 * that outlived its run stopped another user's VM of the same name).
 * Microseconds, not nanoseconds: below 2^53 until the year 2255, so a
 * JSON reader with doubles keeps every one exact.
 */
static uint64_t
vmrun_next_run(struct vmrun *vr)
{
	struct timespec ts;
	uint64_t now = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		now = (uint64_t)ts.tv_sec * 1000000u +
		      (uint64_t)ts.tv_nsec / 1000u;
	vr->vr_last_run = now > vr->vr_last_run ? now : vr->vr_last_run + 1;
	return vr->vr_last_run;
}

/* Sets the runner (vt_lock held): readers under vr_lock see it too. */
static void
vmrt_set_runner(struct vmrun *vr, struct vmrt *vt, struct runner *r)
{
	pthread_mutex_lock(&vr->vr_lock);
	vt->vt_runner = r;
	vt->vt_counts = r != NULL;
	pthread_mutex_unlock(&vr->vr_lock);
}

static void
vmrt_unref(struct vmrun *vr, struct vmrt *vt)
{
	int last;

	pthread_mutex_lock(&vr->vr_lock);
	last = --vt->vt_refs == 0;
	pthread_mutex_unlock(&vr->vr_lock);
	if (!last)
		return;
	console_free(vt->vt_console);
	pthread_mutex_destroy(&vt->vt_lock);
	free(vt);
}

/* VM name's runtime in the table, or NULL.  vr_lock held. */
static struct vmrt *
vmrt_find_locked(struct vmrun *vr, const char *name)
{
	struct vmrt *vt;

	for (vt = vr->vr_list; vt != NULL; vt = vt->vt_next)
		if (strcmp(vt->vt_name, name) == 0)
			break;
	return vt;
}

/* VM name's runtime, created when missing, with a reference. */
static struct vmrt *
vmrt_get(struct vmrun *vr, const char *name)
{
	struct vmrt *vt;

	pthread_mutex_lock(&vr->vr_lock);
	vt = vmrt_find_locked(vr, name);
	if (vt == NULL && (vt = calloc(1, sizeof(*vt))) != NULL) {
		snprintf(vt->vt_name, sizeof(vt->vt_name), "%s", name);
		vt->vt_vr = vr;
		vt->vt_refs = 1; /* the table's */
		vt->vt_listed = 1;
		pthread_mutex_init(&vt->vt_lock, NULL);
		vt->vt_next = vr->vr_list;
		vr->vr_list = vt;
	}
	if (vt != NULL)
		vt->vt_refs++;
	pthread_mutex_unlock(&vr->vr_lock);
	if (vt == NULL)
		errno = ENOMEM;
	return vt;
}

/*
 * VM name's runtime with a reference, its vt_lock held: the one in the
 * table.  A runtime taken from the table by vmrun_delete (under its
 * vt_lock) may still be waited on by an operation that got it before;
 * that operation must not start a run on it (nobody would find the run,
 * and its console is freed with the last reference), so it takes the
 * name's current runtime instead.  NULL with errno (ENOMEM).
 */
static struct vmrt *
vmrt_lock(struct vmrun *vr, const char *name)
{
	struct vmrt *vt;
	int listed;

	for (;;) {
		if ((vt = vmrt_get(vr, name)) == NULL)
			return NULL;
		pthread_mutex_lock(&vt->vt_lock);
		pthread_mutex_lock(&vr->vr_lock);
		listed = vt->vt_listed;
		pthread_mutex_unlock(&vr->vr_lock);
		if (listed)
			return vt;
		pthread_mutex_unlock(&vt->vt_lock);
		vmrt_unref(vr, vt);
	}
}

/*
 * Writes a state with status details: base (borrowed; NULL: the current
 * details), the change time, and what set adds (borrowed; may be NULL).
 * Durable when it returns 0 (the registry's write is).
 */
static int
vmrun_record_on(struct vmrun *vr, const char *name, enum vm_state state,
		const json_t *base, json_t *set)
{
	enum vm_state prev_state;
	char now[40];
	json_t *status;
	int rc;

	if (base != NULL) {
		if ((status = json_deep_copy(base)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
	} else if (vmreg_get_state(vr->vr_reg, name, &prev_state, &status) !=
		   0) {
		return -1;
	}
	timefmt_rfc3339(timefmt_now_ms(), now, sizeof(now));
	json_object_set_new(status, "state_changed_at", json_string(now));
	if (set != NULL)
		json_object_update(status, set);
	rc = vmreg_set_state(vr->vr_reg, name, state, status);
	if (rc == 0)
		log_debug("vm %s: recorded %s", name, vm_state_name(state));
	if (rc != 0)
		log_warn("vm %s: recording state %s", name,
			 vm_state_name(state));
	json_decref(status);
	return rc;
}

/* vmrun_record_on the current details. */
static int
vmrun_record(struct vmrun *vr, const char *name, enum vm_state state,
	     json_t *set)
{
	return vmrun_record_on(vr, name, state, NULL, set);
}

/*
 * Gives back what vt's run holds, when it holds anything: its images'
 * pins (and frees them) and its passthrough devices.  vt_lock.
 */
static void
vmrt_release(struct vmrun *vr, struct vmrt *vt)
{
	if (vr->vr_pptdevs != NULL)
		pptdevs_unclaim(vr->vr_pptdevs, vt->vt_name);
	if (vt->vt_image_name[0] != '\0')
		images_unpin(vr->vr_images, vt->vt_image_name);
	if (vt->vt_initrd_name[0] != '\0')
		images_unpin(vr->vr_images, vt->vt_initrd_name);
	vt->vt_image_name[0] = vt->vt_initrd_name[0] = '\0';
	free(vt->vt_image);
	free(vt->vt_initrd);
	vt->vt_image = vt->vt_initrd = NULL;
	memset(&vt->vt_linux, 0, sizeof(vt->vt_linux));
}

/*
 * Ends a run whose runner has stopped: frees it, then records it, so that
 * a VM on record as stopped holds nothing (its image may be deleted at
 * once; under valgrind a DELETE between the two was a 409).  vt_lock.
 */
static void
vmrun_finish(struct vmrun *vr, struct vmrt *vt)
{
	const struct runner_exit *ex = &vt->vt_exit;
	enum vm_state state =
	    ex->re_state == RUNNER_CRASHED ? VM_CRASHED : VM_STOPPED;
	char now[40];
	json_t *set;

	runner_free(vt->vt_runner);
	vmrt_set_runner(vr, vt, NULL);
	vmrt_release(vr, vt);
	timefmt_rfc3339(timefmt_now_ms(), now, sizeof(now));
	set = json_pack("{s:s, s:s, s:o}", "stopped_at", now, "exit_reason",
			ex->re_reason, "exit_status",
			ex->re_has_status ? json_integer(ex->re_status)
					  : json_null());
	vmrun_record(vr, vt->vt_name, state, set);
	json_decref(set);
	log_info("vm %s: %s (%s%s)", vt->vt_name, vm_state_name(state),
		 ex->re_reason, ex->re_has_status ? ", with a status" : "");
	console_close(vt->vt_console);
}

/*
 * The runner's exit callback, on a runner thread: keeps how the run ended
 * and hands the VM to the reaper.  Taking vt_lock here could deadlock
 * with a stop that holds it while it waits for this very call.
 */
static void
vmrun_on_exit(void *cls, const struct runner_exit *ex)
{
	struct vmrt *vt = cls;
	struct vmrun *vr = vt->vt_vr;

	pthread_mutex_lock(&vr->vr_lock);
	vt->vt_exit = *ex;
	/* The current run: only one runs at a time. */
	vt->vt_exited_run = vt->vt_run;
	/*
	 * Queued once: a run stopped by request (or by a start that could
	 * not record it) leaves an entry the reaper skips, and the next run
	 * may end before the reaper got to it.  The entry looks at the
	 * latest run.
	 */
	if (!vt->vt_reap_queued) {
		vt->vt_reap_queued = 1;
		vt->vt_refs++;
		vt->vt_reap_next = vr->vr_reap_head;
		vr->vr_reap_head = vt;
		pthread_cond_signal(&vr->vr_reap_cond);
	}
	pthread_mutex_unlock(&vr->vr_lock);
}

/* Records runs that ended by themselves (a stop records its own). */
static void *
vmrun_reaper(void *arg)
{
	struct vmrun *vr = arg;
	struct vmrt *vt;
	int ended;

	pthread_mutex_lock(&vr->vr_lock);
	for (;;) {
		while (vr->vr_reap_head == NULL && !vr->vr_stopping)
			pthread_cond_wait(&vr->vr_reap_cond, &vr->vr_lock);
		if ((vt = vr->vr_reap_head) == NULL)
			break;
		vr->vr_reap_head = vt->vt_reap_next;
		vt->vt_reap_queued = 0;
		pthread_mutex_unlock(&vr->vr_lock);

		pthread_mutex_lock(&vt->vt_lock);
		pthread_mutex_lock(&vr->vr_lock);
		ended = vt->vt_exited_run == vt->vt_run;
		pthread_mutex_unlock(&vr->vr_lock);
		if (vt->vt_runner != NULL && !vt->vt_stopping && ended)
			vmrun_finish(vr, vt);
		pthread_mutex_unlock(&vt->vt_lock);
		vmrt_unref(vr, vt);
		pthread_mutex_lock(&vr->vr_lock);
	}
	pthread_mutex_unlock(&vr->vr_lock);
	return NULL;
}

int
vmrun_open(struct vmrun **out, struct vmreg *reg, struct images *im,
	   const struct vmm_ops *ops, const char *cache_dir)
{
	struct vmrun *vr = calloc(1, sizeof(*vr));
	sigset_t all, old;
	size_t i, n;
	char(*names)[VMKEY_SIZE];
	int rc;

	if (vr == NULL)
		return -1;
	vr->vr_reg = reg;
	vr->vr_images = im;
	vr->vr_ops = ops;
	/* Kernels decompressed from images: the daemon's alone. Absolute,
	 * as the images' directory is. */
	if (cache_dir != NULL) {
		if (mkdir(cache_dir, 0750) != 0 && errno != EEXIST) {
			log_warn("creating the kernel cache %s", cache_dir);
			free(vr);
			return -1;
		}
		if ((vr->vr_cache_dir = realpath(cache_dir, NULL)) == NULL) {
			log_warn("the kernel cache %s", cache_dir);
			free(vr);
			return -1;
		}
	}
	pthread_mutex_init(&vr->vr_lock, NULL);
	pthread_cond_init(&vr->vr_reap_cond, NULL);

	/* Nothing runs across a restart of the process. */
	if (vmreg_names(reg, vm_state_is_live, &names, &n) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		enum vm_state was = VM_RUNNING;
		char now[40];
		json_t *set, *st;

		if (vmreg_get_state(reg, names[i], &was, &st) == 0)
			json_decref(st);
		timefmt_rfc3339(timefmt_now_ms(), now, sizeof(now));
		set = json_pack(
		    "{s:s, s:s, s:n}", "stopped_at", now, "exit_reason",
		    "the daemon stopped while the VM ran", "exit_status");
		log_info("vm %s: was %s when the daemon stopped; now stopped",
			 names[i], vm_state_name(was));
		vmrun_record(vr, names[i], VM_STOPPED, set);
		json_decref(set);
	}
	free(names);

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&vr->vr_reaper, NULL, vmrun_reaper, vr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	*out = vr;
	return 0;
fail:
	pthread_cond_destroy(&vr->vr_reap_cond);
	pthread_mutex_destroy(&vr->vr_lock);
	free(vr->vr_cache_dir);
	free(vr);
	return -1;
}

static struct vmrt *vmrun_enter(struct vmrun *vr, const char *name,
				unsigned what, struct vmreg_view *v, char *why,
				size_t len);
static void vmrun_leave(struct vmrun *vr, struct vmrt *vt);
static int vmrun_start_as(struct vmrun *vr, const char *name,
			  const struct vmrun_quota *quota, const char *cause,
			  uint64_t *run, char *why, size_t len);

/*
 * Records that VM name's autostart did not happen: result ("refused":
 * the policy said no; "failed": the start did), why, and when, as its
 * status.autostart, told as vm.autostart_failed; its state stays.  A
 * later start that works clears it (vmrun_start_as), a later autostart
 * that does not replaces it.  A failure to record is logged.
 */
static void
vmrun_autostart_note(struct vmrun *vr, const char *name, const char *result,
		     const char *reason)
{
	struct vmreg_view v;
	struct vmrt *vt;
	char at[40], why[256];
	json_t *status;

	if ((vt = vmrun_enter(vr, name, VMREG_VIEW_STATUS, &v, why,
			      sizeof(why))) == NULL) {
		log_warnx("vm %s: recording its autostart: %s", name, why);
		return;
	}
	status = v.vv_status;
	timefmt_rfc3339(timefmt_now_ms(), at, sizeof(at));
	if (json_object_set_new(status, "autostart",
				json_pack("{s:s, s:s, s:s}", "result", result,
					  "reason", reason, "at", at)) != 0 ||
	    vmreg_set_state_as(vr->vr_reg, name, v.vv_state, status,
			       "vm.autostart_failed") != 0)
		log_warn("vm %s: recording its autostart", name);
	json_decref(status);
	vmrun_leave(vr, vt);
}

void
vmrun_autostart(struct vmrun *vr, vmrun_autostart_fn allowed, void *arg)
{
	char(*names)[VMKEY_SIZE], why[512], jail[65];
	struct vmrun_quota quota;
	size_t i, n;

	if (vmreg_names(vr->vr_reg, NULL, &names, &n) != 0) {
		log_warn("autostart");
		return;
	}
	for (i = 0; i < n; i++) {
		struct vm_spec spec;

		if (vmreg_get_vm_spec(vr->vr_reg, names[i], &spec) != 0 ||
		    !spec.vs_autostart ||
		    vmreg_get_owner(vr->vr_reg, names[i], &quota.vq_uid,
				    jail) != 0)
			continue;
		/* A spec stored before the rule (or by hand) is not obeyed:
		 * a member's VM would run detached, which members may not. */
		quota.vq_max_runs = 0;
		if (allowed != NULL &&
		    allowed(arg, vmkey_name(names[i]), quota.vq_uid, jail,
			    &quota.vq_max_runs, why, sizeof(why)) != 0) {
			log_warnx("vm %s: autostart refused: %s", names[i],
				  why);
			vmrun_autostart_note(vr, names[i], "refused", why);
			continue;
		}
		if (vmrun_start_as(vr, names[i], &quota, "autostart", NULL, why,
				   sizeof(why)) != 0) {
			log_warnx("vm %s: autostart failed: %s", names[i], why);
			vmrun_autostart_note(vr, names[i], "failed", why);
		}
	}
	free(names);
}

void
vmrun_close(struct vmrun *vr)
{
	struct vmrt *vt, *next;

	if (vr == NULL)
		return;
	/* Stop what runs; the reaper may still record self-ended runs. */
	for (;;) {
		pthread_mutex_lock(&vr->vr_lock);
		for (vt = vr->vr_list; vt != NULL; vt = vt->vt_next)
			if (vt->vt_runner != NULL)
				break;
		if (vt != NULL)
			vt->vt_refs++;
		pthread_mutex_unlock(&vr->vr_lock);
		if (vt == NULL)
			break;
		pthread_mutex_lock(&vt->vt_lock);
		if (vt->vt_runner != NULL) {
			vmrun_record(vr, vt->vt_name, VM_STOPPING, NULL);
			runner_stop(vt->vt_runner, 0, 1);
			snprintf(vt->vt_exit.re_reason,
				 sizeof(vt->vt_exit.re_reason),
				 "the daemon shut down");
			vmrun_finish(vr, vt);
		}
		pthread_mutex_unlock(&vt->vt_lock);
		vmrt_unref(vr, vt);
	}
	pthread_mutex_lock(&vr->vr_lock);
	vr->vr_stopping = 1;
	pthread_cond_signal(&vr->vr_reap_cond);
	pthread_mutex_unlock(&vr->vr_lock);
	pthread_join(vr->vr_reaper, NULL);
	for (vt = vr->vr_list; vt != NULL; vt = next) {
		next = vt->vt_next;
		vt->vt_listed = 0;
		vmrt_unref(vr, vt);
	}
	/* The consoles' last references: the timer's, if any are queued. */
	console_timer_drain();
	pthread_cond_destroy(&vr->vr_reap_cond);
	pthread_mutex_destroy(&vr->vr_lock);
	free(vr->vr_cache_dir);
	free(vr);
}

/*
 * The VM as a lifecycle operation needs it (vmreg_view's what), or -1
 * with why and errno (ENOENT: no such VM).
 */
static int
vmrun_lookup(struct vmrun *vr, const char *name, unsigned what,
	     struct vmreg_view *v, char *why, size_t len)
{
	int err;

	if (vmreg_view(vr->vr_reg, name, what, v) == 0)
		return 0;
	err = errno;
	if (err == ENOENT)
		snprintf(why, len, "no VM named %s", vmkey_name(name));
	else if (err == EINVAL)
		snprintf(why, len, "VM %s's stored spec cannot run",
			 vmkey_name(name));
	else
		snprintf(why, len, "reading VM %s: %s", vmkey_name(name),
			 strerror(err));
	errno = err;
	return -1;
}

/* Lets vmrun_enter's runtime go; errno is kept. */
static void
vmrun_leave(struct vmrun *vr, struct vmrt *vt)
{
	int err = errno;

	pthread_mutex_unlock(&vt->vt_lock);
	vmrt_unref(vr, vt);
	errno = err;
}

/*
 * VM name's runtime with its vt_lock held, and the VM (vmreg_view's what)
 * as it is under that lock: NULL with why and errno.  The first look,
 * before vmrt_lock, refuses an unknown name without making a runtime for
 * it; the second sees what changed while the lock was awaited.
 */
static struct vmrt *
vmrun_enter(struct vmrun *vr, const char *name, unsigned what,
	    struct vmreg_view *v, char *why, size_t len)
{
	struct vmrt *vt;

	v->vv_status = NULL;
	if (vmrun_lookup(vr, name, 0, v, why, len) != 0)
		return NULL;
	if ((vt = vmrt_lock(vr, name)) == NULL) {
		snprintf(why, len, "no memory for VM %s's runtime",
			 vmkey_name(name));
		return NULL;
	}
	if (vmrun_lookup(vr, name, what, v, why, len) != 0) {
		vmrun_leave(vr, vt);
		return NULL;
	}
	return vt;
}

static int
vmrun_busy(const char *name, enum vm_state state, const char *op, char *why,
	   size_t len)
{
	snprintf(why, len, "VM %s is %s; it cannot %s now", vmkey_name(name),
		 vm_state_name(state), op);
	errno = EBUSY;
	return -1;
}

/*
 * The VM already is where the operation would take it: EALREADY, which
 * the API answers as a success that changed nothing.
 */
static int
vmrun_already(const char *name, enum vm_state state, char *why, size_t len)
{
	snprintf(why, len, "VM %s is already %s", vmkey_name(name),
		 vm_state_name(state));
	errno = EALREADY;
	return -1;
}

/*
 * What the Linux loader's errno err (vmm-driver/lxboot.h) means for the
 * VM's kernel, initrd and command line, in why: 1, or 0 when err is not
 * one the loader reports about them.
 */
static int
vmrun_linux_why(const struct vm_spec *spec, int err, char *why, size_t len)
{
	switch (err) {
	case EINVAL:
		snprintf(why, len,
			 "kernel image %s is not a kernel the Linux loader "
			 "boots: neither a bzImage nor an x86-64 ELF vmlinux, "
			 "or its payload does not decompress",
			 spec->vs_image);
		return 1;
	case ENOEXEC:
		snprintf(why, len,
			 "kernel image %s is too old to boot: its boot "
			 "protocol is older than 2.06, or it has no 64-bit "
			 "entry point",
			 spec->vs_image);
		return 1;
	case E2BIG:
		snprintf(why, len,
			 "kernel image %s%s%s with a command line of %zu "
			 "bytes does not fit: the command line is over the "
			 "kernel's limit, or the kernel and initrd do not fit "
			 "in memory_mib %llu",
			 spec->vs_image,
			 spec->vs_initrd[0] != '\0' ? " and initrd image " : "",
			 spec->vs_initrd, strlen(spec->vs_cmdline),
			 (unsigned long long)spec->vs_memory_mib);
		return 1;
	case ENOTSUP:
		snprintf(why, len,
			 "kernel image %s is compressed in a way this daemon "
			 "cannot decompress; boot it with \"decompress\": "
			 "\"guest\"",
			 spec->vs_image);
		return 1;
	default:
		return 0;
	}
}

/*
 * Records a start that failed with err: the VM back in prev_state with
 * prev_status, and why (set here) as its exit reason.  setup_why is the
 * runner's sentence ("" when it gave none).  Returns the errno the start
 * answers: EINVAL (the definition cannot run) for what the Linux loader
 * found wrong with the kernel, initrd or command line, whose sentence it
 * is then, and for a passthrough device the runner could not attach
 * (ENXIO, its sentence), else err.  vt_lock held.
 */
static int
vmrun_start_failed(struct vmrun *vr, const char *name,
		   const struct vm_spec *spec, enum vm_state prev_state,
		   const json_t *prev_status, int err, const char *setup_why,
		   char *why, size_t len)
{
	json_t *set;

	if (err == ENXIO && setup_why[0] != '\0') {
		/* A device the VM cannot be given (vmm-driver/ppt.c says
		 * which and why): the definition cannot run here. */
		snprintf(why, len, "%s", setup_why);
		err = EINVAL;
	} else if (spec->vs_boot == VM_BOOT_LINUX &&
		   vmrun_linux_why(spec, err, why, len)) {
		/* The loader's own sentence says more than ours. */
		if (setup_why[0] != '\0')
			snprintf(why, len, "kernel image %s: %s",
				 spec->vs_image, setup_why);
		err = EINVAL;
	} else if (setup_why[0] != '\0') {
		snprintf(why, len, "the %s backend could not start it: %s",
			 vr->vr_ops->vo_name, setup_why);
	} else {
		snprintf(why, len, "the %s backend could not start it: %s",
			 vr->vr_ops->vo_name, strerror(err));
	}
	set = json_pack("{s:s}", "exit_reason", why);
	(void)vmrun_record_on(vr, name, prev_state, prev_status, set);
	json_decref(set);
	return err;
}

/*
 * Counts vt towards its owner's running VMs, unless quota says the owner
 * has as many as it may already: 0, or -1 with EDQUOT and why.
 */
static int
vmrun_take_quota(struct vmrun *vr, struct vmrt *vt, uid_t owner,
		 const struct vmrun_quota *quota, char *why, size_t len)
{
	const struct vmrt *o;
	unsigned n = 0;

	pthread_mutex_lock(&vr->vr_lock);
	if (quota != NULL && quota->vq_max_runs > 0) {
		for (o = vr->vr_list; o != NULL; o = o->vt_next)
			if (o->vt_counts && o->vt_owner == quota->vq_uid)
				n++;
		if (n >= quota->vq_max_runs) {
			pthread_mutex_unlock(&vr->vr_lock);
			snprintf(why, len,
				 "uid %ld already runs %u VMs, the most "
				 "--max-running-per-uid allows",
				 (long)quota->vq_uid, n);
			errno = EDQUOT;
			return -1;
		}
	}
	vt->vt_owner = owner;
	vt->vt_counts = 1;
	pthread_mutex_unlock(&vr->vr_lock);
	return 0;
}

/* Whether the backend lists feature among its vo_features. */
static int
vmrun_has_feature(const struct vmm_ops *ops, const char *feature)
{
	const char *const *f;

	for (f = ops->vo_features; f != NULL && *f != NULL; f++)
		if (strcmp(*f, feature) == 0)
			return 1;
	return 0;
}

/*
 * Pins image name (what it is for: "image", "kernel image", ...) and
 * reads it into *buf when it has at most max bytes; its name goes into
 * pinned (65 bytes), which vmrt_release unpins.  -1 with why and
 * errno: EINVAL when it does not exist or does not fit (fits says in
 * what), else the store's errno.
 */
static int
vmrun_image_load(struct vmrun *vr, const char *what, const char *name,
		 uint64_t max, const char *fits, char *pinned, void **buf,
		 size_t *blen, char *why, size_t len)
{
	int err;

	if (images_load(vr->vr_images, name, max, buf, blen) == 0) {
		snprintf(pinned, 65, "%s", name);
		return 0;
	}
	err = errno;
	if (err == ENOENT)
		snprintf(why, len,
			 "%s %s does not exist; upload it with PUT "
			 "/v1/images/%s",
			 what, name, name);
	else if (err == EFBIG)
		snprintf(why, len, "%s %s does not fit in guest memory %s",
			 what, name, fits);
	else
		snprintf(why, len, "reading %s %s: %s", what, name,
			 strerror(err));
	errno = err == ENOENT || err == EFBIG ? EINVAL : err;
	return -1;
}

/*
 * Loads a Linux boot's kernel and initrd (pinned, in vt_image and
 * vt_initrd) and fills vt_linux, the loader's configuration the runner
 * borrows for the run.  -1 with why and errno as vmrun_image_load; what
 * is pinned by then is vmrt_release's to unpin.  vt_lock held.
 */
static int
vmrun_linux_prepare(struct vmrun *vr, struct vmrt *vt,
		    const struct vm_spec *spec, char *why, size_t len)
{
	struct lxboot_config *lc = &vt->vt_linux;
	uint64_t memory = spec->vs_memory_mib << 20;
	struct image_info info;
	size_t klen, ilen = 0;
	char fits[64];
	int err;

	snprintf(fits, sizeof(fits), "(memory_mib %llu)",
		 (unsigned long long)spec->vs_memory_mib);
	if (vmrun_image_load(vr, "kernel image", spec->vs_image, memory, fits,
			     vt->vt_image_name, &vt->vt_image, &klen, why,
			     len) != 0)
		return -1;
	/* Pinned: its digest cannot change under the run. */
	if (images_get(vr->vr_images, spec->vs_image, &info) != 0) {
		err = errno;
		snprintf(why, len, "reading kernel image %s: %s",
			 spec->vs_image, strerror(err));
		errno = err;
		return -1;
	}
	if (spec->vs_initrd[0] != '\0' &&
	    vmrun_image_load(vr, "initrd image", spec->vs_initrd, memory, fits,
			     vt->vt_initrd_name, &vt->vt_initrd, &ilen, why,
			     len) != 0)
		return -1;
	snprintf(vt->vt_kernel_sha256, sizeof(vt->vt_kernel_sha256), "%s",
		 info.ii_sha256);
	snprintf(vt->vt_cmdline, sizeof(vt->vt_cmdline), "%s",
		 spec->vs_cmdline);
	memset(lc, 0, sizeof(*lc));
	lc->lc_kernel = vt->vt_image;
	lc->lc_kernel_len = klen;
	lc->lc_kernel_sha256 = vt->vt_kernel_sha256;
	lc->lc_initrd = vt->vt_initrd;
	lc->lc_initrd_len = ilen;
	lc->lc_cmdline = vt->vt_cmdline;
	lc->lc_vcpus = spec->vs_vcpus;
	lc->lc_decompress = spec->vs_decompress == VM_DECOMPRESS_GUEST
				? LXBOOT_DECOMPRESS_GUEST
				: LXBOOT_DECOMPRESS_HOST;
	lc->lc_cache_dir = vr->vr_cache_dir;
	return 0;
}

/*
 * The host devices a run of VM name's spec is given (out), made that
 * run's (pptdevs_claim; vmrt_release gives them back), or -1 with why:
 * ENOTSUP where the backend cannot attach them, EINVAL for a device that
 * cannot be attached (pptdevs_for_run says why), EBUSY for one another
 * VM's run holds.
 */
static int
vmrun_ppt_prepare(struct vmrun *vr, const char *name,
		  const struct vm_spec *spec, struct ppt_dev_config *out,
		  char *why, size_t len)
{
	if (!vmrun_has_feature(vr->vr_ops, VMRUN_FEATURE_PPT)) {
		snprintf(why, len,
			 "PCI passthrough needs the kvm backend (one whose "
			 "features list %s); the %s backend cannot give a "
			 "guest a host device",
			 VMRUN_FEATURE_PPT, vr->vr_ops->vo_name);
		errno = ENOTSUP;
		return -1;
	}
	if (vr->vr_pptdevs == NULL) {
		snprintf(why, len, "this daemon has no passthrough registry");
		errno = ENOTSUP;
		return -1;
	}
	/* Claimed first: the claim is what says, under the lock releases
	 * take, that each device is reserved and no other run's. */
	if (pptdevs_claim(vr->vr_pptdevs, spec, name, why, len) != 0) {
		if (errno == ENOENT)
			errno = EINVAL; /* not reserved: not runnable */
		return -1;
	}
	if (pptdevs_for_run(vr->vr_pptdevs, spec, out, why, len) != 0) {
		pptdevs_unclaim(vr->vr_pptdevs, name);
		return -1;
	}
	return 0;
}

void
vmrun_set_pptdevs(struct vmrun *vr, struct pptdevs *p)
{
	vr->vr_pptdevs = p;
}

/*
 * vmrun_start, told as started by cause ("autostart"; NULL: by a
 * request): the status keeps it as start_cause, so the vm.started event
 * (whose detail is the status) says it, until the next start.
 */
static int
vmrun_start_as(struct vmrun *vr, const char *name,
	       const struct vmrun_quota *quota, const char *cause,
	       uint64_t *run, char *why, size_t len)
{
	struct runner_config cfg;
	struct runner *runner;
	struct vmrt *vt;
	struct vmreg_view v;
	const struct vm_spec *spec = &v.vv_spec;
	json_t *set;
	uint64_t memory;
	size_t image_len = 0;
	char fits[64], setup_why[256] = "";
	struct ppt_dev_config pptdevs[PPT_MAX_DEVS];
	int rc = -1, err, recorded, rec_err;

	/*
	 * The spec and state as they are once no other operation can change
	 * them, nor delete the VM (vmrun_delete takes vt_lock): a VM
	 * deleted and defined anew meanwhile runs its new spec.  And the
	 * state's details, which a failed start puts back.
	 */
	if ((vt = vmrun_enter(vr, name, VMREG_VIEW_STATUS | VMREG_VIEW_SPEC, &v,
			      why, len)) == NULL)
		return -1;
	if (vt->vt_runner != NULL && v.vv_state == VM_RUNNING) {
		vmrun_already(name, v.vv_state, why, len);
		goto out;
	}
	if (vt->vt_runner != NULL || vm_state_is_live(v.vv_state)) {
		vmrun_busy(name, v.vv_state, "start", why, len);
		goto out;
	}
	if (vr->vr_ops == NULL) {
		snprintf(why, len, "this daemon's backend cannot run guests");
		errno = ENOTSUP;
		goto out;
	}
	if (vmrun_take_quota(vr, vt, v.vv_owner, quota, why, len) != 0)
		goto out;
	if (spec->vs_boot == VM_BOOT_LINUX &&
	    !vmrun_has_feature(vr->vr_ops, VMRUN_FEATURE_LINUX)) {
		snprintf(why, len,
			 "the %s backend runs flat binaries only; a \"linux\" "
			 "boot needs a backend whose features list %s (the "
			 "kvm backend, on a host where /dev/kvm opens)",
			 vr->vr_ops->vo_name, VMRUN_FEATURE_LINUX);
		errno = ENOTSUP;
		goto out;
	}
	if (spec->vs_npptdevs > 0 &&
	    vmrun_ppt_prepare(vr, name, spec, pptdevs, why, len) != 0)
		goto out;
	memory = spec->vs_memory_mib << 20;
	if (spec->vs_boot == VM_BOOT_LINUX) {
		if (vmrun_linux_prepare(vr, vt, spec, why, len) != 0)
			goto unpin;
	} else {
		snprintf(fits, sizeof(fits), "from load_address %llu",
			 (unsigned long long)spec->vs_load_address);
		if (vmrun_image_load(vr, "image", spec->vs_image,
				     memory - spec->vs_load_address, fits,
				     vt->vt_image_name, &vt->vt_image,
				     &image_len, why, len) != 0)
			goto unpin;
	}
	if (vt->vt_console == NULL &&
	    (vt->vt_console =
		 console_new(VMRUN_CONSOLE_OUT, VMRUN_CONSOLE_IN)) == NULL) {
		snprintf(why, len, "no memory for VM %s's console",
			 vmkey_name(name));
		goto unpin;
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.rc_ops = vr->vr_ops;
	cfg.rc_name = name;
	cfg.rc_vcpus = spec->vs_vcpus;
	cfg.rc_memory = memory;
	if (spec->vs_boot == VM_BOOT_LINUX) {
		cfg.rc_linux = &vt->vt_linux;
	} else {
		cfg.rc_image = vt->vt_image;
		cfg.rc_image_len = image_len;
		cfg.rc_load_address = spec->vs_load_address;
		cfg.rc_entry = spec->vs_entry;
	}
	cfg.rc_reboot_restarts = spec->vs_on_reboot == VM_ON_REBOOT_RESTART;
	cfg.rc_pptdevs = pptdevs;
	cfg.rc_npptdevs = (unsigned)spec->vs_npptdevs;
	cfg.rc_console = vt->vt_console;
	cfg.rc_why = setup_why;
	cfg.rc_why_len = sizeof(setup_why);
	if (spec->vs_guestinfo_channel) {
		guestinfo_channel_init(&vt->vt_guestinfo, vmreg_db(vr->vr_reg),
				       name);
		cfg.rc_guestinfo = &vt->vt_guestinfo.gc_store;
	}
	cfg.rc_on_exit = vmrun_on_exit;
	cfg.rc_cls = vt;

	/*
	 * One durable record per start, "running", written while vCPU 0's
	 * thread creates the VM (runner_begin): the start costs the longer
	 * of the two, not their sum.  Nothing records "starting": after a
	 * crash vmrun_open makes every live state "stopped", so it would
	 * buy nothing but a second commit.  The answer waits for both halves,
	 * so a 2xx still means the run is on disk.  The guest itself runs only
	 * once the record is on disk (runner_go): its first console byte
	 * cannot reach a client before the answer does anyway, and on the
	 * kvm_pvm host a guest executing during the commit made its
	 * fdatasync ~4 times slower.  A guest that ends at once is recorded
	 * after "running", by the reaper, which waits for vt_lock.
	 */
	pthread_mutex_lock(&vr->vr_lock);
	vt->vt_run = vmrun_next_run(vr);
	pthread_mutex_unlock(&vr->vr_lock);
	if (run != NULL)
		*run = vt->vt_run;
	if (runner_begin(&cfg, &runner) != 0) {
		errno =
		    vmrun_start_failed(vr, name, spec, v.vv_state, v.vv_status,
				       errno, setup_why, why, len);
		goto unpin;
	}
	timefmt_rfc3339(timefmt_now_ms(), vt->vt_started_at,
			sizeof(vt->vt_started_at));
	/* A start that works clears what an autostart left: the VM runs. */
	set = json_pack(
	    "{s:s, s:n, s:n, s:n, s:I, s:o, s:n}", "started_at",
	    vt->vt_started_at, "stopped_at", "exit_reason", "exit_status",
	    "observed_generation", (json_int_t)v.vv_generation, "start_cause",
	    cause != NULL ? json_string(cause) : json_null(), "autostart");
	recorded = vmrun_record(vr, name, VM_RUNNING, set);
	rec_err = errno;
	json_decref(set);
	if (runner_ready(runner) != 0) {
		/* "running" may be on record: what happened replaces it. */
		errno =
		    vmrun_start_failed(vr, name, spec, v.vv_state, v.vv_status,
				       errno, setup_why, why, len);
		goto unpin;
	}
	if (recorded != 0) {
		/* Not on record, so it must not run, and has not (nothing
		 * else is written: the row is as it was, or gone). */
		runner_cancel(runner);
		if (rec_err == ENOENT)
			snprintf(why, len, "VM %s was deleted while it started",
				 vmkey_name(name));
		else
			snprintf(why, len, "recording VM %s as running: %s",
				 vmkey_name(name), strerror(rec_err));
		errno = rec_err;
		goto unpin;
	}
	runner_go(runner);
	vmrt_set_runner(vr, vt, runner);
	log_info("vm %s: running (%s, %u vCPUs, %llu MiB)", name,
		 vr->vr_ops->vo_name, cfg.rc_vcpus,
		 (unsigned long long)(memory >> 20));
	rc = 0;
	goto out;

unpin:
	err = errno;
	vmrt_release(vr, vt);
	errno = err;
out:
	err = errno;
	if (rc != 0) {
		/* A start that failed counts no more (a run that ended at
		 * once is the reaper's to uncount). */
		pthread_mutex_lock(&vr->vr_lock);
		vt->vt_counts = vt->vt_runner != NULL;
		pthread_mutex_unlock(&vr->vr_lock);
	}
	json_decref(v.vv_status);
	errno = err;
	vmrun_leave(vr, vt);
	return rc;
}

int
vmrun_start(struct vmrun *vr, const char *name, const struct vmrun_quota *quota,
	    uint64_t *run, char *why, size_t len)
{
	return vmrun_start_as(vr, name, quota, NULL, run, why, len);
}

/*
 * Runs op on VM name's runner when the VM is in a state of allowed (a
 * mask of 1 << state), then records new_state (VM_NSTATES: none).
 */
static int
vmrun_simple(struct vmrun *vr, const char *name, const char *opname,
	     int (*op)(struct runner *), unsigned allowed,
	     enum vm_state new_state, char *why, size_t len)
{
	struct vmrt *vt;
	struct vmreg_view v;
	int rc = -1, err;

	if ((vt = vmrun_enter(vr, name, 0, &v, why, len)) == NULL)
		return -1;
	if (vt->vt_runner != NULL && new_state == v.vv_state) {
		vmrun_already(name, v.vv_state, why, len);
		goto out;
	}
	if (vt->vt_runner == NULL || !(allowed & (1u << v.vv_state))) {
		vmrun_busy(name, v.vv_state, opname, why, len);
		goto out;
	}
	if (op(vt->vt_runner) != 0) {
		err = errno;
		snprintf(why, len, "%s of VM %s failed: %s", opname,
			 vmkey_name(name), strerror(err));
		errno = err;
		goto out;
	}
	if (new_state != VM_NSTATES)
		vmrun_record(vr, name, new_state, NULL);
	rc = 0;
out:
	vmrun_leave(vr, vt);
	return rc;
}

int
vmrun_pause(struct vmrun *vr, const char *name, char *why, size_t len)
{
	return vmrun_simple(vr, name, "pause", runner_pause, 1u << VM_RUNNING,
			    VM_PAUSED, why, len);
}

int
vmrun_resume(struct vmrun *vr, const char *name, char *why, size_t len)
{
	return vmrun_simple(vr, name, "resume", runner_resume, 1u << VM_PAUSED,
			    VM_RUNNING, why, len);
}

int
vmrun_reset(struct vmrun *vr, const char *name, char *why, size_t len)
{
	if (vmrun_simple(vr, name, "reset", runner_reset,
			 1u << VM_RUNNING | 1u << VM_PAUSED, VM_NSTATES, why,
			 len) != 0)
		return -1;
	/* A reset changes no row: its event is a write of its own. */
	if (db_event_append(vmreg_db(vr->vr_reg), "vm.reset", DB_EVENT_VM, name,
			    NULL) != 0)
		log_warn("vm %s: recording the reset's event", name);
	return 0;
}

static int vmrun_stop_impl(struct vmrun *vr, const char *name,
			   unsigned timeout_ms, int force, uint64_t run,
			   char *why, size_t len);

int
vmrun_stop(struct vmrun *vr, const char *name, unsigned timeout_ms, int force,
	   char *why, size_t len)
{
	return vmrun_stop_impl(vr, name, timeout_ms, force, 0, why, len);
}

int
vmrun_stop_run(struct vmrun *vr, const char *name, uint64_t run)
{
	char why[256];

	if (run == 0)
		return 0; /* the run ended before it was known */
	return vmrun_stop_impl(vr, name, 0, 1, run, why, sizeof(why));
}

uint64_t
vmrun_current_run(struct vmrun *vr, const char *name)
{
	struct vmrt *vt;
	uint64_t run = 0;

	pthread_mutex_lock(&vr->vr_lock);
	if ((vt = vmrt_find_locked(vr, name)) != NULL && vt->vt_runner != NULL)
		run = vt->vt_run;
	pthread_mutex_unlock(&vr->vr_lock);
	return run;
}

/* Stops VM name; with run != 0, only while that run is the current one. */
static int
vmrun_stop_impl(struct vmrun *vr, const char *name, unsigned timeout_ms,
		int force, uint64_t run, char *why, size_t len)
{
	struct runner *r;
	struct vmrt *vt;
	struct vmreg_view v;
	int rc = -1;

	if ((vt = vmrun_enter(vr, name, 0, &v, why, len)) == NULL)
		return -1;
	/* Asked by a client, a stop of what does not run is done already;
	 * a monitor-mode request's end (run != 0) stops nothing else. */
	if (run == 0 && vt->vt_runner == NULL &&
	    !vm_state_is_live(v.vv_state)) {
		vmrun_already(name, v.vv_state, why, len);
		goto out;
	}
	if (vt->vt_runner == NULL ||
	    (v.vv_state != VM_RUNNING && v.vv_state != VM_PAUSED) ||
	    (run != 0 && vt->vt_run != run)) {
		vmrun_busy(name, v.vv_state, "stop", why, len);
		goto out;
	}
	vmrun_record(vr, name, VM_STOPPING, NULL);
	/*
	 * The wait for a graceful stop can be long: other requests about
	 * this VM (its console, a start that must hear "stopping") go on
	 * meanwhile.  vt_stopping keeps the runner ours: nobody else
	 * finishes or frees it.
	 */
	vt->vt_stopping = 1;
	r = vt->vt_runner;
	pthread_mutex_unlock(&vt->vt_lock);
	/* Returns once the run ended and vmrun_on_exit kept how. */
	runner_stop(r, timeout_ms, force);
	pthread_mutex_lock(&vt->vt_lock);
	vt->vt_stopping = 0;
	vmrun_finish(vr, vt);
	rc = 0;
out:
	vmrun_leave(vr, vt);
	return rc;
}

int
vmrun_with_runner(struct vmrun *vr, const char *name, enum vmrun_need need,
		  int (*fn)(struct runner *r, void *arg), void *arg, char *why,
		  size_t len)
{
	struct vmrt *vt;
	struct vmreg_view v;
	int rc = -1, err, paused_here = 0;

	if ((vt = vmrun_enter(vr, name, 0, &v, why, len)) == NULL)
		return -1;
	if (vt->vt_runner == NULL ||
	    (need == VMRUN_NEED_PAUSED
		 ? v.vv_state != VM_PAUSED
		 : v.vv_state != VM_RUNNING && v.vv_state != VM_PAUSED)) {
		snprintf(why, len, "VM %s is %s; %s", vmkey_name(name),
			 vm_state_name(v.vv_state),
			 need == VMRUN_NEED_PAUSED
			     ? "pause it first"
			     : "this needs it running or paused");
		errno = EBUSY;
		goto out;
	}
	if (need == VMRUN_PAUSE_AROUND && v.vv_state == VM_RUNNING) {
		if (runner_pause(vt->vt_runner) != 0) {
			err = errno;
			snprintf(why, len, "VM %s could not be paused: %s",
				 vmkey_name(name), strerror(err));
			errno = err == EINVAL ? EBUSY : err;
			goto out;
		}
		paused_here = 1;
	}
	rc = fn(vt->vt_runner, arg);
	err = errno;
	if (paused_here && runner_resume(vt->vt_runner) != 0)
		log_warn("vm %s: resuming after a call", name);
	errno = err;
out:
	vmrun_leave(vr, vt);
	return rc;
}

struct console *
vmrun_console(struct vmrun *vr, const char *name)
{
	struct console *c = NULL;
	struct vmrt *vt;
	struct vmreg_view v;
	char why[128];

	if ((vt = vmrun_enter(vr, name, 0, &v, why, sizeof(why))) == NULL)
		return NULL;
	if (vt->vt_console == NULL)
		vt->vt_console =
		    console_new(VMRUN_CONSOLE_OUT, VMRUN_CONSOLE_IN);
	if ((c = vt->vt_console) != NULL) {
		console_hold(c);
		if (vt->vt_runner == NULL)
			console_close(c); /* nothing runs: followers end */
	}
	vmrun_leave(vr, vt);
	return c;
}

int
vmrun_is_running(struct vmrun *vr, const char *name)
{
	struct vmrt *vt;
	int running = 0;

	pthread_mutex_lock(&vr->vr_lock);
	/* vt_runner is read without vt_lock: a hint for the console. */
	if ((vt = vmrt_find_locked(vr, name)) != NULL)
		running = vt->vt_runner != NULL;
	pthread_mutex_unlock(&vr->vr_lock);
	return running;
}

/* Takes a deleted VM's runtime out of the table (its console goes with
 * the last reference).  Not one that runs. */
static void
vmrun_forget(struct vmrun *vr, const char *name)
{
	struct vmrt **pp, *vt;

	pthread_mutex_lock(&vr->vr_lock);
	for (pp = &vr->vr_list; (vt = *pp) != NULL; pp = &vt->vt_next) {
		if (strcmp(vt->vt_name, name) == 0 && vt->vt_runner == NULL) {
			*pp = vt->vt_next;
			vt->vt_listed = 0;
			break;
		}
	}
	pthread_mutex_unlock(&vr->vr_lock);
	if (vt != NULL)
		vmrt_unref(vr, vt);
}

int
vmrun_delete(struct vmrun *vr, const char *name, uint64_t expect_revision)
{
	struct vmrt *vt;
	int rc, err;

	if ((vt = vmrt_lock(vr, name)) == NULL)
		return -1;
	rc = vmreg_delete(vr->vr_reg, name, expect_revision);
	err = errno;
	/*
	 * Gone, or never there (nothing to keep for a name asked for): out
	 * of the table before vt_lock goes, so that an operation waiting
	 * for it sees that (vmrt_lock) rather than start a run on a runtime
	 * nobody can find.
	 */
	if (rc == 0 || err == ENOENT)
		vmrun_forget(vr, name);
	pthread_mutex_unlock(&vt->vt_lock);
	vmrt_unref(vr, vt);
	errno = err;
	return rc;
}
