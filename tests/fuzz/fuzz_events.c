/*  fuzz_events.c - EVENTS bodies (registry PUB, snapshots): each input is one body. */
#include "fuzz_support.h"

//  Decodes one input; whatever decodes must encode and decode again.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_fuzz_check (zf_fuzz_events, data, size);
    return 0;
}
