#!/usr/bin/env python3
"""Benchmark the hls-ladder *service* (`hls-ladder serve`) end to end.

What it does (see bench/service_README.md for the why and how to run it):

1. End to end vs the command: for the 720p 30 s input, --runs interleaved rounds of
   (a) upload to the service, then poll every 100 ms until `completed` (timed from the 201
       response to the first poll that sees `completed`); the master playlist at the
       playback_url must then fetch with HTTP 200;
   (b) `hls-ladder convert INPUT OUTDIR` (wall time);
   (c) baseline: the ffmpeg CLI writing the same ladder to disk (the exact command that
       bench/compare_with_ffmpeg.py builds) followed by `aws s3 cp --recursive` to LocalStack,
       timed together.
2. Big upload memory: a --big-mib file (not a video, so the server answers 422 after
   receiving it all) uploaded with curl, while the server's VmRSS is sampled every 100 ms;
   peak RSS increase and upload throughput, next to `dd ... conv=fdatasync` on the same disk.
3. GET throughput: `wrk -t2 -c32 -d15s --latency` against GET /v1/videos/{id}.

Writes a Markdown report (bench/service_results.md) and the raw numbers
(bench/service_results.json). Starts and stops its own server on 127.0.0.1:8090 with its own
database (bench_service, dropped at the end) and bucket (bench-service).

Python 3.11 standard library only. Needs ffmpeg/ffprobe, curl, wrk, psql, dd on PATH, awscli
(from PyPI, in a venv: see --aws), PostgreSQL on 127.0.0.1:5432 and LocalStack on :4566.
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import json
import os
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import harness  # noqa: E402  (the service as a child process, shared with scripts/)

# Reuse the baseline command, the probing and the machine description from the CLI benchmark,
# so the baseline here is exactly the ffmpeg command that benchmark compares against.
from compare_with_ffmpeg import (  # noqa: E402
    BenchError,
    CLK_TCK,
    InputSpec,
    cpu_ticks,
    display,
    ffmpeg_command,
    generate_input,
    machine_info,
    probe_source,
    stats,
    tail,
)

S3_ENDPOINT = "http://127.0.0.1:4566"
DB_NAME = "bench_service"
SERVICE_BUCKET = "bench-service"
BASELINE_BUCKET = "bench-baseline"
POLL_INTERVAL_S = 0.1
NPROC = len(os.sched_getaffinity(0))
QUIET_FRACTION = 0.10  # the machine counts as idle below 10 % of all cores busy
DISTURBED_FRACTION = 0.05  # a run is disturbed if other load used > 5 % of the machine
TARGETS = {
    "e2e_over_convert_max": 1.1,
    "e2e_over_baseline_max": 0.8,
    "upload_peak_rss_increase_mib_max": 50.0,
    "get_rps_min": 5000.0,
    "get_p99_ms_max": 10.0,
}


def log(msg: str) -> None:
    print(f"[service-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# /proc helpers


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM etc. of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "VmSize:", "RssAnon:", "RssFile:", "Threads:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def proc_cpu_s(pid: int) -> float | None:
    """utime + stime of one process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pids_matching(pred) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pred(comm, cmdline):
            pids.append(int(entry))
    return pids


def machine_ticks() -> dict[str, float] | None:
    """System-wide CPU seconds from /proc/stat: process time (user+nice+system), interrupt
    time (irq+softirq: here mostly loopback networking, which no process is charged for),
    and hypervisor steal."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return {"proc": (user + nice + system) / CLK_TCK, "irq": (irq + softirq) / CLK_TCK,
            "steal": steal / CLK_TCK}


POSTGRES = lambda comm, _cmd: comm == "postgres"  # noqa: E731
LOCALSTACK = lambda _comm, cmd: "localstack.runtime.main" in cmd  # noqa: E731


class CpuProbe:
    """CPU seconds used, between start() and stop(), by: the server, PostgreSQL (all its
    processes, including backends that start meanwhile), LocalStack and this script; plus the
    whole machine's (/proc/stat). `other_cpu_s` is the machine's process time left after those
    and the measured child processes: other load (a cargo build, say) that disturbs timing."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    @staticmethod
    def _cpu_of(pids: list[int]) -> dict[int, float]:
        out = {}
        for pid in pids:
            cpu = proc_cpu_s(pid)
            if cpu is not None:  # None: it ended between the listing and the read
                out[pid] = cpu
        return out

    def _sample(self) -> dict:
        me = resource.getrusage(resource.RUSAGE_SELF)
        groups = {
            "server": self._cpu_of([self.server_pid] if self.server_pid else []),
            "postgres": self._cpu_of(pids_matching(POSTGRES)),
            "localstack": self._cpu_of(pids_matching(LOCALSTACK)),
        }
        return {"groups": groups, "self": me.ru_utime + me.ru_stime, "ticks": machine_ticks(),
                "t": time.monotonic()}

    def start(self) -> "CpuProbe":
        self.before = self._sample()
        return self

    def stop(self, children_cpu_s: float = 0.0) -> dict[str, float]:
        after = self._sample()
        b = self.before
        out = {}
        for g, now in after["groups"].items():
            # A process that started meanwhile (or reused a pid) counts whole; one that ended
            # meanwhile is lost (small: short-lived connections).
            total = 0.0
            for pid, cpu in now.items():
                prev = b["groups"][g].get(pid)
                total += cpu if prev is None or cpu < prev else cpu - prev
            out[f"{g}_cpu_s"] = total
        out["bench_script_cpu_s"] = after["self"] - b["self"]
        out["measured_children_cpu_s"] = children_cpu_s
        if b["ticks"] and after["ticks"]:
            d = {k: after["ticks"][k] - b["ticks"][k] for k in b["ticks"]}
            out["machine_busy_cpu_s"] = d["proc"] + d["irq"]
            out["irq_softirq_s"] = d["irq"]
            out["steal_s"] = d["steal"]
            accounted = (out["server_cpu_s"] + out["postgres_cpu_s"] + out["localstack_cpu_s"]
                         + out["bench_script_cpu_s"] + children_cpu_s)
            out["other_cpu_s"] = max(0.0, d["proc"] - accounted)
            wall = after["t"] - b["t"]
            # Disturbed: other load (or steal) above 5 % of the machine's capacity over the run.
            limit = max(0.5, DISTURBED_FRACTION * wall * NPROC)
            out["disturbed"] = (out["other_cpu_s"] + out["steal_s"]) > limit
        return out


def wait_quiet(max_wait_s: float, label: str) -> float:
    """Waits until the machine has been idle (< QUIET_FRACTION of all cores busy) for 3 s in a
    row, at most max_wait_s; returns the seconds waited."""
    start = time.monotonic()
    quiet_for = 0
    warned = False
    while True:
        a = cpu_ticks()
        time.sleep(1.0)
        b = cpu_ticks()
        if not a or not b:
            return 0.0
        frac = (b[0] - a[0]) / CLK_TCK / NPROC
        quiet_for = quiet_for + 1 if frac < QUIET_FRACTION else 0
        if quiet_for >= 3:
            waited = time.monotonic() - start
            if warned:
                log(f"  machine quiet again after {waited:.0f} s")
            return waited
        waited = time.monotonic() - start
        if not warned and waited > 5:
            log(f"  waiting for the machine to be quiet before {label} ({frac:.0%} busy)")
            warned = True
        if waited > max_wait_s:
            log(f"  machine still busy after {waited:.0f} s; measuring anyway")
            return waited


def run_measured(cmd: list[str], log_path: Path, env: dict | None = None,
                 capture: bool = False) -> dict:
    """Runs cmd to completion; wall time (monotonic), CPU and peak RSS from os.wait4."""
    with open(log_path, "ab") as log_file:
        log_file.write(f"$ {shlex.join(cmd)}\n".encode())
        log_file.flush()
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE if capture else log_file,
                                stderr=log_file, env=env)
        stdout = proc.stdout.read() if capture else b""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        if capture:
            log_file.write(stdout)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise BenchError(f"command failed ({code}): {shlex.join(cmd)}\n--- {log_path} ---\n{tail(log_path)}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kib": usage.ru_maxrss,
        "stdout": stdout.decode(errors="replace"),
    }


