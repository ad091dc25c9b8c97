/*
 * gi_get_hb: reads guestinfo.k1 as gi_get does, through the
 * high-bandwidth path.
 *
 * Path: the high-bandwidth one (SENDSIZE/RECVSIZE on 0x5658, the payload by one `rep outsb` / `rep insb` on 0x5659), on an RPCI channel
 * opened with cookies, closed at the end.  Every backdoor register goes
 * through memory (r_eax .. r_edi): the guests keep to the sim's subset,
 * whose 32-bit forms are mov and in/out only.
 *
 * Output: `k1=VALUE\n`, as gi_get.
 * End: debug-exit, status 0.
 */
	.macro	gi_command
	.ascii	"info-get guestinfo.k1"
	.endm
	.macro	gi_prefix
	.asciz	"k1="
	.endm
	.set	GI_SKIP, 2
	.include "gi_rpc_hb.inc"
