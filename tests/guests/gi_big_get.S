/*
 * gi_big_get: `info-get guestinfo.big` through the low-bandwidth path
 * (four bytes per `in` on 0x5658), the reply received whole however
 * long: 16,385 RECVPAYLOAD calls for a 64 KiB value, into 0x20000.
 *
 * Output: `go\n`, then `len=LLLLLLLL sum=SSSSSSSS\n` (the reply's length
 * and sum, gi_big.inc says how it is computed): `len=00010002` for a
 * 64 KiB value; then `reply=TEXT\n` for a reply of 128 bytes or less.
 * End: debug-exit, status 0.  Parameters (rounds): gi_big.inc.
 */
	.macro	gi_command
	.ascii	"info-get guestinfo.big"
	.endm
	.set	GI_HB, 0
	.set	GI_VALUE, 0
	.set	GI_LEN, 0
	.set	GI_POLL, 0
	.include "gi_big.inc"
