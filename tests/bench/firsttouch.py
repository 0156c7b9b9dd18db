# SPDX-License-Identifier: GPL-2.0-or-later
"""The same first-touch draw for every destination of a bench case.

This VM runs with free page reporting (page_reporting on the kernel
command line, virtio-balloon REPORTING): memory that stays free is
reported and handed back to the host, and the guest's next touch of it
costs the host's fault and zeroing as well as the guest's.  Measured
here (2 GiB anonymous THP memory, MADV_POPULATE_WRITE): 0.23-0.34 CPU s
when the pages had been freed just before, 1.3-1.5 s a second or three
later, 2.7-3.7 s after 5 s.  A destination VMM's fresh guest RAM is
mostly that first touch, so which draw a run got (decided by what ran
before it and when) moved its destination CPU 0.6 -> 1.1 s and the case
0.9x -> 1.2x between two runs of the same build.

Handover makes the draw the same for every destination, VMM or floor:
before the migration the bench process touches `size` bytes of its own
anonymous memory and holds them; from the migrate command on, a thread
gives them back in 32 MiB pieces, always `lead` bytes ahead of what the
destination process has made resident since (its /proc statm, read
every 2 ms).  The kernel hands out free pages it has not reported
before reported ones, so the destination's faults take pages freed
moments earlier.  It costs the destinations nothing they would not
pay anyway; the bench process's own CPU is not counted.
"""
import mmap
import os
import threading
import time

MADV_POPULATE_WRITE = 23
PAGE = os.sysconf('SC_PAGE_SIZE')


def _resident(pid):
    """Resident bytes of pid (0 once it is gone)."""
    try:
        with open(f'/proc/{pid}/statm') as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


class Handover:
    """Hold size bytes of touched memory; give them back ahead of a
    destination's first touches (start(pid) .. stop())."""

    PIECE = 32 << 20

    def __init__(self, size, lead=256 << 20):
        self.size = size
        self.lead = lead
        self.mem = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE |
                             mmap.MAP_ANONYMOUS)
        self.mem.madvise(mmap.MADV_HUGEPAGE)
        self.mem.madvise(MADV_POPULATE_WRITE)
        self.freed = 0
        self.thread = None
        self.quit = threading.Event()

    def _give(self, upto):
        upto = min(self.size, upto)
        while self.freed < upto:
            n = min(self.PIECE, self.size - self.freed)
            self.mem.madvise(mmap.MADV_DONTNEED, self.freed, n)
            self.freed += n

    def _follow(self, pid, base):
        while not self.quit.is_set() and self.freed < self.size:
            self._give(max(0, _resident(pid) - base) + self.lead)
            time.sleep(0.002)

    def start(self, pid):
        """Give the first lead bytes back now, the rest as pid's resident
        set grows (call right before the migration starts)."""
        base = _resident(pid)
        self._give(self.lead)
        self.thread = threading.Thread(target=self._follow, args=(pid, base),
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Stop following and free what is left."""
        self.quit.set()
        if self.thread:
            self.thread.join()
        self.mem.close()
