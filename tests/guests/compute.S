/*
 * compute: computes before it prints, as a kernel booting does.
 *
 * Loops 30,000 times (`loop` on cx: ~15 ms under the kvm_pvm host's
 * instruction emulation, microseconds on hardware KVM), then prints
 * "computed\n" on COM1 and executes cli; hlt, which powers it off.  Its
 * first exit of any kind is that first OUT.
 *
 * A test expects: console output exactly "computed\n"; the VM stopped
 * with reason "halted with interrupts disabled".  bench/vm_start.sh times
 * how fast its start is answered: the answer must not wait for the loop.
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

	mov	$30000, %cx
1:	loop	1b

	mov	$msg, %si
	call	puts

2:	cli
	hlt
	jmp	2b

/* Writes the NUL-terminated string at ds:si to COM1.  Clobbers al, dx, si. */
puts:
	mov	$0x3f8, %dx
1:	mov	(%si), %al
	cmp	$0, %al
	je	2f
	out	%al, %dx
	inc	%si
	jmp	1b
2:	ret

msg:	.asciz	"computed\n"
