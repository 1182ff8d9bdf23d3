"""Hold a process's memory behaviour steady: the C allocator's thresholds in a process that times
blocks, so that a figure does not depend on which jobs ran before it; and the Python heap built at
start, left out of the garbage collector's scans.

PyTorch's CPU tensors come from malloc. glibc serves a request above its mmap threshold (128 KiB
at first) with fresh pages from the kernel, and gives the top of its heap back to the kernel once
more than its trim threshold is free there; both thresholds rise by themselves as soon as a large
block is freed. A block whose activations are a few MiB therefore costs, in a process that has
never freed anything larger, a page fault per 4 KiB of every activation on every call; later, in
the same process, not: 3.1 ms against 1.2 ms for an inverted residual at its defaults on a 2-core
AMD EPYC virtual machine, the same module, depending only on the process's history. A measuring
process sets both thresholds once, before anything is timed, to the values glibc itself would
reach after freeing a 32 MiB block: a steady state, the one a process running whole networks is in.
"""

import ctypes
import ctypes.util
import gc

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest dynamic mmap threshold on 64-bit
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # what glibc sets beside it


def settle() -> bool:
    """Fix both thresholds (glibc only); whether they were set."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # another C library: nothing to hold
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                              TRIM_THRESHOLD))


def freeze_heap() -> None:
    """Leave everything the process has built so far (PyTorch, the app, what it warmed) out of the
    cyclic garbage collector's scans for good (`gc.freeze`): a full collection then looks only at
    what came later, tens of milliseconds less each time one runs (a proof of equivalence went from
    70 to 17 ms). What is frozen is never collected as a cycle: a cached graph evicted later stays
    (the caches are bounded, so this is bounded too)."""
    gc.collect()
    gc.freeze()
