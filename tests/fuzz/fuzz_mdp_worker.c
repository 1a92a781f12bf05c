/*  fuzz_mdp_worker.c - worker-protocol Majordomo messages, as a broker and a
    worker receive them. The input is cut into frames (fuzz_support.h). */
#include "fuzz_support.h"

//  Parses one input as both receivers of the worker protocol.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_fuzz_mdp (data, size, ZF_MDP_AT_BROKER, ZF_MDP_AT_WORKER);
    return 0;
}
