/*
 * lxmini: a "kernel" of a page for the Linux VM tests of tests/driver.
 * An ELF64 x86-64 executable (one segment at 0x100000, the entry there)
 * that vmm-driver/lxboot.c loads as it loads a vmlinux and enters in
 * 64-bit mode as the boot protocol says: interrupts off, RSI at the zero
 * page, the first 4 GiB identity-mapped.  It uses what a Linux VM has
 * and a flat one does not: the in-kernel 8259 PICs and local APIC, the
 * UART's IRQ 4, the CMOS at 0x70, the keyboard controller, reboots.
 *
 * The first character of the command line (the zero page's cmd_line_ptr,
 * at 0x228) chooses what it does; each mode ends by writing a status to
 * the debug-exit port 0x501:
 *   p  print "irq-driven output\n" one byte per UART THRE interrupt
 *      (IRQ 4 through the PIC, vector 0x24); status: the THRE interrupts
 *      taken, one per byte and the last that finds nothing to send (19)
 *   e  print "ready\n", then wait with RDI interrupts enabled; the first
 *      byte received prints "got X\n"; status: the byte
 *   c  print CMOS registers D, A, B, the century and the year as
 *      "D=80 A=26 B=02 Y=2026\n" (register D read with the NMI bit of
 *      port 0x70 set, as Linux does); status 0
 *   k  count boots in CMOS RAM byte 0x40 and print "boot N\n"; the
 *      second boot powers off with status 2, the first resets through
 *      the keyboard controller (0x64 <- 0xfe, after waiting for its
 *      input buffer to be empty as Linux's reboot=k does)
 *   t  the same, the first boot resets by a triple fault (ud2 with an
 *      empty IDT), as Linux's reboot=t does
 *   i  software-enable the local APIC, print "ready\n" and wait; vector
 *      0x30 prints "vector 48\n", status 48; an NMI prints "nmi\n",
 *      status 2
 * Any other vector prints "unexpected vector\n", status 0xee.
 */
	.code64
	.text
	.globl _start
_start:
	cli
	lea	stack_top(%rip), %rsp
	mov	%rsi, %rbx

	/* Every vector to `unexpected`, then the ones a mode uses. */
	xor	%ecx, %ecx
1:	lea	unexpected(%rip), %rax
	call	set_gate
	inc	%ecx
	cmp	$256, %ecx
	jne	1b
	mov	$0x24, %ecx
	lea	irq4(%rip), %rax
	call	set_gate
	mov	$0x30, %ecx
	lea	vec48(%rip), %rax
	call	set_gate
	mov	$2, %ecx
	lea	nmi(%rip), %rax
	call	set_gate
	lidt	idtr(%rip)

	mov	0x228(%rbx), %eax	/* cmd_line_ptr */
	movzbl	(%rax), %eax
	cmp	$'p', %al
	je	mode_print
	cmp	$'e', %al
	je	mode_echo
	cmp	$'c', %al
	je	mode_cmos
	cmp	$'k', %al
	je	mode_reboot
	cmp	$'t', %al
	je	mode_reboot
	cmp	$'i', %al
	je	mode_intr
	jmp	unexpected

/* IDT gate ecx -> handler rax (an interrupt gate, CS as now). */
set_gate:
	push	%rdx
	lea	idt(%rip), %rdx
	shl	$4, %ecx
	add	%rcx, %rdx
	shr	$4, %ecx
	mov	%ax, (%rdx)
	push	%rax
	mov	%cs, %ax
	mov	%ax, 2(%rdx)
	pop	%rax
	movw	$0x8e00, 4(%rdx)
	shr	$16, %rax
	mov	%ax, 6(%rdx)
	shr	$16, %rax
	mov	%eax, 8(%rdx)
	movl	$0, 12(%rdx)
	pop	%rdx
	ret

/* The 8259s: vectors 0x20 (master) and 0x28, only IRQ 4 unmasked. */
pic_init:
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x20, %al
	out	%al, $0x21
	mov	$0x28, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xef, %al
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1
	ret

/* Polled output of the NUL-terminated string at rsi.  Clobbers al, dx. */
puts:
	push	%rsi
	mov	$0x3f8, %dx
1:	mov	(%rsi), %al
	test	%al, %al
	jz	2f
	out	%al, %dx
	inc	%rsi
	jmp	1b
2:	pop	%rsi
	ret

/* al as two hex digits.  Clobbers al, cl, dx. */
puthex:
	mov	%al, %cl
	shr	$4, %al
	call	putnib
	mov	%cl, %al
	and	$0x0f, %al
putnib:
	add	$'0', %al
	cmp	$'9', %al
	jbe	1f
	add	$('a' - '0' - 10), %al
1:	mov	$0x3f8, %dx
	out	%al, %dx
	ret

/* CMOS register al into al. */
cmos:
	out	%al, $0x70
	in	$0x71, %al
	ret

/* Writes al to the debug-exit port: the VM powers off. */
poweroff:
	mov	$0x501, %dx
	out	%al, %dx
1:	cli
	hlt
	jmp	1b

