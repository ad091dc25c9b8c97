/*
 * Every size and count the API enforces, in one place.  Each has a test at
 * the limit and one past it (tests/unit/test_vm_spec.c, tests/api/).
 */
#ifndef VMMAPID_BASE_LIMITS_H
#define VMMAPID_BASE_LIMITS_H

/* Names of VMs, images, jails: [a-zA-Z0-9][a-zA-Z0-9._-]{0,63} */
#define LIMIT_NAME_LEN 64

/* Request bodies (JSON documents); larger bodies get 413. */
#define LIMIT_BODY_BYTES (64 * 1024)
/* ... and for a guestinfo value: 64 KiB in JSON's longest spelling
 * (\u00XX for each byte) and room for the rest. */
#define LIMIT_BODY_BIG_BYTES (6 * LIMIT_GUESTINFO_VALUE + 4096)

/*
 * How deep a JSON request body may nest (arrays and objects): no document
 * of the API needs more than a few levels.  Deeper is refused before
 * jansson parses it: its parser and json_decref recurse, and on a request
 * worker's 256 KiB stack a 3,000-deep body overflowed it under TSan.
 */
#define LIMIT_JSON_DEPTH 128

/* Labels on one VM, and the length of a label's key and value. */
#define LIMIT_LABELS 64
#define LIMIT_LABEL_KEY_LEN 63
#define LIMIT_LABEL_VALUE_LEN 255

/* Free-text description of a VM. */
#define LIMIT_DESCRIPTION_LEN 1024

/* Linux kernel command line (the boot protocol's usual cmdline_size). */
#define LIMIT_CMDLINE_LEN 2048

/*
 * Guest RAM of a VM that boots Linux: it must end below the 3 GiB hole
 * where the local and I/O APICs live (vmm-driver/lxboot.h,
 * LXBOOT_MEMORY_MAX).
 */
#define LIMIT_LINUX_MEMORY_MIB 3072

/* PCI passthrough devices attached to one VM. */
#define LIMIT_PPTDEVS 8

/*
 * libmicrohttpd's memory per connection (MHD_OPTION_CONNECTION_MEMORY_LIMIT):
 * it holds a request's header block (past about half of it: 431) and the
 * buffer a chunked answer is written from.  16 KiB, half of libmicrohttpd's
 * default: a header block of 8 KiB passes, as in nginx's default, and an
 * idle connection (an event subscriber) costs about 8 KiB less
 * (docs/benchmarks.md, 10).
 */
#define LIMIT_CONNECTION_MEMORY (12 * 1024)

/* List pagination. */
#define LIMIT_PAGE_DEFAULT 100
#define LIMIT_PAGE_MAX 1000

/* Label filters in one list request. */
#define LIMIT_LABEL_FILTERS 16

/* Request URL length (path and query). */
#define LIMIT_URL_LEN 2048

/* VMs defined on one daemon. */
#define LIMIT_VMS 100000

/*
 * Audit records kept (db/db_audit.c): the newest ones; older ones go as
 * new ones come.  At most ~4.2 KB each (a target cut at 4096 bytes, and
 * the rest), so the log stays under ~210 MB whatever callers send; a
 * typical record is ~100 bytes (~5 MB for all).
 */
#define LIMIT_AUDIT_RECORDS 50000

/*
 * Audit records of requests that changed nothing (answered 4xx or 5xx)
 * kept per caller (uid and jail) in a minute (api/audit.c); past it they
 * are counted, and one record says how many were not kept.  Keeps one
 * caller's flood of refusals from pushing everyone's records out of the
 * LIMIT_AUDIT_RECORDS.  LIMIT_AUDIT_RATE_CALLERS callers are followed at
 * once; past them, the one whose minute began first is forgotten (and its
 * summary written).
 */
#define LIMIT_AUDIT_REFUSED_PER_MINUTE 60

/*
 * The headroom file beside the database (db/db_headroom.c): space held
 * for the writes a DELETE needs once the disk is full.  A write that
 * fails for want of space frees it and is tried again; it is taken back
 * once --disk-reserve-mib plus this is free again.
 */
#define LIMIT_DISK_HEADROOM (8u << 20)
#define LIMIT_AUDIT_RATE_CALLERS 256

/*
 * Guestinfo keys (issue #12): a key is the part after "guestinfo." and
 * follows the name rule with up to 128 bytes; a value is at most pvbus's
 * PVBUS_KVOP_MAXSIZE (64 KiB) of bytes that are not NUL; a VM holds at
 * most 256 keys.
 */
#define LIMIT_GUESTINFO_KEY_LEN 128
#define LIMIT_GUESTINFO_VALUE (64 * 1024)
#define LIMIT_GUESTINFO_KEYS 256

#endif
