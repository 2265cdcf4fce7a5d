"""Keeping a long-running process's resident memory near its working set (glibc).

A consumer reading 2,000 entries at a time, or a gateway fanning out a burst,
allocates and frees tens of megabytes in a few seconds.  CPython gives freed
blocks back to glibc, but glibc keeps them: large blocks on the heap once its
mmap threshold has crept up, and free pages between live chunks until someone
asks for them to be returned.  Without the two calls below a consumer stayed
about 20 MB above its idle size for good after one busy minute.

Both are no-ops (returning False) off glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
from typing import Final

_M_MMAP_THRESHOLD: Final = -3  # glibc <malloc.h>
MMAP_THRESHOLD_BYTES: Final = 256 * 1024
# A trim takes about 2 ms on a consumer's heap after a burst, and well under that when
# there is little to return: every 10 s costs nothing measurable and is soon enough
# for "steady state" to mean what it says.
TRIM_EVERY_S: Final = 10.0


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def return_large_buffers_to_the_os() -> bool:
    """Serve every allocation over 256 KiB with its own mmap, unmapped when freed.

    By default glibc raises its mmap threshold to the largest block freed (up to
    32 MiB), so after the first burst megabyte payloads and frames come from the
    heap and leave it fragmented when freed.
    """
    libc = _libc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def trim() -> bool:
    """Give the free pages glibc holds (anywhere in its heaps) back to the OS."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


async def keep_trimmed(every_s: float) -> None:
    """Trim every ``every_s`` seconds until cancelled (``runtime.run`` starts this)."""
    if _libc() is None:
        return
    while True:
        await asyncio.sleep(every_s)
        trim()
