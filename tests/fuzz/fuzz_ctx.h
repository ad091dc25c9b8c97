/*
 * The daemon's context as server/main.c builds it, in a temporary
 * directory, for the harnesses that go through api_handle() or the token
 * set: a database, the VM registry, the tokens, the images, the sim
 * backend's runner, the jails and the access policy (vmm group 1000),
 * and one VM, web1, defined by uid 1000 and not running.
 * Made once per process; the directory is removed at exit.
 */
#ifndef VMMAPID_TESTS_FUZZ_FUZZ_CTX_H
#define VMMAPID_TESTS_FUZZ_FUZZ_CTX_H

#include "api/api.h"

/* The context, made on the first call; aborts when it cannot be made. */
const struct api_context *fuzz_ctx(void);

#endif
