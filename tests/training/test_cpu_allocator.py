"""keep_freed_memory: freed large buffers are reused instead of page-faulted in again."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from project.training.cpu_allocator import keep_freed_memory
if sys.argv[1] == "1":
    assert keep_freed_memory()
for _ in range(10):  # warm up: first-use costs, and glibc's own threshold adapting
    torch.empty(8 << 20).fill_(1.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # a 32 MB buffer allocated, touched and freed, as a training step does
    torch.empty(8 << 20).fill_(1.0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def minor_faults(keep: bool) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, "1" if keep else "0"], check=True,
                          capture_output=True, text=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    default, kept = minor_faults(False), minor_faults(True)
    assert default > 20 * 8192 // 2  # glibc defaults: each 32 MB buffer faults its pages again
    assert kept < default / 5  # measured: 0 to 16384 against 163860
