/*
 * Running VMs: the lifecycle of each VM (start, stop, pause, resume,
 * reset) on top of the driver's runner, with every state change recorded
 * in the database through the registry, and each VM's console.
 *
 * States and the transitions allowed (anything else is EBUSY with the
 * current state):
 *   defined, stopped, crashed --start--> running
 *     (nothing records "starting" any more: a start that works writes one
 *     durable record, "running"; a database may still hold "starting"
 *     from an older daemon)
 *   running --pause--> paused --resume--> running
 *   running, paused --reset--> (same)
 *   running, paused --stop--> stopping --> stopped
 *   running --(guest powers off)--> stopped | crashed
 *
 * Locking: a mutex per VM serializes its lifecycle operations, so starting
 * or stopping one VM never waits for another; one mutex guards the table
 * of VMs.  A run that ends by itself is recorded by the reaper thread.
 */
#ifndef VMMAPID_CORE_VMRUN_H
#define VMMAPID_CORE_VMRUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct console;
struct images;
struct pptdevs;
struct vmm_ops;
struct vmreg;
struct vmrun;

/* Console sizes (LIMIT_*-like, here because only the runtime uses them). */
#define VMRUN_CONSOLE_OUT (256 * 1024)
#define VMRUN_CONSOLE_IN (64 * 1024) /* a whole request body fits */

/*
 * ops may be NULL: the backend cannot run guests (start answers ENOTSUP).
 * Records VMs that the database says were running as stopped ("the daemon
 * restarted"): nothing survives the process.  cache_dir (NULL: none) is
 * where the Linux loader keeps the kernels it decompressed, one file per
 * kernel image digest; it is created 0750 when missing, and a failure to
 * is a failure to open.
 */
int vmrun_open(struct vmrun **out, struct vmreg *reg, struct images *im,
	       const struct vmm_ops *ops, const char *cache_dir);

/*
 * Whether VM name, owned by uid owner in jail ("": none), may be
 * started by the daemon itself: 0 with *max_runs (its owner's quota of
 * running VMs, 0: none), or -1 with why.  The access policy's, handed
 * down by the server (core/ does not know the rules).
 */
typedef int (*vmrun_autostart_fn)(void *arg, const char *name, uid_t owner,
				  const char *jail, unsigned *max_runs,
				  char *why, size_t len);

/*
 * Starts every VM whose spec says autostart and that allowed lets
 * start, counted against its owner's quota like any start.  A start
 * that works has status.start_cause "autostart" (so has its vm.started
 * event).  What is refused or fails is logged, saying why, and recorded
 * in the VM's status.autostart ({result: "refused"|"failed", reason,
 * at}) with a vm.autostart_failed event; its state stays.
 */
void vmrun_autostart(struct vmrun *vr, vmrun_autostart_fn allowed, void *arg);

/*
 * Where starts find the devices a spec names (core/pptdevs.h): set once,
 * before the first start; until then a spec with pptdevs does not start.
 */
void vmrun_set_pptdevs(struct vmrun *vr, struct pptdevs *p);

/* Stops every running VM (forced), records it, frees everything. */
void vmrun_close(struct vmrun *vr);

/*
 * The operations; why holds a sentence for the API on failure.
 * ENOENT: no such VM.  EBUSY: not allowed in the current state.
 * EALREADY: the VM already is where the operation takes it (a start of a
 * running VM, a stop of one that does not run, a pause of a paused one,
 * a resume of a running one); nothing was done, why says so.
 * ENOTSUP: the backend cannot (why says what).  EINVAL: the spec cannot
 * run (an image missing or too large: why says which).  EDQUOT: over
 * the caller's quota of running VMs.
 *
 * vmrun_start returns 0 only once "running" is durably recorded and the
 * guest runs (it may have ended already; the reaper records that after).
 * When the backend fails to set the VM up, the VM is recorded back in its
 * previous state with why as its exit_reason, and the backend's errno is
 * returned (EINVAL: it refused the VM's shape).  When "running" cannot be
 * recorded, the guest is stopped unrecorded: ENOENT if the VM was deleted
 * meanwhile, else the database's errno.
 */
struct vmrun_quota {
	uid_t vq_uid;         /* the caller, who owns the VM */
	unsigned vq_max_runs; /* VMs of vq_uid that may run at once */
};
/*
 * quota (NULL: none, as for root): the start is refused with EDQUOT when
 * vq_max_runs VMs of vq_uid already run or are starting.  The count and
 * this start's place in it are taken under vmrun's lock, so concurrent
 * starts never overshoot.  run (NULL: not wanted) gets the identity of
 * the run started, which no other run of any VM has, in this daemon's
 * life or (unless the clock is set back) another's: what
 * vmrun_stop_run takes.
 */
int vmrun_start(struct vmrun *vr, const char *name,
		const struct vmrun_quota *quota, uint64_t *run, char *why,
		size_t len);
/* timeout_ms: graceful stop's wait before forcing; force: at once. */
int vmrun_stop(struct vmrun *vr, const char *name, unsigned timeout_ms,
	       int force, char *why, size_t len);
/*
 * The identity of VM name's current run, 0 when it does not run; and a
 * forced stop of that run only (a later run, of this VM or of a VM of
 * the same name defined since, is left alone): monitor mode ends the
 * run its request started, never another.
 */
uint64_t vmrun_current_run(struct vmrun *vr, const char *name);
int vmrun_stop_run(struct vmrun *vr, const char *name, uint64_t run);
int vmrun_pause(struct vmrun *vr, const char *name, char *why, size_t len);
int vmrun_resume(struct vmrun *vr, const char *name, char *why, size_t len);
int vmrun_reset(struct vmrun *vr, const char *name, char *why, size_t len);

/*
 * VM name's console with a reference the caller drops with console_free.
 * ENOENT when no such VM is defined.
 */
struct console *vmrun_console(struct vmrun *vr, const char *name);

/* Whether VM name is running or paused (its console takes input). */
int vmrun_is_running(struct vmrun *vr, const char *name);

/* What vmrun_with_runner needs of the VM's state. */
enum vmrun_need {
	VMRUN_NEED_LIVE = 1, /* running or paused */
	VMRUN_NEED_PAUSED,   /* paused (EBUSY otherwise) */
	VMRUN_PAUSE_AROUND,  /* running or paused; paused for the call */
};

struct runner;

/*
 * Calls fn(runner, arg) with VM name's lifecycle lock held, so no start,
 * stop or other call interleaves.  With VMRUN_PAUSE_AROUND a running VM
 * is paused for the call and resumed after it.  ENOENT (no such VM),
 * EBUSY (its state does not allow it: why names the state), or fn's
 * result (-1 with errno).
 */
int vmrun_with_runner(struct vmrun *vr, const char *name, enum vmrun_need need,
		      int (*fn)(struct runner *r, void *arg), void *arg,
		      char *why, size_t len);

/*
 * Deletes VM name's definition (vmreg_delete: expect_revision 0 or the
 * revision to delete; ENOENT, ESTALE, EBUSY while it runs) under the VM's
 * operation lock, then forgets its console.  A start under way finishes
 * first, so the delete sees it running (EBUSY) instead of the definition
 * going, or being replaced by a new one of the same name, under it.
 */
int vmrun_delete(struct vmrun *vr, const char *name, uint64_t expect_revision);

#endif
