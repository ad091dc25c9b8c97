/*
 * Running VMs: the lifecycle of each VM (start, stop, pause, resume,
 * reset) on top of the driver's runner, with every state change recorded
 * in the database through the registry, and each VM's console.
 *
 * States and the transitions allowed (anything else is EBUSY with the
 * current state):
 *   defined, stopped, crashed --start--> starting --> running
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

struct console;
struct images;
struct vmm_ops;
struct vmreg;
struct vmrun;

/* Console sizes (LIMIT_*-like, here because only the runtime uses them). */
#define VMRUN_CONSOLE_OUT (256 * 1024)
#define VMRUN_CONSOLE_IN (64 * 1024) /* a whole request body fits */

/*
 * ops may be NULL: the backend cannot run guests (start answers ENOTSUP).
 * Records VMs that the database says were running as stopped ("the daemon
 * restarted"): nothing survives the process.
 */
int vmrun_open(struct vmrun **out, struct vmreg *reg, struct images *im,
	       const struct vmm_ops *ops);

/* Starts every VM whose spec says autostart; failures are logged. */
void vmrun_autostart(struct vmrun *vr);

/* Stops every running VM (forced), records it, frees everything. */
void vmrun_close(struct vmrun *vr);

/*
 * The operations; why holds a sentence for the API on failure.
 * ENOENT: no such VM.  EBUSY: not allowed in the current state.
 * ENOTSUP: the backend cannot (why says what).  EINVAL: the spec cannot
 * run (an image missing or too large: why says which).
 */
int vmrun_start(struct vmrun *vr, const char *name, char *why, size_t len);
/* timeout_ms: graceful stop's wait before forcing; force: at once. */
int vmrun_stop(struct vmrun *vr, const char *name, unsigned timeout_ms,
	       int force, char *why, size_t len);
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

/* Forgets what is kept about a deleted VM (its console). */
void vmrun_forget(struct vmrun *vr, const char *name);

#endif
