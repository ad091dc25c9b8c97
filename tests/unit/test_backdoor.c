/*
 * The VMware backdoor's state machine on its own (vmm-driver/backdoor.c):
 * register values in, register values out, a fake store behind it.  A
 * small guest-side client here (open, send, receive, close over either
 * path) plays what open-vm-tools' lib/message does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "vmm-driver/backdoor.h"

#include "tstore.h"

struct t {
	struct tstore t_fs;
	struct backdoor_store t_store;
	struct backdoor *t_bd;
};

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	tstore_init(&t->t_fs);
	t->t_store.bs_get = tstore_get;
	t->t_store.bs_set = tstore_set;
	t->t_store.bs_cls = &t->t_fs;
	t->t_bd = backdoor_new(&t->t_store);
	assert_non_null(t->t_bd);
	assert_int_equal(tstore_set(&t->t_fs, "k1", "v1", 2), 0);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	backdoor_free(t->t_bd);
	tstore_destroy(&t->t_fs);
	free(t);
	return 0;
}

/* ---- a guest's side ---- */

struct chan {
	uint16_t ch_id;
	uint32_t ch_hi, ch_lo;
};

/* One low-bandwidth MESSAGE call of type on ch; returns the status. */
static unsigned
msg(struct t *t, const struct chan *ch, unsigned type, uint32_t ebx,
    struct backdoor_regs *out)
{
	struct backdoor_regs r = {
	    .br_eax = BACKDOOR_MAGIC,
	    .br_ebx = ebx,
	    .br_ecx = BACKDOOR_CMD_MESSAGE | (uint32_t)type << 16,
	    .br_edx = BACKDOOR_PORT | (uint32_t)ch->ch_id << 16,
	    .br_esi = ch->ch_hi,
	    .br_edi = ch->ch_lo,
	};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	/* vmt(4) insists on ecx's low half being 0 in every answer. */
	assert_int_equal(r.br_ecx & 0xffff, 0);
	if (out != NULL)
		*out = r;
	return r.br_ecx >> 16;
}

/* Opens an RPCI channel (cookies or not); 0, or -1 when refused. */
static int
chan_open(struct t *t, struct chan *ch, int cookies)
{
	struct backdoor_regs r = {
	    .br_eax = BACKDOOR_MAGIC,
	    .br_ebx =
		BACKDOOR_PROTO_RPCI | (cookies ? BACKDOOR_FLAG_COOKIE : 0),
	    .br_ecx = BACKDOOR_CMD_MESSAGE,
	    .br_edx = BACKDOOR_PORT,
	};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	if ((r.br_ecx >> 16) == 0)
		return -1;
	/* vmt(4) checks for exactly SUCCESS and edx's low half 0. */
	assert_int_equal(r.br_ecx, BACKDOOR_ST_SUCCESS << 16);
	assert_int_equal(r.br_edx & 0xffff, 0);
	ch->ch_id = (uint16_t)(r.br_edx >> 16);
	ch->ch_hi = cookies ? r.br_esi : 0;
	ch->ch_lo = cookies ? r.br_edi : 0;
	return 0;
}

static unsigned
chan_close(struct t *t, const struct chan *ch)
{
	return msg(t, ch, BACKDOOR_MSG_CLOSE, 0, NULL);
}

/* Sends len bytes; hb: one rep outsb (in chunks of chunk bytes, as a
 * backend may split it).  Returns the last status. */
static unsigned
send_msg(struct t *t, const struct chan *ch, const char *m, size_t len, int hb,
	 size_t chunk)
{
	unsigned st;
	size_t off;

	st = msg(t, ch, BACKDOOR_MSG_SENDSIZE, (uint32_t)len, NULL);
	if (!(st & BACKDOOR_ST_SUCCESS))
		return st;
	assert_true(st & BACKDOOR_ST_HB);
	for (off = 0; off < len;) {
		size_t n = len - off;

		if (hb) {
			struct backdoor_regs r = {
			    .br_eax = BACKDOOR_MAGIC,
			    .br_ebx = BACKDOOR_HB_CMD_MESSAGE |
				      BACKDOOR_ST_SUCCESS << 16,
			    .br_ecx = (uint32_t)len,
			    .br_edx = BACKDOOR_PORT_HB | (uint32_t)ch->ch_id
							     << 16,
			    .br_ebp = ch->ch_hi,
			    .br_edi = ch->ch_lo,
			};

			if (n > chunk)
				n = chunk;
			assert_int_equal(
			    backdoor_hb(t->t_bd, &r, 0, (uint8_t *)m + off, n),
			    1);
			st = r.br_ebx >> 16;
		} else {
			uint32_t w = 0;

			if (n > 4)
				n = 4;
			memcpy(&w, m + off, n);
			st = msg(t, ch, BACKDOOR_MSG_SENDPAYLOAD, w, NULL);
		}
		if (!(st & BACKDOOR_ST_SUCCESS))
			return st;
		off += n;
	}
	return st;
}

