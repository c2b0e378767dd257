#!/usr/bin/env python3
"""A large resumable (tus) upload cut several times: does it arrive whole, and does the
server's memory stay flat while it comes?

    python3 scripts/resumable_upload_soak.py [--size-gib 2] [--cuts 3] [--binary PATH]

Makes a real video of at least SIZE GiB (a noisy 1080p clip, looped by stream copy), starts
the release binary on LocalStack with no workers (so the upload stays in TEMP_DIR as the file
a worker would convert), uploads it with the tus protocol in one PATCH per connection and
cuts the connection (the socket closed mid-body) at CUTS points spread over the file; after
each cut it asks for the offset (HEAD) and goes on from there. It samples the server's
resident memory every 0.25 s, and compares the sha256 of the file the service kept with the
source's. Writes scripts/results/resumable_upload_soak.md. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

from harness import RELEASE_BINARY, REPO, Server, write_report

CHUNK = 1 << 20


def make_source(path: Path, size: int) -> Path:
    """A video of at least `size` bytes: 10 s of 1080p noise (barely compressible), looped."""
    if path.exists() and path.stat().st_size >= size:
        return path
    seed = path.with_name("noise_10s.mp4")
    if not seed.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
                        "-vf", "noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
                        "-crf", "10", "-c:a", "aac", str(seed)], check=True)
    loops = -(-size // seed.stat().st_size)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops - 1),
                    "-i", str(seed), "-c", "copy", str(path)], check=True)
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * CHUNK):
            digest.update(block)
    return digest.hexdigest()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class MemorySampler(threading.Thread):
    """The server's resident memory every 0.25 s, as (seconds since start, bytes)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopping = pid, [], threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.samples.append((time.monotonic() - self.start_time, rss_bytes(self.pid)))
            except OSError:
                return
            time.sleep(0.25)


def tus_headers(extra: dict | None = None) -> dict:
    return {"Tus-Resumable": "1.0.0", **(extra or {})}


def create(port: int, path: Path) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    name = base64.b64encode(path.name.encode()).decode()
    connection.request("POST", "/v1/uploads", headers=tus_headers({
        "Upload-Length": str(path.stat().st_size), "Upload-Metadata": f"filename {name}"}))
    response = connection.getresponse()
    response.read()
    assert response.status == 201, response.status
    return response.getheader("Location")


def offset(port: int, location: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("HEAD", location, headers=tus_headers())
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    return int(response.getheader("Upload-Offset"))


def patch(port: int, location: str, path: Path, start: int, cut_at: int | None) -> int | None:
    """Sends the file from `start`; with `cut_at`, closes the socket once that many bytes of
    the file went out (a dropped connection) and returns None; else the final status."""
    size = path.stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.putrequest("PATCH", location)
    for name, value in tus_headers({"Upload-Offset": str(start),
                                    "Content-Type": "application/offset+octet-stream",
                                    "Content-Length": str(size - start)}).items():
        connection.putheader(name, value)
    connection.endheaders()
    with open(path, "rb") as f:
        f.seek(start)
        at = start
        while at < size:
            block = f.read(CHUNK)
            if cut_at is not None and at + len(block) >= cut_at:
                connection.send(block[:cut_at - at])
                connection.sock.close()  # the train enters the tunnel
                return None
            try:
                connection.send(block)
            except BrokenPipeError:
                break  # the server answered early (a refusal): read it below
            at += len(block)
    response = connection.getresponse()
    body = response.read()
    if response.status >= 400:
        print(f"PATCH answered {response.status}: {body[:300]!r}")
    return response.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--cuts", type=int, default=3)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    parser.add_argument("--port", type=int, default=18391)
    args = parser.parse_args()

    work = REPO / "bench" / "work" / "soak"
    work.mkdir(parents=True, exist_ok=True)
    source = make_source(work / "large.mp4", int(args.size_gib * (1 << 30)))
    size = source.stat().st_size
    source_sha = sha256(source)
    temp = work / "server-temp"
    server = Server(args.binary, "hls_soak", "soak", args.port, work, temp_dir=temp,
                    extra_env={"WORKERS": "0", "UPLOAD_LIMIT": str(size + (1 << 30)),
                               "PROBE_TIMEOUT_SECONDS": "300"},
                    log_path=work / "server.log", scrub_env=True)
    with server:
        sampler = MemorySampler(server.pid)
        time.sleep(1)
        baseline = rss_bytes(server.pid)
        sampler.start()
        started = time.monotonic()
        location = create(args.port, source)
        cut_points = [size * (k + 1) // (args.cuts + 1) + 12_345 for k in range(args.cuts)]
        resumed_from = []
        busy = 0

        def send(cut: int | None) -> int | None:
            """PATCHes from the offset the server gives; a 423 (the request cut before still
            holds the upload, until the server sees it gone) is tried again, as clients do."""
            nonlocal busy
            while True:
                at = offset(args.port, location)
                status = patch(args.port, location, source, at, cut)
                if status != 423:
                    return at, status
                busy += 1
                time.sleep(0.5)

        for cut in cut_points:
            at, refused = send(cut)
            if refused is not None:
                raise SystemExit(f"the PATCH from {at} was refused: {refused}")
            resumed_from.append(at)
        at, status = send(None)
        resumed_from.append(at)
        elapsed = time.monotonic() - started
        sampler.stopping.set()
        sampler.join()
        video_id = location.rsplit("/", 1)[1]
        kept = temp / "hls-ladder-uploads" / f"{video_id}.upload"
        kept_sha = sha256(kept) if kept.exists() else "(no file)"
        _, video = server.request("GET", f"/v1/videos/{video_id}")

    memory = [m for _, m in sampler.samples]
    mib = 1 << 20
    # Request i started at resumed_from[i]; request i (but the last) was cut at cut_points[i];
    # the next one started where the server had kept up to.
    rows = "\n".join(f"| {i + 1} | {cut:,} | {resumed_from[i + 1]:,} | {cut - resumed_from[i + 1]:,} |"
                     for i, cut in enumerate(cut_points))
    report = f"""# A {size / (1 << 30):.2f} GiB resumable upload cut {args.cuts} times

`python3 scripts/resumable_upload_soak.py --size-gib {args.size_gib:g} --cuts {args.cuts}`
({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, release binary, LocalStack on loopback).

- Source: `{source.name}`, {size:,} bytes (1080p noise looped, H.264 + AAC), sha256 `{source_sha}`.
- Upload: tus, one PATCH per connection, the socket closed mid-body {args.cuts} times; the last
  PATCH answered {status}; {busy} PATCHes got `423` while the server still held the upload for
  the request just cut (tried again 0.5 s later, as clients do). {elapsed:.1f} s in all ({size / elapsed / mib:.0f} MiB/s).
- The file the service kept (`TEMP_DIR/hls-ladder-uploads/{{id}}.upload`): sha256 `{kept_sha}`:
  **{"equal" if kept_sha == source_sha else "DIFFERENT"}**. Video `{video.get("status")}`, `source_bytes` {video.get("source_bytes")}.
- Server resident memory: {baseline / mib:.0f} MiB before; during the upload median
  {statistics.median(memory) / mib:.0f} MiB, max {max(memory) / mib:.0f} MiB ({len(memory)} samples every 0.25 s),
  for a {size / mib:,.0f} MiB file.

| cut | socket closed at byte | next PATCH from (HEAD) | bytes sent again |
|---|---|---|---|
{rows}
"""
    write_report("resumable_upload_soak", report)
    if kept_sha != source_sha or status != 204:
        raise SystemExit("the upload did not arrive whole")


if __name__ == "__main__":
    main()
