/*
 * The Intel MultiProcessor Specification 1.4 table (chapter 4): how a
 * guest without ACPI learns its CPUs and interrupt wiring.  Linux reads
 * it (CONFIG_X86_MPPARSE) when it finds the floating pointer in the last
 * KiB of base memory, where mptable_write puts it.
 *
 * What the table says:
 *   - one processor entry per vCPU, local APIC id = index, the
 *     bootstrap processor's flag on vCPU 0;
 *   - one bus, ISA, id 0;
 *   - one I/O APIC at MPTABLE_IOAPIC_ADDR, id = the vCPU count;
 *   - ISA IRQs 0-15 on I/O APIC pins: IRQ 0 (the PIT) on pin 2, the
 *     others on their own number, and no entry for IRQ 2 (the 8259s'
 *     cascade, which never fires; pin 2 is IRQ 0's).  This is the wiring
 *     of a PC chipset, and what QEMU's firmware and Firecracker describe:
 *     a kvm backend with an in-kernel irqchip must route GSI 0 to I/O
 *     APIC pin 2 as QEMU does (KVM's default routing sends it to pin 0);
 *   - LINT0 of every local APIC ExtINT (the 8259s, virtual wire mode)
 *     and LINT1 NMI.
 */
#ifndef VMMAPID_VMM_DRIVER_MPTABLE_H
#define VMMAPID_VMM_DRIVER_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_LAPIC_ADDR 0xfee00000u
#define MPTABLE_IOAPIC_ADDR 0xfec00000u
/* The ISA IRQ on I/O APIC pin 2. */
#define MPTABLE_TIMER_PIN 2

/* Bytes mptable_write writes for ncpus: the floating pointer (16) and
 * the configuration table right after it. */
size_t mptable_size(unsigned ncpus);

/*
 * Writes the floating pointer at guest physical gpa (16-byte aligned)
 * of mem and the configuration table after it, both checksummed.  mem
 * holds mem_size bytes of guest RAM from gpa 0.  0, or -1 with errno
 * EINVAL (ncpus 0 or over 254, gpa unaligned) or E2BIG (the table would
 * not end inside mem at gpa + room).
 */
int mptable_write(uint8_t *mem, uint64_t mem_size, uint64_t gpa, size_t room,
		  unsigned ncpus);

#endif