/* Receives the reply into buf (malloc'd, NUL-terminated); its length, or
 * -1 when a call failed. */
static long
recv_msg(struct t *t, const struct chan *ch, char **buf, int hb)
{
	struct backdoor_regs r;
	unsigned st;
	size_t len, off;

	*buf = NULL;
	st = msg(t, ch, BACKDOOR_MSG_RECVSIZE, 0, &r);
	if (!(st & BACKDOOR_ST_SUCCESS))
		return -1;
	if (!(st & BACKDOOR_ST_DORECV))
		return 0;
	assert_true(st & BACKDOOR_ST_HB);
	assert_int_equal(r.br_edx >> 16, BACKDOOR_MSG_SENDSIZE);
	len = r.br_ebx;
	*buf = calloc(1, len + 4);
	if (hb && len > 0) {
		struct backdoor_regs h = {
		    .br_eax = BACKDOOR_MAGIC,
		    .br_ebx = BACKDOOR_HB_CMD_MESSAGE | BACKDOOR_ST_SUCCESS
							    << 16,
		    .br_ecx = (uint32_t)len,
		    .br_edx = BACKDOOR_PORT_HB | (uint32_t)ch->ch_id << 16,
		    .br_esi = ch->ch_hi,
		    .br_ebp = ch->ch_lo,
		};

		assert_int_equal(
		    backdoor_hb(t->t_bd, &h, 1, (uint8_t *)*buf, len), 1);
		if (!((h.br_ebx >> 16) & BACKDOOR_ST_SUCCESS))
			return -1;
	} else {
		for (off = 0; off < len; off += 4) {
			st = msg(t, ch, BACKDOOR_MSG_RECVPAYLOAD,
				 BACKDOOR_ST_SUCCESS, &r);
			if (!(st & BACKDOOR_ST_SUCCESS))
				return -1;
			assert_int_equal(r.br_edx >> 16,
					 BACKDOOR_MSG_SENDPAYLOAD);
			memcpy(*buf + off, &r.br_ebx, 4);
		}
		(*buf)[len] = '\0';
	}
	st = msg(t, ch, BACKDOOR_MSG_RECVSTATUS, BACKDOOR_ST_SUCCESS, NULL);
	if (!(st & BACKDOOR_ST_SUCCESS))
		return -1;
	return (long)len;
}

/* A whole RPCI round trip on a fresh channel; the reply (malloc'd). */
static char *
rpc(struct t *t, const char *cmd, size_t len, int hb)
{
	struct chan ch;
	char *reply;

	assert_int_equal(chan_open(t, &ch, 1), 0);
	assert_true(send_msg(t, &ch, cmd, len, hb, 4096) & BACKDOOR_ST_SUCCESS);
	assert_true(recv_msg(t, &ch, &reply, hb) >= 0);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
	assert_non_null(reply);
	return reply;
}

static void
assert_rpc(struct t *t, const char *cmd, const char *want)
{
	char *r;

	r = rpc(t, cmd, strlen(cmd), 0);
	assert_string_equal(r, want);
	free(r);
	r = rpc(t, cmd, strlen(cmd), 1);
	assert_string_equal(r, want);
	free(r);
}

/* Which message types backdoor_call_offers_hb names. */
static int
backdoor_offers_hb_expected(unsigned type)
{
	return type == BACKDOOR_MSG_SENDSIZE || type == BACKDOOR_MSG_RECVSIZE;
}

/* ---- cases ---- */

static void
test_backdoor__getversion_answers_6_and_the_magic(void **state)
{
	struct t *t = *state;
	struct backdoor_regs r = {.br_eax = BACKDOOR_MAGIC,
				  .br_ebx = 0,
				  .br_ecx = BACKDOOR_CMD_GETVERSION,
				  .br_edx = BACKDOOR_PORT};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	assert_int_equal(r.br_eax, 6);
	assert_int_equal(r.br_ebx, BACKDOOR_MAGIC);
	assert_int_equal(r.br_ecx, BACKDOOR_PRODUCT);
}

