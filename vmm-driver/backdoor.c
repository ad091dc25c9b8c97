/*
 * The VMware backdoor's state machine (see backdoor.h).  Written from
 * the protocol as open-vm-tools' lib/message and OpenBSD's vmt(4) use it:
 *
 *   open         ebx = protocol | cookie flag      -> edx.hi = channel,
 *                                                     esi/edi = cookies
 *   send size    edx.hi = channel, ebx = size       -> status (| HB)
 *   send payload ebx = 4 bytes                      -> status
 *   (or, on the HB port, one rep outsb of the whole message)
 *   recv size                                       -> status | DORECV,
 *                                                     ebx = size,
 *                                                     edx.hi = SENDSIZE
 *   recv payload                                    -> ebx = 4 bytes,
 *                                                     edx.hi = SENDPAYLOAD
 *   (or one rep insb of the whole reply)
 *   recv status                                     -> the reply is gone
 *   close
 *
 * Cookies: esi (high) and edi (low) on the low-bandwidth port; on the HB
 * port the string instruction takes one of those for its pointer, so
 * `rep outsb` carries them in ebp (high) and edi (low), `rep insb` in
 * esi (high) and ebp (low).
 *
 * A channel is IDLE, SENDING (a size was given, payload bytes come) or
 * holds a REPLY for the guest to read.  A new send size starts over
 * whatever the channel held: a guest that gave up half-way (a killed
 * vmware-rpctool) does not wedge its channel.
 */
#include "vmm-driver/backdoor.h"

#include "base/names.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BACKDOOR_GI_PREFIX "guestinfo."
#define BACKDOOR_GI_PREFIX_LEN (sizeof(BACKDOOR_GI_PREFIX) - 1)

enum backdoor_chan_state {
	BACKDOOR_IDLE,
	BACKDOOR_SENDING,
	BACKDOOR_REPLY,
};

struct backdoor_chan {
	int bc_open;
	uint64_t bc_used; /* bd_clock at its last call: the LRU's order */
	int bc_tclo;      /* the TCLO protocol: every message gets "" */
	int bc_cookies;   /* opened with cookies: every call must show them */
	uint32_t bc_cookie_hi, bc_cookie_lo;
	enum backdoor_chan_state bc_state;
	/* SENDING: bc_msg holds bc_off of bc_len bytes. */
	char *bc_msg;
	size_t bc_len, bc_off;
	/* REPLY: bc_reply holds bc_rlen bytes, bc_roff read so far. */
	char *bc_reply;
	size_t bc_rlen, bc_roff;
};

struct backdoor {
	const struct backdoor_store *bd_store;
	pthread_mutex_t bd_lock;
	/* Guarded by bd_lock: */
	uint64_t bd_seed;   /* cookies when getrandom fails */
	uint64_t bd_clock;  /* counts the calls that name a channel */
	uint64_t bd_reused; /* opens that took the least recently used */
	struct backdoor_chan bd_chans[BACKDOOR_CHANNELS];
};

_Static_assert(sizeof(struct backdoor) <= 4096,
	       "BACKDOOR_BYTES_MAX counts 4096 bytes for the struct");

struct backdoor *
backdoor_new(const struct backdoor_store *store)
{
	struct backdoor *bd = calloc(1, sizeof(*bd));
	struct timespec ts;

	if (bd == NULL)
		return NULL;
	if (pthread_mutex_init(&bd->bd_lock, NULL) != 0) {
		free(bd);
		errno = ENOMEM;
		return NULL;
	}
	bd->bd_store = store;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	bd->bd_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		      (uint64_t)(uintptr_t)bd;
	return bd;
}

/* The channel back to IDLE, its buffers freed. */
static void
backdoor_chan_reset(struct backdoor_chan *c)
{
	free(c->bc_msg);
	free(c->bc_reply);
	c->bc_msg = c->bc_reply = NULL;
	c->bc_len = c->bc_off = c->bc_rlen = c->bc_roff = 0;
	c->bc_state = BACKDOOR_IDLE;
}

void
backdoor_free(struct backdoor *bd)
{
	unsigned i;

	if (bd == NULL)
		return;
	for (i = 0; i < BACKDOOR_CHANNELS; i++)
		backdoor_chan_reset(&bd->bd_chans[i]);
	pthread_mutex_destroy(&bd->bd_lock);
	free(bd);
}

void
backdoor_reset(struct backdoor *bd)
{
	unsigned i;

	pthread_mutex_lock(&bd->bd_lock);
	for (i = 0; i < BACKDOOR_CHANNELS; i++) {
		backdoor_chan_reset(&bd->bd_chans[i]);
		memset(&bd->bd_chans[i], 0, sizeof(bd->bd_chans[i]));
	}
	pthread_mutex_unlock(&bd->bd_lock);
}

