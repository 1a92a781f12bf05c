/*  zf_attr.h - what the compiler checks for us.

    ZF_MUST_USE marks a function whose result says whether it worked: a
    call that ignores it is a warning, and warnings are errors. (GCC does
    not take a cast to void as an answer: a failure is handled, or logged.)
*/
#ifndef ZF_ATTR_H_INCLUDED
#define ZF_ATTR_H_INCLUDED

#define ZF_MUST_USE __attribute__ ((warn_unused_result))

#endif
