"""Give a big brief's buffers back to the system as soon as they are freed.

glibc serves allocations over its mmap threshold (128 KiB) with mmap, and returns them with munmap when freed, but
it raises that threshold to the size of any such block freed (up to 32 MiB). After one big brief, the next one's
buffers come from malloc's heaps instead, one heap per thread that touched them (the loop, the offload threads,
the outbox writer), and freed heap memory mostly stays with the process: measured with 24 MiB briefs, peak RSS
grew by 2x the body for the first brief and by 4.7x over four (bench/README.md). Fixing the threshold (mallopt
M_MMAP_THRESHOLD, which also turns the adjustment off) keeps every big buffer an mmap of its own.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's default: small buffers (a normal brief) never reach it


def fix_mmap_threshold() -> bool:
    """Whether the C library took the setting (glibc does; elsewhere it is left alone)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
