"""Keep freed array memory in the process, so big arrays are not page-faulted in on every step.

Floor: kernels (the bottom of the tower). Imports the standard library only.

A training step allocates and frees the same large arrays again and again (a DCGAN conv layer's
unfolded columns and their gradient are ~13 MB each). glibc's malloc hands blocks this big back
to the operating system as soon as they are freed (munmap, or trimming the top of the heap), so
the next step gets fresh pages, and the kernel takes a page fault and zeroes 4 KB for each one
(a third of a conv layer's step went there: benchmarks/RESULTS.md). PyTorch avoids the same cost
with its caching allocator.

`keep_freed_memory()` sets two glibc malloc parameters (see `man mallopt`):
    M_MMAP_THRESHOLD = 32 MB   blocks below this come from the heap, not from their own mmap
    M_TRIM_THRESHOLD = 1 GB    freed heap memory is only returned to the OS above this much
so the process keeps up to its peak working set instead of returning it after each step. It is
called once when tinygen.kernels is imported; it is a no-op where the C library is not glibc.

Opt-out: set the environment variable TINYGEN_NO_MALLOPT=1 before importing tinygen to keep
glibc's defaults (e.g. in a long-lived process where tinygen is a small part and returning
memory to the system matters more than the page faults of its big arrays).
"""
import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3        # glibc's mallopt parameter numbers
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024          # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024
OPT_OUT_VARIABLE = "TINYGEN_NO_MALLOPT"
applied = False  # whether keep_freed_memory() has set the two parameters in this process


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse; True if it was applied (Linux with glibc)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    global applied
    applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                   and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return applied


def keep_freed_memory_unless_opted_out() -> bool:
    """keep_freed_memory(), unless the environment sets TINYGEN_NO_MALLOPT=1 (then: False)."""
    if os.environ.get(OPT_OUT_VARIABLE, "0") not in ("", "0"):
        return False
    return keep_freed_memory()
