/*
 * Makes the Linux boot loader's test fixtures at build time
 * (tests/CMakeLists.txt), so that none are shipped:
 *
 *   mkbzimage elf OUT [TEXT_SIZE]
 *	a tiny ELF64 x86-64 "vmlinux": a text segment of TEXT_SIZE bytes
 *	(64 KiB) at physical 0x1000000 (virtual 0xffffffff81000000, as a
 *	kernel's), a data segment at 0x1200000 (or the next 2 MiB after a
 *	larger text) with 8 KiB of bss, the entry physical at the start of
 *	text, as an x86-64 vmlinux has it;
 *
 *   mkbzimage bz SETUP_SECTS VMLINUX COMPRESSED OUT [INIT_SIZE]
 *	a bzImage shaped as arch/x86/boot builds one: SETUP_SECTS (0
 *	meaning 4) sectors of real-mode setup with the setup header at
 *	0x1f1 (protocol 2.15), then the protected-mode part: 0x200 bytes
 *	of "startup_32", "startup_64" at +0x200, and at +0x400 the
 *	payload, COMPRESSED followed by VMLINUX's size as le32 (the
 *	kernel's size_append); init_size INIT_SIZE (4 MiB).
 *
 * The byte patterns are what test_lxboot.c checks in guest memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK_TEXT_PADDR 0x1000000ull
#define MK_TEXT_VADDR 0xffffffff81000000ull
#define MK_TEXT_SIZE 0x10000
#define MK_DATA_SIZE 0x1000
#define MK_BSS_SIZE 0x2000
#define MK_TEXT_OFF 0x1000
#define MK_PAYLOAD_OFF 0x400
#define MK_INIT_SIZE 0x400000
#define MK_2M 0x200000ull

static void
w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
w32(uint8_t *p, uint32_t v)
{
	w16(p, (uint16_t)v);
	w16(p + 2, (uint16_t)(v >> 16));
}

static void
w64(uint8_t *p, uint64_t v)
{
	w32(p, (uint32_t)v);
	w32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
spill(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
phdr(uint8_t *p, uint32_t flags, uint64_t off, uint64_t vaddr, uint64_t paddr,
     uint64_t filesz, uint64_t memsz)
{
	w32(p, 1); /* PT_LOAD */
	w32(p + 4, flags);
	w64(p + 8, off);
	w64(p + 16, vaddr);
	w64(p + 24, paddr);
	w64(p + 32, filesz);
	w64(p + 40, memsz);
	w64(p + 48, 0x200000);
}

static void
mk_elf(const char *out, size_t text)
{
	size_t data_off = MK_TEXT_OFF + text, n = data_off + MK_DATA_SIZE, i;
	uint64_t data_paddr = MK_TEXT_PADDR + MK_2M;
	uint8_t *p = calloc(1, n);

	if (p == NULL)
		exit(1);
	if (text > MK_2M)
		data_paddr =
		    MK_TEXT_PADDR + ((text + MK_2M - 1) & ~(MK_2M - 1));
	memcpy(p, "\177ELF", 4);
	p[4] = 2;        /* ELFCLASS64 */
	p[5] = 1;        /* little endian */
	p[6] = 1;        /* EV_CURRENT */
	w16(p + 16, 2);  /* ET_EXEC */
	w16(p + 18, 62); /* EM_X86_64 */
	w32(p + 20, 1);
	w64(p + 24, MK_TEXT_PADDR); /* e_entry: physical */
	w64(p + 32, 64);            /* e_phoff */
	w16(p + 52, 64);            /* e_ehsize */
	w16(p + 54, 56);            /* e_phentsize */
	w16(p + 56, 2);             /* e_phnum */
	phdr(p + 64, 5, MK_TEXT_OFF, MK_TEXT_VADDR, MK_TEXT_PADDR, text, text);
	phdr(p + 64 + 56, 6, data_off,
	     MK_TEXT_VADDR + (data_paddr - MK_TEXT_PADDR), data_paddr,
	     MK_DATA_SIZE, MK_DATA_SIZE + MK_BSS_SIZE);
	for (i = 0; i < text; i++)
		p[MK_TEXT_OFF + i] = (uint8_t)(i * 131 + i / 251);
	memcpy(p + MK_TEXT_OFF, "LXTEXT", 6);
	for (i = 0; i < MK_DATA_SIZE; i++)
		p[data_off + i] = (uint8_t)(i ^ 0x5a);
	memcpy(p + data_off, "LXDATA", 6);
	spill(out, p, n);
	free(p);
}

