#!/usr/bin/env python3
"""Measures live progress and webhooks end to end on a running service.

Per round: upload a 720p 20 s clip, follow GET /v1/videos/{id}/events until the final status,
and receive the video.completed webhook on a loopback receiver. Reports progress events per
second and the gaps between them, and how long after the final status was committed
(`finished_at`, the database's clock; same machine) it reached the SSE client and the webhook
receiver, and that the webhook's signature verifies.

    python3 scripts/live_events.py [--rounds 5] [--binary target/release/hls-ladder]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from harness import RELEASE_BINARY, Server, make_clip, write_report

SECRET = b"live-events-measure-secret"
PORT = 18093


class Receiver(http.server.BaseHTTPRequestHandler):
    arrivals: dict[str, tuple[float, bool]] = {}

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        stamp, signature = (dict(p.split("=", 1) for p in self.headers["Webhook-Signature"].split(","))[k]
                            for k in ("t", "v1"))
        expected = hmac.new(SECRET, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        Receiver.arrivals[json.loads(body)["id"]] = (arrived, hmac.compare_digest(expected, signature))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def follow(address: str, video_id: str) -> list[tuple[float, str, dict]]:
    """Every event of the stream, with its arrival time, until the server ends it."""
    host, port = address.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=300)
    connection.request("GET", f"/v1/videos/{video_id}/events", headers={"Accept": "text/event-stream"})
    response = connection.getresponse()
    assert response.status == 200, response.status
    events, name, data = [], "message", []
    while True:
        line = response.readline()
        if not line:
            return events
        line = line.decode().rstrip("\r\n")
        if line == "":
            if data:
                events.append((time.time(), name, json.loads("\n".join(data))))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", type=Path, default=RELEASE_BINARY)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="live-events-"))
    clip = make_clip(work / "clip.mp4").read_bytes()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hooks = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    env = {"WEBHOOK_URLS": hooks, "WEBHOOK_SECRET": SECRET.decode(), "WORKERS": "1"}
    rows = []
    with Server(args.binary, "measure_live_events", "measure-live-events", PORT, work, env) as server:
        for round_ in range(1, args.rounds + 1):
            status, created = server.request("POST", "/v1/videos", clip, {"Content-Type": "video/mp4"})
            assert status == 201, created
            events = follow(server.address, created["id"])
            final = events[-1]
            assert final[1] == "status" and final[2]["status"] == "completed", final
            finished = datetime.fromisoformat(final[2]["finished_at"]).timestamp()
            deadline = time.time() + 60
            while created["id"] not in Receiver.arrivals and time.time() < deadline:
                time.sleep(0.01)
            hook_at, signed = Receiver.arrivals[created["id"]]
            progress = [at for at, name, _ in events if name == "progress"]
            gaps = [b - a for a, b in zip(progress, progress[1:])]
            rows.append({
                "round": round_,
                "progress_events": len(progress),
                "events_per_second": (len(progress) - 1) / (progress[-1] - progress[0]),
                "gap_median_ms": statistics.median(gaps) * 1000,
                "gap_min_ms": min(gaps) * 1000,
                "final_status_after_commit_ms": (final[0] - finished) * 1000,
                "webhook_after_commit_ms": (hook_at - finished) * 1000,
                "signature_verifies": signed,
            })
            print(json.dumps(rows[-1]), flush=True)
    receiver.shutdown()
    lines = [
        f"`python3 scripts/live_events.py --rounds {args.rounds}`, "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {len(os.sched_getaffinity(0))} CPUs, "
        "one `serve` process (1 worker), clip 1280x720 20 s 30 fps, default ladder.",
        "",
        "| measure (per round) | median | min | max |",
        "|---|---|---|---|",
    ]
    for key in ["progress_events", "events_per_second", "gap_median_ms", "gap_min_ms",
                "final_status_after_commit_ms", "webhook_after_commit_ms"]:
        values = [row[key] for row in rows]
        lines.append(f"| {key} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")
    lines.append(f"| signatures verified | {sum(r['signature_verifies'] for r in rows)} of {len(rows)} | | |")
    report = "\n".join(lines)
    write_report("live_events", report)

if __name__ == "__main__":
    main()
