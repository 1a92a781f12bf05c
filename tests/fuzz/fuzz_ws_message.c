/*  fuzz_ws_message.c - the gateway's decoder of browser messages: each
    input is one WebSocket message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsmsg.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Decodes one input; what decodes must hold only what the protocol allows,
//  and a refusal must say why.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_gw_request_t req;
    char why[200];
    if (zf_gw_request_decode (data, size, &req, why, sizeof why) != 0) {
        if (!why[0] || req.id > ZF_GW_MAX_ID) abort ();
        return 0;
    }
    size_t flow = strnlen (req.flow, sizeof req.flow);
    if (req.type < ZF_GW_REQ_ACTION || req.type > ZF_GW_REQ_RUN_STATUS || req.id > ZF_GW_MAX_ID ||
        (req.type == ZF_GW_REQ_RUN_STATUS && req.date == ZF_DATE_NONE) || flow == 0 ||
        flow > ZF_MAX_NAME || strnlen (req.task, sizeof req.task) > ZF_MAX_NAME ||
        strnlen (req.token, sizeof req.token) > ZF_GW_MAX_TOKEN ||
        strnlen (req.shard_key, sizeof req.shard_key) > ZF_MAX_SHARD_KEY ||
        (req.type == ZF_GW_REQ_ACTION && (req.action < 1 || req.action > ZF_GW_ACTION_START)) ||
        (req.shard != ZF_SHARD_WHOLE && (req.shard < 0 || req.shard >= ZF_MAX_SHARDS)))
        abort ();
    return 0;
}