static void
test_backdoor__without_the_magic_is_not_a_call(void **state)
{
	struct t *t = *state;
	struct backdoor_regs r = {.br_eax = 0x12345678,
				  .br_ecx = BACKDOOR_CMD_GETVERSION},
			     before = r;
	uint8_t d[4] = {1, 2, 3, 4};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 0);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(backdoor_hb(t->t_bd, &r, 0, d, sizeof(d)), 0);
	assert_memory_equal(&r, &before, sizeof(r));
}

static void
test_backdoor__an_unknown_backdoor_command_answers_all_ones(void **state)
{
	struct t *t = *state;
	struct backdoor_regs r = {.br_eax = BACKDOOR_MAGIC, .br_ecx = 999};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	assert_int_equal(r.br_eax, 0xffffffffu);
}

/* A raw MESSAGE call of type on ch with flags; the status. */
static unsigned
msg_flags(struct t *t, const struct chan *ch, unsigned type, uint32_t ebx,
	  unsigned flags)
{
	struct backdoor_regs r = {
	    .br_eax = BACKDOOR_MAGIC,
	    .br_ebx = ebx,
	    .br_ecx = BACKDOOR_CMD_MESSAGE | (uint32_t)type << 16,
	    .br_edx = BACKDOOR_PORT | (uint32_t)ch->ch_id << 16,
	    .br_esi = ch->ch_hi,
	    .br_edi = ch->ch_lo,
	};

	assert_int_equal(backdoor_offers_hb_expected(type),
			 backdoor_call_offers_hb(&r));
	assert_int_equal(backdoor_call(t->t_bd, &r, flags), 1);
	return r.br_ecx >> 16;
}

/*
 * A caller that cannot use the high-bandwidth port (BACKDOOR_CALL_NO_HB:
 * the runner's word for a guest process the port would fault) is not
 * offered it at send size or receive size, and the low-bandwidth path
 * carries its message; one that can is offered it at both.
 */
static void
test_backdoor__no_hb_caller_is_not_offered_the_high_bandwidth_port(void **state)
{
	static const char cmd[] = "info-get guestinfo.k1";
	struct t *t = *state;
	struct chan ch;
	unsigned st, flags, i;
	uint32_t w;

	for (flags = 0; flags <= BACKDOOR_CALL_NO_HB; flags++) {
		unsigned hb = flags ? 0 : BACKDOOR_ST_HB;

		assert_int_equal(chan_open(t, &ch, 1), 0);
		st = msg_flags(t, &ch, BACKDOOR_MSG_SENDSIZE, sizeof(cmd) - 1,
			       flags);
		assert_int_equal(st, BACKDOOR_ST_SUCCESS | hb);
		for (i = 0; i < sizeof(cmd) - 1; i += 4) {
			w = 0;
			memcpy(&w, cmd + i,
			       sizeof(cmd) - 1 - i < 4 ? sizeof(cmd) - 1 - i
						       : 4);
			st = msg_flags(t, &ch, BACKDOOR_MSG_SENDPAYLOAD, w,
				       flags);
			assert_int_equal(st, BACKDOOR_ST_SUCCESS);
		}
		st = msg_flags(t, &ch, BACKDOOR_MSG_RECVSIZE, 0, flags);
		assert_int_equal(st,
				 BACKDOOR_ST_SUCCESS | BACKDOOR_ST_DORECV | hb);
		assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
	}
}

static void
test_backdoor__info_get_answers_the_value_on_both_paths(void **state)
{
	assert_rpc(*state, "info-get guestinfo.k1", "1 v1");
}

static void
test_backdoor__info_get_of_a_missing_key_is_no_value_found(void **state)
{
	struct t *t = *state;

	assert_rpc(t, "info-get guestinfo.nope", "0 No value found");
	assert_rpc(t, "info-get guestinfo.", "0 No value found");
	assert_rpc(t, "info-get guestinfo.bad/key", "0 No value found");
	assert_rpc(t, "info-get k1", "0 No value found");
}

static void
test_backdoor__info_get_when_the_store_fails_says_so(void **state)
{
	struct t *t = *state;

	t->t_fs.ts_fail = EIO;
	assert_rpc(t, "info-get guestinfo.k1", "0 Could not read the value");
}

