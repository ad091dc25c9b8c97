/*
 * debug-exit STATUS: writes STATUS (0..255) to I/O port 0x501, QEMU's
 * isa-debug-exit and vmmapid's power-off port, which ends the VM with
 * that value as its exit status.  Linked statically into the Linux test
 * guest's initramfs (fetch-and-build); needs CAP_SYS_RAWIO (init has it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0x501

int
main(int argc, char **argv)
{
	long status = argc > 1 ? strtol(argv[1], NULL, 0) : 0;

	if (status < 0 || status > 255) {
		fprintf(stderr, "debug-exit: status must be 0..255\n");
		return 2;
	}
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) != 0) {
		perror("debug-exit: ioperm");
		return 1;
	}
	outb((unsigned char)status, DEBUG_EXIT_PORT);
	/* Only reached when nothing listens on the port. */
	return 1;
}
