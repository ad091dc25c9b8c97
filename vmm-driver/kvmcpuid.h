/*
 * The CPUID a vCPU of the kvm backend gets: KVM_GET_SUPPORTED_CPUID's,
 * changed for the kind of VM and for flaws of the host (kvmcpuid.c).
 * Linux only (struct kvm_cpuid2).
 */
#ifndef VMMAPID_VMM_DRIVER_KVMCPUID_H
#define VMMAPID_VMM_DRIVER_KVMCPUID_H

#ifdef __linux__

#include <linux/kvm.h>

/* kvm_cpuid_filter's flags. */
/* A Linux VM: an in-kernel irqchip, the KVM leaves, the hypervisor bit. */
#define KVM_CPUID_LINUX 0x1u
/* KVM_CAP_TSC_DEADLINE_TIMER: a Linux VM is offered the TSC-deadline
 * timer (KVM_GET_SUPPORTED_CPUID leaves that bit to the VMM). */
#define KVM_CPUID_TSC_DEADLINE 0x2u
/* The host does not tell KVM of the guest's XSETBV (kvm_cpuid_host_flags):
 * XSAVE and everything that needs it is taken out. */
#define KVM_CPUID_NO_XSAVE 0x4u
/* With KVM_CPUID_LINUX, a VM whose VMware backdoor answers: leaf
 * 0x40000000 says "VMwareVMware" and the KVM leaves move to 0x40000100
 * (kvm_cpuid_filter). */
#define KVM_CPUID_VMWARE 0x8u

/* Where the KVM leaves are with KVM_CPUID_VMWARE: the next block of 0x100
 * that Linux's hypervisor_cpuid_base() and KVM's own look-up scan. */
#define KVM_CPUID_VMWARE_KVM_BASE 0x40000100u

/* Entries kvm_cpuid_filter may add: the two KVM leaves where
 * KVM_GET_SUPPORTED_CPUID lacks them, and VMware's signature. */
#define KVM_CPUID_EXTRA 3

/*
 * Changes c, KVM_GET_SUPPORTED_CPUID's answer, into vCPU id's CPUID:
 * its APIC ID; without KVM_CPUID_LINUX no APIC, x2APIC or TSC-deadline
 * bits (a flat VM has no local APIC); with it the hypervisor bit, the
 * TSC-deadline bit when KVM_CPUID_TSC_DEADLINE, and the KVM leaves with
 * the paravirtual features a Linux VM gets, at 0x40000000 or, with
 * KVM_CPUID_VMWARE, at KVM_CPUID_VMWARE_KVM_BASE below VMware's
 * signature; with KVM_CPUID_NO_XSAVE no XSAVE, no leaf 0xd, no feature
 * whose state XSAVE manages.  c has room for KVM_CPUID_EXTRA more
 * entries than c->nent.
 */
void kvm_cpuid_filter(struct kvm_cpuid2 *c, unsigned id, unsigned flags);

/*
 * The flags the host itself calls for, given the signature of the
 * hypervisor this host runs under (vmm_host_nested; "" on bare metal):
 * KVM_CPUID_NO_XSAVE under QEMU's software emulator ("TCGTCGTCGTCG"),
 * whose emulated SVM lets the guest's XSETBV through without a #VMEXIT.
 */
unsigned kvm_cpuid_host_flags(const char *host_hv_sig);

#endif /* __linux__ */
#endif
