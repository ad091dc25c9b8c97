/*
 * gi_version: the backdoor's GETVERSION (ecx 10) on port 0x5658 with the
 * magic in eax, and its answer printed: eax and ebx in hex.
 *
 * Output: `eax=00000006 ebx=564D5868\n` where the backdoor answers;
 * without one (an unknown port reads all-ones) `eax=FFFFFFFF ebx=...`.
 * End: debug-exit, status 0.
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %sp

	mov	$0x564d5868, %eax
	mov	$0, %ebx
	mov	$10, %ecx		/* GETVERSION */
	mov	$0x5658, %edx
	in	(%dx), %eax
	mov	%eax, r_eax
	mov	%ebx, r_ebx

	mov	$s_eax, %si
	call	puts
	mov	$r_eax, %si
	call	puthex
	mov	$s_ebx, %si
	call	puts
	mov	$r_ebx, %si
	call	puthex
	mov	$nl, %si
	call	puts

	mov	$0x501, %dx
	mov	$0, %al
	out	%al, %dx
	cli
	hlt

/* Prints the NUL-terminated string at si. */
puts:
	mov	$0x3f8, %dx
1:	mov	(%si), %al
	cmp	$0, %al
	je	2f
	out	%al, %dx
	inc	%si
	jmp	1b
2:	ret

/* Prints the dword at si in hex, most significant byte first.  No
 * shifts in the sim's subset: the high nibble is counted by
 * subtracting 16. */
puthex:
	add	$3, %si
	mov	$4, %cx
1:	mov	(%si), %al
	mov	$0, %bl
2:	cmp	$16, %al
	jb	3f
	sub	$16, %al
	inc	%bl
	jmp	2b
3:	mov	%al, %bh		/* low nibble */
	mov	%bl, %al
	call	putnib
	mov	%bh, %al
	call	putnib
	dec	%si
	dec	%cx
	jne	1b
	ret

/* Prints the hex digit al (0..15). */
putnib:
	mov	$0, %ah
	mov	%ax, %di
	mov	digits(%di), %al
	mov	$0x3f8, %dx
	out	%al, %dx
	ret

	.balign	4
r_eax:	.long	0
r_ebx:	.long	0
digits:	.ascii	"0123456789ABCDEF"
s_eax:	.asciz	"eax="
s_ebx:	.asciz	" ebx="
nl:	.asciz	"\n"
