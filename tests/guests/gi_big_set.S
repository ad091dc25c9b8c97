/*
 * gi_big_set: `info-set guestinfo.big VALUE` through the low-bandwidth
 * path (four bytes per SENDPAYLOAD call), VALUE N bytes of gi_big.inc's
 * pattern ("a".."z", "A".."Z", "0".."8" over and over); N is the u32 at
 * file offset 4, 65536 unless a test patches it.
 *
 * Output: `go\n`, `len=00000002 sum=...\n` and `reply=1 \n` when stored;
 * past the limit (N = 65537) `reply=0 Value longer than 65536 bytes\n`.
 * End: debug-exit, status 0.
 */
	.macro	gi_command
	.ascii	"info-set guestinfo.big "
	.endm
	.set	GI_HB, 0
	.set	GI_VALUE, 1
	.set	GI_LEN, 65536
	.set	GI_POLL, 0
	.include "gi_big.inc"
