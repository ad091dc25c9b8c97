/*
 * gi_missing: `info-get guestinfo.missing` (a key a test never sets)
 * through the high-bandwidth path; prints the reply.
 *
 * Path: the high-bandwidth one (SENDSIZE/RECVSIZE on 0x5658, the payload by one `rep outsb` / `rep insb` on 0x5659), on an RPCI channel
 * opened with cookies, closed at the end.  Every backdoor register goes
 * through memory (r_eax .. r_edi): the guests keep to the sim's subset,
 * whose 32-bit forms are mov and in/out only.
 *
 * Output: `0 No value found\n`.
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

	call	open
	call	send
	call	recv
	call	close

	mov	$prefix, %si
	call	puts
	mov	reply_len, %cx
	sub	$0, %cx		/* the whole reply */
	mov	$buf + 0, %si
	cmp	$0, %cx
	je	1f
	call	putn
1:	mov	$nl, %si
	call	puts

	mov	$0x501, %dx
	mov	$0, %al
	out	%al, %dx
	cli
	hlt

/* ---- the backdoor calls (each guest carries its own copy) ---- */

/* One low-bandwidth call: eax = magic, the other registers from
 * r_ebx .. r_edi, `in (%dx),%eax`, then every register back there. */
bd:
	mov	$0x564d5868, %eax
	mov	r_ebx, %ebx
	mov	r_ecx, %ecx
	mov	r_edx, %edx
	mov	r_esi, %esi
	mov	r_edi, %edi
	in	(%dx), %eax
	mov	%eax, r_eax
	mov	%ebx, r_ebx
	mov	%ecx, r_ecx
	mov	%edx, r_edx
	mov	%esi, r_esi
	mov	%edi, r_edi
	ret

/* A MESSAGE call of type ax on the channel (r_ebx set by the caller). */
msg:
	mov	%ax, r_ecx + 2
	movw	$0x1e, r_ecx
	movw	$0x5658, r_edx
	mov	chan, %ax
	mov	%ax, r_edx + 2
	mov	cookie_hi, %eax
	mov	%eax, r_esi
	mov	cookie_lo, %eax
	mov	%eax, r_edi
	call	bd
	ret

/* Opens an RPCI channel with cookies; chan and cookies kept. */
open:
	movw	$0x5052, r_ebx		/* 'RPCI' | cookie flag 0x80000000 */
	movw	$0xc943, r_ebx + 2
	movw	$0, chan
	movw	$0, cookie_hi
	movw	$0, cookie_hi + 2
	movw	$0, cookie_lo
	movw	$0, cookie_lo + 2
	mov	$0, %ax
	call	msg
	mov	r_edx + 2, %ax
	mov	%ax, chan
	mov	r_esi, %eax
	mov	%eax, cookie_hi
	mov	r_edi, %eax
	mov	%eax, cookie_lo
	ret

/* Sends the command at cmd (cmd_len bytes): send size, then the
 * payload -- 4 bytes per call (low bandwidth) or one rep outsb. */
send:
	mov	cmd_len, %ax
	mov	%ax, r_ebx
	movw	$0, r_ebx + 2
	mov	$1, %ax			/* SENDSIZE */
	call	msg
	mov	$0x10000, %ebx		/* rep outsb on 0x5659 */		/* HB message | SUCCESS << 16 */
	mov	$0, %ecx
	mov	cmd_len, %cx
	mov	chan, %ax
	mov	%ax, r_edx + 2		/* edx's high half through memory */
	movw	$0x5659, r_edx
	mov	r_edx, %edx
	mov	$0x564d5868, %eax
	mov	cookie_hi, %ebp
	mov	cookie_lo, %edi
	mov	$cmd, %si
	cld
	rep	outsb
	ret

/* Receives the reply into buf; its length in reply_len. */
recv:
	mov	$3, %ax			/* RECVSIZE */
	call	msg
	mov	r_ebx, %ax
	mov	%ax, reply_len
	cmpw	$0, reply_len
	je	1f
	mov	chan, %ax		/* rep insb from 0x5659 */
	mov	%ax, r_edx + 2
	movw	$0x5659, r_edx
	mov	r_edx, %edx
	mov	$0x10000, %ebx
	mov	$0, %ecx
	mov	reply_len, %cx
	mov	cookie_hi, %esi
	mov	cookie_lo, %ebp
	mov	$0, %edi
	mov	$buf, %di
	mov	$0x564d5868, %eax
	cld
	rep	insb
1:
	movw	$1, r_ebx
	movw	$0, r_ebx + 2
	mov	$5, %ax			/* RECVSTATUS */
	call	msg
	ret

close:
	mov	$6, %ax			/* CLOSE */
	call	msg
	ret

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

/* Prints cx bytes at si (cx > 0). */
putn:
	mov	$0x3f8, %dx
1:	mov	(%si), %al
	out	%al, %dx
	inc	%si
	dec	%cx
	jne	1b
	ret

	.balign	4
r_eax:	.long	0
r_ebx:	.long	0
r_ecx:	.long	0
r_edx:	.long	0
r_esi:	.long	0
r_edi:	.long	0
cookie_hi: .long 0
cookie_lo: .long 0
chan:	.word	0
ptr:	.word	0
left:	.word	0
reply_len: .word 0
cmd_len: .word	cmd_end - cmd
cmd:	.ascii	"info-get guestinfo.missing"
cmd_end:
	.byte	0, 0, 0, 0
prefix:	.asciz	""
nl:	.asciz	"\n"
	.balign	4
buf:	/* the reply lands here */
