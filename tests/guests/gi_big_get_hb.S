/*
 * gi_big_get_hb: `info-get guestinfo.big` through the high-bandwidth
 * path: the reply by `rep insb` from 0x5659 in pieces of at most 32 KiB
 * (65,538 bytes for a 64 KiB value do not fit one real-mode `rep insb`),
 * into 0x20000.
 *
 * Output: as gi_big_get: `go\n`, `len=LLLLLLLL sum=SSSSSSSS\n`, and
 * `reply=TEXT\n` for a reply of 128 bytes or less.
 * End: debug-exit, status 0.  Parameters (rounds): gi_big.inc.
 */
	.macro	gi_command
	.ascii	"info-get guestinfo.big"
	.endm
	.set	GI_HB, 1
	.set	GI_VALUE, 0
	.set	GI_LEN, 0
	.set	GI_POLL, 0
	.include "gi_big.inc"
