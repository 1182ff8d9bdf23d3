"""The measuring process holds glibc's allocator thresholds, so a block's figure does not depend on
the jobs before it: counted in page faults, not in time (which a shared machine would blur)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.process

FORWARDS = """
import resource, sys, torch
from blockscope.measuring import allocator
from blockscope.registry import BLOCKS
from blockscope.service.blocks import resolve
if sys.argv[1] == "held":
    assert allocator.settle()
config = resolve("inverted_residual", {})
block, x = BLOCKS["inverted_residual"].seeded(config), torch.randn(config.input_shape)
with torch.inference_mode():
    for _ in range(5):
        block(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        block(x)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", FORWARDS, mode], capture_output=True, text=True, timeout=120,
                          check=True)
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_held_thresholds_spare_every_call_its_page_faults():
    # the block's activations: 144 x 56 x 56 floats (1.8 MiB) several times per call
    pages_per_call = 144 * 56 * 56 * 4 // 4096
    fresh, held = faults("fresh"), faults("held")
    assert fresh > 20 * pages_per_call  # a fresh process maps and faults in each activation anew
    assert held < fresh / 20 and held < 2 * pages_per_call
