/*  tap.h - zflow-tap: the operator's view of the bus.

    Subscribes to the registry's events (one subscription per endpoint of a
    Binary Star pair) and to a dispatcher's, and prints every event as a
    line. Registry events are numbered without gaps per registry history: a
    gap means missed events, which the tap reports and fetches with
    EVENTS_SINCE. With a filter, numbers skip by design; the tap then fetches
    the skipped range and reports only the events that match the filter and
    never arrived. Dispatcher events have their own numbering per dispatcher
    start; gaps there are reported when every dispatcher topic is
    subscribed. With --snapshot the tap first prints the registry's whole
    state (the Clone pattern: subscribe, take the snapshot, then only what
    comes after it).
*/
#ifndef ZF_TAP_H_INCLUDED
#define ZF_TAP_H_INCLUDED

#include <stdbool.h>

//  Most --filter options.
#define ZF_TAP_MAX_FILTERS 16

//  What to watch and how to print it.
typedef struct {
    const char *registry;                    //  registry request endpoints (events at port + 1)
    const char *dispatcher;                  //  dispatcher events endpoint
    const char *filters[ZF_TAP_MAX_FILTERS]; //  topic prefixes; none: everything
    int filter_count;                        //  entries in filters
    bool json;                               //  JSON lines instead of text
    bool snapshot;                           //  print the registry's snapshot first
    int timeout_ms;                          //  per registry request
} zf_tap_config_t;

//  Runs until interrupted (exit status 0), or returns 1 after printing why
//  it cannot (a snapshot that the registry did not give, bad endpoints).
int zf_tap_run (const zf_tap_config_t *cfg);

#endif
