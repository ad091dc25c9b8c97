/*
 * edu: drives QEMU's educational PCI device (1234:11e8) passed through to
 * the guest (kvm only: vmm-driver/ppt.h).
 *
 * Enters 32-bit protected mode (flat segments, no paging), scans bus 0
 * through configuration mechanism #1 (0xCF8/0xCFC) for the device, reads
 * BAR0's address from its configuration space, then through BAR0:
 *   - the identification register (offset 0), printed; 0x010000ed
 *     expected;
 *   - the liveness register (offset 4): reads back the bitwise NOT of
 *     what was written;
 *   - one DMA each way of EDU_LEN bytes (QEMU 7.2's edu aborts on one
 *     of exactly 4096): a pattern at RAM_SRC into the device's buffer
 *     (0x40000), then the buffer back to RAM_DST, polling bit 0 of the
 *     command register (0x98); the bytes are compared.
 * Every step prints a line on COM1.  When all went well the guest then
 * halts with interrupts enabled, so that the VM runs on (its device
 * assigned) until stopped; otherwise it powers off through port 0x501
 * with status 1 (after "edu: FAIL ..."), or 2 when there is no device.
 *
 * A test expects, on a VM given an edu device:
 *   edu: found at 00:01.0, BAR0 0xe0000000
 *   edu: id 0x010000ed
 *   edu: liveness ok
 *   edu: DMA 4000 bytes to the device and back ok
 * and the VM still running.
 */
	.equ	EDU_VENDOR_DEVICE, 0x11e81234
	.equ	EDU_ID, 0x00
	.equ	EDU_LIVE, 0x04
	.equ	EDU_DMA_SRC, 0x80
	.equ	EDU_DMA_DST, 0x88
	.equ	EDU_DMA_CNT, 0x90
	.equ	EDU_DMA_CMD, 0x98
	.equ	EDU_BUF, 0x40000
	.equ	EDU_LEN, 4000
	.equ	RAM_SRC, 0x10000
	.equ	RAM_DST, 0x20000
	.equ	POLL_MAX, 0x01000000

	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x8000, %sp
	lgdtl	gdtr
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $pm

	.code32
pm:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %esp

	/* Bus 0, devices 0-31, function 0. */
	xor	%ecx, %ecx
scan:
	mov	%ecx, %eax
	shl	$11, %eax
	or	$0x80000000, %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
	in	%dx, %eax
	cmp	$EDU_VENDOR_DEVICE, %eax
	je	found
	inc	%ecx
	cmp	$32, %ecx
	jb	scan
	mov	$msg_none, %esi
	call	puts
	mov	$2, %al
	jmp	exit

found:
	/* BAR0: register 0x10. */
	mov	%ecx, %eax
	shl	$11, %eax
	or	$0x80000010, %eax
	mov	$0xcf8, %dx
	out	%eax, %dx
	mov	$0xcfc, %dx
	in	%dx, %eax
	and	$0xfffffff0, %eax
	mov	%eax, %ebx
	mov	$msg_found, %esi
	call	puts
	mov	%ecx, %eax
	call	puthex2
	mov	$msg_bar, %esi
	call	puts
	mov	%ebx, %eax
	call	puthex8
	call	newline
	test	%ebx, %ebx
	jz	fail

	mov	$msg_id, %esi
	call	puts
	mov	EDU_ID(%ebx), %eax
	call	puthex8
	call	newline

	movl	$0x12345678, EDU_LIVE(%ebx)
	mov	EDU_LIVE(%ebx), %eax
	cmp	$0xedcba987, %eax
	jne	fail_live
	mov	$msg_live, %esi
	call	puts

	/* The pattern: byte i is i * 7 + 3. */
	xor	%ecx, %ecx
