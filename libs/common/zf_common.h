/*  zf_common.h - the common library: limits, logging, clocks, time, numbers,
    attributes, arenas, growable arrays, strings kept with their record. */
#ifndef ZF_COMMON_H_INCLUDED
#define ZF_COMMON_H_INCLUDED

#include "zf_attr.h"
#include "zf_limits.h"
#include "zf_log.h"
#include "zf_clock.h"
#include "zf_time.h"
#include "zf_number.h"
#include "zf_arena.h"
#include "zf_array.h"
#include "zf_strblock.h"

#endif
