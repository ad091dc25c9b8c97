/*
 * fault: crashes the VM with a triple fault.
 *
 * Prints "faulting\n" on COM1, loads the IDT register with base 0 and
 * limit 0, sets CR0.PE (protected mode; no GDT and no far jump are
 * needed, cs keeps its real-mode cached base 0) and executes ud2.  The
 * #UD finds no gate within the limit: #GP; delivering #GP fails the same
 * way: #DF; delivering #DF fails: triple fault, the CPU shuts down.
 *
 * Why not stay in real mode (lidt limit 0, then int $3)?  That is a
 * triple fault on hardware with unrestricted guest, but KVM hosts that
 * emulate real mode (kvm_pvm here) do not check the IDT limit in real
 * mode: the int went through IVT entry 3 (0:0), ran the zeroed low
 * memory up to 0x1000 and restarted the guest, forever.  Failing the
 * delivery push (sp = 1) did not help either: the resulting #SS was
 * delivered without the limit check.  In protected mode both KVM flavours
 * shut down.
 *
 * A test expects: console output exactly "faulting\n"; the VM crashed
 * with a reason that starts with "triple fault at " (KVM reported the
 * ud2's address, 0000:101f as built with binutils 2.40); no exit status.
 * The code after ud2 writes 0xff to the debug-exit port: a backend that
 * skips the fault ends with exit status 255 instead of a crash.
 *
 * OUTSIDE the sim subset: lidt, mov to/from cr0, ud2.  The sim backend is
 * expected to stop this guest as "unsupported instruction at 0000:1012"
 * (the lidt) after the output above.
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

	lidt	zero_idt
	mov	%cr0, %eax
	or	$1, %al
	mov	%eax, %cr0
	ud2

	mov	$0x501, %dx
	mov	$0xff, %al
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

/* The pseudo-descriptor lidt reads: 16-bit limit, then the base. */
zero_idt:
	.word	0
	.long	0

msg:	.asciz	"faulting\n"
