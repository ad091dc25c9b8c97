/* Time stamps as the API shows them. */
#ifndef VMMAPID_BASE_TIMEFMT_H
#define VMMAPID_BASE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Formats Unix epoch milliseconds as RFC 3339 UTC: 2026-11-25T17:11:18.123Z */
void timefmt_rfc3339(int64_t ms, char *buf, size_t len);

/* CLOCK_REALTIME now, in milliseconds. */
int64_t timefmt_now_ms(void);

/* CLOCK_MONOTONIC now, in microseconds. */
uint64_t timefmt_mono_us(void);

#endif
