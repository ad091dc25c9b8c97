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
	.macro	gi_command
	.ascii	"info-get guestinfo.missing"
	.endm
	.macro	gi_prefix
	.asciz	""
	.endm
	.set	GI_SKIP, 0
	.include "gi_rpc_hb.inc"
