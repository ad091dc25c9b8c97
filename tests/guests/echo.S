/*
 * echo: console input and output.
 *
 * Polls the COM1 line status register (0x3fd) until bit 0 (data ready)
 * is set, reads the byte from the receive buffer (0x3f8) and writes it
 * back to 0x3f8.  Every byte is echoed except 'q': on 'q' the guest
 * writes "bye\n" instead and powers off by writing 0 to the debug-exit
 * port 0x501.  Nothing is printed before the first byte arrives.
 *
 * A test sends, say, "abc\nq" and expects: console output exactly
 * "abc\nbye\n"; the VM stopped with reason "debug-exit port" and exit
 * status 0.  Until a 'q' arrives the VM keeps running (polling).
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

next:
	mov	$0x3fd, %dx
1:	in	%dx, %al
	test	$0x01, %al
	jz	1b

	mov	$0x3f8, %dx
	in	%dx, %al
	cmp	$0x71, %al	/* 'q' */
	je	quit
	out	%al, %dx
	jmp	next

quit:
	mov	$bye, %si
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

bye:	.asciz	"bye\n"
