#!/usr/bin/env python3
"""Kill the server with SIGKILL while a job converts, restart it, and check that nothing is lost.

Each round: upload a clip, wait until the conversion is somewhere between 15 % and 85 %
(a different point each round), `kill -9` the server, start it again, and wait for the job to
complete. Then the published output must be whole and from one attempt only:

- the master playlist and every media playlist fetch anonymously with HTTP 200, and every
  segment they name exists;
- the bucket holds exactly the objects the playlists name (nothing left over from the attempt
  that was killed), and every one of them was written after the restart;
- ffmpeg decodes the playback URL with no error, and its duration is the clip's;
- the upload directory is empty once the job is done.

Usage: python3 scripts/crash_mid_conversion.py [--rounds 10] [--binary target/release/hls-ladder]
Needs PostgreSQL on 127.0.0.1:5432 (trust), LocalStack on 127.0.0.1:4566 (`make localstack`),
ffmpeg/ffprobe, and awscli (installed into bench/work/venv when missing). Prints a Markdown
table for RELIABILITY.md and writes it to scripts/results/crash_mid_conversion.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from harness import RELEASE_BINARY, REPO, Server, drop_database, make_clip, request, write_report

PORT = 8097
ADDRESS = f"http://127.0.0.1:{PORT}"
S3 = "http://127.0.0.1:4566"
DB_NAME = "reliability_crash"
BUCKET = "reliability-crash"
LEASE_SECONDS = 3


def log(message: str) -> None:
    print(f"[crash-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def http_json(method: str, path: str, body: bytes | None = None, headers=None) -> tuple[int, dict]:
    return request(ADDRESS, method, path, body, headers, timeout=30)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def aws(args: list[str]) -> str:
    venv_aws = REPO / "bench" / "work" / "venv" / "bin" / "aws"
    if not venv_aws.exists():
        log("installing awscli into bench/work/venv")
        subprocess.run([sys.executable, "-m", "venv", str(venv_aws.parent.parent)], check=True)
        subprocess.run([str(venv_aws.parent / "pip"), "install", "-q", "awscli"], check=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1")
    return subprocess.run([str(venv_aws), "--endpoint-url", S3, *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def wait_for(id_: str, predicate, timeout: float) -> dict:
    deadline = time.time() + timeout
    while True:
        status, video = http_json("GET", f"/v1/videos/{id_}")
        if status == 200 and predicate(video):
            return video
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting on {id_}: {video}")
        time.sleep(0.05)


def check_output(video: dict, restarted_at: datetime, clip_seconds: float) -> dict:
    """Raises on any defect; returns facts for the table."""
    url = video["playback_url"]
    base = url.rsplit("/", 1)[0]
    status, master = fetch(url)
    assert status == 200, f"master playlist: HTTP {status}"
    named = {"master.m3u8"}
    for variant in re.findall(r"^(?!#)(\S+)$", master.decode(), re.M):
        named.add(variant)
        status, media = fetch(f"{base}/{variant}")
        assert status == 200, f"{variant}: HTTP {status}"
        folder = variant.rsplit("/", 1)[0]
        for segment in re.findall(r"^(?!#)(\S+)$", media.decode(), re.M):
            named.add(f"{folder}/{segment}")
            status, _ = fetch(f"{base}/{folder}/{segment}")
            assert status == 200, f"{folder}/{segment}: HTTP {status}"
    # Everything of the video is under the prefix of the claim that completed it.
    video_prefix = f"videos/{video['id']}/"
    prefix = url.split(f"/{BUCKET}/", 1)[1].rsplit("/", 1)[0] + "/"
    assert prefix.startswith(video_prefix), f"output {prefix} outside {video_prefix}"
    listed = json.loads(aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", video_prefix]))
    outside = [o["Key"] for o in listed.get("Contents", []) if not o["Key"].startswith(prefix)]
    assert not outside, f"objects of other claims left: {outside}"
    objects = {o["Key"][len(prefix):]: o["LastModified"] for o in listed.get("Contents", [])}
    stray = set(objects) - named
    assert not stray, f"objects no playlist names: {sorted(stray)}"
    missing = named - set(objects)
    assert not missing, f"named but missing: {sorted(missing)}"
    older = [k for k, t in objects.items()
             if datetime.fromisoformat(t.replace("Z", "+00:00")) < restarted_at.replace(microsecond=0)]
    assert not older, f"objects from before the restart (the killed attempt): {older}"
    decode = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", url, "-f", "null", "-"],
                            capture_output=True, text=True)
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", url], capture_output=True, text=True, check=True)
    duration = float(probe.stdout.strip())
    assert abs(duration - clip_seconds) < 0.5, f"duration {duration}"
    return {"objects": len(objects), "duration": duration}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    if not args.binary.exists():
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=REPO, check=True,
                       env=dict(os.environ, SQLX_OFFLINE="true"))

    work = Path(tempfile.mkdtemp(prefix="crash-test-"))
    clip, clip_seconds = make_clip(work / "clip.mp4", seconds=20), 20.0
    temp_dir = work / "server-tmp"
    temp_dir.mkdir()
    server = Server(args.binary, DB_NAME, BUCKET, PORT, temp_dir,
                    {"LEASE_SECONDS": str(LEASE_SECONDS), "SEGMENT_SECONDS": "2", "WORKERS": "1",
                     "LOG_FORMAT": "json", "RUST_LOG": "info"})
    server.start()
    rows = []
    try:
        for round_ in range(1, args.rounds + 1):
            target = random.randint(15, 85)
            with open(clip, "rb") as body:
                status, created = http_json("POST", "/v1/videos", body.read(),
                                            {"Content-Type": "video/mp4"})
            assert status == 201, created
            id_ = created["id"]
            progress = wait_for(id_, lambda v: v["status"] == "processing"
                                and ((v.get("progress") or {}).get("percent") or 0) >= target, 120)
            killed_at_percent = progress["progress"]["percent"]
            killed = time.time()
            server.kill()
            restarted_at = datetime.now(timezone.utc)
            server.start()
            done = wait_for(id_, lambda v: v["status"] in ("completed", "failed", "canceled"), 300)
            assert done["status"] == "completed", done
            facts = check_output(done, restarted_at, clip_seconds)
            left = list((temp_dir / "hls-ladder-uploads").iterdir())
            assert not left, f"upload directory holds {left}"
            rows.append({
                "round": round_, "killed_at_percent": round(killed_at_percent, 1),
                "attempts": done["attempts"], "recovered_s": round(time.time() - killed, 1),
                **facts,
            })
            log(f"round {round_}: killed at {killed_at_percent:.0f} %, completed on attempt "
                f"{done['attempts']} {time.time() - killed:.1f} s later, {facts['objects']} objects, "
                f"all from the new attempt, decodes cleanly ({facts['duration']:.2f} s)")
    finally:
        server.stop()
    lines = [
        f"`python3 scripts/crash_mid_conversion.py --rounds {args.rounds} --seed {args.seed}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {len(os.sched_getaffinity(0))} CPUs; "
        f"clip 1280x720, {clip_seconds:.0f} s, default ladder, 2 s segments, lease {LEASE_SECONDS} s.",
        "",
        "| round | killed at | attempts | completed after kill | objects | all from the new attempt | decodes, duration |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['round']} | {r['killed_at_percent']} % | {r['attempts']} | {r['recovered_s']} s "
                     f"| {r['objects']} | yes | yes, {r['duration']:.2f} s |")
    lines.append("")
    lines.append(f"Lost: nothing ({len(rows)} of {args.rounds} rounds completed with whole output; "
                 "upload directory empty after each).")
    report = "\n".join(lines)
    write_report("crash_mid_conversion", report)
    drop_database(DB_NAME)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
