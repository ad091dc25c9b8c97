/*
 * spin: a guest that never powers itself off.
 *
 * Prints "spinning\n" on COM1, then loops forever on a two-byte
 * `jmp .` (eb fe) with interrupts disabled.  Used to test pause/resume,
 * stop with a timeout that has to be forced, and forced stop.
 *
 * A test expects: console output exactly "spinning\n" and the VM still
 * running until it is stopped; the guest never powers off by itself, so
 * a graceful stop runs out its timeout and is forced (runner_stop
 * returns 1), and no exit status is given.  While paused, ip is 0x1012,
 * the address of the `jmp .` (as built with binutils 2.40).
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

spin:	jmp	spin

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

msg:	.asciz	"spinning\n"
