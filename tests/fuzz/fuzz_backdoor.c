/*
 * libFuzzer harness of the VMware backdoor and its RPCI channels
 * (vmm-driver/backdoor.c): a sequence of calls decoded from the input,
 * as a guest makes them, against an in-memory guestinfo store holding
 * at most LIMIT_GUESTINFO_KEYS keys.  Each call is a control byte and a
 * 32-bit argument:
 *
 *   ctl & 7   0 open (bit 3: TCLO, bit 4: cookies), 1 send size (arg),
 *             2 send payload (arg), 3 receive size, 4 receive payload,
 *             5 receive status (bit 3: close instead), 6 high-bandwidth
 *             out (arg & 0x3ff bytes from the input), 7 high-bandwidth
 *             in (arg & 0x3ff bytes); ctl 0xff: raw registers from the
 *             next 28 bytes; ctl 0xfe: reset
 *   ctl >> 5  the channel; a call carries the cookies its channel's open
 *             returned, unless bit 3 of a non-open call spoils them
 *
 * After every call the backdoor must hold no more than
 * BACKDOOR_BYTES_MAX bytes and no more than BACKDOOR_CHANNELS channels.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "vmm-driver/backdoor.h"

#include "tstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the store (tests/common/tstore.h), freed after each input ---- */

/* tstore_set, checking what the backdoor must have refused on its own
 * before it asks the store. */
static int
checked_set(void *cls, const char *key, const char *value, size_t len)
{
	if (strlen(key) > LIMIT_GUESTINFO_KEY_LEN ||
	    len > LIMIT_GUESTINFO_VALUE || strlen(value) != len)
		abort();
	return tstore_set(cls, key, value, len);
}

/* ---- the calls ---- */

struct fin {
	const uint8_t *fi_p;
	size_t fi_n;
};

static uint32_t
fin_u32(struct fin *in)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < 4 && in->fi_n > 0; i++, in->fi_p++, in->fi_n--)
		v |= (uint32_t)in->fi_p[0] << (8 * i);
	return v;
}

/* The cookies each channel's open returned. */
struct fchan {
	uint32_t fc_hi, fc_lo;
};

static void
fuzz_call(struct backdoor *bd, struct fchan *ch, uint8_t ctl, struct fin *in)
{
	static uint8_t buf[0x400];
	struct backdoor_regs r;
	unsigned id = ctl >> 5, op = ctl & 7;
	uint32_t arg = fin_u32(in), spoil = (ctl & 8) ? 0x5a5a5a5au : 0;
	size_t n;

	memset(&r, 0, sizeof(r));
	r.br_eax = BACKDOOR_MAGIC;
	r.br_edx = (uint32_t)id << 16 | BACKDOOR_PORT;
	r.br_esi = ch[id].fc_hi ^ spoil;
	r.br_edi = ch[id].fc_lo ^ spoil;
	if (op == 6 || op == 7) {
		n = arg & 0x3ff;
		r.br_ebx = BACKDOOR_HB_CMD_MESSAGE;
		r.br_ecx = (uint32_t)n;
		r.br_edx = (uint32_t)id << 16 | BACKDOOR_PORT_HB;
		if (op == 6) {
			/* out: cookies in ebp (high) and edi (low) */
			r.br_ebp = ch[id].fc_hi ^ spoil;
			if (n > in->fi_n)
				n = in->fi_n;
			memcpy(buf, in->fi_p, n);
			in->fi_p += n;
			in->fi_n -= n;
		} else {
			/* in: cookies in esi (high) and ebp (low) */
			r.br_ebp = ch[id].fc_lo ^ spoil;
		}
		if (backdoor_hb(bd, &r, op == 7, buf, n) != 1)
			abort();
		return;
	}
	r.br_ecx = BACKDOOR_CMD_MESSAGE;
	switch (op) {
	case 0:
		r.br_ecx |= (uint32_t)BACKDOOR_MSG_OPEN << 16;
		r.br_ebx =
		    ((ctl & 8) ? BACKDOOR_PROTO_TCLO : BACKDOOR_PROTO_RPCI) |
		    ((ctl & 16) ? BACKDOOR_FLAG_COOKIE : 0);
		break;
	case 1:
		r.br_ecx |= (uint32_t)BACKDOOR_MSG_SENDSIZE << 16;
		r.br_ebx = arg;
		break;
	case 2:
		r.br_ecx |= (uint32_t)BACKDOOR_MSG_SENDPAYLOAD << 16;
		r.br_ebx = arg;
		break;
	case 3:
		r.br_ecx |= (uint32_t)BACKDOOR_MSG_RECVSIZE << 16;
		break;
	case 4:
		r.br_ecx |= (uint32_t)BACKDOOR_MSG_RECVPAYLOAD << 16;
		r.br_ebx = arg;
		break;
	default:
		r.br_ecx |= (uint32_t)((ctl & 8) ? BACKDOOR_MSG_CLOSE
						 : BACKDOOR_MSG_RECVSTATUS)
			    << 16;
		break;
	}
	if (backdoor_call(bd, &r, 0) != 1)
		abort();
	if (op == 0 && (r.br_ecx >> 16) & BACKDOOR_ST_SUCCESS) {
		id = r.br_edx >> 16;
		if (id >= BACKDOOR_CHANNELS)
			abort();
		ch[id].fc_hi = r.br_esi;
		ch[id].fc_lo = r.br_edi;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tstore fs = TSTORE_INITIALIZER;
	struct backdoor_store st = {tstore_get, checked_set, &fs};
	struct fchan ch[BACKDOOR_CHANNELS];
	struct fin in = {data, size};
	struct backdoor_regs r;
	struct backdoor *bd;
	uint8_t ctl;

	memset(ch, 0, sizeof(ch));
	if ((bd = backdoor_new(&st)) == NULL)
		abort();
	while (in.fi_n > 0) {
		ctl = *in.fi_p++;
		in.fi_n--;
		if (ctl == 0xfe) {
			backdoor_reset(bd);
		} else if (ctl == 0xff) {
			r.br_eax = fin_u32(&in);
			r.br_ebx = fin_u32(&in);
			r.br_ecx = fin_u32(&in);
			r.br_edx = fin_u32(&in);
			r.br_esi = fin_u32(&in);
			r.br_edi = fin_u32(&in);
			r.br_ebp = fin_u32(&in);
			(void)backdoor_call(bd, &r, 0);
		} else {
			fuzz_call(bd, ch, ctl, &in);
		}
		if (backdoor_bytes(bd) > BACKDOOR_BYTES_MAX ||
		    backdoor_channels_open(bd) > BACKDOOR_CHANNELS)
			abort();
	}
	backdoor_free(bd);
	tstore_clear(&fs);
	return 0;
}
