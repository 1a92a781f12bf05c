/*  fuzz_dispatch.c - the dispatch bodies: each input goes to every one of
    their decoders (all but one refuse it by type, which is checked too). */
#include "fuzz_support.h"

//  Decodes one input with every dispatch decoder.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_fuzz_recode_fn *codecs[] = {zf_fuzz_dispatch, zf_fuzz_jobs,        zf_fuzz_results,
                                   zf_fuzz_ack,      zf_fuzz_cancel,      zf_fuzz_worker_ready,
                                   zf_fuzz_hello,    zf_fuzz_hello_reply, zf_fuzz_refused};
    for (size_t i = 0; i < sizeof (codecs) / sizeof (codecs[0]); i++)
        zf_fuzz_check (codecs[i], data, size);
    int type;
    zf_proto_error_t err;
    (void)zf_proto_peek (data, size, &type, &err);
    return 0;
}
