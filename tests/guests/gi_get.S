/*
 * gi_get: reads guestinfo.k1 through the backdoor's low-bandwidth path
 * (`info-get guestinfo.k1`) and prints its value.
 *
 * Path: the low-bandwidth one (every call an `in (%dx),%eax` on 0x5658, four payload bytes each), on an RPCI channel
 * opened with cookies, closed at the end.  Every backdoor register goes
 * through memory (r_eax .. r_edi): the guests keep to the sim's subset,
 * whose 32-bit forms are mov and in/out only.
 *
 * Output: `k1=VALUE\n` (a test's store holds k1 = v1: `k1=v1\n`).
 * End: debug-exit, status 0.
 */
	.macro	gi_command
	.ascii	"info-get guestinfo.k1"
	.endm
	.macro	gi_prefix
	.asciz	"k1="
	.endm
	.set	GI_SKIP, 2
	.include "gi_rpc_lo.inc"
