/*
 * intr: interrupt injection.
 *
 * Installs real-mode interrupt vector table entries (0:4*vector, each a
 * 16-bit offset then a 16-bit segment) for vector 0x20 (at 0:0x80) and
 * for NMI, vector 2 (at 0:0x08).  Then prints "ready\n" on COM1, enables
 * interrupts and waits in `1: hlt; jmp 1b` -- HLT with interrupts
 * enabled is a wait, not a power-off.
 *   - vector 0x20 (an external interrupt, e.g. runner_interrupt with
 *     vector 32): prints "irq 32\n", writes 0 to port 0x501;
 *   - NMI: prints "nmi\n", writes 0 to port 0x501.
 * Any other vector has a zero IVT entry and would run whatever is at
 * 0:0; a test should not send one.
 *
 * A test waits for "ready\n", injects one interrupt and expects: console
 * output exactly "ready\nirq 32\n" (or "ready\nnmi\n"); the VM stopped
 * with reason "debug-exit port" and exit status 0.  Without an injection
 * the VM stays running, halted (vs_halted = 1), until stopped.
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

	/* The code is linked at 0x1000 and runs with cs = 0. */
	movw	$irq32, 0x20*4
	movw	$0, 0x20*4+2
	movw	$nmi, 2*4
	movw	$0, 2*4+2

	mov	$ready, %si
	call	puts

	sti
1:	hlt
	jmp	1b

irq32:
	mov	$msg_irq, %si
	jmp	finish
nmi:
	mov	$msg_nmi, %si
finish:
	/* The waiting loop left ds = 0; set it anyway, it costs two moves. */
	xor	%ax, %ax
	mov	%ax, %ds
	call	puts
	mov	$0x501, %dx
	mov	$0, %al
	out	%al, %dx
1:	cli
	hlt
	jmp	1b

/* Writes the NUL-terminated string at ds:si to COM1.  Clobbers al, dx, si.
 * Not lodsb: that depends on DF, and cld is outside the sim subset. */
puts:
	mov	$0x3f8, %dx
1:	mov	(%si), %al
	cmp	$0, %al
	je	2f
	out	%al, %dx
	inc	%si
	jmp	1b
2:	ret

ready:	.asciz	"ready\n"
msg_irq:	.asciz	"irq 32\n"
msg_nmi:	.asciz	"nmi\n"
