/*
 * The VMware backdoor a guest's tools talk to (vmt(4), open-vm-tools'
 * vmware-rpctool): I/O port 0x5658 with the magic 0x564D5868 in eax, one
 * `in eax, dx` per call (the low-bandwidth path), and port 0x5659 for
 * `rep outsb` / `rep insb` moving a whole message (the high-bandwidth
 * path).  Here it is a state machine over register values, with no guest
 * and no backend in sight: the runner reads the vCPU's registers on an
 * exit to those ports, hands them to backdoor_call or backdoor_hb, and
 * writes back what comes out.
 *
 * What it answers:
 *   - GETVERSION (ecx 10): eax 6, ebx the magic, ecx the product type (2,
 *     a server), exactly what open-vm-tools' detection insists on;
 *   - MESSAGE (ecx 30, type in ecx's high half): the message channels of
 *     the RPCI protocol ('RPCI') -- open (with or without cookies), send
 *     size, send payload (4 bytes per call), receive size, receive
 *     payload, receive status, close -- and the high-bandwidth transfers
 *     that replace the payload calls.  Statuses go in ecx's high half
 *     (ebx's high half on the high-bandwidth port), ecx's low half is 0:
 *     vmt(4) checks both.
 *   - on a channel of the TCLO protocol (the host's commands to the
 *     guest; vmt(4) will not attach without one) every message gets an
 *     empty reply: the host has nothing to ask.
 *   - RPCI commands: "info-get guestinfo.KEY" -> "1 VALUE" or
 *     "0 No value found"; "info-set guestinfo.KEY VALUE" -> "1 " once the
 *     store has it, or "0 <why>" when the store refuses; anything else
 *     "0 Unknown command".
 *
 * Bounds: BACKDOOR_CHANNELS channels per VM (VMware's 8).  An open when
 * every one is taken reuses the least recently used channel, as VMware
 * does: its half-written message or unread reply is dropped and its
 * cookies stop working, so a guest that leaks channels (a killed
 * vmware-rpctool, a tool that never closes) can still talk.  A message
 * is at most BACKDOOR_MSG_MAX bytes, refused at send size past it; its
 * buffer is allocated at send size and freed once the message is
 * answered, so the table never holds more than BACKDOOR_CHANNELS times
 * (message + reply) bytes, BACKDOOR_BYTES_MAX in all.  No call waits for
 * the guest: a vCPU is never stalled by another's half-done channel.
 *
 * A reply is read in as many pieces as the guest likes: 4 bytes per
 * RECVPAYLOAD, or `rep insb` exits of any length, each taking the next
 * bytes (a real-mode guest cannot move the 65,538 bytes of a 64 KiB
 * value's "1 VALUE" in one `rep insb`: cx stops at 65,535).
 *
 * Threads: one mutex per backdoor serializes the calls of every vCPU of
 * the VM; the store's callbacks are called with it held.
 */
#ifndef VMMAPID_VMM_DRIVER_BACKDOOR_H
#define VMMAPID_VMM_DRIVER_BACKDOOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

#define BACKDOOR_MAGIC 0x564D5868u
#define BACKDOOR_PORT 0x5658    /* low bandwidth: `in eax, dx` */
#define BACKDOOR_PORT_HB 0x5659 /* high bandwidth: rep outsb / insb */

#define BACKDOOR_CMD_GETVERSION 10
#define BACKDOOR_CMD_MESSAGE 30
#define BACKDOOR_HB_CMD_MESSAGE 0 /* ebx's low half on the HB port */
#define BACKDOOR_VERSION 6        /* open-vm-tools' VERSION_MAGIC */
#define BACKDOOR_PRODUCT 2        /* VMX_TYPE_SCALABLE_SERVER */

/* Message types (ecx's high half of a MESSAGE call). */
enum backdoor_msg_type {
	BACKDOOR_MSG_OPEN = 0,
	BACKDOOR_MSG_SENDSIZE = 1,
	BACKDOOR_MSG_SENDPAYLOAD = 2,
	BACKDOOR_MSG_RECVSIZE = 3,
	BACKDOOR_MSG_RECVPAYLOAD = 4,
	BACKDOOR_MSG_RECVSTATUS = 5,
	BACKDOOR_MSG_CLOSE = 6,
};

/* Statuses (a set of bits; 0 is failure). */
#define BACKDOOR_ST_SUCCESS 0x0001u
#define BACKDOOR_ST_DORECV 0x0002u
#define BACKDOOR_ST_CPT 0x0010u
#define BACKDOOR_ST_HB 0x0080u

