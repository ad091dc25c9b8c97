/*
 * gi_poll: `info-get guestinfo.poll` through the high-bandwidth path
 * over and over, a fresh channel each time; prints the reply whenever it
 * changes: `go\n`, then `reply=0 No value found\n` until the key exists,
 * then `reply=1 VALUE\n` for each new value (bench/gi_rpc.sh times a
 * PUT to that line).
 * End: never; the VM must be stopped.
 */
	.macro	gi_command
	.ascii	"info-get guestinfo.poll"
	.endm
	.set	GI_HB, 1
	.set	GI_VALUE, 0
	.set	GI_LEN, 0
	.set	GI_POLL, 1
	.include "gi_big.inc"