unsigned
backdoor_channels_open(struct backdoor *bd)
{
	unsigned i, n = 0;

	pthread_mutex_lock(&bd->bd_lock);
	for (i = 0; i < BACKDOOR_CHANNELS; i++)
		n += bd->bd_chans[i].bc_open != 0;
	pthread_mutex_unlock(&bd->bd_lock);
	return n;
}

uint64_t
backdoor_channels_reused(struct backdoor *bd)
{
	uint64_t n;

	pthread_mutex_lock(&bd->bd_lock);
	n = bd->bd_reused;
	pthread_mutex_unlock(&bd->bd_lock);
	return n;
}

size_t
backdoor_bytes(struct backdoor *bd)
{
	size_t n = sizeof(*bd);
	unsigned i;

	pthread_mutex_lock(&bd->bd_lock);
	for (i = 0; i < BACKDOOR_CHANNELS; i++) {
		const struct backdoor_chan *c = &bd->bd_chans[i];

		if (c->bc_msg != NULL)
			n += c->bc_len > 0 ? c->bc_len : 1;
		if (c->bc_reply != NULL)
			n += c->bc_rlen > 0 ? c->bc_rlen : 1;
	}
	pthread_mutex_unlock(&bd->bd_lock);
	return n;
}

/*
 * A cookie: what getrandom gives, else a splitmix64 step (a cookie only
 * keeps one guest process from using another's channel by mistake; it
 * is no secret from the guest's kernel).
 */
static uint32_t
backdoor_cookie(struct backdoor *bd)
{
	uint32_t c;
	uint64_t z;

	if (getrandom(&c, sizeof(c), GRND_NONBLOCK) == (ssize_t)sizeof(c))
		return c;
	z = (bd->bd_seed += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)(z ^ (z >> 31));
}

/* The reply of a channel: text of len bytes (copied).  -1: no memory. */
static int
backdoor_reply(struct backdoor_chan *c, const char *text, size_t len)
{
	char *r = malloc(len > 0 ? len : 1);

	if (r == NULL)
		return -1;
	memcpy(r, text, len);
	c->bc_reply = r;
	c->bc_rlen = len;
	c->bc_roff = 0;
	c->bc_state = BACKDOOR_REPLY;
	return 0;
}

static int
backdoor_reply_str(struct backdoor_chan *c, const char *text)
{
	return backdoor_reply(c, text, strlen(text));
}

/*
 * key (klen bytes, after "guestinfo.") as a C string in buf when it
 * follows the key rule; 0 when it does not.
 */
static int
backdoor_key(const char *key, size_t klen, char *buf)
{
	if (klen == 0 || klen > LIMIT_GUESTINFO_KEY_LEN)
		return 0;
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	return name_check(buf, LIMIT_GUESTINFO_KEY_LEN, "._-");
}

/* "info-get guestinfo.KEY": arg is what follows "info-get ". */
static int
backdoor_info_get(struct backdoor *bd, struct backdoor_chan *c, const char *arg,
		  size_t alen)
{
	const struct backdoor_store *st = bd->bd_store;
	char key[LIMIT_GUESTINFO_KEY_LEN + 1];
	char *value = NULL, *reply;
	size_t vlen = 0;

	if (alen <= BACKDOOR_GI_PREFIX_LEN ||
	    memcmp(arg, BACKDOOR_GI_PREFIX, BACKDOOR_GI_PREFIX_LEN) != 0 ||
	    !backdoor_key(arg + BACKDOOR_GI_PREFIX_LEN,
			  alen - BACKDOOR_GI_PREFIX_LEN, key))
		return backdoor_reply_str(c, "0 No value found");
	if (st->bs_get(st->bs_cls, key, &value, &vlen) != 0)
		return backdoor_reply_str(
		    c, errno == ENOENT ? "0 No value found"
				       : "0 Could not read the value");
	/* A store that breaks its own limit still cannot make us send more
	 * than a message's worth. */
	if (vlen > LIMIT_GUESTINFO_VALUE) {
		free(value);
		return backdoor_reply_str(c, "0 Could not read the value");
	}
	reply = malloc(vlen + 2);
	if (reply == NULL) {
		free(value);
		return -1;
	}
	reply[0] = '1';
	reply[1] = ' ';
	if (vlen > 0)
		memcpy(reply + 2, value, vlen);
	free(value);
	c->bc_reply = reply;
	c->bc_rlen = vlen + 2;
	c->bc_roff = 0;
	c->bc_state = BACKDOOR_REPLY;
	return 0;
}

