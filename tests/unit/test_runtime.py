"""Process plumbing: memory settings every command applies."""

from __future__ import annotations

import subprocess
import sys

from telesniff.runtime import return_large_buffers_to_the_os

# Frees a 64 MiB block after a run of smaller ones and prints how much RSS it kept.
_KEEPS_AFTER_FREE = """
import sys
from telesniff.runtime import return_large_buffers_to_the_os

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

if sys.argv[1] == "on":
    assert return_large_buffers_to_the_os()
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


def test_large_buffers_go_back_to_the_os_on_glibc() -> None:
    assert return_large_buffers_to_the_os()  # this machine runs glibc


def _kept_kib(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _KEEPS_AFTER_FREE, mode],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return int(done.stdout)


def test_freed_megabyte_blocks_leave_the_process() -> None:
    # Half of 31 one-MiB blocks freed: with the fixed threshold only the live half stays.
    assert _kept_kib("on") < _kept_kib("off")