static void
test_backdoor__info_set_stores_and_answers_1(void **state)
{
	struct t *t = *state;
	int i;

	assert_rpc(t, "info-set guestinfo.fromguest hello world",
		   "1 "); /* twice: lb, then hb */
	i = tstore_find(&t->t_fs, "fromguest");
	assert_true(i >= 0);
	assert_string_equal(t->t_fs.ts_val[i], "hello world");
	assert_int_equal(t->t_fs.ts_sets, 1 + 2);
	/* An empty value is a value. */
	assert_rpc(t, "info-set guestinfo.empty ", "1 ");
	i = tstore_find(&t->t_fs, "empty");
	assert_int_equal(t->t_fs.ts_len[i], 0);
}

static void
test_backdoor__info_set_refusals_say_why(void **state)
{
	struct t *t = *state;
	unsigned sets = t->t_fs.ts_sets;

	assert_rpc(t, "info-set guestinfo.novalue",
		   "0 Usage: info-set guestinfo.KEY VALUE");
	assert_rpc(t, "info-set other.key v",
		   "0 Only guestinfo. keys can be set");
	assert_rpc(t, "info-set guestinfo.-bad v",
		   "0 Invalid key: up to 128 letters, digits, '.', '_' and "
		   "'-', starting with a letter or digit");
	assert_int_equal(t->t_fs.ts_sets, sets); /* the store never asked */
	t->t_fs.ts_fail = EIO;
	assert_rpc(t, "info-set guestinfo.x v", "0 Could not store the value");
	t->t_fs.ts_fail = EINVAL;
	assert_rpc(t, "info-set guestinfo.x v", "0 Key or value past a limit");
}

static void
test_backdoor__info_set_value_with_a_nul_is_refused(void **state)
{
	struct t *t = *state;
	static const char cmd[] = "info-set guestinfo.x a\0b";
	char *r = rpc(t, cmd, sizeof(cmd) - 1, 1);

	assert_string_equal(r, "0 Value contains a NUL byte");
	free(r);
	/* A trailing NUL is a terminator some senders count in. */
	r = rpc(t, "info-get guestinfo.k1", sizeof("info-get guestinfo.k1"), 0);
	assert_string_equal(r, "1 v1");
	free(r);
}

static void
test_backdoor__unknown_rpci_commands_answer_unknown_command(void **state)
{
	struct t *t = *state;

	assert_rpc(t, "tools.capability.hgfs_server toolbox 1",
		   "0 Unknown command");
	assert_rpc(t, "", "0 Unknown command");
	assert_rpc(t, "info-get", "0 Unknown command");
}

/* The key rule at 128 bytes and one past. */
static void
test_backdoor__key_at_the_limit_and_one_past(void **state)
{
	struct t *t = *state;
	char cmd[300], *r, want[8];
	char key[LIMIT_GUESTINFO_KEY_LEN + 2];

	memset(key, 'k', sizeof(key));
	key[LIMIT_GUESTINFO_KEY_LEN] = '\0';
	snprintf(cmd, sizeof(cmd), "info-set guestinfo.%s v", key);
	r = rpc(t, cmd, strlen(cmd), 0);
	assert_string_equal(r, "1 ");
	free(r);
	snprintf(cmd, sizeof(cmd), "info-get guestinfo.%s", key);
	r = rpc(t, cmd, strlen(cmd), 1);
	assert_string_equal(r, "1 v");
	free(r);

	key[LIMIT_GUESTINFO_KEY_LEN] = 'k';
	key[LIMIT_GUESTINFO_KEY_LEN + 1] = '\0';
	snprintf(cmd, sizeof(cmd), "info-set guestinfo.%s v", key);
	r = rpc(t, cmd, strlen(cmd), 0);
	assert_memory_equal(r, "0 Invalid key", 13);
	free(r);
	snprintf(cmd, sizeof(cmd), "info-get guestinfo.%s", key);
	r = rpc(t, cmd, strlen(cmd), 0);
	snprintf(want, sizeof(want), "0 No v");
	assert_memory_equal(r, want, strlen(want));
	free(r);
}

/* A 64 KiB value goes in and comes back whole on both paths; one byte
 * more is refused by the machine, not the store. */
