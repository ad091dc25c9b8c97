/*
 * The CMOS RAM and RTC (see cmos.h).  Register numbers and bits are the
 * MC146818's (its data sheet) and the IBM AT's CMOS map.
 */
#include "vmm-driver/cmos.h"

#include <errno.h>
#include <string.h>

#define CMOS_SEC 0x00
#define CMOS_MIN 0x02
#define CMOS_HOUR 0x04
#define CMOS_WDAY 0x06
#define CMOS_MDAY 0x07
#define CMOS_MON 0x08
#define CMOS_YEAR 0x09
#define CMOS_REG_A 0x0a
#define CMOS_REG_B 0x0b
#define CMOS_REG_C 0x0c
#define CMOS_REG_D 0x0d
#define CMOS_BASE_LO 0x15
#define CMOS_EXT_LO 0x17
#define CMOS_EXT2_LO 0x30
#define CMOS_CENTURY 0x32
#define CMOS_HIGH_LO 0x34

#define CMOS_A_UIP 0x80
/* 32.768 kHz time base, 1024 Hz periodic rate: what a BIOS leaves. */
#define CMOS_A_POWERON 0x26
#define CMOS_B_SET 0x80
#define CMOS_B_DM_BINARY 0x04
#define CMOS_B_24H 0x02
#define CMOS_D_VRT 0x80
#define CMOS_HOUR_PM 0x80

#define CMOS_NMI_MASK 0x80

static time_t
cmos_host_now(void *cls)
{
	(void)cls;
	return time(NULL);
}

static void
cmos_put16(struct cmos *c, unsigned reg, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	c->cm_ram[reg] = (uint8_t)v;
	c->cm_ram[reg + 1] = (uint8_t)(v >> 8);
}

int
cmos_init(struct cmos *c, uint64_t memory, time_t (*now)(void *cls), void *cls)
{
	int err;

	memset(c, 0, sizeof(*c));
	if ((err = pthread_mutex_init(&c->cm_lock, NULL)) != 0) {
		errno = err;
		return -1;
	}
	c->cm_now = now != NULL ? now : cmos_host_now;
	c->cm_cls = cls;
	c->cm_ram[CMOS_REG_A] = CMOS_A_POWERON;
	c->cm_ram[CMOS_REG_B] = CMOS_B_24H;
	c->cm_ram[CMOS_REG_D] = CMOS_D_VRT;
	cmos_put16(c, CMOS_BASE_LO, 640);
	if (memory > (1u << 20)) {
		cmos_put16(c, CMOS_EXT_LO, (memory - (1u << 20)) >> 10);
		cmos_put16(c, CMOS_EXT2_LO, (memory - (1u << 20)) >> 10);
	}
	if (memory > (16u << 20))
		cmos_put16(c, CMOS_HIGH_LO, (memory - (16u << 20)) >> 16);
	return 0;
}

void
cmos_destroy(struct cmos *c)
{
	pthread_mutex_destroy(&c->cm_lock);
}

/* The guest's time now, broken down (UTC).  cm_lock held. */
static void
cmos_tm(struct cmos *c, struct tm *tm)
{
	time_t t = (time_t)((int64_t)c->cm_now(c->cm_cls) + c->cm_offset);

	gmtime_r(&t, tm);
}

