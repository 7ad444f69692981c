"""Keep freed large buffers in the process instead of handing them back to the OS (glibc).

glibc serves large allocations with ``mmap`` and gives freed ones back to the kernel, and it
trims the heap top once more than a few MB are free. A CPU training step frees and
re-allocates the same large activation buffers every step, so each step page-faults them in
again: on the adding problem at T=500 about 5,000-10,000 minor faults per step and a quarter
of the step time, varying from run to run. Raising glibc's mmap and trim thresholds keeps those
buffers for reuse; the cost is that the process's resident memory stays at its peak.
``scripts/bench.py`` measures steps/s and page faults with and without it, side by side.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def keep_freed_memory(max_chunk_bytes: int = 1 << 30) -> bool:
    """Serve allocations up to ``max_chunk_bytes`` from the heap and never trim it.

    Returns True when glibc accepted both settings; False (nothing changed) on other C
    libraries and platforms. Applies to the whole process from this call on.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, max_chunk_bytes)
                and mallopt(M_TRIM_THRESHOLD, 2 * max_chunk_bytes))
