#!/usr/bin/env python3
"""Time to play: from an upload's 201 to the first frame in Chromium with hls.js.

    python3 bench/time_to_play.py [--binary target/release/hls-ladder] [--runs 3]
                                  [--inputs 55s720p,10min720p,30s1080p]

For each input and run, `bench/time_to_play.mjs` uploads the file to a fresh `hls-ladder
serve` (one worker, the default ladder and settings, LocalStack, its own database) and
measures, from the 201: when the video has a playback URL (polled every 100 ms), when hls.js
in Chromium, started then on that URL, presents the first frame, and when the video is
completed. The inputs are real footage (Big Buck Bunny, fetched and checked by
bench/compare_with_ffmpeg.py): its first 30 s as 720p + MP3 looped to 55 s and to 10 min, and
the 1080p clip as the package ships it (H.264 High, AAC 5.1, 30 s).

Prints a Markdown table of the medians and writes it, with the raw runs, under
bench/results/ (dated, named by commit). Needs what bench/compare_with_ffmpeg.py needs, and
`npm ci --prefix web` (playwright-core) with /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import harness  # noqa: E402
from compare_with_ffmpeg import REAL_CLIP, fetch_real_clip, real_input  # noqa: E402

WORK = BENCH_DIR / "work"


def looped(source: Path, seconds: int) -> Path:
    """`source` played over and over for `seconds`, by stream copy (the same pictures)."""
    path = WORK / f"{source.stem}_looped_{seconds}s.mp4"
    if not path.exists():
        partial = path.with_name(path.name + ".partial.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1",
                        "-i", str(source), "-t", str(seconds), "-c", "copy", str(partial)],
                       check=True)
        partial.rename(path)
    return path


def inputs(names: list[str]) -> dict[str, Path]:
    clip = fetch_real_clip(REAL_CLIP, WORK / "real")
    made = {}
    for name in names:
        if name == "30s1080p":
            made[name] = real_input("real", clip, 30, WORK)[0]
        elif name.endswith("720p"):
            seconds = {"55s720p": 55, "10min720p": 600}[name]
            made[name] = looped(real_input("real720", clip, 30, WORK)[0], seconds)
        else:
            raise SystemExit(f"unknown input {name}")
    return made


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                          capture_output=True, text=True).stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=REPO_ROOT / "target/release/hls-ladder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inputs", default="55s720p,10min720p,30s1080p")
    args = parser.parse_args()
    files = inputs(args.inputs.split(","))
    runs: dict[str, list[dict]] = {name: [] for name in files}
    server = harness.Server(args.binary, "bench_time_to_play", "bench-time-to-play", 8091,
                            WORK, extra_env={"WORKERS": "1"}, scrub_env=True,
                            log_path=WORK / "time_to_play_server.log")
    with server:
        for run in range(args.runs):
            for name, path in files.items():
                proc = subprocess.run(["node", str(BENCH_DIR / "time_to_play.mjs")],
                                      env={**os.environ, "BASE_URL": server.address,
                                           "FILE": str(path)},
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    raise SystemExit(f"{name} run {run + 1} failed:\n{proc.stderr}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                runs[name].append(result)
                print(f"{name} run {run + 1}: {result}", file=sys.stderr)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    lines = [
        f"`python3 bench/time_to_play.py --runs {args.runs} --inputs {args.inputs}` "
        f"at {commit()} on {datetime.date.today()}; medians of {args.runs} runs, seconds "
        "from the upload's 201:",
        "",
        "| input | playable | first frame in Chromium (hls.js) | completed | first frame / completed |",
        "|---|---|---|---|---|",
    ]
    for name in files:
        first, done = median(name, "first_frame_seconds"), median(name, "completed_seconds")
        lines.append(f"| {name} | {median(name, 'playable_seconds'):.2f} | {first:.2f} "
                     f"| {done:.1f} | {first / done:.3f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    results = BENCH_DIR / "results"
    stem = f"{datetime.date.today()}_time_to_play_{commit()}"
    (results / f"{stem}.md").write_text(report)
    (results / f"{stem}.json").write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
