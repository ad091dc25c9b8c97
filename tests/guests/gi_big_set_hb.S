/*
 * gi_big_set_hb: gi_big_set through the high-bandwidth path: the message
 * by `rep outsb` on 0x5659 in pieces of at most 32 KiB.  Same value,
 * parameter (N at file offset 4, default 65536) and output.
 * End: debug-exit, status 0.
 */
	.macro	gi_command
	.ascii	"info-set guestinfo.big "
	.endm
	.set	GI_HB, 1
	.set	GI_VALUE, 1
	.set	GI_LEN, 65536
	.set	GI_POLL, 0
	.include "gi_big.inc"
