/*  zf_number.h - whole numbers from the command line. */
#ifndef ZF_NUMBER_H_INCLUDED
#define ZF_NUMBER_H_INCLUDED

//  Reads text as a whole decimal number in [min, max] (min >= 0): nothing
//  before or after it. Returns the number, or -1 if text is not one.
long long zf_number_parse (const char *text, long long min, long long max);

#endif
