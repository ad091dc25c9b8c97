/*
 * regsout: register writes take effect.
 *
 * The entry (0x1000) is a two-byte `jmp .` (eb fe): on its own the guest
 * spins there forever, printing nothing.  The real code starts at 0x1002.
 * A test:
 *   1. starts the VM and pauses it (it is spinning at 0x1000);
 *   2. writes the registers: rip = 0x1002, rbx = 0xBEEF (cs stays 0);
 *   3. resumes it.
 * The code at 0x1002 sets up ds, es, ss:sp itself (using only ax), prints
 * bx as 4 upper-case hex digits and "\n" -- so "BEEF\n" -- on COM1, then
 * writes 0 to the debug-exit port 0x501.
 *
 * A test expects: console output exactly "BEEF\n"; the VM stopped with
 * reason "debug-exit port" and exit status 0.  If the register write was
 * lost the VM keeps spinning and prints nothing.
 *
 * The hex conversion is loop-free and shift-free (shr is outside the sim
 * subset): a 256-entry table maps a byte to its two hex digits.
 *
 * Inside the sim subset.
 */
	.code16
	.text
	.globl _start
_start:
	jmp	_start		/* eb fe: must stay exactly 2 bytes */

	.org	2
entry:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %sp

	mov	%bx, %cx
	mov	$0x3f8, %dx

	/* High byte: table index 2 * bh. */
	mov	%ch, %bl
	mov	$0, %bh
	add	%bx, %bx
	mov	hex(%bx), %ax
	out	%al, %dx
	mov	%ah, %al
	out	%al, %dx

	/* Low byte: table index 2 * bl. */
	mov	%cl, %bl
	mov	$0, %bh
	add	%bx, %bx
	mov	hex(%bx), %ax
	out	%al, %dx
	mov	%ah, %al
	out	%al, %dx

	mov	$0x0a, %al	/* newline */
	out	%al, %dx

	mov	$0x501, %dx
	mov	$0, %al
	out	%al, %dx
1:	cli
	hlt
	jmp	1b

/* hex + 2 * b: the two ASCII hex digits of byte b, high digit first. */
hex:
	.irp	h, 0,1,2,3,4,5,6,7,8,9,A,B,C,D,E,F
	.irp	l, 0,1,2,3,4,5,6,7,8,9,A,B,C,D,E,F
	.ascii	"\h\l"
	.endr
	.endr