/* A value in the data mode register B says. */
static uint8_t
cmos_enc(const struct cmos *c, unsigned v)
{
	if (c->cm_ram[CMOS_REG_B] & CMOS_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned
cmos_dec(const struct cmos *c, uint8_t v)
{
	if (c->cm_ram[CMOS_REG_B] & CMOS_B_DM_BINARY)
		return v;
	return (unsigned)(v >> 4) * 10 + (v & 0x0f);
}

/* The hour register: 0-23, or 1-12 with bit 7 for PM. */
static uint8_t
cmos_hour_enc(const struct cmos *c, int h)
{
	int h12;

	if (c->cm_ram[CMOS_REG_B] & CMOS_B_24H)
		return cmos_enc(c, (unsigned)h);
	h12 = h % 12 == 0 ? 12 : h % 12;
	return (uint8_t)(cmos_enc(c, (unsigned)h12) |
			 (h >= 12 ? CMOS_HOUR_PM : 0));
}

static int
cmos_hour_dec(const struct cmos *c, uint8_t v)
{
	int h;

	if (c->cm_ram[CMOS_REG_B] & CMOS_B_24H)
		return (int)cmos_dec(c, v);
	h = (int)cmos_dec(c, v & ~CMOS_HOUR_PM) % 12;
	return v & CMOS_HOUR_PM ? h + 12 : h;
}

/* A time register, or -1 when reg is not one.  cm_lock held. */
static int
cmos_clock_read(struct cmos *c, unsigned reg)
{
	struct tm tm;

	switch (reg) {
	case CMOS_SEC:
	case CMOS_MIN:
	case CMOS_HOUR:
	case CMOS_WDAY:
	case CMOS_MDAY:
	case CMOS_MON:
	case CMOS_YEAR:
	case CMOS_CENTURY:
		break;
	default:
		return -1;
	}
	cmos_tm(c, &tm);
	switch (reg) {
	case CMOS_SEC:
		return cmos_enc(c, (unsigned)tm.tm_sec % 60);
	case CMOS_MIN:
		return cmos_enc(c, (unsigned)tm.tm_min);
	case CMOS_HOUR:
		return cmos_hour_enc(c, tm.tm_hour);
	case CMOS_WDAY: /* 1 = Sunday */
		return cmos_enc(c, (unsigned)tm.tm_wday + 1);
	case CMOS_MDAY:
		return cmos_enc(c, (unsigned)tm.tm_mday);
	case CMOS_MON:
		return cmos_enc(c, (unsigned)tm.tm_mon + 1);
	case CMOS_YEAR:
		return cmos_enc(c, (unsigned)(tm.tm_year + 1900) % 100);
	default: /* CMOS_CENTURY */
		return cmos_enc(c, (unsigned)(tm.tm_year + 1900) / 100);
	}
}

/*
 * The guest sets one time register: the others keep the time they show
 * now, and the offset to the host's clock becomes what that makes.
 * 0 when reg is not a time register.  cm_lock held.
 */
static int
cmos_clock_write(struct cmos *c, unsigned reg, uint8_t v)
{
	struct tm tm;
	time_t t;
	int year;

	switch (reg) {
	case CMOS_SEC:
	case CMOS_MIN:
	case CMOS_HOUR:
	case CMOS_WDAY:
	case CMOS_MDAY:
	case CMOS_MON:
	case CMOS_YEAR:
	case CMOS_CENTURY:
		break;
	default:
		return 0;
	}
	cmos_tm(c, &tm);
	year = tm.tm_year + 1900;
	switch (reg) {
	case CMOS_SEC:
		tm.tm_sec = (int)cmos_dec(c, v);
		break;
	case CMOS_MIN:
		tm.tm_min = (int)cmos_dec(c, v);
		break;
	case CMOS_HOUR:
		tm.tm_hour = cmos_hour_dec(c, v);
		break;
	case CMOS_WDAY: /* follows from the date */
		return 1;
	case CMOS_MDAY:
		tm.tm_mday = (int)cmos_dec(c, v);
		break;
	case CMOS_MON:
		tm.tm_mon = (int)cmos_dec(c, v) - 1;
		break;
	case CMOS_YEAR:
		tm.tm_year =
		    year / 100 * 100 + (int)cmos_dec(c, v) % 100 - 1900;
		break;
	default: /* CMOS_CENTURY */
		tm.tm_year = (int)cmos_dec(c, v) * 100 + year % 100 - 1900;
		break;
	}
	if ((t = timegm(&tm)) != (time_t)-1)
		c->cm_offset = (int64_t)t - (int64_t)c->cm_now(c->cm_cls);
	return 1;
}

/* Port 0x71 reads the register 0x70 named; port 0x70 reads the index. */
uint8_t
cmos_read(struct cmos *c, uint16_t port)
{
	unsigned reg;
	uint8_t v;
	int t;

	pthread_mutex_lock(&c->cm_lock);
	reg = c->cm_index;
	if (port == CMOS_PORT_INDEX) {
		v = c->cm_index;
	} else if ((t = cmos_clock_read(c, reg)) >= 0) {
		v = (uint8_t)t;
	} else if (reg == CMOS_REG_A) {
		v = c->cm_ram[reg] & ~CMOS_A_UIP;
	} else if (reg == CMOS_REG_C) {
		v = 0; /* no interrupt flags; reading would clear them */
	} else {
		v = c->cm_ram[reg];
	}
	pthread_mutex_unlock(&c->cm_lock);
	return v;
}

/*
 * Port 0x70 selects the register (bit 7, the NMI mask, dropped); port
 * 0x71 writes it.  Registers C and D and the UIP bit are read-only.
 */
void
cmos_write(struct cmos *c, uint16_t port, uint8_t val)
{
	unsigned reg;

	pthread_mutex_lock(&c->cm_lock);
	reg = c->cm_index;
	if (port == CMOS_PORT_INDEX) {
		c->cm_index = val & ~CMOS_NMI_MASK;
	} else if (cmos_clock_write(c, reg, val)) {
		/* the time registers live in the offset */
	} else if (reg == CMOS_REG_A) {
		c->cm_ram[reg] = val & ~CMOS_A_UIP;
	} else if (reg != CMOS_REG_C && reg != CMOS_REG_D) {
		c->cm_ram[reg] = val;
	}
	pthread_mutex_unlock(&c->cm_lock);
}
