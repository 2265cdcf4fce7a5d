"""Returning freed memory to the OS: what every long-running command sets up."""

from __future__ import annotations

import subprocess
import sys

from telesniff import memory

# Shared by the children below: RSS, and a heap left with megabytes free between live
# blocks (every other 64 KiB block freed, the last one kept so the top cannot shrink).
_PRELUDE = """
import sys
from telesniff import memory, runtime

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def fragment():
    blocks = [bytearray(64 << 10) for _ in range(1024)]
    for index in range(0, 1023, 2):
        blocks[index] = None
    return blocks
"""

# Frees a 64 MiB block after a run of smaller ones and prints how much RSS it kept.
_KEEPS_AFTER_FREE = """
if sys.argv[1] == "on":
    assert memory.return_large_buffers_to_the_os()
# glibc raises its threshold to the largest block freed; the next such block is heap.
block = bytearray(8 << 20)
del block
before = rss_kib()
blocks = [bytearray(1 << 20) for _ in range(32)]
for index in range(0, 32, 2):
    blocks[index] = None
del blocks[-1]
print(rss_kib() - before)
"""

_TRIM = """
kept = fragment()
before = rss_kib()
returned = memory.trim()
print(returned, before - rss_kib())
"""

# runtime.run trims by itself: main waits until RSS falls (or gives up after 10 s).
_RUN_TRIMS = """
import asyncio

async def main(stop):
    kept = fragment()
    high = rss_kib()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while rss_kib() > high - 16 * 1024 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    print(high - rss_kib())

runtime.run(main, trim_every_s=0.05)
"""


def _child(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PRELUDE + script, *args],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout.split()


def test_large_buffers_go_back_to_the_os_on_glibc() -> None:
    assert memory.return_large_buffers_to_the_os()  # this machine runs glibc


def test_freed_megabyte_blocks_leave_the_process() -> None:
    # Half of 31 one-MiB blocks freed: with the fixed threshold only the live half stays.
    (kept_on,), (kept_off,) = _child(_KEEPS_AFTER_FREE, "on"), _child(_KEEPS_AFTER_FREE, "off")
    assert int(kept_on) < int(kept_off) - 8 * 1024


def test_trim_returns_free_pages_between_live_blocks() -> None:
    returned, freed_kib = _child(_TRIM)
    assert returned == "True"
    assert int(freed_kib) > 16 * 1024  # of the 32 MiB freed in the middle of the heap


def test_runtime_run_trims_periodically() -> None:
    (freed_kib,) = _child(_RUN_TRIMS)
    assert int(freed_kib) > 16 * 1024
