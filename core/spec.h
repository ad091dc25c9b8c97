/*
 * A VM's spec as the domain uses it: what a start needs to know, typed.
 * The spec is stored and shown as JSON (api/vm_spec.c normalizes it,
 * db/ keeps its text); spec_decode turns a normalized document into this
 * in one place, so that the start path and the access checks read fields
 * rather than looking keys up.  It is made when asked for (a start, a
 * check), not kept per VM: the registry holds thousands of definitions.
 * Labels and the description are not here: nothing below api/ looks at
 * them but the list filter.
 */
#ifndef VMMAPID_CORE_SPEC_H
#define VMMAPID_CORE_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/limits.h"

enum vm_boot_kind {
	VM_BOOT_FLAT,  /* an image copied to load_address, real mode */
	VM_BOOT_LINUX, /* a kernel, an initrd and a command line */
};

/* Who decompresses a bzImage's payload (boot.decompress). */
enum vm_decompress {
	VM_DECOMPRESS_HOST,  /* the daemon, once per kernel image: default */
	VM_DECOMPRESS_GUEST, /* the bzImage's own decompressor, in the guest */
};

/* What a guest's reboot does (on_reboot). */
enum vm_on_reboot {
	VM_ON_REBOOT_RESTART, /* the guest starts again: default */
	VM_ON_REBOOT_STOP,    /* the run ends, "stopped" */
};

struct vm_spec {
	unsigned vs_vcpus;
	uint64_t vs_memory_mib;
	enum vm_boot_kind vs_boot;
	/* flat: the image; linux: the kernel. */
	char vs_image[LIMIT_NAME_LEN + 1];
	char vs_initrd[LIMIT_NAME_LEN + 1];     /* linux; "" for none */
	char vs_cmdline[LIMIT_CMDLINE_LEN + 1]; /* linux; "" ok */
	enum vm_decompress vs_decompress;       /* linux */
	uint64_t vs_load_address;               /* flat */
	uint16_t vs_entry;                      /* flat: real-mode ip, cs 0 */
	size_t vs_npptdevs;
	/* Each device's bus, slot and function, as "pptdevs" names it. */
	unsigned vs_pptdevs[LIMIT_PPTDEVS][3];
	int vs_autostart;
	int vs_guestinfo_channel; /* the VMware backdoor answers the guest */
	enum vm_on_reboot vs_on_reboot;
};

/*
 * Fills *out from spec, a document api/vm_spec.c normalized.  -1 with
 * EINVAL when a member it needs is missing or out of range (a database
 * edited by hand); *out is then unspecified.
 */
int spec_decode(const json_t *spec, struct vm_spec *out);

#endif
