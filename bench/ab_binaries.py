#!/usr/bin/env python3
"""Two builds of hls-ladder on the same input, runs interleaved: median wall and CPU.

    python3 bench/ab_binaries.py OLD_BINARY NEW_BINARY INPUT [--runs 6]

For checking that a change did not slow the conversion down: the same machine, the same
input, alternating which build goes first, so drifting load hits both alike.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time


def run(binary: str, source: str, *flags: str) -> tuple[float, float]:
    """One `convert` of `source` with `flags`: its wall and CPU seconds."""
    out = tempfile.mkdtemp()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run([binary, "convert", source, out, *flags], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("input")
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    results = {"old": [], "new": []}
    for i in range(args.runs):
        order = [("old", args.old), ("new", args.new)]
        if i % 2:
            order.reverse()
        for name, binary in order:
            results[name].append(run(binary, args.input))
    print(f"| build | wall s (median, min–max) | CPU s (median) |  # {os.path.basename(args.input)}, {args.runs} runs each")
    print("|---|---|---|")
    for name in ("old", "new"):
        walls = [w for w, _ in results[name]]
        cpus = [c for _, c in results[name]]
        print(f"| {name} | {statistics.median(walls):.2f} ({min(walls):.2f}–{max(walls):.2f}) | {statistics.median(cpus):.2f} |")
    ratio = statistics.median(w for w, _ in results["new"]) / statistics.median(w for w, _ in results["old"])
    print(f"new / old wall: {ratio:.3f}")


if __name__ == "__main__":
    main()
