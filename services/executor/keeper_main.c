/*  keeper_main.c - zflow-keeper: the keeper of one task shell (keeper.h); the executor starts it.
 */
#include "keeper.h"

int
main (int argc, char **argv)
{
    zf_keeper_main (argc, argv);
}