def dir_bytes(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


# --------------------------------------------------------------------------------------------
# The server


class Server(harness.Server):
    """The service under measurement: `scripts/harness.py`'s server with one worker, only the
    settings given here (none inherited from this shell), and the bench's log lines."""

    def __init__(self, binary: Path, port: int, temp_dir: Path, log_path: Path):
        super().__init__(binary, DB_NAME, SERVICE_BUCKET, port, temp_dir.parent,
                         extra_args=["--workers", "1"], log_path=log_path, temp_dir=temp_dir,
                         scrub_env=True, start_timeout=90)

    @property
    def proc(self) -> subprocess.Popen | None:
        return self.process

    def start(self) -> None:
        log(f"starting the server on 127.0.0.1:{self.port}")
        try:
            super().start()
        except SystemExit as e:
            raise BenchError(f"{e}\n{tail(self.log_path)}") from None
        log(f"server ready (pid {self.pid})")

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            log(f"stopping the server (SIGTERM to pid {self.pid})")
        return super().stop(patience=10)


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_request(port: int, method: str, path: str, body=None, headers: dict | None = None,
                 timeout: float = 600) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# 1. End to end


def rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    from datetime import datetime
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def service_run(server: Server, inp: Path, timeout_s: float) -> dict:
    size = inp.stat().st_size
    hwm_reset = reset_hwm(server.pid)
    probe = CpuProbe(server.pid).start()
    t_post = time.monotonic()
    with open(inp, "rb") as body:
        status, payload = http_request(server.port, "POST", "/v1/videos", body=body, headers={
            "Content-Type": "video/mp4", "Content-Length": str(size)})
    t_created = time.monotonic()
    if status != 201:
        raise BenchError(f"upload answered {status}: {payload[:500]!r}")
    video = json.loads(payload)
    vid = video["id"]
    polls = 0
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        while True:
            time.sleep(POLL_INTERVAL_S)
            try:
                conn.request("GET", f"/v1/videos/{vid}")
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                continue
            polls += 1
            if resp.status != 200:
                raise BenchError(f"GET /v1/videos/{vid} answered {resp.status}: {data[:300]!r}")
            video = json.loads(data)
            if video["status"] in ("completed", "failed", "canceled"):
                t_seen = time.monotonic()
                break
            if time.monotonic() - t_created > timeout_s:
                raise BenchError(f"video {vid} not done after {timeout_s} s: {video['status']}")
    finally:
        conn.close()
    cpu = probe.stop()
    rss = proc_status(server.pid)
    if video["status"] != "completed":
        raise BenchError(f"video {vid} ended {video['status']}: {video.get('error')}")
    # The master playlist must be playable over HTTP, and so must its first variant.
    url = video["playback_url"]
    master_status, master = http_get(url)
    variant_status = None
    if master_status == 200:
        first = next((l for l in master.decode().splitlines() if l and not l.startswith("#")), None)
        if first:
            variant_status, _ = http_get(url.rsplit("/", 1)[0] + "/" + first)
    if master_status != 200 or variant_status != 200:
        raise BenchError(f"playback of {vid} failed: master {master_status}, variant {variant_status} ({url})")
    created, started, finished = (rfc3339(video.get(k)) for k in ("created_at", "started_at", "finished_at"))
    return {
        "video_id": vid,
        "upload_s": t_created - t_post,  # POST sent .. 201 received (includes fsync + probe)
        "e2e_s": t_seen - t_created,     # 201 received .. first poll that saw `completed`
        "polls": polls,
        "server_queue_s": (started - created) if created and started else None,
        "server_processing_s": (finished - started) if started and finished else None,
        "server_created_to_finished_s": (finished - created) if created and finished else None,
        "renditions": [r.get("name") or r.get("resolution") for r in (video.get("renditions") or [])],
        "output_bytes": video.get("output_bytes"),
        "attempts": video.get("attempts"),
        "playback_url": url,
        "master_http_status": master_status,
        "variant_http_status": variant_status,
        "server_vmhwm_kib": rss.get("VmHWM") if hwm_reset else None,
        **cpu,
    }


def convert_run(binary: Path, inp: Path, out: Path, log_path: Path, server_pid: int) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [str(binary), "convert", str(inp), str(out)]
    probe = CpuProbe(server_pid).start()
    r = run_measured(cmd, log_path)
    cpu = probe.stop(children_cpu_s=r["cpu_s"])
    if not (out / "master.m3u8").is_file():
        raise BenchError(f"convert wrote no master.m3u8; log {log_path}")
    files, size = dir_bytes(out)
    shutil.rmtree(out)
    return {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "max_rss_kib": r["max_rss_kib"],
            "output_files": files, "output_bytes": size, **cpu}


def aws_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1"})
    return env


def baseline_run(aws: Path, ffmpeg_cmd: list[str], out: Path, prefix: str, log_path: Path,
                 server_pid: int) -> dict:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)  # the hls muxer writes into OUT/%v/ itself
    probe = CpuProbe(server_pid).start()
    start = time.monotonic()
    ff = run_measured(ffmpeg_cmd, log_path)
    if not (out / "master.m3u8").is_file():
        raise BenchError(f"ffmpeg wrote no master.m3u8; log {log_path}")
    up_cmd = [str(aws), "s3", "cp", "--recursive", "--only-show-errors", str(out),
              f"s3://{BASELINE_BUCKET}/{prefix}/", "--endpoint-url", S3_ENDPOINT]
    up = run_measured(up_cmd, log_path, env=aws_env())
    total = time.monotonic() - start
    cpu = probe.stop(children_cpu_s=ff["cpu_s"] + up["cpu_s"])
    files, size = dir_bytes(out)
    shutil.rmtree(out)
    # The uploaded copy must be complete and playable over HTTP like the service's.
    listing = run_measured([str(aws), "s3", "ls", "--recursive", f"s3://{BASELINE_BUCKET}/{prefix}/",
                            "--endpoint-url", S3_ENDPOINT], log_path, env=aws_env(), capture=True)
    uploaded = [l for l in listing["stdout"].splitlines() if l.strip()]
    if len(uploaded) != files:
        raise BenchError(f"baseline upload: {files} files written but {len(uploaded)} in the bucket")
    res = {
        "wall_s": total, "ffmpeg_wall_s": ff["wall_s"], "upload_wall_s": up["wall_s"],
        "ffmpeg_cpu_s": ff["cpu_s"], "aws_cpu_s": up["cpu_s"],
        "ffmpeg_max_rss_kib": ff["max_rss_kib"], "aws_max_rss_kib": up["max_rss_kib"],
        "output_files": files, "output_bytes": size, "objects_in_bucket": len(uploaded),
        "prefix": prefix, **cpu,
    }
    return res


def ensure_baseline_bucket(aws: Path, log_path: Path) -> None:
    check = subprocess.run([str(aws), "s3api", "head-bucket", "--bucket", BASELINE_BUCKET,
                            "--endpoint-url", S3_ENDPOINT], env=aws_env(), capture_output=True)
    if check.returncode == 0:
        return
    run_measured([str(aws), "s3", "mb", f"s3://{BASELINE_BUCKET}", "--endpoint-url", S3_ENDPOINT],
                 log_path, env=aws_env())


