/*  bench_stats.h - what the benchmarks compute from their samples. */
#ifndef ZF_BENCH_STATS_H_INCLUDED
#define ZF_BENCH_STATS_H_INCLUDED

#include <stddef.h>

//  Sorts count values in ascending order.
void zf_bench_sort (double *values, size_t count);

//  The median of count values (at least one; sorts them).
double zf_bench_median (double *values, size_t count);

#endif