static void
mk_bz(unsigned sects_field, const char *vmlinux, const char *compressed,
      const char *out, uint32_t init_size)
{
	size_t elf_len, z_len, setup, pm_len, n;
	unsigned sects = sects_field != 0 ? sects_field : 4;
	uint8_t *elf = slurp(vmlinux, &elf_len);
	uint8_t *z = slurp(compressed, &z_len);
	uint8_t *p, *h, *pm;
	size_t payload_len = z_len + 4;

	setup = (sects + 1) * 512;
	pm_len = (MK_PAYLOAD_OFF + payload_len + 15) & ~(size_t)15;
	n = setup + pm_len;
	p = calloc(1, n);
	if (p == NULL)
		exit(1);
	/* The boot sector's tail and the setup header (boot.rst). */
	h = p;
	h[0x1f1] = (uint8_t)sects_field;
	w32(h + 0x1f4, (uint32_t)(pm_len / 16)); /* syssize */
	w16(h + 0x1fe, 0xaa55);
	h[0x200] = 0xeb; /* jmp short over the header, to 0x26c */
	h[0x201] = 0x6a;
	memcpy(h + 0x202, "HdrS", 4);
	w16(h + 0x206, 0x020f);
	w16(h + 0x20e, 0x0200); /* kernel_version: a string in setup */
	memcpy(h + 0x400, "6.1.0-lxboot-test", 18);
	h[0x211] = 0x01; /* LOADED_HIGH */
	w32(h + 0x214, 0x100000);
	w32(h + 0x22c, 0x7fffffff); /* initrd_addr_max */
	w32(h + 0x230, 0x200000);   /* kernel_alignment */
	h[0x234] = 1;               /* relocatable */
	h[0x235] = 21;              /* min_alignment */
	w16(h + 0x236, 0x3);        /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	w32(h + 0x238, 2047);       /* cmdline_size */
	w32(h + 0x248, MK_PAYLOAD_OFF);
	w32(h + 0x24c, (uint32_t)payload_len);
	w64(h + 0x258, 0x1000000); /* pref_address */
	w32(h + 0x260, init_size);

	pm = p + setup;
	memcpy(pm, "PM32", 4);
	memcpy(pm + 0x200, "PM64", 4);
	memcpy(pm + MK_PAYLOAD_OFF, z, z_len);
	w32(pm + MK_PAYLOAD_OFF + z_len, (uint32_t)elf_len);
	spill(out, p, n);
	free(p);
	free(elf);
	free(z);
}

int
main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "elf") == 0) {
		mk_elf(argv[2],
		       argc == 4 ? strtoul(argv[3], NULL, 0) : MK_TEXT_SIZE);
		return 0;
	}
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "bz") == 0) {
		mk_bz((unsigned)strtoul(argv[2], NULL, 0), argv[3], argv[4],
		      argv[5],
		      argc == 7 ? (uint32_t)strtoul(argv[6], NULL, 0)
				: MK_INIT_SIZE);
		return 0;
	}
	fprintf(stderr, "usage: mkbzimage elf OUT [TEXT_SIZE]\n"
			"       mkbzimage bz SETUP_SECTS VMLINUX COMPRESSED "
			"OUT [INIT_SIZE]\n");
	return 2;
}