static void
test_backdoor__value_of_64_kib_and_one_past(void **state)
{
	struct t *t = *state;
	static const char pre[] = "info-set guestinfo.big ";
	size_t plen = sizeof(pre) - 1, n = LIMIT_GUESTINFO_VALUE;
	char *cmd = malloc(plen + n + 1), *r;
	unsigned sets;
	int hb;
	long len;
	struct chan ch;

	memcpy(cmd, pre, plen);
	memset(cmd + plen, 'x', n + 1);
	r = rpc(t, cmd, plen + n, 1);
	assert_string_equal(r, "1 ");
	free(r);
	for (hb = 0; hb < 2; hb++) {
		assert_int_equal(chan_open(t, &ch, 1), 0);
		assert_true(
		    send_msg(t, &ch, "info-get guestinfo.big", 22, hb, 4096) &
		    BACKDOOR_ST_SUCCESS);
		len = recv_msg(t, &ch, &r, hb);
		assert_int_equal(len, (long)n + 2);
		assert_memory_equal(r, "1 xxxx", 6);
		assert_int_equal(r[n + 1], 'x');
		free(r);
		assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
	}

	sets = t->t_fs.ts_sets;
	r = rpc(t, cmd, plen + n + 1, 0);
	assert_string_equal(r, "0 Value longer than 65536 bytes");
	free(r);
	assert_int_equal(t->t_fs.ts_sets, sets);
	free(cmd);
}

/* Past the message limit the size itself is refused: nothing allocated. */
static void
test_backdoor__a_message_past_the_limit_is_refused_at_send_size(void **state)
{
	struct t *t = *state;
	struct chan ch;

	assert_int_equal(chan_open(t, &ch, 1), 0);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_SENDSIZE,
			     (uint32_t)BACKDOOR_MSG_MAX, NULL),
			 BACKDOOR_ST_SUCCESS | BACKDOOR_ST_HB);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_SENDSIZE,
			     (uint32_t)BACKDOOR_MSG_MAX + 1, NULL),
			 0);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_SENDSIZE, 0xffffffffu, NULL),
			 0);
	/* The payload of a refused message goes nowhere. */
	assert_int_equal(
	    msg(t, &ch, BACKDOOR_MSG_SENDPAYLOAD, 0x41414141, NULL), 0);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
}

/* The 257th key: the store's EDQUOT reaches the guest as a sentence; a
 * full disk (ENOSPC) is not called too many keys. */
static void
test_backdoor__keys_at_the_limit_and_one_past(void **state)
{
	struct t *t = *state;
	char cmd[64], *r;
	unsigned i;

	for (i = t->t_fs.ts_n; i < LIMIT_GUESTINFO_KEYS; i++) {
		snprintf(cmd, sizeof(cmd), "info-set guestinfo.key%u v", i);
		r = rpc(t, cmd, strlen(cmd), i & 1);
		assert_string_equal(r, "1 ");
		free(r);
	}
	assert_int_equal(t->t_fs.ts_n, LIMIT_GUESTINFO_KEYS);
	r = rpc(t, "info-set guestinfo.onemore v", 28, 0);
	assert_string_equal(r, "0 Too many keys (limit 256)");
	free(r);
	/* A full disk is not too many keys. */
	t->t_fs.ts_fail = ENOSPC;
	r = rpc(t, "info-set guestinfo.k1 v3", 24, 0);
	assert_string_equal(r, "0 Could not store the value");
	free(r);
	t->t_fs.ts_fail = 0;
	/* Replacing one that exists still works. */
	r = rpc(t, "info-set guestinfo.k1 v2", 24, 0);
	assert_string_equal(r, "1 ");
	free(r);
}

static void
test_backdoor__wrong_cookies_are_refused(void **state)
{
	struct t *t = *state;
	struct chan ch, bad;
	uint8_t d[4] = {'a', 'b', 'c', 'd'};
	struct backdoor_regs r;
	char *reply;

	assert_int_equal(chan_open(t, &ch, 1), 0);
	bad = ch;
	bad.ch_lo ^= 1;
	assert_int_equal(msg(t, &bad, BACKDOOR_MSG_SENDSIZE, 4, NULL), 0);
	bad = ch;
	bad.ch_hi ^= 0x80000000u;
	assert_int_equal(msg(t, &bad, BACKDOOR_MSG_CLOSE, 0, NULL), 0);
	/* HB with the cookies of the wrong registers. */
	assert_true(msg(t, &ch, BACKDOOR_MSG_SENDSIZE, 4, NULL) &
		    BACKDOOR_ST_SUCCESS);
	memset(&r, 0, sizeof(r));
	r.br_eax = BACKDOOR_MAGIC;
	r.br_ebx = BACKDOOR_ST_SUCCESS << 16;
	r.br_edx = BACKDOOR_PORT_HB | (uint32_t)ch.ch_id << 16;
	r.br_esi = ch.ch_hi; /* outsb wants them in ebp and edi */
	r.br_ebp = ch.ch_lo;
	assert_int_equal(backdoor_hb(t->t_bd, &r, 0, d, 4), 1);
	assert_int_equal(r.br_ebx >> 16, 0);
	/* The channel still works with the right ones. */
	assert_true(send_msg(t, &ch, "info-get guestinfo.k1", 21, 1, 5) &
		    BACKDOOR_ST_SUCCESS);
	assert_int_equal(recv_msg(t, &ch, &reply, 1), 4);
	assert_string_equal(reply, "1 v1");
	free(reply);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
}

