/*
 * bigout: console throughput.
 *
 * Writes exactly N bytes to COM1, one OUT to 0x3f8 per byte and no LSR
 * polls, then writes 0 to the debug-exit port 0x501.  N is the unsigned
 * 32-bit little-endian value at file offset 4 (the `count` label, guest
 * address 0x1004); the default is 100000.  A test changes N by patching
 * those 4 bytes of bigout.bin before uploading it.  N = 0 is allowed and
 * prints nothing.
 *
 * The bytes are the 64-byte line
 *   "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk\n"
 * (63 letters cycling 'a'..'z', then '\n') repeated, cut off after N
 * bytes: byte i is '\n' when i % 64 == 63, else 'a' + (i % 64) % 26.
 *
 * A test expects: console output of exactly N bytes as above; the VM
 * stopped with reason "debug-exit port" and exit status 0.
 *
 * Inside the sim subset (no adc/sbb there, hence the two-word count).
 */
	.code16
	.text
	.globl _start
_start:
	jmp	start

	/* Fixed file offset: tests patch it.  .org fails the build if the
	 * jump above ever grows past 4 bytes. */
	.org	4
count:	.long	100000

start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %sp

	mov	count, %cx	/* low word of the bytes left */
	mov	count+2, %si	/* high word */
	mov	$0x3f8, %dx

line:
	mov	$0x61, %al	/* 'a' */
	mov	$63, %bl	/* letters before this line's newline */
byte:
	/* Take one byte from si:cx; stop when it is already zero. */
	cmp	$0, %cx
	jne	1f
	cmp	$0, %si
	je	done
	dec	%si
1:	dec	%cx

	cmp	$0, %bl
	je	newline
	out	%al, %dx
	dec	%bl
	inc	%al
	cmp	$0x7b, %al	/* past 'z' */
	jne	byte
	mov	$0x61, %al	/* 'a' */
	jmp	byte

newline:
	mov	$0x0a, %al	/* newline */
	out	%al, %dx
	jmp	line

done:
	mov	$0x501, %dx
	mov	$0, %al
	out	%al, %dx
1:	cli
	hlt
	jmp	1b