mode_print:
	call	pic_init
	lea	msg_print(%rip), %rax
	mov	%rax, txptr(%rip)
	mov	$0x3fc, %dx		/* MCR: OUT2 lets IRQ 4 out */
	mov	$0x08, %al
	out	%al, %dx
	mov	$0x3f9, %dx		/* IER: THRI */
	mov	$0x02, %al
	out	%al, %dx
	sti
1:	hlt
	jmp	1b

mode_echo:
	call	pic_init
	lea	msg_ready(%rip), %rsi
	call	puts
	mov	$0x3fc, %dx
	mov	$0x08, %al
	out	%al, %dx
	mov	$0x3f9, %dx		/* IER: RDI */
	mov	$0x01, %al
	out	%al, %dx
	sti
1:	hlt
	jmp	1b

irq4:
	mov	$0x3fa, %dx		/* IIR */
	in	%dx, %al
	and	$0x0f, %al
	cmp	$0x04, %al
	je	rx
	cmp	$0x02, %al
	jne	eoi
	incl	nthre(%rip)
	mov	txptr(%rip), %rsi
	mov	(%rsi), %al
	test	%al, %al
	jz	tx_done
	mov	$0x3f8, %dx
	out	%al, %dx
	inc	%rsi
	mov	%rsi, txptr(%rip)
eoi:
	mov	$0x20, %al
	out	%al, $0x20
	iretq
tx_done:
	mov	nthre(%rip), %eax
	jmp	poweroff
rx:
	mov	$0x3f8, %dx		/* RBR */
	in	%dx, %al
	mov	%al, %bl
	lea	msg_got(%rip), %rsi
	call	puts
	mov	%bl, %al
	mov	$0x3f8, %dx
	out	%al, %dx
	mov	$'\n', %al
	out	%al, %dx
	mov	%bl, %al
	jmp	poweroff

mode_cmos:
	lea	msg_d(%rip), %rsi
	call	puts
	mov	$0x8d, %al		/* D, with the NMI-disable bit */
	call	cmos
	call	puthex
	lea	msg_a(%rip), %rsi
	call	puts
	mov	$0x0a, %al
	call	cmos
	call	puthex
	lea	msg_b(%rip), %rsi
	call	puts
	mov	$0x0b, %al
	call	cmos
	call	puthex
	lea	msg_y(%rip), %rsi
	call	puts
	mov	$0x32, %al
	call	cmos
	call	puthex
	mov	$0x09, %al
	call	cmos
	call	puthex
	mov	$0x3f8, %dx
	mov	$'\n', %al
	out	%al, %dx
	xor	%eax, %eax
	jmp	poweroff

mode_reboot:
	mov	%al, %bh		/* 'k' or 't' */
	mov	$0x40, %al
	call	cmos
	inc	%al
	mov	%al, %bl
	out	%al, $0x71		/* 0x70 still selects 0x40 */
	lea	msg_boot(%rip), %rsi
	call	puts
	mov	%bl, %al
	add	$'0', %al
	mov	$0x3f8, %dx
	out	%al, %dx
	mov	$'\n', %al
	out	%al, %dx
	cmp	$2, %bl
	jb	1f
	mov	%bl, %al
	jmp	poweroff
1:	cmp	$'t', %bh
	je	2f
3:	in	$0x64, %al		/* input buffer empty? */
	test	$0x02, %al
	jnz	3b
	mov	$0xfe, %al
	out	%al, $0x64
4:	hlt
	jmp	4b
2:	lidt	idtr_empty(%rip)
	ud2

mode_intr:
	mov	$0xfee000f0, %eax	/* spurious vector register: enable */
	movl	$0x1ff, (%rax)
	lea	msg_ready(%rip), %rsi
	call	puts
	sti
1:	hlt
	jmp	1b

vec48:
	lea	msg_vec48(%rip), %rsi
	call	puts
	mov	$0xfee000b0, %eax	/* EOI */
	movl	$0, (%rax)
	mov	$48, %al
	jmp	poweroff

nmi:
	lea	msg_nmi(%rip), %rsi
	call	puts
	mov	$2, %al
	jmp	poweroff

unexpected:
	lea	msg_unexpected(%rip), %rsi
	call	puts
	mov	$0xee, %al
	jmp	poweroff

	.data
	.balign	16
idt:	.fill	256 * 16, 1, 0
idtr:	.word	256 * 16 - 1
	.quad	idt
idtr_empty:
	.word	0
	.quad	0
txptr:	.quad	0
nthre:	.long	0
msg_print:	.asciz	"irq-driven output\n"
msg_ready:	.asciz	"ready\n"
msg_got:	.asciz	"got "
msg_d:	.asciz	"D="
msg_a:	.asciz	" A="
msg_b:	.asciz	" B="
msg_y:	.asciz	" Y="
msg_boot:	.asciz	"boot "
msg_vec48:	.asciz	"vector 48\n"
msg_nmi:	.asciz	"nmi\n"
msg_unexpected:	.asciz	"unexpected vector\n"
	.balign	16
	.fill	4096, 1, 0
stack_top:
