/*
 * A VM's run state: one enum, one name table, one definition of "live"
 * (a state in which the VM has a runner).  Stored and shown as its name.
 *
 *	defined --start--> running <--pause/resume--> paused
 *	running/paused --stop--> stopping --> stopped | crashed
 *	stopped/crashed --start--> running
 *
 * "starting" is no longer recorded: a start records "running" once; a
 * database written by an older daemon may still hold it, and start-up
 * turns every live state into "stopped".
 */
#ifndef VMMAPID_BASE_VM_STATE_H
#define VMMAPID_BASE_VM_STATE_H

enum vm_state {
	VM_DEFINED,
	VM_STARTING,
	VM_RUNNING,
	VM_PAUSED,
	VM_STOPPING,
	VM_STOPPED,
	VM_CRASHED,
	VM_NSTATES
};

/* The longest name and its NUL. */
#define VM_STATE_NAME_MAX 16

/* The state's name ("running"); "unknown" for a value out of range. */
const char *vm_state_name(enum vm_state s);

/* The state named name: 0 and *s, or -1 (EINVAL) for no state. */
int vm_state_parse(const char *name, enum vm_state *s);

/* Whether a VM in state s has a runner: starting, running, paused, stopping. */
int vm_state_is_live(enum vm_state s);

/* The names, comma-separated ("defined, starting, ..."), for messages. */
const char *vm_state_names(void);

#endif
