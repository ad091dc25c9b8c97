/*
 * exit3: powers off through the debug-exit port with a non-zero status.
 *
 * Prints "exit 3\n" on COM1, then writes the byte 3 to port 0x501.
 *
 * A test expects: console output exactly "exit 3\n"; the VM stopped with
 * reason "debug-exit port" and exit status 3.
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

	mov	$0x501, %dx
	mov	$3, %al
	out	%al, %dx

	/* Not reached when the port works; a halt is the fallback power-off. */
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

msg:	.asciz	"exit 3\n"
