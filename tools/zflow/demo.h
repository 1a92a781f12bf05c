/*  demo.h - `zflow demo`: a local zflow running the example end-of-day flow. */
#ifndef ZF_DEMO_H_INCLUDED
#define ZF_DEMO_H_INCLUDED

//  `zflow demo [--exit] [up options]`.
int zf_cmd_demo (int argc, char **argv);

#endif