1:	mov	%cl, %al
	imul	$7, %eax
	add	$3, %al
	mov	%al, RAM_SRC(%ecx)
	inc	%ecx
	cmp	$EDU_LEN, %ecx
	jb	1b

	/* RAM to the device: start (1), direction bit (2) clear.  With
	 * the bit set QEMU 7.2's edu takes the source as its own buffer. */
	movl	$RAM_SRC, EDU_DMA_SRC(%ebx)
	movl	$EDU_BUF, EDU_DMA_DST(%ebx)
	movl	$EDU_LEN, EDU_DMA_CNT(%ebx)
	movl	$1, EDU_DMA_CMD(%ebx)
	call	dma_wait
	/* The device back to RAM: the direction bit set. */
	movl	$EDU_BUF, EDU_DMA_SRC(%ebx)
	movl	$RAM_DST, EDU_DMA_DST(%ebx)
	movl	$EDU_LEN, EDU_DMA_CNT(%ebx)
	movl	$3, EDU_DMA_CMD(%ebx)
	call	dma_wait

	xor	%ecx, %ecx
1:	mov	RAM_SRC(%ecx), %al
	cmp	RAM_DST(%ecx), %al
	jne	fail_dma
	inc	%ecx
	cmp	$EDU_LEN, %ecx
	jb	1b
	mov	$msg_dma, %esi
	call	puts
	/* Done: halted with interrupts on, which keeps the VM running
	 * (and the device assigned) until it is stopped. */
	sti
1:	hlt
	jmp	1b

fail_live:
	push	%eax
	mov	$msg_fail_live, %esi
	call	puts
	pop	%eax
	call	puthex8
	call	newline
	jmp	fail
fail_dma:
	mov	$msg_fail_dma, %esi
	call	puts
	mov	%ecx, %eax
	call	puthex8
	call	newline
fail:
	mov	$msg_fail, %esi
	call	puts
	mov	$1, %al
exit:
	mov	$0x501, %dx
	out	%al, %dx
1:	cli
	hlt
	jmp	1b

/* Polls the DMA command register until bit 0 clears; fails after
 * POLL_MAX reads. */
dma_wait:
	mov	$POLL_MAX, %ecx
1:	testl	$1, EDU_DMA_CMD(%ebx)
	jz	2f
	dec	%ecx
	jnz	1b
	mov	$msg_fail_poll, %esi
	call	puts
	jmp	fail
2:	ret

/* Writes the NUL-terminated string at esi to COM1. Clobbers al, dx, esi. */
puts:
	mov	$0x3f8, %dx
1:	mov	(%esi), %al
	cmp	$0, %al
	je	2f
	out	%al, %dx
	inc	%esi
	jmp	1b
2:	ret

newline:
	mov	$0x3f8, %dx
	mov	$'\n', %al
	out	%al, %dx
	ret

/* Prints eax as 0x and 8 hex digits / al as 2 hex digits. */
puthex8:
	push	%eax
	mov	$msg_0x, %esi
	call	puts
	pop	%eax
	push	%ecx
	mov	$8, %ecx
	jmp	puthex
puthex2:
	push	%ecx
	shl	$24, %eax
	mov	$2, %ecx
puthex:
	push	%eax
	mov	$0x3f8, %dx
1:	rol	$4, %eax
	push	%eax
	and	$0xf, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	2f
	add	$('a' - '9' - 1), %al
2:	out	%al, %dx
	pop	%eax
	dec	%ecx
	jnz	1b
	pop	%eax
	pop	%ecx
	ret

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff /* 0x08: code, flat, 32-bit */
	.quad	0x00cf92000000ffff /* 0x10: data, flat */
gdtr:
	.word	gdtr - gdt - 1
	.long	gdt

msg_none:	.asciz	"edu: FAIL no 1234:11e8 device on bus 0\n"
msg_found:	.asciz	"edu: found at 00:"
msg_bar:	.asciz	".0, BAR0 "
msg_id:		.asciz	"edu: id "
msg_live:	.asciz	"edu: liveness ok\n"
msg_dma:	.asciz	"edu: DMA 4000 bytes to the device and back ok\n"
msg_fail_live:	.asciz	"edu: FAIL liveness read "
msg_fail_dma:	.asciz	"edu: FAIL DMA bytes differ at "
msg_fail_poll:	.asciz	"edu: FAIL DMA did not finish\n"
msg_fail:	.asciz	"edu: FAIL\n"
msg_0x:		.asciz	"0x"
