/*  fuzz_mdp_client.c - client-protocol Majordomo messages, as a broker and a
    client receive them. The input is cut into frames (fuzz_support.h). */
#include "fuzz_support.h"

//  Parses one input as both receivers of the client protocol.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_fuzz_mdp (data, size, ZF_MDP_AT_BROKER, ZF_MDP_AT_CLIENT);
    return 0;
}
