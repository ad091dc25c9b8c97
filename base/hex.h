/* Lowercase hexadecimal of bytes, for digests and token secrets. */
#ifndef VMMAPID_BASE_HEX_H
#define VMMAPID_BASE_HEX_H

#include <stddef.h>

/* The n bytes of in as 2n lowercase hex digits and a NUL into out. */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
