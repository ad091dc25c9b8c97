/*
 * The MP table (see mptable.h), written field by field in little endian
 * at the offsets of the MultiProcessor Specification 1.4, chapter 4.
 */
#include "vmm-driver/mptable.h"

#include <errno.h>
#include <string.h>

/* Sizes (MP spec 1.4, tables 4-1 .. 4-8). */
#define MP_FLOAT_LEN 16
#define MP_HDR_LEN 44
#define MP_CPU_LEN 20
#define MP_ENTRY_LEN 8 /* bus, I/O APIC, I/O and local interrupts */

/* Entry types. */
#define MP_T_CPU 0
#define MP_T_BUS 1
#define MP_T_IOAPIC 2
#define MP_T_IOINT 3
#define MP_T_LINT 4

/* Interrupt types (table 4-10). */
#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3

#define MP_SPEC_REV 4         /* 1.4 */
#define MP_LAPIC_VERSION 0x14 /* an integrated local APIC, as KVM's */
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_EN 0x01
#define MP_CPU_BP 0x02
/* Family 6, and the feature flags that matter to a reader: FPU, APIC. */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES ((1u << 0) | (1u << 9))
#define MP_ISA_IRQS 16
#define MP_ISA_CASCADE 2
#define MP_ALL_LAPICS 0xff
#define MP_IOAPIC_PINS 24
/* Polarity active high (01), trigger level (11): table 4-10. */
#define MP_PCI_IRQ_FLAGS 0x000d

static void
mp_w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
mp_w32(uint8_t *p, uint32_t v)
{
	mp_w16(p, (uint16_t)v);
	mp_w16(p + 2, (uint16_t)(v >> 16));
}

/* The byte that makes the sum of p[0 .. n) zero. */
static uint8_t
mp_checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n-- > 0)
		s = (uint8_t)(s + *p++);
	return (uint8_t)(0x100 - s);
}

/* ISA IRQs with an entry: all but the cascade. */
static unsigned
mp_nirqs(void)
{
	return MP_ISA_IRQS - 1;
}

size_t
mptable_size(unsigned ncpus, unsigned npci)
{
	return MP_FLOAT_LEN + MP_HDR_LEN + (size_t)ncpus * MP_CPU_LEN +
	       MP_ENTRY_LEN * (1 + (npci > 0) + 1 + mp_nirqs() + npci + 2);
}

