/*
 * gi_unknown: an RPCI command the backdoor does not know
 * (`tools.capability.hgfs_server toolbox 1`, which vmt(4) sends) through
 * the low-bandwidth path; prints the reply.
 *
 * Path: the low-bandwidth one (every call an `in (%dx),%eax` on 0x5658, four payload bytes each), on an RPCI channel
 * opened with cookies, closed at the end.  Every backdoor register goes
 * through memory (r_eax .. r_edi): the guests keep to the sim's subset,
 * whose 32-bit forms are mov and in/out only.
 *
 * Output: `0 Unknown command\n`.
 * End: debug-exit, status 0.
 */
	.macro	gi_command
	.ascii	"tools.capability.hgfs_server toolbox 1"
	.endm
	.macro	gi_prefix
	.asciz	""
	.endm
	.set	GI_SKIP, 0
	.include "gi_rpc_lo.inc"
