/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the tern executable's entry point; everything else is in vl.c.
 */
#include "qemu/osdep.h"

int qemu_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return qemu_main(argc, argv);
}