def part_e2e(args, server: Server, work: Path, report: dict, created_ids: list[str],
             baseline_prefixes: list[str]) -> None:
    inp = args.input
    src = probe_source(inp)
    out = work / "out" / "run"
    ff_cmd = ffmpeg_command(inp, out, src)
    aws = args.aws
    logs = work / "logs"
    ensure_baseline_bucket(aws, logs / "aws.log")
    run_tag = time.strftime("%Y%m%d-%H%M%S")
    tools = ["service", "convert", "baseline"]
    runs, discarded = [], []
    log(f"part 1: {args.runs} interleaved rounds of service / convert / baseline on {inp.name}")
    for i in range(args.runs):
        order = tools[i % 3:] + tools[:i % 3]
        for position, tool in enumerate(order):
            for attempt in range(args.retries + 1):
                waited = wait_quiet(args.quiet_wait, f"{tool} run {i}")
                if tool == "service":
                    r = service_run(server, inp, args.job_timeout)
                    created_ids.append(r["video_id"])
                    msg = (f"e2e {r['e2e_s']:6.2f} s (upload {r['upload_s']:.2f} s, "
                           f"queue {r['server_queue_s']:.2f} s, processing {r['server_processing_s']:.2f} s; "
                           f"CPU server {r['server_cpu_s']:.1f} s, LocalStack {r['localstack_cpu_s']:.1f} s")
                elif tool == "convert":
                    r = convert_run(args.binary, inp, out, logs / f"convert_{i}.log", server.pid)
                    msg = f"wall {r['wall_s']:6.2f} s (CPU {r['cpu_s']:.1f} s"
                else:
                    prefix = f"{run_tag}/{i}-{attempt}"
                    baseline_prefixes.append(prefix)
                    r = baseline_run(aws, ff_cmd, out, prefix, logs / f"baseline_{i}.log", server.pid)
                    msg = (f"wall {r['wall_s']:6.2f} s (ffmpeg {r['ffmpeg_wall_s']:.2f} s "
                           f"+ aws {r['upload_wall_s']:.2f} s; CPU ffmpeg {r['ffmpeg_cpu_s']:.1f} s, "
                           f"LocalStack {r['localstack_cpu_s']:.1f} s")
                r.update({"tool": tool, "round": i, "position": position, "attempt": attempt,
                          "quiet_wait_s": waited})
                msg += f"; other load {r.get('other_cpu_s', 0):.1f} s CPU)"
                if r.get("disturbed") and attempt < args.retries:
                    log(f"  [{i}] {tool:<8}: {msg}  DISTURBED, discarded; again")
                    discarded.append(r)
                    continue
                log(f"  [{i}] {tool:<8}: {msg}{'  DISTURBED (kept: no retries left)' if r.get('disturbed') else ''}")
                runs.append(r)
                break
    by = {t: [r for r in runs if r["tool"] == t] for t in tools}
    st = {
        "service_e2e_s": stats([r["e2e_s"] for r in by["service"]]),
        "service_upload_s": stats([r["upload_s"] for r in by["service"]]),
        "service_queue_s": stats([r["server_queue_s"] for r in by["service"]]),
        "service_processing_s": stats([r["server_processing_s"] for r in by["service"]]),
        "service_server_cpu_s": stats([r["server_cpu_s"] for r in by["service"]]),
        "service_localstack_cpu_s": stats([r["localstack_cpu_s"] for r in by["service"]]),
        "service_postgres_cpu_s": stats([r["postgres_cpu_s"] for r in by["service"]]),
        "service_machine_busy_cpu_s": stats([r.get("machine_busy_cpu_s", 0.0) for r in by["service"]]),
        "convert_wall_s": stats([r["wall_s"] for r in by["convert"]]),
        "convert_cpu_s": stats([r["cpu_s"] for r in by["convert"]]),
        "convert_max_rss_kib": stats([r["max_rss_kib"] for r in by["convert"]]),
        "convert_machine_busy_cpu_s": stats([r.get("machine_busy_cpu_s", 0.0) for r in by["convert"]]),
        "baseline_wall_s": stats([r["wall_s"] for r in by["baseline"]]),
        "baseline_ffmpeg_wall_s": stats([r["ffmpeg_wall_s"] for r in by["baseline"]]),
        "baseline_upload_wall_s": stats([r["upload_wall_s"] for r in by["baseline"]]),
        "baseline_ffmpeg_cpu_s": stats([r["ffmpeg_cpu_s"] for r in by["baseline"]]),
        "baseline_aws_cpu_s": stats([r["aws_cpu_s"] for r in by["baseline"]]),
        "baseline_localstack_cpu_s": stats([r["localstack_cpu_s"] for r in by["baseline"]]),
        "baseline_machine_busy_cpu_s": stats([r.get("machine_busy_cpu_s", 0.0) for r in by["baseline"]]),
    }
    for t in tools:
        st[f"{t}_other_cpu_s"] = stats([r.get("other_cpu_s", 0.0) for r in by[t]])
    hwm = [r["server_vmhwm_kib"] for r in by["service"] if r.get("server_vmhwm_kib")]
    if hwm:
        st["service_server_peak_rss_kib"] = stats(hwm)
    e2e = st["service_e2e_s"]["median"]
    ratios = {
        "e2e_over_convert": e2e / st["convert_wall_s"]["median"],
        "e2e_over_baseline": e2e / st["baseline_wall_s"]["median"],
        "processing_over_convert": st["service_processing_s"]["median"] / st["convert_wall_s"]["median"],
    }
    report["e2e"] = {
        "input": str(inp.relative_to(REPO_ROOT)) if inp.is_relative_to(REPO_ROOT) else str(inp),
        "source": {"width": src.width, "height": src.height, "fps": src.fps,
                   "duration_s": src.duration, "bytes": src.bytes},
        "runs": runs, "discarded_runs": discarded, "stats": st, "ratios": ratios,
        "outputs": {
            "service_output_bytes": by["service"][0]["output_bytes"],
            "service_renditions": by["service"][0]["renditions"],
            "convert_output_bytes": by["convert"][0]["output_bytes"],
            "convert_output_files": by["convert"][0]["output_files"],
            "baseline_output_bytes": by["baseline"][0]["output_bytes"],
            "baseline_output_files": by["baseline"][0]["output_files"],
        },
        "commands": {
            "service_upload": "POST /v1/videos (raw body, Content-Type: video/mp4, python http.client); "
                              "then GET /v1/videos/{id} every 100 ms until status is completed",
            "convert": display([str(args.binary), "convert", str(inp), str(out)], inp, out, args.binary),
            "ffmpeg": display(ff_cmd, inp, out),
            "aws_upload": ("AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 "
                           f"aws s3 cp --recursive --only-show-errors OUT s3://{BASELINE_BUCKET}/PREFIX/ "
                           f"--endpoint-url {S3_ENDPOINT}"),
            "aws_mb": f"aws s3 mb s3://{BASELINE_BUCKET} --endpoint-url {S3_ENDPOINT}",
        },
        "aws_version": subprocess.run([str(aws), "--version"], capture_output=True, text=True,
                                      env=aws_env()).stdout.strip(),
    }


# --------------------------------------------------------------------------------------------
# 2. Big upload


