#include "base/vm_state.h"

#include <errno.h>
#include <string.h>

static const char *const vm_state_table[VM_NSTATES] = {
    [VM_DEFINED] = "defined",   [VM_STARTING] = "starting",
    [VM_RUNNING] = "running",   [VM_PAUSED] = "paused",
    [VM_STOPPING] = "stopping", [VM_STOPPED] = "stopped",
    [VM_CRASHED] = "crashed",
};

const char *
vm_state_name(enum vm_state s)
{
	if ((unsigned)s >= VM_NSTATES)
		return "unknown";
	return vm_state_table[s];
}

int
vm_state_parse(const char *name, enum vm_state *s)
{
	int i;

	for (i = 0; name != NULL && i < VM_NSTATES; i++) {
		if (strcmp(vm_state_table[i], name) == 0) {
			*s = (enum vm_state)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

int
vm_state_is_live(enum vm_state s)
{
	return s == VM_STARTING || s == VM_RUNNING || s == VM_PAUSED ||
	       s == VM_STOPPING;
}

const char *
vm_state_names(void)
{
	return "defined, starting, running, paused, stopping, stopped, "
	       "crashed";
}
