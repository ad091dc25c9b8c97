/*
 * hello: the smallest useful guest.
 *
 * Prints "Hello from vmmapid guest\n" on COM1 (one OUT to 0x3f8 per byte,
 * no LSR polling), then executes cli; hlt, which the runner treats as a
 * power-off.
 *
 * A test expects: console output exactly "Hello from vmmapid guest\n";
 * the VM stopped with reason "halted with interrupts disabled" and no
 * exit status from the debug-exit port.
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

	mov	$msg, %si
	call	puts

	/* Loop back in case something (an NMI) wakes the HLT. */
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

msg:	.asciz	"Hello from vmmapid guest\n"
