/*  fuzz_flow.c - libFuzzer entry point for the flow parser.

    Any bytes must give either a flow or errors, never a crash, a leak or a
    hang; a flow that parses must also answer lookups and calendar walks.
    Seeded with the flow files of tests/flows. */
#include <stddef.h>
#include <stdint.h>

#include "zf_flow.h"
#include "zf_limits.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zf_flow_errors_t errors = {0};
    zf_flow_t *flow = zf_flow_parse ((const char *)data, size, "fuzz.yaml", &errors);
    if (flow) {
        for (uint32_t i = 0; i < flow->task_count; i++)
            if (zf_flow_task_index (flow, flow->tasks[i].id) < 0) __builtin_trap ();
        zf_date_t date = zf_flow_next_business_date (flow, 20000);
        if (date != ZF_FLOW_NO_DATE && !zf_flow_is_business_date (flow, date)) __builtin_trap ();
        zf_flow_prev_business_date (flow, 20000, ZF_MAX_DATE_OFFSET);
    } else if (errors.count == 0)
        __builtin_trap ();
    zf_flow_destroy (&flow);
    zf_flow_errors_clear (&errors);
    return 0;
}