def reset_hwm(pid: int) -> bool:
    """Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`, Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssSampler(threading.Thread):
    def __init__(self, pid: int, period: float = 0.1):
        super().__init__(daemon=True)
        self.pid = pid
        self.period = period
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.samples.append((time.monotonic() - self.t0, proc_status(self.pid)["VmRSS"]))
            except (OSError, KeyError):
                pass
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def make_big_file(path: Path, mib: int) -> None:
    if path.exists() and path.stat().st_size == mib * 1024 * 1024:
        return
    log(f"writing {path.relative_to(REPO_ROOT)} ({mib} MiB of zero bytes)")
    block = bytes(1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)


def upload_dir_contents(temp_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(temp_dir)) for p in temp_dir.rglob("*") if p.is_file())


def dd_run(path: Path, mib: int, log_path: Path) -> dict:
    cmd = ["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}", "conv=fdatasync"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    with open(log_path, "a") as f:
        f.write(f"$ {shlex.join(cmd)}\n{proc.stderr}")
    path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise BenchError(f"dd failed: {proc.stderr}")
    # "2097152000 bytes (2.1 GB, 2.0 GiB) copied, 3.1 s, 677 MB/s"
    m = re.search(r"(\d+) bytes .* copied, ([\d.,]+) s", proc.stderr)
    nbytes, secs = (int(m.group(1)), float(m.group(2).replace(",", "."))) if m else (mib << 20, wall)
    return {"bytes": nbytes, "dd_seconds": secs, "wall_s": wall, "mb_s": nbytes / secs / 1e6,
            "dd_line": proc.stderr.strip().splitlines()[-1]}


def upload_run(server: Server, path: Path, log_path: Path) -> dict:
    url = f"http://127.0.0.1:{server.port}/v1/videos"
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
           "-X", "POST", "-H", "Content-Type: video/mp4", "-T", str(path), url]
    size = path.stat().st_size
    hwm_reset = reset_hwm(server.pid)
    before = proc_status(server.pid)
    cpu = CpuProbe(server.pid).start()
    sampler = RssSampler(server.pid)
    sampler.start()
    r = run_measured(cmd, log_path, capture=True)
    sampler.stop()
    after = proc_status(server.pid)
    cpu_used = cpu.stop(children_cpu_s=r["cpu_s"])
    time.sleep(1.0)
    settled = proc_status(server.pid)
    code, total = r["stdout"].split()
    sampled_peak = max([kib for _, kib in sampler.samples] + [after["VmRSS"]])
    peak = max(sampled_peak, after["VmHWM"]) if hwm_reset else sampled_peak
    leftovers = upload_dir_contents(server.temp_dir)
    return {
        "http_code": int(code),
        "curl_time_total_s": float(total),
        "curl_wall_s": r["wall_s"],
        "curl_max_rss_kib": r["max_rss_kib"],
        "curl_cpu_s": r["cpu_s"],
        "bytes": size,
        "mb_s": size / float(total) / 1e6,
        "hwm_reset": hwm_reset,
        "before": before,
        "after": after,
        "after_1s": settled,
        "sampled_peak_rss_kib": sampled_peak,
        "peak_rss_kib": peak,
        "peak_increase_kib": peak - before["VmRSS"],
        "retained_increase_kib": settled["VmRSS"] - before["VmRSS"],
        "samples": len(sampler.samples),
        "rss_series_kib": sampler.samples[:: max(1, len(sampler.samples) // 200)],
        "temp_dir_leftovers": leftovers,
        **cpu_used,
    }


def part_upload(args, server: Server, work: Path, report: dict) -> None:
    mib = args.big_mib
    big = work / f"big_{mib}MiB.bin"
    ddfile = BENCH_DIR / "work" / "ddtest"
    make_big_file(big, mib)
    logs = work / "logs"
    log(f"part 2: {args.big_runs} uploads of {mib} MiB, each next to a dd of {mib} MiB")
    uploads, dds = [], []
    try:
        for i in range(args.big_runs):
            steps = ["upload", "dd"] if i % 2 == 0 else ["dd", "upload"]
            for step in steps:
                waited = wait_quiet(args.quiet_wait, f"{step} run {i}")
                if step == "upload":
                    u = upload_run(server, big, logs / "upload.log")
                    u["quiet_wait_s"] = waited
                    uploads.append(u)
                    log(f"  [{i}] upload: HTTP {u['http_code']} in {u['curl_time_total_s']:.2f} s "
                        f"= {u['mb_s']:.0f} MB/s; RSS {u['before']['VmRSS'] / 1024:.1f} -> peak "
                        f"{u['peak_rss_kib'] / 1024:.1f} MiB (+{u['peak_increase_kib'] / 1024:.1f}); "
                        f"temp dir leftovers: {len(u['temp_dir_leftovers'])}; other load "
                        f"{u.get('other_cpu_s', 0):.1f} s CPU)")
                else:
                    d = dd_run(ddfile, mib, logs / "dd.log")
                    dds.append(d)
                    log(f"  [{i}] dd    : {d['mb_s']:.0f} MB/s ({d['dd_line']})")
    finally:
        ddfile.unlink(missing_ok=True)
        if not args.keep_big:
            big.unlink(missing_ok=True)
    st = {
        "peak_increase_mib": stats([u["peak_increase_kib"] / 1024 for u in uploads]),
        "retained_increase_mib": stats([u["retained_increase_kib"] / 1024 for u in uploads]),
        "rss_before_mib": stats([u["before"]["VmRSS"] / 1024 for u in uploads]),
        "peak_rss_mib": stats([u["peak_rss_kib"] / 1024 for u in uploads]),
        "upload_mb_s": stats([u["mb_s"] for u in uploads]),
        "upload_time_s": stats([u["curl_time_total_s"] for u in uploads]),
        "dd_mb_s": stats([d["mb_s"] for d in dds]),
        "dd_time_s": stats([d["dd_seconds"] for d in dds]),
        "server_cpu_s": stats([u["server_cpu_s"] for u in uploads]),
    }
    report["upload"] = {
        "mib": mib, "uploads": uploads, "dd": dds, "stats": st,
        "all_422": all(u["http_code"] == 422 for u in uploads),
        "temp_dir_clean": all(not u["temp_dir_leftovers"] for u in uploads),
        "upload_over_dd": st["upload_mb_s"]["median"] / st["dd_mb_s"]["median"],
        "commands": {
            "upload": (f"curl -sS -o /dev/null -w '%{{http_code}} %{{time_total}}' -X POST "
                       f"-H 'Content-Type: video/mp4' -T FILE http://127.0.0.1:{server.port}/v1/videos"),
            "dd": f"dd if=/dev/zero of=bench/work/ddtest bs=1M count={mib} conv=fdatasync",
            "file": f"FILE = {mib} MiB of zero bytes ({big.relative_to(REPO_ROOT)})",
        },
    }


# --------------------------------------------------------------------------------------------
# 3. GET throughput


def parse_duration_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchError(f"cannot parse wrk duration {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def parse_wrk(out: str) -> dict:
    res: dict = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["requests_per_s"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    res["requests"] = int(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = parse_duration_ms(m.group(1)) if m else None
    m = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if m:
        res["avg_ms"] = parse_duration_ms(m.group(1))
        res["max_ms"] = parse_duration_ms(m.group(3))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else None
    return res


def part_get(args, server: Server, work: Path, report: dict, video_id: str) -> None:
    url = f"http://127.0.0.1:{server.port}/v1/videos/{video_id}"
    status, body = http_get(url)
    if status != 200 or json.loads(body)["status"] != "completed":
        raise BenchError(f"GET {url} answered {status}")
    cmd = ["wrk", f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", f"-d{args.wrk_seconds}s",
           "--latency", url]
    warmup = None
    if args.wrk_warmup > 0:
        wcmd = cmd[:3] + [f"-d{args.wrk_warmup}s"] + cmd[4:]
        wait_quiet(args.quiet_wait, "wrk warm-up")
        w = run_measured(wcmd, work / "logs" / "wrk.log", capture=True)
        warmup = {**parse_wrk(w["stdout"]), "raw": w["stdout"],
                  "command": shlex.join(wcmd).replace(video_id, "ID")}
        log(f"part 3 warm-up (not counted): {shlex.join(wcmd)}: {warmup['requests_per_s']:.0f} req/s, "
            f"p99 {warmup['p99_ms']:.2f} ms")
        time.sleep(11)  # let idle backends flush their statistics before the counted runs
    log(f"part 3: {args.wrk_runs} x {shlex.join(cmd)}")
    xacts_before = db_transactions()
    runs, discarded = [], []
    for i in range(args.wrk_runs):
        for attempt in range(args.retries + 1):
            waited = wait_quiet(args.quiet_wait, f"wrk run {i}")
            cpu = CpuProbe(server.pid).start()
            r = run_measured(cmd, work / "logs" / "wrk.log", capture=True)
            used = cpu.stop(children_cpu_s=r["cpu_s"])
            parsed = parse_wrk(r["stdout"])
            if parsed["requests_per_s"] is None or parsed["p99_ms"] is None:
                raise BenchError(f"cannot parse wrk output:\n{r['stdout']}")
            run = {**parsed, "wrk_cpu_s": r["cpu_s"], "wall_s": r["wall_s"], **used, "raw": r["stdout"],
                   "attempt": attempt, "quiet_wait_s": waited}
            msg = (f"  [{i}] {parsed['requests_per_s']:.0f} req/s, p50 {parsed['p50_ms']:.2f} ms, "
                   f"p99 {parsed['p99_ms']:.2f} ms, non-2xx {parsed['non_2xx']}; CPU: server "
                   f"{used['server_cpu_s']:.1f} s, postgres {used['postgres_cpu_s']:.1f} s, wrk {r['cpu_s']:.1f} s, "
                   f"softirq {used.get('irq_softirq_s', 0):.1f} s, other {used.get('other_cpu_s', 0):.1f} s "
                   f"of {used.get('machine_busy_cpu_s', 0):.1f} s busy")
            if parsed["non_2xx"] or parsed["socket_errors"]:
                raise BenchError(f"wrk saw errors:\n{r['stdout']}")
            if used.get("disturbed") and attempt < args.retries:
                log(msg + "  DISTURBED, discarded; again")
                discarded.append(run)
                continue
            log(msg + ("  DISTURBED (kept: no retries left)" if used.get("disturbed") else ""))
            runs.append(run)
            break
    st = {k: stats([r[k] for r in runs]) for k in
          ("requests_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "server_cpu_s",
           "postgres_cpu_s", "wrk_cpu_s", "machine_busy_cpu_s", "other_cpu_s", "irq_softirq_s")}
    # Backends flush their statistics at most once a second, idle ones after up to 10 s.
    time.sleep(11)
    xacts_after = db_transactions()
    pool_backends = psql(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{DB_NAME}'").stdout.strip()
    all_requests = sum(r["requests"] or 0 for r in runs + discarded)
    db = {"transactions": (xacts_after - xacts_before) if xacts_before is not None and xacts_after is not None else None,
          "requests": all_requests, "server_connections_after": int(pool_backends or 0)}
    if db["transactions"] is not None and all_requests:
        db["transactions_per_request"] = db["transactions"] / all_requests
    total_req = sum(r["requests"] or 0 for r in runs)
    per_req = {
        "server_cpu_us": 1e6 * sum(r["server_cpu_s"] for r in runs) / total_req,
        "postgres_cpu_us": 1e6 * sum(r["postgres_cpu_s"] for r in runs) / total_req,
        "wrk_cpu_us": 1e6 * sum(r["wrk_cpu_s"] for r in runs) / total_req,
        "softirq_us": 1e6 * sum(r.get("irq_softirq_s", 0) for r in runs) / total_req,
    }
    report["get"] = {
        "url_path": f"/v1/videos/{video_id}", "response_bytes": len(body), "runs": runs,
        "discarded_runs": discarded, "stats": st, "db": db, "cpu_per_request": per_req, "warmup": warmup,
        "command": shlex.join(cmd).replace(video_id, "ID"),
    }


# --------------------------------------------------------------------------------------------
# Report


def fr(s: dict, fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def render_markdown(report: dict) -> str:
    m = report["machine"]
    c = report["config"]
    L: list[str] = []
    L.append("# hls-ladder service benchmark")
    L.append("")
    L.append(f"Generated {report['generated_at']} by `python3 bench/service_bench.py"
             f"{' ' + c['argv'] if c['argv'] else ''}`; total run time {report.get('elapsed_s', 0) / 60:.1f} min.")
    L.append("")
    mem = f"{m['mem_total_kib'] / 1024 / 1024:.1f} GiB" if m.get("mem_total_kib") else "unknown"
    L.append(f"- Machine: {m['nproc']} CPUs, {m['cpu_model']}, {mem} RAM, Linux {m['kernel']}, "
             f"Python {m['python']}")
    L.append(f"- Disk under bench/work: {report['disk']}")
    L.append(f"- Binary: `{m['ours_binary']}` (`{m['ours_version']}`, sha256 {m['ours_binary_sha256'][:16]}…, "
             f"built from commit {c['binary_commit']}); repo HEAD {m.get('git', {}).get('commit', '?')[:12]}"
             f"{' (dirty)' if m.get('git', {}).get('dirty') else ''}")
    L.append(f"- ffmpeg: `{m['ffmpeg_version']}`; wrk: `{report['tools'].get('wrk', '?')}`; "
             f"curl: `{report['tools'].get('curl', '?')}`")
    if report.get("e2e"):
        L.append(f"- awscli: `{report['e2e']['aws_version']}` (venv)")
    L.append(f"- Other services on the machine (not stopped): PostgreSQL, LocalStack, and whatever else "
             f"was running; wrk, the server, PostgreSQL and LocalStack all share the {m['nproc']} cores.")
    L.append("")
    L.append("Server under test (started by the script; stopped with SIGTERM at the end):")
    L.append("")
    L.append("```sh")
    L.append(report["server_command"])
    L.append("```")
    L.append("")
    L.append("Medians, with min–max in parentheses.")
    L.append("")

    # Targets summary
    L.append("## Targets")
    L.append("")
    L.append("| target | measured (median) | verdict |")
    L.append("|---|---|---|")
    e = report.get("e2e")
    if e:
        r = e["ratios"]
        L.append(f"| service e2e / convert ≤ {TARGETS['e2e_over_convert_max']} | {r['e2e_over_convert']:.2f} | "
                 f"{verdict(r['e2e_over_convert'] <= TARGETS['e2e_over_convert_max'])} |")
        L.append(f"| service e2e / baseline ≤ {TARGETS['e2e_over_baseline_max']} | {r['e2e_over_baseline']:.2f} | "
                 f"{verdict(r['e2e_over_baseline'] <= TARGETS['e2e_over_baseline_max'])} |")
    u = report.get("upload")
    if u:
        v = u["stats"]["peak_increase_mib"]["median"]
        L.append(f"| {u['mib']} MiB upload: peak RSS increase < {TARGETS['upload_peak_rss_increase_mib_max']:.0f} MiB "
                 f"| {v:.1f} MiB | {verdict(v < TARGETS['upload_peak_rss_increase_mib_max'])} |")
    g = report.get("get")
    if g:
        rps = g["stats"]["requests_per_s"]["median"]
        p99 = g["stats"]["p99_ms"]["median"]
        L.append(f"| GET /v1/videos/ID ≥ {TARGETS['get_rps_min']:.0f} req/s | {rps:.0f} req/s | "
                 f"{verdict(rps >= TARGETS['get_rps_min'])} |")
        L.append(f"| GET p99 < {TARGETS['get_p99_ms_max']:.0f} ms | {p99:.2f} ms | "
                 f"{verdict(p99 < TARGETS['get_p99_ms_max'])} |")
    L.append("")

    if e:
        st = e["stats"]
        src = e["source"]
        L.append("## 1. End to end: service vs `convert` vs ffmpeg + aws s3 cp")
        L.append("")
        L.append(f"Input `{e['input']}`: {src['width']}x{src['height']}, {src['fps']:.0f} fps, "
                 f"{src['duration_s']:.1f} s, {src['bytes'] / 1e6:.1f} MB. {c['runs']} interleaved rounds; "
                 f"the order rotates each round (service, convert, baseline / convert, baseline, service / …).")
        L.append("")
        L.append("| what | wall s | CPU s (process) | other load, CPU s | notes |")
        L.append("|---|---|---|---|---|")
        peak = st.get("service_server_peak_rss_kib")
        peak_txt = (f", server peak RSS {fr({k: v / 1024 for k, v in peak.items()}, '{:.0f}')} MiB"
                    if peak else "")
        L.append(f"| (a) service e2e: 201 → `completed` seen | {fr(st['service_e2e_s'])} | "
                 f"server {fr(st['service_server_cpu_s'], '{:.1f}')} | {fr(st['service_other_cpu_s'], '{:.1f}')} | "
                 f"LocalStack CPU {fr(st['service_localstack_cpu_s'], '{:.1f}')} s, PostgreSQL "
                 f"{fr(st['service_postgres_cpu_s'], '{:.1f}')} s{peak_txt} |")
        L.append(f"| … of which queue wait (created_at → started_at) | {fr(st['service_queue_s'])} | | | server clock |")
        L.append(f"| … of which processing (started_at → finished_at) | {fr(st['service_processing_s'])} | | | server clock |")
        L.append(f"| (upload of the {src['bytes'] / 1e6:.0f} MB input: POST → 201, not in e2e) | "
                 f"{fr(st['service_upload_s'])} | | | includes fsync + probe |")
        L.append(f"| (b) `hls-ladder convert` | {fr(st['convert_wall_s'])} | {fr(st['convert_cpu_s'], '{:.1f}')} | "
                 f"{fr(st['convert_other_cpu_s'], '{:.1f}')} | "
                 f"peak RSS {fr({k: v / 1024 for k, v in st['convert_max_rss_kib'].items()}, '{:.0f}')} MiB |")
        L.append(f"| (c) baseline: ffmpeg + aws s3 cp | {fr(st['baseline_wall_s'])} | ffmpeg "
                 f"{fr(st['baseline_ffmpeg_cpu_s'], '{:.1f}')} + aws {fr(st['baseline_aws_cpu_s'], '{:.1f}')} | "
                 f"{fr(st['baseline_other_cpu_s'], '{:.1f}')} | "
                 f"LocalStack CPU {fr(st['baseline_localstack_cpu_s'], '{:.1f}')} s |")
        L.append(f"| … of which ffmpeg | {fr(st['baseline_ffmpeg_wall_s'])} | | | |")
        L.append(f"| … of which aws s3 cp | {fr(st['baseline_upload_wall_s'])} | | | |")
        L.append("")
        r = e["ratios"]
        L.append(f"Ratios of medians: service e2e / convert = **{r['e2e_over_convert']:.2f}** "
                 f"(target ≤ {TARGETS['e2e_over_convert_max']}); service e2e / baseline = "
                 f"**{r['e2e_over_baseline']:.2f}** (target ≤ {TARGETS['e2e_over_baseline_max']}); "
                 f"service processing / convert = {r['processing_over_convert']:.2f}.")
        L.append("")
        cores = {
            "service": statistics.median(r["server_cpu_s"] / r["server_processing_s"] for r in e["runs"] if r["tool"] == "service"),
            "convert": statistics.median(r["cpu_s"] / r["wall_s"] for r in e["runs"] if r["tool"] == "convert"),
            "ffmpeg": statistics.median(r["ffmpeg_cpu_s"] / r["ffmpeg_wall_s"] for r in e["runs"] if r["tool"] == "baseline"),
        }
        floor = st["service_server_cpu_s"]["median"] / NPROC
        L.append(f"Cores kept busy (process CPU / wall, median): service {cores['service']:.2f} "
                 f"(server CPU / processing time), convert {cores['convert']:.2f}, ffmpeg {cores['ffmpeg']:.2f}, "
                 f"of {NPROC}. With its median CPU of {st['service_server_cpu_s']['median']:.1f} s the service "
                 f"cannot finish faster than {floor:.1f} s on {NPROC} cores = "
                 f"{floor / st['baseline_wall_s']['median']:.2f} × the baseline median.")
        L.append("")
        L.append("Machine CPU busy during a run (all processes, /proc/stat), median: service "
                 f"{st['service_machine_busy_cpu_s']['median']:.1f} s, convert "
                 f"{st['convert_machine_busy_cpu_s']['median']:.1f} s, baseline "
                 f"{st['baseline_machine_busy_cpu_s']['median']:.1f} s.")
        L.append("")
        o = e["outputs"]
        L.append(f"Outputs (first run of each): service published {o['service_output_bytes'] / 1e6:.2f} MB "
                 f"({', '.join(str(x) for x in o['service_renditions'])}); convert wrote "
                 f"{o['convert_output_files']} files, {o['convert_output_bytes'] / 1e6:.2f} MB; ffmpeg wrote "
                 f"{o['baseline_output_files']} files, {o['baseline_output_bytes'] / 1e6:.2f} MB.")
        L.append("")
        L.append("Every service run ended `completed` and its master playlist and first variant playlist "
                 "fetched with HTTP 200 from the playback_url; every baseline upload put all its files in "
                 "the bucket (checked with `aws s3 ls --recursive`).")
        L.append("")
        L.append("Other load = the machine's busy CPU time during the run (/proc/stat) minus the server, "
                 "PostgreSQL, LocalStack, this script and the measured processes: a run counts as disturbed "
                 f"when other load + steal exceeds {DISTURBED_FRACTION:.0%} of the machine "
                 f"({NPROC} cores × wall), and is then repeated (up to {c['retries']} times). Before each run "
                 f"the script waits until the machine is idle (< {QUIET_FRACTION:.0%} busy for 3 s).")
        L.append("")
        L.append("| round | pos | tool | wall / e2e s | other load CPU s | detail |")
        L.append("|---|---|---|---|---|---|")
        for run in e["runs"]:
            if run["tool"] == "service":
                d = (f"upload {run['upload_s']:.2f} s, queue {run['server_queue_s']:.2f} s, processing "
                     f"{run['server_processing_s']:.2f} s, {run['polls']} polls, master HTTP {run['master_http_status']}")
                w = run["e2e_s"]
            elif run["tool"] == "convert":
                d = f"CPU {run['cpu_s']:.1f} s, RSS {run['max_rss_kib'] / 1024:.0f} MiB"
                w = run["wall_s"]
            else:
                d = f"ffmpeg {run['ffmpeg_wall_s']:.2f} s + aws {run['upload_wall_s']:.2f} s ({run['objects_in_bucket']} objects)"
                w = run["wall_s"]
            dist = " (disturbed)" if run.get("disturbed") else ""
            L.append(f"| {run['round']} | {run['position']} | {run['tool']} | {w:.2f} | "
                     f"{run.get('other_cpu_s', 0):.1f}{dist} | {d} |")
        L.append("")
        if e.get("discarded_runs"):
            L.append(f"Discarded (disturbed) runs, repeated: " + "; ".join(
                f"round {x['round']} {x['tool']} {x.get('e2e_s', x.get('wall_s')):.2f} s with "
                f"{x.get('other_cpu_s', 0):.1f} s other CPU" for x in e["discarded_runs"]) + ".")
            L.append("")
        L.append("Commands (INPUT = the input file, OUT = a fresh output directory, PREFIX = `<timestamp>/<round>`):")
        L.append("")
        L.append("```sh")
        L.append(f"# (a) {e['commands']['service_upload']}")
        L.append(f"# (b)\n{e['commands']['convert']}")
        L.append(f"# (c) once: {e['commands']['aws_mb']}")
        L.append(e["commands"]["ffmpeg"])
        L.append(e["commands"]["aws_upload"])
        L.append("```")
        L.append("")

    if u:
        st = u["stats"]
        L.append(f"## 2. Big upload: {u['mib']} MiB, server memory and throughput")
        L.append("")
        L.append(f"{len(u['uploads'])} uploads, each next to one dd (order alternating), on a freshly "
                 "(re)started server. VmHWM is reset "
                 "before each upload (`echo 5 > /proc/PID/clear_refs`) and VmRSS is sampled every 100 ms; "
                 "peak = max(samples, VmHWM after). MB = 10^6 bytes.")
        L.append("")
        L.append("| metric | median (min–max) |")
        L.append("|---|---|")
        L.append(f"| server VmRSS before, MiB | {fr(st['rss_before_mib'], '{:.1f}')} |")
        L.append(f"| server peak RSS during upload, MiB | {fr(st['peak_rss_mib'], '{:.1f}')} |")
        L.append(f"| **peak RSS increase, MiB** (target < {TARGETS['upload_peak_rss_increase_mib_max']:.0f}) | "
                 f"**{fr(st['peak_increase_mib'], '{:.1f}')}** |")
        L.append(f"| RSS increase still there 1 s after, MiB | {fr(st['retained_increase_mib'], '{:.1f}')} |")
        L.append(f"| upload time (curl time_total), s | {fr(st['upload_time_s'])} |")
        L.append(f"| **upload throughput, MB/s** | **{fr(st['upload_mb_s'], '{:.0f}')}** |")
        L.append(f"| dd write (conv=fdatasync), MB/s | {fr(st['dd_mb_s'], '{:.0f}')} |")
        L.append(f"| upload / dd | {u['upload_over_dd']:.2f} |")
        L.append(f"| server CPU during upload, s | {fr(st['server_cpu_s'])} |")
        L.append("")
        codes = ", ".join(str(x["http_code"]) for x in u["uploads"])
        L.append(f"HTTP codes: {codes} (422 expected: the bytes are not a video). "
                 f"Server temp dir empty after every upload: {'yes' if u['temp_dir_clean'] else 'NO: ' + str([x['temp_dir_leftovers'] for x in u['uploads']])}. "
                 f"VmHWM reset worked: {'yes' if all(x['hwm_reset'] for x in u['uploads']) else 'no (sampled peak only)'}.")
        L.append("")
        L.append("| run | HTTP | s | MB/s | RSS before → peak → 1 s after, MiB | VmHWM after, MiB | samples | server / curl / other CPU s |")
        L.append("|---|---|---|---|---|---|---|---|")
        for i, x in enumerate(u["uploads"]):
            L.append(f"| {i} | {x['http_code']} | {x['curl_time_total_s']:.2f} | {x['mb_s']:.0f} | "
                     f"{x['before']['VmRSS'] / 1024:.1f} → {x['peak_rss_kib'] / 1024:.1f} → "
                     f"{x['after_1s']['VmRSS'] / 1024:.1f} | {x['after']['VmHWM'] / 1024:.1f} | {x['samples']} | "
                     f"{x['server_cpu_s']:.1f} / {x['curl_cpu_s']:.1f} / {x.get('other_cpu_s', 0):.1f} |")
        L.append("")
        L.append("dd lines: " + "; ".join(f"`{d['dd_line']}`" for d in u["dd"]))
        L.append("")
        L.append("```sh")
        L.append(f"# {u['commands']['file']}")
        L.append(u["commands"]["upload"])
        L.append(u["commands"]["dd"] + "   # deleted after each run")
        L.append("```")
        L.append("")

    if g:
        st = g["stats"]
        L.append("## 3. GET throughput")
        L.append("")
        L.append(f"GET {g['url_path'].rsplit('/', 1)[0]}/ID of one completed video ({g['response_bytes']} bytes of JSON; "
                 "every request reads the row from PostgreSQL). wrk, the server and PostgreSQL share the "
                 f"{m['nproc']} cores.")
        L.append("")
        L.append("| run | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | CPU s: server / postgres / wrk / softirq / other / machine busy |")
        L.append("|---|---|---|---|---|---|---|---|")
        for i, x in enumerate(g["runs"]):
            L.append(f"| {i} | {x['requests_per_s']:.0f} | {x['p50_ms']:.2f} | {x['p90_ms']:.2f} | {x['p99_ms']:.2f} | "
                     f"{x['max_ms']:.2f} | {x['non_2xx']} | {x['server_cpu_s']:.1f} / {x['postgres_cpu_s']:.1f} / "
                     f"{x['wrk_cpu_s']:.1f} / {x.get('irq_softirq_s', 0):.1f} / {x.get('other_cpu_s', 0):.1f} / "
                     f"{x.get('machine_busy_cpu_s', 0):.1f} |")
        L.append(f"| **median** | **{st['requests_per_s']['median']:.0f}** | {st['p50_ms']['median']:.2f} | "
                 f"{st['p90_ms']['median']:.2f} | **{st['p99_ms']['median']:.2f}** | {st['max_ms']['median']:.2f} | | "
                 f"{st['server_cpu_s']['median']:.1f} / {st['postgres_cpu_s']['median']:.1f} / "
                 f"{st['wrk_cpu_s']['median']:.1f} / {st['irq_softirq_s']['median']:.1f} / "
                 f"{st['other_cpu_s']['median']:.1f} / {st['machine_busy_cpu_s']['median']:.1f} |")
        L.append("")
        if g.get("warmup"):
            w = g["warmup"]
            L.append(f"Before the counted runs, one uncounted warm-up (`{w['command']}`): "
                     f"{w['requests_per_s']:.0f} req/s, p99 {w['p99_ms']:.2f} ms, max {w['max_ms']:.2f} ms. "
                     "It lets the server's pool open its PostgreSQL connections, whose first queries "
                     "are slow.")
            L.append("")
        if g.get("discarded_runs"):
            L.append("Discarded (disturbed) wrk runs, repeated: " + "; ".join(
                f"{x['requests_per_s']:.0f} req/s, p99 {x['p99_ms']:.2f} ms with {x.get('other_cpu_s', 0):.1f} s other CPU"
                for x in g["discarded_runs"]) + ".")
            L.append("")
        pr = g["cpu_per_request"]
        db = g["db"]
        L.append(f"CPU per request (kept runs): server {pr['server_cpu_us']:.0f} µs, PostgreSQL "
                 f"{pr['postgres_cpu_us']:.0f} µs, wrk {pr['wrk_cpu_us']:.0f} µs, softirq (loopback) "
                 f"{pr['softirq_us']:.0f} µs. PostgreSQL transactions per request: "
                 f"{db.get('transactions_per_request', float('nan')):.2f} ({db['transactions']} over "
                 f"{db['requests']} requests, from pg_stat_database); the server held "
                 f"{db['server_connections_after']} connections to {DB_NAME} afterwards. The machine's "
                 f"capacity is {NPROC} × {c['wrk_seconds']} s = {NPROC * c['wrk_seconds']} CPU s per run.")
        L.append("")
        L.append("```sh")
        L.append(g["command"])
        L.append("```")
        L.append("")

    L.append("## Clean-up")
    L.append("")
    for line in report.get("cleanup", []):
        L.append(f"- {line}")
    if report.get("errors"):
        L.append("")
        L.append("## Errors")
        L.append("")
        for err in report["errors"]:
            L.append("```")
            L.append(err)
            L.append("```")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------
# Main


def resolve_commit(name: str) -> str:
    """A commit name (`HEAD`, a branch, a SHA) as a short SHA, or itself if git cannot say."""
    found = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", name],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else name


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", type=Path, default=harness.RELEASE_BINARY,
                   help="the hls-ladder to measure (default: the release build, make build)")
    p.add_argument("--binary-commit", default="HEAD",
                   help="commit the binary was built from, for the report (default: the "
                        "repository's HEAD, right when the binary is this checkout's build)")
    p.add_argument("--input", type=Path, default=BENCH_DIR / "work" / "in_720p_30s.mp4")
    p.add_argument("--aws", type=Path, default=BENCH_DIR / "work" / "venv" / "bin" / "aws",
                   help="awscli executable (default bench/work/venv/bin/aws)")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--runs", type=int, default=5, help="rounds of part 1 (default 5)")
    p.add_argument("--big-mib", type=int, default=2000, help="size of the big upload (default 2000)")
    p.add_argument("--big-runs", type=int, default=3)
    p.add_argument("--keep-big", action="store_true", help="keep the big file for the next run")
    p.add_argument("--wrk-runs", type=int, default=3)
    p.add_argument("--wrk-seconds", type=int, default=15)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--wrk-warmup", type=int, default=5,
                   help="seconds of an uncounted wrk warm-up run first (fills the DB pool); 0: none")
    p.add_argument("--job-timeout", type=float, default=600)
    p.add_argument("--retries", type=int, default=2,
                   help="repeat a timing run (parts 1 and 3) disturbed by other load up to N times (default 2)")
    p.add_argument("--quiet-wait", type=float, default=600,
                   help="before each run, wait up to S seconds for the machine to be idle (default 600)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: e2e, upload, get")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 round, one 200 MiB upload, one 3 s wrk; results in bench/work/service/")
    p.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work" / "service")
    p.add_argument("--results-dir", type=Path)
    args = p.parse_args(argv)
    args.argv = shlex.join(argv)
    if args.quick:
        args.runs, args.big_mib, args.big_runs, args.wrk_runs, args.wrk_seconds = 1, 200, 1, 1, 3
        args.wrk_warmup = min(args.wrk_warmup, 2)
    args.results_dir = args.results_dir or (args.work_dir if args.quick else BENCH_DIR)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    return args


def psql(sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                           "-Atc", sql], capture_output=True, text=True)


def db_transactions() -> int | None:
    r = psql(f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{DB_NAME}'")
    try:
        return int(r.stdout.strip())
    except ValueError:
        return None


def tool_versions() -> dict:
    out = {}
    for name, cmd in (("wrk", ["wrk", "--version"]), ("curl", ["curl", "--version"])):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            out[name] = ((p.stdout or p.stderr).strip().splitlines() or ["?"])[0]
        except OSError:
            out[name] = "missing"
    return out


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    t_start = time.monotonic()
    binary = args.binary.resolve()
    args.binary = binary
    args.input = args.input.resolve()
    for need in ("ffmpeg", "ffprobe", "curl", "wrk", "psql", "dd"):
        if shutil.which(need) is None:
            raise BenchError(f"`{need}` is not on PATH")
    if not binary.is_file():
        raise BenchError(f"no binary at {binary}")
    default_input = (BENCH_DIR / "work" / "in_720p_30s.mp4").resolve()
    if not args.input.exists():
        if args.input != default_input:
            raise BenchError(f"no input at {args.input}")
        # The same synthetic input compare_with_ffmpeg.py makes (testsrc2 + sine, H.264 + AAC).
        generate_input(InputSpec("720p", 1280, 720, 30), default_input.parent)
    if "e2e" not in args.skip and not args.aws.is_file():
        raise BenchError(f"no awscli at {args.aws}; python3 -m venv bench/work/venv && "
                         "bench/work/venv/bin/pip install awscli")
    # One run at a time: every run uses the same database, bucket, temp dir and port.
    lock_path = BENCH_DIR / "work" / "service_bench.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(lock_path, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise BenchError(f"another service_bench.py run holds {lock_path}; wait for it to finish")
    work = args.work_dir.resolve()
    if work.exists():
        shutil.rmtree(work / "out", ignore_errors=True)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    temp_dir = BENCH_DIR / "work" / "service-tmp"  # TEMP_DIR of the server, as documented
    # Refuse to fight over the port.
    try:
        http_get(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
        raise BenchError(f"something already answers on 127.0.0.1:{args.port}")
    except OSError:
        pass

    df = subprocess.run(["df", "-hT", str(work)], capture_output=True, text=True).stdout.splitlines()[-1].split()
    report: dict = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "config": {"argv": args.argv, "runs": args.runs, "big_mib": args.big_mib,
                   "big_runs": args.big_runs, "wrk_runs": args.wrk_runs, "wrk_seconds": args.wrk_seconds,
                   "wrk_threads": args.wrk_threads, "wrk_connections": args.wrk_connections,
                   "wrk_warmup_s": args.wrk_warmup,
                   "poll_interval_s": POLL_INTERVAL_S, "binary_commit": resolve_commit(args.binary_commit),
                   "retries": args.retries, "quiet_wait_s": args.quiet_wait,
                   "quiet_fraction": QUIET_FRACTION, "disturbed_fraction": DISTURBED_FRACTION,
                   "quick": args.quick, "skip": sorted(args.skip), "targets": TARGETS},
        "machine": machine_info(binary),
        "disk": f"{df[0]} {df[1]}, {df[2]} total, {df[4]} free" if len(df) >= 5 else "unknown",
        "tools": tool_versions(),
        "e2e": None, "upload": None, "get": None,
        "errors": [], "cleanup": [],
    }

    # A clean database each time: leftovers of an earlier, interrupted run are dropped.
    drop = psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    if drop.returncode != 0:
        raise BenchError(f"cannot drop an old {DB_NAME}: {drop.stderr}")
    if temp_dir.exists():
        shutil.rmtree(temp_dir)

    server = Server(binary, args.port, temp_dir, work / "logs" / "server.log")
    report["server_command"] = server.command_line().replace(str(REPO_ROOT) + "/", "")
    created_ids: list[str] = []
    baseline_prefixes: list[str] = []
    interrupted = False
    try:
        server.start()
        report["server_start_status"] = proc_status(server.pid)
        if "e2e" not in args.skip:
            part_e2e(args, server, work, report, created_ids, baseline_prefixes)
        if "upload" not in args.skip:
            if "e2e" not in args.skip:
                # A fresh process: memory the conversions freed but the allocator kept could
                # otherwise absorb the upload's buffers without any change in RSS.
                log("restarting the server so part 2 measures a fresh process")
                server.stop()
                server.start()
            part_upload(args, server, work, report)
        if "get" not in args.skip:
            if not created_ids:  # part 1 skipped: make one completed video
                created_ids.append(service_run(server, args.input, args.job_timeout)["video_id"])
            part_get(args, server, work, report, created_ids[-1])
    except BenchError as e:
        log(f"error: {e}")
        report["errors"].append(str(e))
    except KeyboardInterrupt:
        interrupted = True
        report["errors"].append("interrupted")
    except Exception:  # a bug in this script: still clean up and write what was measured
        import traceback
        log(traceback.format_exc())
        report["errors"].append(traceback.format_exc())
    finally:
        # Clean-up: the service's published objects, the server, its database, the baseline's
        # objects, the temp dir and big files.
        if server.proc is not None and server.proc.poll() is None:
            deleted = 0
            for vid in created_ids:
                try:
                    status, _ = http_request(args.port, "DELETE", f"/v1/videos/{vid}", timeout=60)
                    deleted += status == 204
                except OSError:
                    pass
            report["cleanup"].append(f"DELETE /v1/videos/ID for {deleted} of {len(created_ids)} service "
                                     f"videos (removes their objects from s3://{SERVICE_BUCKET})")
            report["server_end_status"] = proc_status(server.pid)
        report["cleanup"].append(f"server: {server.stop()}")
        if server.proc is not None and server.proc.returncode not in (0, None):
            report["cleanup"].append(f"server exit status {server.proc.returncode}; log tail:\n{tail(server.log_path, 10)}")
        drop = psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        report["cleanup"].append(
            f"`DROP DATABASE {DB_NAME} WITH (FORCE)`: {'ok' if drop.returncode == 0 else drop.stderr.strip()}")
        for prefix in baseline_prefixes:
            subprocess.run([str(args.aws), "s3", "rm", "--recursive", "--only-show-errors",
                            f"s3://{BASELINE_BUCKET}/{prefix}/", "--endpoint-url", S3_ENDPOINT],
                           env=aws_env(), capture_output=True)
        if baseline_prefixes:
            report["cleanup"].append(f"removed the {len(baseline_prefixes)} baseline prefixes from "
                                     f"s3://{BASELINE_BUCKET} (the empty buckets stay)")
        leftovers = upload_dir_contents(temp_dir) if temp_dir.exists() else []
        report["cleanup"].append(f"server temp dir at the end: {'empty' if not leftovers else leftovers}")
        shutil.rmtree(temp_dir, ignore_errors=True)
        shutil.rmtree(work / "out", ignore_errors=True)
        (BENCH_DIR / "work" / "ddtest").unlink(missing_ok=True)
        if not args.keep_big:
            for big in work.glob("big_*MiB.bin"):
                big.unlink()
        report["cleanup"].append("deleted the big upload file, bench/work/ddtest and the output directories")
    report["elapsed_s"] = time.monotonic() - t_start

    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "service_results.json").write_text(json.dumps(report, indent=2) + "\n")
    md = render_markdown(report)
    (args.results_dir / "service_results.md").write_text(md)
    print(md)
    log(f"wrote {args.results_dir / 'service_results.md'} and service_results.json "
        f"({report['elapsed_s'] / 60:.1f} min)")
    if interrupted:
        return 130
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"service-bench: error: {e}", file=sys.stderr)
        sys.exit(1)
