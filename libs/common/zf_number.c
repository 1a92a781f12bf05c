/*  zf_number.c - whole numbers from the command line. */
#include "zf_number.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

long long
zf_number_parse (const char *text, long long min, long long max)
{
    assert (text && min >= 0 && min <= max);
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (!*text || *end || errno == ERANGE || value < min || value > max) return -1;
    return value;
}
