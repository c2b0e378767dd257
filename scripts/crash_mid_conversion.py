#!/usr/bin/env python3
"""Kill the server with SIGKILL while a job converts, restart it, and check that nothing is lost.

Each round: upload a clip, wait until the conversion is somewhere between 15 % and 85 %
(a different point each round, or `--kill-at`), `kill -9` the server, start it again, and wait
for the job to complete. The new attempt resumes after the segments the killed one recorded.
Then the published output must be whole, and made of exactly those two parts:

- the master playlist and every media playlist fetch anonymously with HTTP 200, and every
  segment they name exists;
- the bucket holds exactly the objects the playlists name (nothing else left over from the
  attempt that was killed); the completing claim's objects were all written after the
  restart, and the earlier claim's are the first `resumed_from_segment` segments of each
  rendition, written before it;
- ffmpeg decodes the playback URL with no error, and its duration is the clip's;
- the upload directory is empty once the job is done.

With `--baseline`, one uninterrupted conversion of the clip is timed first (from the job's
start to its completion), and each round's time from the restart to completion is given as a
share of it.

Usage: python3 scripts/crash_mid_conversion.py [--rounds 10] [--binary target/release/hls-ladder]
       [--clip FILE] [--kill-at PERCENT] [--baseline]
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
import urllib.parse
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


def resolve(path: str) -> str:
    """A relative path with `..` resolved, as a player resolves a playlist's URIs."""
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def check_output(video: dict, restarted_at: datetime, clip_seconds: float) -> dict:
    """Raises on any defect; returns facts for the table."""
    url = video["playback_url"]
    base = url.rsplit("/", 1)[0]
    status, master = fetch(url)
    assert status == 200, f"master playlist: HTTP {status}"
    video_prefix = f"videos/{video['id']}/"
    prefix = url.split(f"/{BUCKET}/", 1)[1].rsplit("/", 1)[0] + "/"
    assert prefix.startswith(video_prefix), f"output {prefix} outside {video_prefix}"
    named = {prefix + "master.m3u8"}
    for variant in re.findall(r"^(?!#)(\S+)$", master.decode(), re.M):
        named.add(prefix + variant)
        status, media = fetch(f"{base}/{variant}")
        assert status == 200, f"{variant}: HTTP {status}"
        folder = variant.rsplit("/", 1)[0]
        for segment in re.findall(r"^(?!#)(\S+)$", media.decode(), re.M):
            key = resolve(f"{prefix}{folder}/{segment}")
            assert key.startswith(video_prefix), f"{segment} outside the video"
            named.add(key)
            # Resolved as a player resolves it (dot segments removed, RFC 3986 5.2).
            status, _ = fetch(urllib.parse.urljoin(f"{base}/{variant}", segment))
            assert status == 200, f"{folder}/{segment}: HTTP {status}"
    listed = json.loads(aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", video_prefix]))
    objects = {o["Key"]: o["LastModified"] for o in listed.get("Contents", [])}
    stray = set(objects) - named
    assert not stray, f"objects no playlist names: {sorted(stray)}"
    missing = named - set(objects)
    assert not missing, f"named but missing: {sorted(missing)}"
    restart = restarted_at.replace(microsecond=0)
    written = {k: datetime.fromisoformat(t.replace("Z", "+00:00")) for k, t in objects.items()}
    older = [k for k, t in written.items() if k.startswith(prefix) and t < restart]
    assert not older, f"objects of the completing claim from before the restart: {older}"
    kept = [k for k in written if not k.startswith(prefix)]
    renditions = len(re.findall(r"^(?!#)(\S+)$", master.decode(), re.M))
    resumed = video.get("resumed_from_segment") or 0
    assert len(kept) == resumed * renditions, \
        f"{len(kept)} objects of the killed attempt kept, {resumed} segments x {renditions} renditions resumed"
    newer = [k for k in kept if written[k] > restart]
    assert not newer, f"objects of the killed attempt written after the restart: {newer}"
    decode = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", url, "-f", "null", "-"],
                            capture_output=True, text=True)
    assert decode.returncode == 0 and not decode.stderr.strip(), decode.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", url], capture_output=True, text=True, check=True)
    duration = float(probe.stdout.strip())
    assert abs(duration - clip_seconds) < 0.5, f"duration {duration}"
    return {"objects": len(objects), "kept": len(kept), "duration": duration}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clip", type=Path, help="the input (default: a 20 s 720p test pattern)")
    parser.add_argument("--kill-at", type=float, help="kill at this percent (default: 15-85 at random)")
    parser.add_argument("--baseline", action="store_true",
                        help="time one uninterrupted conversion first")
    parser.add_argument("--keep-log", type=Path, help="copy the server's log here at the end")
    args = parser.parse_args()
    random.seed(args.seed)
    if not args.binary.exists():
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=REPO, check=True,
                       env=dict(os.environ, SQLX_OFFLINE="true"))

    work = Path(tempfile.mkdtemp(prefix="crash-test-"))
    if args.clip:
        clip = args.clip
        clip_seconds = float(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(clip)],
            capture_output=True, text=True, check=True).stdout.strip())
    else:
        clip, clip_seconds = make_clip(work / "clip.mp4", seconds=20), 20.0
    temp_dir = work / "server-tmp"
    temp_dir.mkdir()
    server = Server(args.binary, DB_NAME, BUCKET, PORT, temp_dir,
                    {"LEASE_SECONDS": str(LEASE_SECONDS), "SEGMENT_SECONDS": "2", "WORKERS": "1",
                     "LOG_FORMAT": "json", "RUST_LOG": "info"})
    server.start()
    rows = []
    full = None
    try:
        if args.baseline:
            with open(clip, "rb") as body:
                status, created = http_json("POST", "/v1/videos", body.read(),
                                            {"Content-Type": "video/mp4"})
            assert status == 201, created
            done = wait_for(created["id"], lambda v: v["status"] == "completed", 900)
            started = datetime.fromisoformat(done["started_at"].replace("Z", "+00:00"))
            finished = datetime.fromisoformat(done["finished_at"].replace("Z", "+00:00"))
            full = (finished - started).total_seconds()
            log(f"uninterrupted: {full:.1f} s from the job's start to completion")
        for round_ in range(1, args.rounds + 1):
            target = args.kill_at if args.kill_at is not None else random.randint(15, 85)
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
            restarted = time.time()
            done = wait_for(id_, lambda v: v["status"] in ("completed", "failed", "canceled"), 900)
            assert done["status"] == "completed", done
            facts = check_output(done, restarted_at, clip_seconds)
            left = list((temp_dir / "hls-ladder-uploads").iterdir())
            assert not left, f"upload directory holds {left}"
            finished = datetime.fromisoformat(done["finished_at"].replace("Z", "+00:00"))
            after_restart = (finished - restarted_at).total_seconds()
            rows.append({
                "round": round_, "killed_at_percent": round(killed_at_percent, 1),
                "attempts": done["attempts"], "recovered_s": round(after_restart, 1),
                "resumed": done.get("resumed_from_segment"),
                "share": round(after_restart / full, 3) if full else None,
                **facts,
            })
            log(f"round {round_}: killed at {killed_at_percent:.0f} %, restarted after "
                f"{restarted - killed:.1f} s, completed on attempt {done['attempts']} "
                f"{after_restart:.1f} s after the restart, resumed after segment "
                f"{done.get('resumed_from_segment')}, {facts['objects']} objects "
                f"({facts['kept']} kept), decodes cleanly ({facts['duration']:.2f} s)")
    finally:
        server.stop()
        if args.keep_log:
            shutil.copy(server.log_path, args.keep_log)
    flags = " ".join(sys.argv[1:])
    what = args.clip.name if args.clip else "a 1280x720 test pattern"
    lines = [
        f"`python3 scripts/crash_mid_conversion.py {flags}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {len(os.sched_getaffinity(0))} CPUs; "
        f"clip {what}, {clip_seconds:.0f} s, default ladder, 2 s segments, lease {LEASE_SECONDS} s"
        + (f"; uninterrupted conversion {full:.1f} s (job start to completion)." if full else "."),
        "",
        "| round | killed at | attempts | resumed after segment | completed after restart | share of uninterrupted | objects (kept from the killed attempt) | decodes, duration |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = f"{r['share']:.2f}" if r["share"] is not None else "-"
        lines.append(f"| {r['round']} | {r['killed_at_percent']} % | {r['attempts']} | {r['resumed']} "
                     f"| {r['recovered_s']} s | {share} | {r['objects']} ({r['kept']}) | yes, {r['duration']:.2f} s |")
    lines.append("")
    lines.append(f"Lost: nothing ({len(rows)} of {args.rounds} rounds completed with whole output; "
                 "upload directory empty after each).")
    report = "\n".join(lines)
    write_report("crash_mid_conversion", report)
    drop_database(DB_NAME)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
