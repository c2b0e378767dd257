#!/usr/bin/env python3
"""Load: many uploads at once while clients poll their status.

Starts `hls-ladder serve` (its own database and bucket), sends --uploads short clips at
once (one thread each), and while they queue and convert, --pollers threads GET
/v1/videos/{id} of random uploads as fast as they can. Checks that every upload is
accepted and completed (none lost, none failed) and reports the latency of the status GETs
during the run (target: p99 under 50 ms).

Usage: python3 scripts/load_test.py [--uploads 50] [--pollers 4] [--binary target/release/hls-ladder]
Needs PostgreSQL on 127.0.0.1:5432, LocalStack on 127.0.0.1:4566 and ffmpeg. Writes
scripts/results/load_test.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from harness import RELEASE_BINARY, Server, drop_database, make_clip, percentile, write_report

PORT = 8098
DB_NAME = "reliability_load"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--pollers", type=int, default=4)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="load-test-"))
    video = make_clip(work / "clip.mp4", size="640x360", seconds=4).read_bytes()
    server = Server(args.binary, DB_NAME, "reliability-load", PORT, work)
    server.start()

    def request(method: str, path: str, body: bytes | None = None, headers=None):
        return server.request(method, path, body, headers)

    try:
        ids: list[str] = []
        refused: list[str] = []
        lock = threading.Lock()
        started = time.time()

        def upload() -> None:
            status, body = request("POST", "/v1/videos", video, {"Content-Type": "video/mp4"})
            with lock:
                (ids.append(body["id"]) if status == 201 else refused.append(f"{status} {body}"))

        uploaders = [threading.Thread(target=upload) for _ in range(args.uploads)]
        for thread in uploaders:
            thread.start()

        latencies: list[float] = []
        errors: list[str] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                with lock:
                    chosen = random.choice(ids) if ids else None
                if chosen is None:
                    time.sleep(0.01)
                    continue
                asked = time.perf_counter()
                status, _ = request("GET", f"/v1/videos/{chosen}")
                elapsed = time.perf_counter() - asked
                with lock:
                    latencies.append(elapsed)
                    if status != 200:
                        errors.append(str(status))

        pollers = [threading.Thread(target=poll) for _ in range(args.pollers)]
        for thread in pollers:
            thread.start()
        for thread in uploaders:
            thread.join()
        uploaded = time.time() - started

        finals: dict[str, str] = {}
        deadline = time.time() + 1800
        while len(finals) < len(ids) and time.time() < deadline:
            status, page = request("GET", "/v1/videos?limit=100")
            for item in page.get("items", []):
                if item["status"] in ("completed", "failed", "canceled"):
                    finals[item["id"]] = item["status"]
            time.sleep(1)
        stop.set()
        for thread in pollers:
            thread.join()
        total = time.time() - started
    finally:
        server.stop()

    completed = sum(1 for s in finals.values() if s == "completed")
    ms = [x * 1000 for x in latencies]
    report = "\n".join([
        f"`python3 scripts/load_test.py --uploads {args.uploads} --pollers {args.pollers}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {len(os.sched_getaffinity(0))} CPUs, "
        "one `serve` process (default workers), clip 640x360 4 s with audio.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| uploads sent at once | {args.uploads} |",
        f"| accepted (201) | {len(ids)} |",
        f"| refused | {len(refused)} |",
        f"| completed | {completed} |",
        f"| failed, canceled or never finished | {len(ids) - completed} |",
        f"| all uploads answered after | {uploaded:.1f} s |",
        f"| all conversions done after | {total:.1f} s |",
        f"| status GETs during the run | {len(ms)} ({len(ms) / total:.0f}/s, {len(errors)} not 200) |",
        f"| GET latency p50 / p99 / max | {statistics.median(ms):.1f} / {percentile(ms, 99):.1f} / {max(ms):.1f} ms |",
    ])
    write_report("load_test", report)
    drop_database(DB_NAME)
    shutil.rmtree(work, ignore_errors=True)
    if refused or completed != args.uploads or errors:
        raise SystemExit(f"lost or failed: refused {refused[:3]}, completed {completed}, errors {errors[:3]}")


if __name__ == "__main__":
    main()
