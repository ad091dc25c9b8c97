/*
 * Choosing the backend: --driver auto picks kvm when /dev/kvm opens and
 * speaks the stable KVM API, otherwise sim.
 */
#ifndef VMMAPID_VMM_DRIVER_DETECT_H
#define VMMAPID_VMM_DRIVER_DETECT_H

#include <stddef.h>
#include <stdint.h>

/*
 * want: "auto", "kvm" or "sim".  Sets *name to the chosen backend and
 * writes why into reason.  -1 (with reason filled) when kvm was asked
 * for and cannot be used.
 */
int vmm_detect(const char *want, const char **name, char *reason, size_t len);

/*
 * Whether backend (a name vmm_detect gave) can run guests on this host
 * now: for kvm, /dev/kvm opens and speaks the stable API; sim needs
 * nothing.  0, or -1 with why filled (GET /v1/health asks each time).
 */
int vmm_usable(const char *backend, char *why, size_t len);

/* Which KVM this is (kvm_pvm, kvm_intel, kvm_amd), as a sentence. */
const char *vmm_kvm_flavor(void);

/*
 * The virtualization the loaded KVM vendor module uses: "svm"
 * (kvm_amd), "vmx" (kvm_intel), "pvm" (kvm_pvm), or "unknown" when none
 * of those is loaded.
 */
const char *vmm_kvm_kind(void);

/* Where Linux's kvm module shows its enable_vmware_backdoor parameter. */
#define VMM_KVM_BACKDOOR_PARAM                                                 \
	"/sys/module/kvm/parameters/enable_vmware_backdoor"

/*
 * Whether the host's KVM lets a guest's user space reach the VMware
 * backdoor's ports (0x5658, 0x5659) as VMware does: kvm loaded with
 * enable_vmware_backdoor=1, read from path (VMM_KVM_BACKDOOR_PARAM; a
 * test passes its own file).  Without it, a Linux guest's process
 * (vmware-rpctool) takes a #GP on `in` from those ports, which its kernel
 * turns into SIGSEGV; only the guest's kernel reaches the backdoor.
 * 1 ("Y" or "1"), 0 ("N" or "0"), -1 with errno when the file cannot be
 * read (ENOENT: no kvm module) or says something else (EINVAL).
 */
int vmm_kvm_backdoor_user(const char *path);

/*
 * Whether this host itself runs under a hypervisor: 1 when CPUID leaf 1
 * sets ECX bit 31, with the hypervisor's CPUID 0x40000000 signature
 * ("KVMKVMKVM", "TCGTCGTCGTCG", "Microsoft Hv" ...; "" when that leaf
 * says nothing) in sig; 0 with sig "" on bare metal or where there is
 * no CPUID (not x86).  Asked once per process; thread-safe.
 */
int vmm_host_nested(char *sig, size_t len);

/*
 * The 12-byte signature in EBX, ECX, EDX of CPUID 0x40000000 as a
 * string: NULs and trailing spaces dropped, other bytes outside
 * printable ASCII as '?'.  sig holds at least 13 bytes.
 */
void vmm_hv_signature(uint32_t ebx, uint32_t ecx, uint32_t edx, char *sig);

#endif
