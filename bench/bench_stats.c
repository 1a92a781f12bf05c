/*  bench_stats.c - what the benchmarks compute from their samples. */
#include "bench_stats.h"

#include <stdlib.h>

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void
zf_bench_sort (double *values, size_t count)
{
    qsort (values, count, sizeof (double), s_compare);
}

double
zf_bench_median (double *values, size_t count)
{
    zf_bench_sort (values, count);
    return values[count / 2];
}