int
mptable_write(uint8_t *mem, uint64_t mem_size, uint64_t gpa, size_t room,
	      unsigned ncpus, const struct mptable_pci_irq *pci, unsigned npci)
{
	size_t size = mptable_size(ncpus, npci);
	uint8_t *fp, *t, *e;
	unsigned i, irq, entries = 0;
	uint8_t isa = npci > 0 ? 1 : 0; /* the ISA bus's id */
	uint32_t table;

	/* 255 is the broadcast APIC id, and the I/O APIC takes ncpus. */
	if (ncpus == 0 || ncpus > 254 || gpa % 16 != 0 ||
	    npci > MPTABLE_MAX_PCI || (npci > 0 && pci == NULL)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < npci; i++)
		if (pci[i].mpi_slot > 31 || pci[i].mpi_pin < 1 ||
		    pci[i].mpi_pin > 4 ||
		    pci[i].mpi_ioapic_pin >= MP_IOAPIC_PINS) {
			errno = EINVAL;
			return (-1);
		}
	if (size > room || gpa > mem_size || mem_size - gpa < size ||
	    gpa + size > UINT32_MAX) {
		errno = E2BIG;
		return (-1);
	}
	fp = mem + gpa;
	t = fp + MP_FLOAT_LEN;
	table = (uint32_t)gpa + MP_FLOAT_LEN;
	memset(fp, 0, size);

	/* The entries, after the configuration table's header. */
	e = t + MP_HDR_LEN;
	for (i = 0; i < ncpus; i++, entries++) {
		e[0] = MP_T_CPU;
		e[1] = (uint8_t)i; /* local APIC id */
		e[2] = MP_LAPIC_VERSION;
		e[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		mp_w32(e + 4, MP_CPU_SIGNATURE);
		mp_w32(e + 8, MP_CPU_FEATURES);
		e += MP_CPU_LEN;
	}
	if (npci > 0) {
		e[0] = MP_T_BUS;
		e[1] = 0; /* bus id: the PCI bus number */
		memcpy(e + 2, "PCI   ", 6);
		e += MP_ENTRY_LEN;
		entries++;
	}
	e[0] = MP_T_BUS;
	e[1] = isa; /* bus id */
	memcpy(e + 2, "ISA   ", 6);
	e += MP_ENTRY_LEN;
	entries++;

	e[0] = MP_T_IOAPIC;
	e[1] = (uint8_t)ncpus; /* I/O APIC id, after the local APICs' */
	e[2] = MP_IOAPIC_VERSION;
	e[3] = 1; /* enabled */
	mp_w32(e + 4, MPTABLE_IOAPIC_ADDR);
	e += MP_ENTRY_LEN;
	entries++;

	for (irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == MP_ISA_CASCADE)
			continue;
		e[0] = MP_T_IOINT;
		e[1] = MP_INT;
		mp_w16(e + 2, 0); /* polarity and trigger: the bus's (ISA) */
		e[4] = isa;       /* source bus: ISA */
		e[5] = (uint8_t)irq;
		e[6] = (uint8_t)ncpus; /* the I/O APIC */
		e[7] = (uint8_t)(irq == 0 ? MPTABLE_TIMER_PIN : irq);
		e += MP_ENTRY_LEN;
		entries++;
	}
	for (i = 0; i < npci; i++) {
		e[0] = MP_T_IOINT;
		e[1] = MP_INT;
		mp_w16(e + 2, MP_PCI_IRQ_FLAGS);
		e[4] = 0; /* source bus: PCI */
		e[5] = (uint8_t)(pci[i].mpi_slot << 2 | (pci[i].mpi_pin - 1));
		e[6] = (uint8_t)ncpus;
		e[7] = pci[i].mpi_ioapic_pin;
		e += MP_ENTRY_LEN;
		entries++;
	}

	/* LINT0: the 8259s (ExtINT); LINT1: NMI; on every local APIC. */
	for (i = 0; i < 2; i++) {
		e[0] = MP_T_LINT;
		e[1] = i == 0 ? MP_EXTINT : MP_NMI;
		mp_w16(e + 2, 0);
		e[4] = 0;
		e[5] = 0;
		e[6] = MP_ALL_LAPICS;
		e[7] = (uint8_t)i;
		e += MP_ENTRY_LEN;
		entries++;
	}

	/* The configuration table's header (table 4-2). */
	memcpy(t, "PCMP", 4);
	mp_w16(t + 4, (uint16_t)(e - t)); /* base table length */
	t[6] = MP_SPEC_REV;
	memcpy(t + 8, "VMMAPID ", 8);       /* OEM id */
	memcpy(t + 16, "VMMAPID-VM  ", 12); /* product id */
	mp_w16(t + 34, (uint16_t)entries);  /* entry count */
	mp_w32(t + 36, MPTABLE_LAPIC_ADDR); /* local APIC address */
	t[7] = mp_checksum(t, (size_t)(e - t));

	/* The floating pointer (table 4-1): features all 0, so the table
	 * above describes the system (no default configuration) and the
	 * IMCR is absent (virtual wire mode). */
	memcpy(fp, "_MP_", 4);
	mp_w32(fp + 4, table);
	fp[8] = 1; /* length in 16-byte units */
	fp[9] = MP_SPEC_REV;
	fp[10] = mp_checksum(fp, MP_FLOAT_LEN);
	return 0;
}