/* "info-set guestinfo.KEY VALUE": arg is what follows "info-set ". */
static int
backdoor_info_set(struct backdoor *bd, struct backdoor_chan *c, const char *arg,
		  size_t alen)
{
	const struct backdoor_store *st = bd->bd_store;
	char key[LIMIT_GUESTINFO_KEY_LEN + 1], *value;
	const char *sp;
	size_t klen, vlen;
	int rc;

	if (alen < BACKDOOR_GI_PREFIX_LEN ||
	    memcmp(arg, BACKDOOR_GI_PREFIX, BACKDOOR_GI_PREFIX_LEN) != 0)
		return backdoor_reply_str(c,
					  "0 Only guestinfo. keys can be set");
	arg += BACKDOOR_GI_PREFIX_LEN;
	alen -= BACKDOOR_GI_PREFIX_LEN;
	sp = memchr(arg, ' ', alen);
	if (sp == NULL)
		return backdoor_reply_str(
		    c, "0 Usage: info-set guestinfo.KEY VALUE");
	klen = (size_t)(sp - arg);
	vlen = alen - klen - 1;
	if (!backdoor_key(arg, klen, key))
		return backdoor_reply_str(
		    c, "0 Invalid key: up to 128 letters, digits, '.', '_' "
		       "and '-', starting with a letter or digit");
	if (vlen > LIMIT_GUESTINFO_VALUE)
		return backdoor_reply_str(c, "0 Value longer than 65536 bytes");
	if (memchr(sp + 1, '\0', vlen) != NULL)
		return backdoor_reply_str(c, "0 Value contains a NUL byte");
	/* The store gets a NUL-terminated copy, whatever it needs. */
	if ((value = malloc(vlen + 1)) == NULL)
		return -1;
	memcpy(value, sp + 1, vlen);
	value[vlen] = '\0';
	rc = st->bs_set(st->bs_cls, key, value, vlen);
	free(value);
	if (rc == 0)
		return backdoor_reply_str(c, "1 ");
	switch (errno) {
	case EINVAL:
		return backdoor_reply_str(c, "0 Key or value past a limit");
	case EDQUOT:
		return backdoor_reply_str(c, "0 Too many keys (limit 256)");
	default:
		return backdoor_reply_str(c, "0 Could not store the value");
	}
}

/*
 * The channel's message is complete: answer it.  The message goes, the
 * reply takes its place.  -1 when memory ran out (the channel is IDLE:
 * the guest's receive size finds nothing and fails).
 */
static int
backdoor_dispatch(struct backdoor *bd, struct backdoor_chan *c)
{
	static const char get[] = "info-get ", set[] = "info-set ";
	char *msg = c->bc_msg;
	size_t len = c->bc_len;
	int rc;

	c->bc_msg = NULL;
	c->bc_len = c->bc_off = 0;
	c->bc_state = BACKDOOR_IDLE;
	/* Some senders count the terminating NUL in. */
	if (len > 0 && msg[len - 1] == '\0')
		len--;
	if (c->bc_tclo)
		rc = backdoor_reply(c, "", 0);
	else if (len >= sizeof(get) - 1 &&
		 memcmp(msg, get, sizeof(get) - 1) == 0)
		rc = backdoor_info_get(bd, c, msg + sizeof(get) - 1,
				       len - (sizeof(get) - 1));
	else if (len >= sizeof(set) - 1 &&
		 memcmp(msg, set, sizeof(set) - 1) == 0)
		rc = backdoor_info_set(bd, c, msg + sizeof(set) - 1,
				       len - (sizeof(set) - 1));
	else
		rc = backdoor_reply_str(c, "0 Unknown command");
	free(msg);
	if (rc != 0)
		backdoor_chan_reset(c);
	return rc;
}

/*
 * The channel an open gets: a closed one if there is one, else the least
 * recently used, whose message or reply is dropped and whose cookies no
 * longer work.  VMware does the same: a guest whose processes were killed
 * mid-conversation, or that never closes what it opens, still gets a
 * channel, and the table never grows.
 */
static unsigned
backdoor_chan_take(struct backdoor *bd)
{
	unsigned id, lru = 0;

	for (id = 0; id < BACKDOOR_CHANNELS; id++) {
		if (!bd->bd_chans[id].bc_open)
			return id;
		if (bd->bd_chans[id].bc_used < bd->bd_chans[lru].bc_used)
			lru = id;
	}
	bd->bd_reused++;
	return lru;
}