static void
test_backdoor__a_channel_without_cookies_works(void **state)
{
	struct t *t = *state;
	struct chan ch;
	char *reply;

	assert_int_equal(chan_open(t, &ch, 0), 0);
	assert_true(send_msg(t, &ch, "info-get guestinfo.k1", 21, 0, 4) &
		    BACKDOOR_ST_SUCCESS);
	assert_int_equal(recv_msg(t, &ch, &reply, 0), 4);
	assert_string_equal(reply, "1 v1");
	free(reply);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
}

static void
test_backdoor__other_protocols_do_not_open(void **state)
{
	struct t *t = *state;
	struct backdoor_regs r = {.br_eax = BACKDOOR_MAGIC,
				  .br_ebx = 0x12345678,
				  .br_ecx = BACKDOOR_CMD_MESSAGE,
				  .br_edx = BACKDOOR_PORT};

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	assert_int_equal(r.br_ecx, 0);
	assert_int_equal(backdoor_channels_open(t->t_bd), 0);
}

/* TCLO: vmt(4) needs one to attach; every message gets an empty reply. */
static void
test_backdoor__a_tclo_channel_answers_empty(void **state)
{
	struct t *t = *state;
	struct backdoor_regs r = {.br_eax = BACKDOOR_MAGIC,
				  .br_ebx = BACKDOOR_PROTO_TCLO |
					    BACKDOOR_FLAG_COOKIE,
				  .br_ecx = BACKDOOR_CMD_MESSAGE,
				  .br_edx = BACKDOOR_PORT};
	struct chan ch;
	char *reply;

	assert_int_equal(backdoor_call(t->t_bd, &r, 0), 1);
	assert_int_equal(r.br_ecx, BACKDOOR_ST_SUCCESS << 16);
	ch.ch_id = (uint16_t)(r.br_edx >> 16);
	ch.ch_hi = r.br_esi;
	ch.ch_lo = r.br_edi;
	assert_true(send_msg(t, &ch, "", 0, 0, 4) & BACKDOOR_ST_SUCCESS);
	assert_int_equal(recv_msg(t, &ch, &reply, 0), 0);
	free(reply);
	assert_true(send_msg(t, &ch, "OK ", 3, 1, 4) & BACKDOOR_ST_SUCCESS);
	assert_int_equal(recv_msg(t, &ch, &reply, 1), 0);
	free(reply);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
}

/* 1,000 opens without a close, each channel left with a half-written
 * message of the largest size: every open succeeds (the least recently
 * used channel is taken over, its message dropped), the guest still gets
 * answers, and the table never holds more than its bound. */