/* Protocols a channel opens with (ebx), and the flag asking for cookies. */
#define BACKDOOR_PROTO_RPCI 0x49435052u /* "RPCI" */
#define BACKDOOR_PROTO_TCLO 0x4f4c4354u /* "TCLO" */
#define BACKDOOR_FLAG_COOKIE 0x80000000u

/* Channels per VM, as VMware has. */
#define BACKDOOR_CHANNELS 8

/* The longest message: "info-set guestinfo." + key + ' ' + value. */
#define BACKDOOR_MSG_MAX                                                       \
	(sizeof("info-set guestinfo. ") - 1 + LIMIT_GUESTINFO_KEY_LEN +        \
	 LIMIT_GUESTINFO_VALUE)

/* The longest reply: "1 " + a value. */
#define BACKDOOR_REPLY_MAX (2 + LIMIT_GUESTINFO_VALUE)

/* What a backdoor holds at most, its own struct included: every channel
 * with a whole message and a whole reply. */
#define BACKDOOR_BYTES_MAX                                                     \
	(BACKDOOR_CHANNELS * (BACKDOOR_MSG_MAX + BACKDOOR_REPLY_MAX) + 4096)

/* Where the guestinfo commands read and write keys; the layer above hands
 * it in. */
struct backdoor_store {
	/* 0 with *value (malloc'd; the caller frees) and *len; -1 with errno
	 * ENOENT when there is no such key, another errno on failure. key is
	 * without the "guestinfo." prefix. */
	int (*bs_get)(void *cls, const char *key, char **value, size_t *len);
	/* 0, or -1 with errno (EINVAL: the key or value breaks a limit;
	 * EDQUOT: too many keys; other: could not store). Durable when it
	 * returns 0. */
	int (*bs_set)(void *cls, const char *key, const char *value,
		      size_t len);
	void *bs_cls;
};

/* The guest's registers as the backdoor reads and writes them (32 bits:
 * the backdoor's protocol is 32-bit in every mode). */
struct backdoor_regs {
	uint32_t br_eax, br_ebx, br_ecx, br_edx, br_esi, br_edi, br_ebp;
};

struct backdoor;

/*
 * A backdoor for one VM, answering from store (borrowed: it outlives the
 * backdoor).  NULL with errno ENOMEM.
 */
struct backdoor *backdoor_new(const struct backdoor_store *store);

/* Frees it and every channel's buffers.  NULL ok. */
void backdoor_free(struct backdoor *bd);

/* backdoor_call's flags. */
/* The caller cannot use BACKDOOR_PORT_HB: its answers do not offer the
 * high-bandwidth path (no BACKDOOR_ST_HB), so its tools (open-vm-tools
 * decides by that bit) stay on the low-bandwidth one. */
#define BACKDOOR_CALL_NO_HB 0x1u

/*
 * One `in eax, dx` on BACKDOOR_PORT, regs as the guest had them, flags
 * BACKDOOR_CALL_*.  1: it was a backdoor call (the magic in eax), and
 * regs now holds what the guest must see after it, eax included (the
 * IN's data).  0: not the magic; regs untouched, and the port is like
 * any unknown port.
 */
int backdoor_call(struct backdoor *bd, struct backdoor_regs *regs,
		  unsigned flags);

/*
 * Whether backdoor_call's answer to regs may offer the high-bandwidth
 * path (send size, receive size): only then does BACKDOOR_CALL_NO_HB
 * matter, and only then need a caller work out whether it applies.
 */
int backdoor_call_offers_hb(const struct backdoor_regs *regs);

/*
 * One exit of a `rep outsb` (in 0: data holds len bytes from the guest)
 * or `rep insb` (in 1: fills data with len bytes) on BACKDOOR_PORT_HB;
 * a backend may split one instruction's transfer into several exits, and
 * each goes through here in order.  regs as the guest had them; the
 * status is written into ebx's high half.  1 when it was for the
 * backdoor, 0 when not (no magic: data untouched for out, and the caller
 * treats the port as unknown).
 */
int backdoor_hb(struct backdoor *bd, struct backdoor_regs *regs, int in,
		uint8_t *data, size_t len);

/* Closes every channel (the VM was reset: their guest is gone). */
void backdoor_reset(struct backdoor *bd);

/* Channels open now (for tests and the vCPU view). */
unsigned backdoor_channels_open(struct backdoor *bd);

/* Opens that reused the least recently used channel, since backdoor_new. */
uint64_t backdoor_channels_reused(struct backdoor *bd);

/* Bytes the backdoor holds now: its struct and every channel's buffers
 * (at most BACKDOOR_BYTES_MAX). */
size_t backdoor_bytes(struct backdoor *bd);

#endif