/* The channel named by edx's high half, if open; NULL otherwise. */
static struct backdoor_chan *
backdoor_chan(struct backdoor *bd, uint32_t edx)
{
	unsigned id = edx >> 16;

	if (id >= BACKDOOR_CHANNELS || !bd->bd_chans[id].bc_open)
		return NULL;
	return &bd->bd_chans[id];
}

static int
backdoor_cookies_ok(const struct backdoor_chan *c, uint32_t hi, uint32_t lo)
{
	return !c->bc_cookies ||
	       (c->bc_cookie_hi == hi && c->bc_cookie_lo == lo);
}

/* Appends len bytes of payload; dispatches a complete message.  Status. */
static unsigned
backdoor_payload(struct backdoor *bd, struct backdoor_chan *c,
		 const uint8_t *data, size_t len)
{
	if (c->bc_state != BACKDOOR_SENDING || len > c->bc_len - c->bc_off) {
		/* More than announced, or nothing announced: the message is
		 * garbage now.  Drop it so that the channel starts clean. */
		backdoor_chan_reset(c);
		return 0;
	}
	memcpy(c->bc_msg + c->bc_off, data, len);
	c->bc_off += len;
	if (c->bc_off == c->bc_len && backdoor_dispatch(bd, c) != 0)
		return 0;
	return BACKDOOR_ST_SUCCESS;
}

/* MESSAGE on the low-bandwidth port: the type in ecx's high half. */
static void
backdoor_message(struct backdoor *bd, struct backdoor_regs *r, unsigned hb)
{
	unsigned type = r->br_ecx >> 16, status = 0, id, n;
	struct backdoor_chan *c;
	uint8_t word[4];

	if (type == BACKDOOR_MSG_OPEN) {
		uint32_t proto = r->br_ebx & ~BACKDOOR_FLAG_COOKIE;

		if (proto != BACKDOOR_PROTO_RPCI &&
		    proto != BACKDOOR_PROTO_TCLO)
			goto out;
		id = backdoor_chan_take(bd);
		c = &bd->bd_chans[id];
		backdoor_chan_reset(c);
		memset(c, 0, sizeof(*c));
		c->bc_open = 1;
		c->bc_used = ++bd->bd_clock;
		c->bc_tclo = proto == BACKDOOR_PROTO_TCLO;
		c->bc_cookies = (r->br_ebx & BACKDOOR_FLAG_COOKIE) != 0;
		if (c->bc_cookies) {
			c->bc_cookie_hi = backdoor_cookie(bd);
			c->bc_cookie_lo = backdoor_cookie(bd);
			r->br_esi = c->bc_cookie_hi;
			r->br_edi = c->bc_cookie_lo;
		}
		r->br_edx = (uint32_t)id << 16; /* vmt(4): low half 0 */
		status = BACKDOOR_ST_SUCCESS;
		goto out;
	}
	if ((c = backdoor_chan(bd, r->br_edx)) == NULL ||
	    !backdoor_cookies_ok(c, r->br_esi, r->br_edi))
		goto out;
	c->bc_used = ++bd->bd_clock;
	switch (type) {
	case BACKDOOR_MSG_SENDSIZE:
		backdoor_chan_reset(c);
		if (r->br_ebx > BACKDOOR_MSG_MAX)
			break;
		c->bc_msg = malloc(r->br_ebx > 0 ? r->br_ebx : 1);
		if (c->bc_msg == NULL)
			break;
		c->bc_len = r->br_ebx;
		c->bc_state = BACKDOOR_SENDING;
		status = BACKDOOR_ST_SUCCESS | hb;
		if (c->bc_len == 0 && backdoor_dispatch(bd, c) != 0)
			status = 0;
		break;
	case BACKDOOR_MSG_SENDPAYLOAD:
		n = c->bc_state == BACKDOOR_SENDING && c->bc_len - c->bc_off < 4
			? (unsigned)(c->bc_len - c->bc_off)
			: 4;
		word[0] = (uint8_t)r->br_ebx;
		word[1] = (uint8_t)(r->br_ebx >> 8);
		word[2] = (uint8_t)(r->br_ebx >> 16);
		word[3] = (uint8_t)(r->br_ebx >> 24);
		status = backdoor_payload(bd, c, word, n);
		break;
	case BACKDOOR_MSG_RECVSIZE:
		status = BACKDOOR_ST_SUCCESS;
		r->br_ebx = 0;
		if (c->bc_state == BACKDOOR_REPLY) {
			status |= BACKDOOR_ST_DORECV | hb;
			r->br_ebx = (uint32_t)c->bc_rlen;
			r->br_edx = (r->br_edx & 0xffffu) |
				    (uint32_t)BACKDOOR_MSG_SENDSIZE << 16;
		}
		break;
	case BACKDOOR_MSG_RECVPAYLOAD:
		if (c->bc_state != BACKDOOR_REPLY)
			break;
		memset(word, 0, sizeof(word));
		n = c->bc_rlen - c->bc_roff < 4
			? (unsigned)(c->bc_rlen - c->bc_roff)
			: 4;
		memcpy(word, c->bc_reply + c->bc_roff, n);
		c->bc_roff += n;
		r->br_ebx = (uint32_t)word[0] | (uint32_t)word[1] << 8 |
			    (uint32_t)word[2] << 16 | (uint32_t)word[3] << 24;
		r->br_edx = (r->br_edx & 0xffffu) |
			    (uint32_t)BACKDOOR_MSG_SENDPAYLOAD << 16;
		status = BACKDOOR_ST_SUCCESS;
		break;
	case BACKDOOR_MSG_RECVSTATUS:
		if (c->bc_state != BACKDOOR_REPLY)
			break;
		backdoor_chan_reset(c);
		status = BACKDOOR_ST_SUCCESS;
		break;
	case BACKDOOR_MSG_CLOSE:
		backdoor_chan_reset(c);
		memset(c, 0, sizeof(*c));
		status = BACKDOOR_ST_SUCCESS;
		break;
	default:
		break;
	}
out:
	r->br_ecx = (uint32_t)status << 16;
}

