/*
 * stress-core-host.c: the stress workload (guest/stress-core.c) built
 * natively for the soft vCPU and the unit tests.  The core is freestanding
 * so the guest can share it; this wrapper gives it Tern's common include.
 */
#include "qemu/osdep.h"
#include "../../guest/stress-core.c"