static void
test_backdoor__a_thousand_opens_without_a_close_still_get_answers(void **state)
{
	struct t *t = *state;
	struct chan ch[BACKDOOR_CHANNELS], c, kept;
	unsigned i;
	size_t most = 0;
	char *reply;

	for (i = 0; i < 1000; i++) {
		assert_int_equal(chan_open(t, &c, 1), 0);
		assert_true(msg(t, &c, BACKDOOR_MSG_SENDSIZE,
				(uint32_t)BACKDOOR_MSG_MAX, NULL) &
			    BACKDOOR_ST_SUCCESS);
		assert_true(
		    msg(t, &c, BACKDOOR_MSG_SENDPAYLOAD, 0x6f666e69, NULL) &
		    BACKDOOR_ST_SUCCESS);
		if (i >= BACKDOOR_CHANNELS) {
			/* It took the least recently used: the one opened
			 * BACKDOOR_CHANNELS opens ago, whose cookies no
			 * longer work. */
			const struct chan *old = &ch[i % BACKDOOR_CHANNELS];

			assert_int_equal(c.ch_id, old->ch_id);
			assert_int_equal(msg(t, old, BACKDOOR_MSG_SENDPAYLOAD,
					     0x41414141, NULL),
					 0);
		}
		ch[i % BACKDOOR_CHANNELS] = c;
		if (backdoor_bytes(t->t_bd) > most)
			most = backdoor_bytes(t->t_bd);
	}
	assert_int_equal(backdoor_channels_open(t->t_bd), BACKDOOR_CHANNELS);
	assert_int_equal(backdoor_channels_reused(t->t_bd),
			 1000 - BACKDOOR_CHANNELS);
	/* Eight half-written messages of the largest size, and no more. */
	assert_true(most >= BACKDOOR_CHANNELS * BACKDOOR_MSG_MAX);
	assert_true(most <= BACKDOOR_BYTES_MAX);
	assert_true(backdoor_bytes(t->t_bd) <= BACKDOOR_BYTES_MAX);

	/* A fresh open still talks, on both paths. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(chan_open(t, &c, 1), 0);
		assert_true(send_msg(t, &c, "info-get guestinfo.k1", 21, i, 7) &
			    BACKDOOR_ST_SUCCESS);
		assert_int_equal(recv_msg(t, &c, &reply, i), 4);
		assert_string_equal(reply, "1 v1");
		free(reply);
	}
	/* A channel in use is not the one taken: kept is used between every
	 * two opens, and its message survives eight more. */
	assert_int_equal(chan_open(t, &kept, 1), 0);
	assert_true(msg(t, &kept, BACKDOOR_MSG_SENDSIZE, 21, NULL) &
		    BACKDOOR_ST_SUCCESS);
	for (i = 0; i < 2 * BACKDOOR_CHANNELS; i++) {
		static const char cmd[24] = "info-get guestinfo.k1";
		uint32_t w;

		assert_int_equal(chan_open(t, &c, 1), 0);
		assert_int_not_equal(c.ch_id, kept.ch_id);
		if (i < 6) {
			memcpy(&w, cmd + 4 * i, 4);
			assert_true(
			    msg(t, &kept, BACKDOOR_MSG_SENDPAYLOAD, w, NULL) &
			    BACKDOOR_ST_SUCCESS);
		} else {
			assert_true(
			    msg(t, &kept, BACKDOOR_MSG_RECVSIZE, 0, NULL) &
			    BACKDOOR_ST_SUCCESS);
		}
	}
	assert_int_equal(recv_msg(t, &kept, &reply, 1), 4);
	assert_string_equal(reply, "1 v1");
	free(reply);
	/* A close frees one; the next open takes it, not a used one. */
	assert_int_equal(chan_close(t, &kept), BACKDOOR_ST_SUCCESS);
	i = (unsigned)backdoor_channels_reused(t->t_bd);
	assert_int_equal(chan_open(t, &c, 0), 0);
	assert_int_equal(c.ch_id, kept.ch_id);
	assert_int_equal(backdoor_channels_reused(t->t_bd), i);
	assert_int_equal(backdoor_channels_open(t->t_bd), BACKDOOR_CHANNELS);
}

/* Half-written messages: more payload than announced fails and drops
 * the message; a new send size starts over; a reply never asked for is
 * replaced by the next message. */
