#!/usr/bin/env python3
"""Stop PostgreSQL for real while a job converts, then start it again.

The test suite cuts the database off through a proxy (tests/api/faults.rs) so that it never
touches the PostgreSQL other tests share; this script does the real thing, on a machine where
nothing else needs the database meanwhile: `pg_ctlcluster 15 main stop` (fast shutdown: every
connection is terminated) in the middle of a conversion, 10 s without a database, then
`pg_ctlcluster 15 main start`. Each round checks that

- during the outage, `GET /v1/videos/{id}` answers 503 `database-unavailable` problem+json
  (within the pool's 5 s acquire timeout: no hang) and the server process stays up;
- after it, the service answers again by itself and the job completes, converted once
  (`attempts` 1), and decodes cleanly from its URL.

Usage: python3 scripts/restart_database.py [--rounds 3] [--binary target/release/hls-ladder]
Run as root (pg_ctlcluster). Writes scripts/results/restart_database.md.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from harness import RELEASE_BINARY, Server, drop_database, make_clip, write_report

PORT = 8099
ADDRESS = f"http://127.0.0.1:{PORT}"
DB_NAME = "reliability_restart"
CLUSTER = ["15", "main"]
OUTAGE_SECONDS = 10


def request(method: str, path: str, body: bytes | None = None, headers=None):
    req = urllib.request.Request(ADDRESS + path, data=body, method=method, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, raw, content_type = response.status, response.read(), response.headers.get("content-type")
    except urllib.error.HTTPError as error:
        status, raw, content_type = error.code, error.read(), error.headers.get("content-type")
    return status, json.loads(raw or b"{}"), content_type, time.perf_counter() - started


def pg(action: str) -> None:
    subprocess.run(["pg_ctlcluster", *CLUSTER, action, *(["-m", "fast"] if action == "stop" else [])],
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="restart-db-"))
    video = make_clip(work / "clip.mp4", seconds=30).read_bytes()
    server = Server(args.binary, DB_NAME, "reliability-restart", PORT, work,
                    {"LEASE_SECONDS": "5", "RUST_LOG": "info", "LOG_FORMAT": "json"})
    server.start()
    rows = []
    try:
        for round_ in range(1, args.rounds + 1):
            status, created, _, _ = request("POST", "/v1/videos", video, {"Content-Type": "video/mp4"})
            assert status == 201, created
            id_ = created["id"]
            target = random.randint(10, 40)
            while True:
                status, body, _, _ = request("GET", f"/v1/videos/{id_}")
                if body.get("status") == "processing" and ((body.get("progress") or {}).get("percent") or 0) >= target:
                    break
                time.sleep(0.05)
            pg("stop")
            stopped = time.time()
            answers, slowest = [], 0.0
            while time.time() - stopped < OUTAGE_SECONDS:
                status, body, content_type, took = request("GET", f"/v1/videos/{id_}")
                answers.append((status, body.get("code"), content_type))
                slowest = max(slowest, took)
                assert server.process.poll() is None, "the server exited during the outage"
            pg("start")
            restarted = time.time()
            assert all(a == (503, "database-unavailable", "application/problem+json") for a in answers), answers
            recovered = None
            while True:
                status, body, _, _ = request("GET", f"/v1/videos/{id_}")
                if status == 200 and recovered is None:
                    recovered = time.time() - restarted
                if status == 200 and body["status"] in ("completed", "failed", "canceled"):
                    break
                assert time.time() - restarted < 300, body
                time.sleep(0.2)
            assert body["status"] == "completed" and body["attempts"] == 1, body
            decode = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", body["playback_url"],
                                     "-f", "null", "-"], capture_output=True, text=True)
            assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
            rows.append((round_, target, len(answers), slowest, recovered))
            print(f"round {round_}: stopped at {target} %, {len(answers)} answers during the outage, all 503 "
                  f"(slowest {slowest:.2f} s); answering again {recovered:.1f} s after the start; "
                  f"completed once, decodes cleanly", flush=True)
    finally:
        if subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout.split()[3] != "online":
            pg("start")
        server.stop()
    lines = [
        f"`python3 scripts/restart_database.py --rounds {args.rounds}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: PostgreSQL 15 stopped (`-m fast`) for "
        f"{OUTAGE_SECONDS} s mid-conversion, then started; clip 1280x720 30 s.",
        "",
        "| round | stopped at | answers during the outage | all 503 problem+json | slowest answer | answering again after start | job |",
        "|---|---|---|---|---|---|---|",
    ]
    for round_, target, count, slowest, recovered in rows:
        lines.append(f"| {round_} | {target} % | {count} | yes | {slowest:.2f} s | {recovered:.1f} s | completed, attempts 1, decodes |")
    report = "\n".join(lines)
    write_report("restart_database", report)
    drop_database(DB_NAME)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
