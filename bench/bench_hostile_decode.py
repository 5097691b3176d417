"""Hostile uploads: the cost of a tiny 16-bit PNG that decodes into gigabytes, refused vs decoded.

The file is a valid all-zero 16-bit greyscale PNG of 7745x7745 (0.11 MiB on disk, built row by row).
Baseline: the same ``load_image`` with the decode budget lifted, i.e. what the app did before the
check (decode, then the float64 value-range stretch). Checked: ``load_image`` as it is, which reads the
header and refuses. Each runs in its own child process so its peak memory is its own (ru_maxrss);
the two alternate ``--repeats`` times and the medians are printed with their ratio.

Run: ``python bench/bench_hostile_decode.py`` (the baseline needs about 2 GiB of RAM and ~10 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import playground.common.images as images
from tests.unit.common.test_images_budget import png16
data = png16(7745, 7745)
if {lifted}:
    images.MAX_DECODE_BYTES = 1 << 62
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
try:
    images.load_image(data, "huge16.png")
    outcome = "decoded"
except images.ImageError:
    outcome = "refused"
seconds = time.perf_counter() - t
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({{"outcome": outcome, "seconds": seconds, "mib": grown, "file_bytes": len(data)}}))
"""


def _measure(lifted: bool) -> dict:
    code = _CHILD.format(root=str(ROOT), lifted=lifted)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base, checked = [], []
    for _ in range(args.repeats):  # interleaved: machine load hits both alike
        base.append(_measure(lifted=True))
        checked.append(_measure(lifted=False))
    b_s, c_s = statistics.median(r["seconds"] for r in base), statistics.median(r["seconds"] for r in checked)
    b_m, c_m = statistics.median(r["mib"] for r in base), statistics.median(r["mib"] for r in checked)
    print(f"file: {base[0]['file_bytes'] / 2**20:.2f} MiB, 7745x7745 16-bit PNG")
    print(f"baseline (budget lifted, {base[0]['outcome']}): {b_s:.2f} s, peak +{b_m:,.0f} MiB")
    print(f"checked  ({checked[0]['outcome']}):              {c_s:.3f} s, peak +{c_m:,.0f} MiB")
    print(f"ratio: {b_s / max(c_s, 1e-9):,.0f}x less time, {b_m / max(c_m, 1):,.0f}x less memory")


if __name__ == "__main__":
    main()
