/* Placeholder until system/vl.c lands. */
#include "qemu/osdep.h"

int qemu_main(int argc, char **argv);

int qemu_main(int argc, char **argv)
{
    fprintf(stderr, "tern: not built yet\n");
    return 1;
}