static void
test_backdoor__half_written_messages_start_over(void **state)
{
	struct t *t = *state;
	struct chan ch;
	uint8_t d[8] = "abcdefgh";
	struct backdoor_regs r;
	char *reply;

	assert_int_equal(chan_open(t, &ch, 1), 0);
	/* Payload without a size. */
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_SENDPAYLOAD, 1, NULL), 0);
	/* Half a message, then a new one. */
	assert_true(msg(t, &ch, BACKDOOR_MSG_SENDSIZE, 100, NULL) &
		    BACKDOOR_ST_SUCCESS);
	assert_true(msg(t, &ch, BACKDOOR_MSG_SENDPAYLOAD, 0x6f666e69, NULL) &
		    BACKDOOR_ST_SUCCESS);
	assert_true(send_msg(t, &ch, "info-get guestinfo.k1", 21, 0, 4) &
		    BACKDOOR_ST_SUCCESS);
	/* A reply left unread, then another message: the new reply. */
	assert_true(send_msg(t, &ch, "info-get guestinfo.zz", 21, 1, 4) &
		    BACKDOOR_ST_SUCCESS);
	assert_int_equal(recv_msg(t, &ch, &reply, 1), 16);
	assert_string_equal(reply, "0 No value found");
	free(reply);
	/* Nothing to receive now: no DORECV, and payload/status fail. */
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_RECVSIZE, 0, NULL),
			 BACKDOOR_ST_SUCCESS);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_RECVPAYLOAD, 1, NULL), 0);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_RECVSTATUS, 1, NULL), 0);
	/* HB: more bytes than announced. */
	assert_true(msg(t, &ch, BACKDOOR_MSG_SENDSIZE, 4, NULL) &
		    BACKDOOR_ST_SUCCESS);
	memset(&r, 0, sizeof(r));
	r.br_eax = BACKDOOR_MAGIC;
	r.br_ebx = BACKDOOR_ST_SUCCESS << 16;
	r.br_edx = BACKDOOR_PORT_HB | (uint32_t)ch.ch_id << 16;
	r.br_ebp = ch.ch_hi;
	r.br_edi = ch.ch_lo;
	assert_int_equal(backdoor_hb(t->t_bd, &r, 0, d, 8), 1);
	assert_int_equal(r.br_ebx >> 16, 0);
	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_RECVSIZE, 0, NULL),
			 BACKDOOR_ST_SUCCESS);
	/* HB in: more than the reply holds fails, the rest zeroed. */
	assert_true(send_msg(t, &ch, "info-get guestinfo.k1", 21, 1, 4) &
		    BACKDOOR_ST_SUCCESS);
	memset(&r, 0, sizeof(r));
	r.br_eax = BACKDOOR_MAGIC;
	r.br_ebx = BACKDOOR_ST_SUCCESS << 16;
	r.br_edx = BACKDOOR_PORT_HB | (uint32_t)ch.ch_id << 16;
	r.br_esi = ch.ch_hi;
	r.br_ebp = ch.ch_lo;
	memset(d, 'z', sizeof(d));
	assert_int_equal(backdoor_hb(t->t_bd, &r, 1, d, 8), 1);
	assert_int_equal(r.br_ebx >> 16, 0);
	assert_memory_equal(d, "1 v1\0\0\0\0", 8);
	assert_int_equal(chan_close(t, &ch), BACKDOOR_ST_SUCCESS);
	assert_int_equal(backdoor_channels_open(t->t_bd), 0);
}

static void
test_backdoor__calls_on_a_closed_or_unknown_channel_fail(void **state)
{
	struct t *t = *state;
	struct chan ch = {.ch_id = 5}, far = {.ch_id = 0xffff};
	uint8_t d[4];
	struct backdoor_regs r = {.br_eax = BACKDOOR_MAGIC,
				  .br_edx = BACKDOOR_PORT_HB | 5u << 16};

	assert_int_equal(msg(t, &ch, BACKDOOR_MSG_SENDSIZE, 4, NULL), 0);
	assert_int_equal(msg(t, &far, BACKDOOR_MSG_RECVSIZE, 0, NULL), 0);
	assert_int_equal(chan_close(t, &ch), 0);
	assert_int_equal(msg(t, &ch, 77, 0, NULL), 0);
	assert_int_equal(backdoor_hb(t->t_bd, &r, 1, d, sizeof(d)), 1);
	assert_int_equal(r.br_ebx >> 16, 0);
	assert_memory_equal(d, "\xff\xff\xff\xff", 4);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_backdoor__getversion_answers_6_and_the_magic),
	    T(test_backdoor__without_the_magic_is_not_a_call),
	    T(test_backdoor__an_unknown_backdoor_command_answers_all_ones),
	    T(test_backdoor__info_get_answers_the_value_on_both_paths),
	    T(test_backdoor__no_hb_caller_is_not_offered_the_high_bandwidth_port),
	    T(test_backdoor__info_get_of_a_missing_key_is_no_value_found),
	    T(test_backdoor__info_get_when_the_store_fails_says_so),
	    T(test_backdoor__info_set_stores_and_answers_1),
	    T(test_backdoor__info_set_refusals_say_why),
	    T(test_backdoor__info_set_value_with_a_nul_is_refused),
	    T(test_backdoor__unknown_rpci_commands_answer_unknown_command),
	    T(test_backdoor__key_at_the_limit_and_one_past),
	    T(test_backdoor__value_of_64_kib_and_one_past),
	    T(test_backdoor__a_message_past_the_limit_is_refused_at_send_size),
	    T(test_backdoor__keys_at_the_limit_and_one_past),
	    T(test_backdoor__wrong_cookies_are_refused),
	    T(test_backdoor__a_channel_without_cookies_works),
	    T(test_backdoor__other_protocols_do_not_open),
	    T(test_backdoor__a_tclo_channel_answers_empty),
	    T(test_backdoor__a_thousand_opens_without_a_close_still_get_answers),
	    T(test_backdoor__half_written_messages_start_over),
	    T(test_backdoor__calls_on_a_closed_or_unknown_channel_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
