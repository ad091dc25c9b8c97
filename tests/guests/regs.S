/*
 * regs: known register values for register reads.
 *
 * Sets ds = es = ss = 0 and sp = 0x8000, then
 *   ax = 0x1111  bx = 0x2222  cx = 0x3333  dx = 0x4444
 *   si = 0x5555  di = 0x6666  bp = 0x7777
 * and spins forever on a two-byte `1: jmp 1b` (eb fe) with interrupts
 * disabled.  The spin is the last instruction: its address is the
 * binary's size minus 2 (0x1000 + 0x23 - 2 = 0x1021 as built with
 * binutils 2.40; check with objdump if the code changes).
 *
 * A test expects: no console output; after pausing the VM, the values
 * above in the low 16 bits of rax..rbp (16-bit moves leave the upper
 * bits as the loader set them, zero on a fresh vCPU), cs = ds = es =
 * ss = 0, sp = 0x8000, rip = the address of the spin; the VM keeps
 * running until stopped.
 *
 * Inside the sim subset.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %sp

	mov	$0x1111, %ax
	mov	$0x2222, %bx
	mov	$0x3333, %cx
	mov	$0x4444, %dx
	mov	$0x5555, %si
	mov	$0x6666, %di
	mov	$0x7777, %bp
spin:	jmp	spin