int
backdoor_call_offers_hb(const struct backdoor_regs *r)
{
	unsigned type = r->br_ecx >> 16;

	return r->br_eax == BACKDOOR_MAGIC &&
	       (r->br_ecx & 0xffffu) == BACKDOOR_CMD_MESSAGE &&
	       (type == BACKDOOR_MSG_SENDSIZE || type == BACKDOOR_MSG_RECVSIZE);
}

int
backdoor_call(struct backdoor *bd, struct backdoor_regs *r, unsigned flags)
{
	if (r->br_eax != BACKDOOR_MAGIC)
		return 0;
	pthread_mutex_lock(&bd->bd_lock);
	switch (r->br_ecx & 0xffffu) {
	case BACKDOOR_CMD_GETVERSION:
		r->br_eax = BACKDOOR_VERSION;
		r->br_ebx = BACKDOOR_MAGIC;
		r->br_ecx = BACKDOOR_PRODUCT;
		break;
	case BACKDOOR_CMD_MESSAGE:
		backdoor_message(
		    bd, r, flags & BACKDOOR_CALL_NO_HB ? 0 : BACKDOOR_ST_HB);
		break;
	default:
		/* What open-vm-tools reads as "not supported". */
		r->br_eax = 0xffffffffu;
		break;
	}
	pthread_mutex_unlock(&bd->bd_lock);
	return 1;
}

int
backdoor_hb(struct backdoor *bd, struct backdoor_regs *r, int in, uint8_t *data,
	    size_t len)
{
	struct backdoor_chan *c;
	unsigned status = 0;
	size_t n;

	if (r->br_eax != BACKDOOR_MAGIC)
		return 0;
	pthread_mutex_lock(&bd->bd_lock);
	c = backdoor_chan(bd, r->br_edx);
	if ((r->br_ebx & 0xffffu) != BACKDOOR_HB_CMD_MESSAGE || c == NULL) {
		if (in)
			memset(data, 0xff, len);
		goto out;
	}
	if (!in) {
		if (backdoor_cookies_ok(c, r->br_ebp, r->br_edi)) {
			c->bc_used = ++bd->bd_clock;
			status = backdoor_payload(bd, c, data, len);
		}
		goto out;
	}
	n = 0;
	if (backdoor_cookies_ok(c, r->br_esi, r->br_ebp) &&
	    c->bc_state == BACKDOOR_REPLY) {
		c->bc_used = ++bd->bd_clock;
		n = c->bc_rlen - c->bc_roff < len ? c->bc_rlen - c->bc_roff
						  : len;
		memcpy(data, c->bc_reply + c->bc_roff, n);
		c->bc_roff += n;
		/* Asking for more than the reply holds fails the call. */
		if (n == len)
			status = BACKDOOR_ST_SUCCESS;
	}
	memset(data + n, 0, len - n);
out:
	r->br_ebx = (r->br_ebx & 0xffffu) | (uint32_t)status << 16;
	pthread_mutex_unlock(&bd->bd_lock);
	return 1;
}
