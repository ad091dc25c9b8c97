/*
 * The Intel MultiProcessor Specification 1.4 table (chapter 4): how a
 * guest without ACPI learns its CPUs and interrupt wiring.  Linux reads
 * it (CONFIG_X86_MPPARSE) when it finds the floating pointer in the last
 * KiB of base memory, where mptable_write puts it.
 *
 * What the table says:
 *   - one processor entry per vCPU, local APIC id = index, the
 *     bootstrap processor's flag on vCPU 0;
 *   - one bus, ISA, id 0; with PCI devices (passthrough, ppt.h) two:
 *     PCI id 0 (Linux takes an MP bus id for the PCI bus number, and
 *     the devices are on bus 0) and ISA id 1;
 *   - one I/O APIC at MPTABLE_IOAPIC_ADDR, id = the vCPU count;
 *   - ISA IRQs 0-15 on I/O APIC pins: IRQ 0 (the PIT) on pin 2, the
 *     others on their own number, and no entry for IRQ 2 (the 8259s'
 *     cascade, which never fires; pin 2 is IRQ 0's).  This is the wiring
 *     of a PC chipset, and what QEMU's firmware and Firecracker describe:
 *     a kvm backend with an in-kernel irqchip must route GSI 0 to I/O
 *     APIC pin 2 as QEMU does (KVM's default routing sends it to pin 0);
 *   - each PCI device's INTx pin (source bus IRQ: device << 2 | pin - 1)
 *     on the I/O APIC pin given, level-triggered and active high: KVM's
 *     I/O APIC takes a line's level as is, and QEMU's ACPI tables say
 *     the same of their PCI links;
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

/* A PCI device's INTx as the MP table wires it (bus 0). */
struct mptable_pci_irq {
	uint8_t mpi_slot;       /* device number, 0..31 */
	uint8_t mpi_pin;        /* 1 (INTA) .. 4 (INTD) */
	uint8_t mpi_ioapic_pin; /* 16..23 */
};

/* The most PCI interrupt entries a table takes. */
#define MPTABLE_MAX_PCI 32

/* Bytes mptable_write writes for ncpus and npci PCI interrupts: the
 * floating pointer (16) and the configuration table right after it. */
size_t mptable_size(unsigned ncpus, unsigned npci);

/*
 * Writes the floating pointer at guest physical gpa (16-byte aligned)
 * of mem and the configuration table after it, both checksummed.  mem
 * holds mem_size bytes of guest RAM from gpa 0; pci[0..npci) are the
 * PCI devices' interrupts (npci 0: no PCI bus).  0, or -1 with errno
 * EINVAL (ncpus 0 or over 254, gpa unaligned, npci over
 * MPTABLE_MAX_PCI, a slot, pin or I/O APIC pin out of range) or E2BIG
 * (the table would not end inside mem at gpa + room).
 */
int mptable_write(uint8_t *mem, uint64_t mem_size, uint64_t gpa, size_t room,
		  unsigned ncpus, const struct mptable_pci_irq *pci,
		  unsigned npci);

#endif
