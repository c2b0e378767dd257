#!/usr/bin/env python3
"""`make docker-test`: the image and docker-compose.yml, checked as a user would run them.

1. Builds the image. Where no image registry answers, the base images are local stand-ins
   (built by STAND_IN_IMAGES, default ../shared/docker/stand-in-images.sh) named by tag;
   otherwise the Dockerfile's and compose file's digests are pulled. Prints the build time,
   the image's size and each layer's, and keeps the binary's split debug info in
   target/docker/hls-ladder.debug. Checks that the image's user is not root and that it
   refuses to serve without API_KEYS.
2. `docker-compose up hls-ladder` (one process): waits for the image's HEALTHCHECK to say
   healthy, uploads fixtures/h264_aac.mp4 through the published port, waits for `completed`,
   decodes every published rendition, its audio and its MP4 download with ffprobe over HTTP,
   fetches its poster, reads back the WebVTT of an MKV with SRT subtitles, sees a codec this
   libav leaves out refused by name, and checks that the process runs as a non-root user.
   Then converts a clip in each container family the service allows (MOV/ProRes, AVI, FLV,
   3GP, WMV/ASF, Ogg/Theora, MPEG-PS, MKV/AV1, WebM/VP9, 10-bit HEVC, TS/AC-3, DV, MXF, NUT,
   RealMedia, GIF, Y4M), made by the ffmpeg CLI, and decodes every rendition.
3. `docker-compose --profile scale-out up --scale worker=3 api worker`: uploads six fixtures
   of different containers and codecs at once, waits until all are `completed`, and checks
   from the workers' logs that each video was converted exactly once and that more than one
   worker converted them.
4. Tears everything down (containers, network, the database volume), also on failure.

Needs root (or the docker group), dockerd, docker-compose and ffprobe; installs and starts
Debian's docker.io and docker-compose when they are missing.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "hlsladder-docker-test"
IMAGE = "hls-ladder:docker-test"
API_KEY = "docker-test-key"
IMAGE_UID = 10001  # the Dockerfile's USER
STAND_IN_IMAGES = Path(
    os.environ.get("STAND_IN_IMAGES", ROOT.parent / "shared" / "docker" / "stand-in-images.sh")
)
# The stand-ins' tags, for the images the Dockerfile and compose file pin by digest.
STAND_IN_BUILD_ARGS = {
    "NODE_IMAGE": "node:20-bookworm-slim",
    "RUST_IMAGE": "rust:1-bookworm",
}
STAND_IN_COMPOSE_IMAGES = {
    "POSTGRES_IMAGE": "postgres:15",
    "LOCALSTACK_IMAGE": "localstack/localstack:4.13.1",
}
# Six containers and codecs: MP4/H.264+AAC, HEVC, WebM/VP8+Vorbis, interlaced MPEG-TS,
# a rotated phone video and Matroska with two audio tracks.
SCALE_OUT_FIXTURES = [
    "h264_aac.mp4",
    "hevc_2997.mp4",
    "vp8_vorbis.webm",
    "interlaced.ts",
    "rotated.mp4",
    "two_audio_tracks.mkv",
]
WORKERS = 3
# What the image's own libav must read: a clip in each container family the service allows,
# with the codecs such files carry, made by the ffmpeg CLI (`SOURCE` and `SOUND` are its
# lavfi test inputs). The engine's tests convert the same with Debian's libav.
SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"]
SOUND = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"]
FORMATS = {
    "prores.mov": SOURCE + SOUND + ["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le"],
    "mpeg4.avi": SOURCE + SOUND + ["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"],
    "mjpeg.avi": SOURCE + SOUND + ["-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le"],
    "h264.flv": SOURCE + SOUND + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    "h263.3gp": ["-f", "lavfi", "-i", "testsrc2=size=352x288:rate=25:duration=2"] + SOUND
    + ["-c:v", "h263", "-c:a", "aac", "-ac", "1", "-ar", "16000"],
    "wmv2.wmv": SOURCE + SOUND + ["-c:v", "wmv2", "-c:a", "wmav2"],
    "theora.ogv": SOURCE + SOUND + ["-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis"],
    "mpeg2.mpg": SOURCE + SOUND + ["-c:v", "mpeg2video", "-c:a", "mp2"],
    "av1.mkv": SOURCE + SOUND
    + ["-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus"],
    "vp9.webm": SOURCE + SOUND + ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                                  "-b:v", "200k", "-c:a", "libopus"],
    "hevc10.mp4": SOURCE + SOUND + ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt",
                                    "yuv420p10le", "-x265-params", "log-level=none", "-c:a", "aac"],
    "ac3.ts": SOURCE + SOUND + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "ac3"],
    "dv.dv": ["-f", "lavfi", "-i", "testsrc2=size=720x480:rate=30000/1001:duration=2"] + SOUND
    + ["-c:v", "dvvideo", "-pix_fmt", "yuv411p", "-c:a", "pcm_s16le", "-ac", "2"],
    "mpeg2.mxf": ["-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=1"] + SOUND
    + ["-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-b:v", "20M", "-maxrate", "20M",
       "-minrate", "20M", "-bufsize", "2M", "-c:a", "pcm_s16le", "-t", "1"],
    "ffv1.nut": SOURCE + SOUND + ["-c:v", "ffv1", "-c:a", "flac"],
    "rv20.rm": SOURCE + SOUND + ["-c:v", "rv20", "-c:a", "ac3"],
    "wmv1.asf": SOURCE + SOUND + ["-c:v", "wmv1", "-c:a", "wmav1", "-f", "asf"],
    "anim.gif": ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=2"],
    "raw.y4m": ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1"],
}
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ts": "video/mp2t",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
}


def step(text):
    print(f"\n== {text}", flush=True)


def run(*args, env=None, capture=False, check=True, timeout=None):
    """Runs a command; its output goes to ours unless captured."""
    result = subprocess.run(
        [str(a) for a in args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        text=True,
        capture_output=capture,
        check=False,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        detail = f"\n{result.stdout}\n{result.stderr}" if capture else ""
        raise SystemExit(f"failed ({result.returncode}): {' '.join(map(str, args))}{detail}")
    return result


def compose_command():
    """`docker-compose` (Debian's 1.29), else Docker's `docker compose` plugin."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and run("docker", "compose", "version", capture=True,
                                      check=False).returncode == 0:
        return ["docker", "compose"]
    return None


def ensure_docker():
    if not shutil.which("docker") or not compose_command():
        step("installing Debian's docker.io and docker-compose")
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "docker.io", "docker-compose", "debootstrap",
            env={"DEBIAN_FRONTEND": "noninteractive"})
    if run("docker", "info", capture=True, check=False).returncode != 0:
        step("starting dockerd")
        log = open("/tmp/dockerd.log", "a")
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + 60
        while run("docker", "info", capture=True, check=False).returncode != 0:
            if time.time() > deadline:
                raise SystemExit("dockerd did not start; see /tmp/dockerd.log")
            time.sleep(1)
    if not shutil.which("ffprobe"):
        raise SystemExit("ffprobe is missing: run `make deps` (Debian's ffmpeg)")


def registry_answers():
    try:
        urllib.request.urlopen("https://registry-1.docker.io/v2/", timeout=5)
    except urllib.error.HTTPError:
        return True  # 401: it answers
    except (urllib.error.URLError, OSError):
        return False
    return True


def base_images():
    """Build args and compose variables naming the base images: none (the pinned digests)
    where a registry answers, else the stand-ins' tags, built first."""
    if registry_answers():
        print("an image registry answers: building on the pinned base images")
        return {}, {}
    print(f"no image registry answers: building on local stand-ins ({STAND_IN_IMAGES})")
    if not STAND_IN_IMAGES.exists():
        raise SystemExit(
            f"{STAND_IN_IMAGES} is missing; set STAND_IN_IMAGES to the script that builds "
            "local stand-ins for the base images, or run where a registry answers"
        )
    started = time.monotonic()
    run("bash", STAND_IN_IMAGES)
    print(f"stand-ins ready in {time.monotonic() - started:.0f} s")
    return STAND_IN_BUILD_ARGS, STAND_IN_COMPOSE_IMAGES


def megabytes(size):
    return f"{size / 1e6:.1f} MB"


def build(build_args):
    step(f"docker build -t {IMAGE} .")
    print("base images:", ", ".join(f"{k}={v}" for k, v in build_args.items())
          or "the Dockerfile's pinned digests")
    args = [a for name, value in build_args.items() for a in ("--build-arg", f"{name}={value}")]
    started = time.monotonic()
    run("docker", "build", "-t", IMAGE, *args, ".", env={"DOCKER_BUILDKIT": "0"})
    seconds = time.monotonic() - started
    # The split debug info: the same stages, so every layer comes from the cache.
    run("docker", "build", "-q", "--target", "debug-symbols", "-t", f"{IMAGE}-debug-symbols",
        *args, ".", env={"DOCKER_BUILDKIT": "0"}, capture=True)
    out = ROOT / "target" / "docker"
    out.mkdir(parents=True, exist_ok=True)
    for image, path, name in [(f"{IMAGE}-debug-symbols", "/hls-ladder.debug", "hls-ladder.debug"),
                              (IMAGE, "/usr/local/bin/hls-ladder", "hls-ladder")]:
        holder = run("docker", "create", image, "/none", capture=True).stdout.strip()
        try:
            run("docker", "cp", f"{holder}:{path}", out / name)
        finally:
            run("docker", "rm", holder, capture=True)
    # The debug info is of the binary shipped: the same GNU build id.
    ids = {name: build_id(out / name) for name in ("hls-ladder", "hls-ladder.debug")}
    if len(set(ids.values())) != 1 or None in ids.values():
        raise SystemExit(f"the debug info is not the shipped binary's: build ids {ids}")

    size = int(run("docker", "image", "inspect", "-f", "{{.Size}}", IMAGE,
                   capture=True).stdout)
    history = run("docker", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}",
                  IMAGE, capture=True).stdout.splitlines()
    print(f"\nbuilt in {seconds:.0f} s; image {megabytes(size)}; layers:")
    for line in reversed(history):
        layer_size, created_by = line.split("\t", 1)
        if layer_size not in ("0B", "0"):
            print(f"  {layer_size:>8}  {created_by.replace('/bin/sh -c #(nop) ', '')[:110]}")
    debug = (out / "hls-ladder.debug").stat().st_size
    print(f"debug info kept: target/docker/hls-ladder.debug ({megabytes(debug)}), "
          f"build id {ids['hls-ladder.debug']}, the binary's")
    user = run("docker", "image", "inspect", "-f", "{{.Config.User}}", IMAGE,
               capture=True).stdout.strip()
    if not user or user.split(":")[0] in ("0", "root"):
        raise SystemExit(f"the image runs as root (USER {user!r})")
    # Listening on 0.0.0.0 without API_KEYS (or ALLOW_ANONYMOUS=true): refused, saying why.
    open_api = run("docker", "run", "--rm", IMAGE, capture=True, check=False, timeout=60)
    if open_api.returncode == 0 or "without API_KEYS" not in open_api.stderr:
        raise SystemExit(f"the image served an open API: {open_api}")
    print("without API_KEYS the image refuses to serve (exit "
          f"{open_api.returncode}): {open_api.stderr.strip().splitlines()[-1][:90]}...")


def build_id(path):
    """The GNU build id of an ELF file (`readelf -n`), or None."""
    notes = run("readelf", "-n", path, capture=True).stdout
    found = re.search(r"Build ID: ([0-9a-f]+)", notes)
    return found.group(1) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Compose:
    """docker-compose for this test's project, ports and images."""

    def __init__(self, compose_images):
        self.command = compose_command()
        self.port = free_port()
        self.s3_port = free_port()
        self.env = {
            **compose_images,
            "HLS_LADDER_IMAGE": IMAGE,
            "HOST_PORT": str(self.port),
            "S3_HOST_PORT": str(self.s3_port),
            "API_KEYS": API_KEY,
            "LOG_FORMAT": "json",
        }

    def __call__(self, *args, capture=False, check=True):
        return run(*self.command, "-p", PROJECT, "-f", ROOT / "docker-compose.yml",
                   "--profile", "scale-out", *args, env=self.env, capture=capture, check=check)

    def down(self):
        self("down", "--volumes", "--remove-orphans", "--timeout", "20",
             capture=True, check=False)

    def containers(self, service):
        ids = self("ps", "-q", service, capture=True).stdout.split()
        if not ids:
            raise SystemExit(f"no container runs for {service}")
        return ids

    def wait_healthy(self, service, timeout=240):
        """Waits until every container of `service` has its image's HEALTHCHECK passing."""
        deadline = time.time() + timeout
        while True:
            states = [
                run("docker", "inspect", "-f", "{{.State.Health.Status}}", c,
                    capture=True).stdout.strip()
                for c in self.containers(service)
            ]
            if states and all(s == "healthy" for s in states):
                print(f"{service}: {len(states)} container(s) healthy")
                return
            if time.time() > deadline:
                self("logs", "--tail", "50", service, check=False)
                raise SystemExit(f"{service} not healthy after {timeout} s: {states}")
            time.sleep(2)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def post_video(compose, fixture, query=""):
    """POST /v1/videos with the bytes of `fixture` (a path, or a name in fixtures/): the
    answer's status and body."""
    path = Path(fixture) if Path(fixture).is_absolute() else ROOT / "fixtures" / fixture
    return request("POST", compose.url(f"/v1/videos{query}"), path.read_bytes(), {
        "Authorization": f"Bearer {API_KEY}",
        "Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
    })


def upload(compose, fixture, query=""):
    """The id of the video `fixture` became, which must have been accepted."""
    status, answer = post_video(compose, fixture, query)
    if status not in (201, 202):
        raise SystemExit(f"uploading {fixture}: {status} {answer}")
    return answer["id"]


def wait_completed(compose, video_id, timeout=600):
    deadline = time.time() + timeout
    while True:
        status, video = request("GET", compose.url(f"/v1/videos/{video_id}"),
                                headers={"Authorization": f"Bearer {API_KEY}"})
        if status == 200 and video["status"] == "completed":
            return video
        if status != 200 or video["status"] in ("failed", "canceled"):
            raise SystemExit(f"video {video_id}: {status} {video}")
        if time.time() > deadline:
            raise SystemExit(f"video {video_id} not completed after {timeout} s: {video}")
        time.sleep(1)


def ffprobe(url, stream, required=True):
    """The first `stream` (v or a) of the playlist at `url`, every packet decoded; None when
    there is none and it is not `required`."""
    result = run("ffprobe", "-v", "error", "-count_frames", "-select_streams", f"{stream}:0",
                 "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json",
                 url, capture=True, timeout=300)
    if result.stderr.strip():
        raise SystemExit(f"ffprobe reported errors decoding {url}:\n{result.stderr}")
    streams = json.loads(result.stdout)["streams"]
    if not streams and not required:
        return None
    if not streams or int(streams[0].get("nb_read_frames", 0)) == 0:
        raise SystemExit(f"ffprobe decoded no {stream} frame from {url}: {result.stdout}")
    return streams[0]


def check_published(video):
    """Decodes every rendition of the master playlist, and its audio, over HTTP: the audio
    renditions of their own, or else the audio muxed into each variant when the source has
    any."""
    master_url = video["playback_url"]
    master = fetch(master_url).decode()
    base = master_url.rsplit("/", 1)[0]
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    audio = re.findall(r'#EXT-X-MEDIA:TYPE=AUDIO.*?URI="([^"]+)"', master)
    muxed_audio = bool(video["source"].get("audio")) and not audio
    if not variants:
        raise SystemExit(f"no variant in {master_url}:\n{master}")
    frames = set()
    for variant in variants:
        picture = ffprobe(f"{base}/{variant}", "v")
        if picture["codec_name"] != "h264":
            raise SystemExit(f"{variant}: {picture}")
        frames.add(int(picture["nb_read_frames"]))
        sound = ffprobe(f"{base}/{variant}", "a", required=muxed_audio)
        if sound and sound["codec_name"] != "aac":
            raise SystemExit(f"{variant}: {sound}")
        with_sound = f" + aac, {sound['nb_read_frames']} audio frames" if sound else ""
        print(f"  {variant}: h264 {picture['width']}x{picture['height']}, "
              f"{picture['nb_read_frames']} frames decoded{with_sound}")
    if len(frames) != 1:
        raise SystemExit(f"the renditions decode to different frame counts: {frames}")
    for track in audio:
        sound = ffprobe(f"{base}/{track}", "a")
        if sound["codec_name"] != "aac":
            raise SystemExit(f"{track}: {sound}")
        print(f"  {track}: aac, {sound['nb_read_frames']} frames decoded")


def container_uid(host_uid, uid_map):
    """The uid inside a user namespace of `host_uid`, by its /proc/PID/uid_map lines
    (`inside outside count`); None when the namespace does not map it."""
    for line in uid_map.splitlines():
        inside, outside, count = map(int, line.split())
        if outside <= host_uid < outside + count:
            return inside + host_uid - outside
    return None


def check_not_root(compose, service):
    """Each container of `service` runs as the image's user, uid 10001, inside its user
    namespace (rootless Docker and userns-remap shift uids on the host)."""
    for container in compose.containers(service):
        pid = run("docker", "inspect", "-f", "{{.State.Pid}}", container,
                  capture=True).stdout.strip()
        proc = Path(f"/proc/{pid}")
        if not proc.exists():
            raise SystemExit(f"process {pid} of {service} is not on this machine's /proc "
                             "(a remote or virtualised Docker engine): cannot check its uid")
        uids = re.search(r"^Uid:\s+(.*)$", (proc / "status").read_text(), re.M).group(1).split()
        inside = [container_uid(int(uid), (proc / "uid_map").read_text()) for uid in uids]
        if any(uid != IMAGE_UID for uid in inside):
            raise SystemExit(f"{service} does not run as uid {IMAGE_UID}: "
                             f"real, effective, saved, fs uids {inside}")
        print(f"{service}: process {pid} runs as uid {IMAGE_UID} (real, effective, saved, fs)")


def make_clip(path, *args):
    """Writes `path` with the ffmpeg CLI from its input and codec arguments `args`."""
    run("ffmpeg", "-nostdin", "-v", "error", "-y", *args, path)
    return path


def subtitled_clip(folder):
    """An MKV with an SRT track, made by the ffmpeg CLI (the image's libav reads it)."""
    srt = Path(folder) / "en.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello there\n")
    return make_clip(
        Path(folder) / "subtitled.mkv",
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
        "-i", srt, "-map", "0", "-map", "1", "-map", "2",
        "-c:v", "libx264", "-c:a", "aac", "-c:s", "srt", "-metadata:s:s:0", "language=eng")


def formats(compose):
    """Each clip of FORMATS converts in the image, and every rendition decodes."""
    with tempfile.TemporaryDirectory() as folder:
        clips = [make_clip(Path(folder) / name, *args) for name, args in FORMATS.items()]
        ids = {upload(compose, clip): clip.name for clip in clips}
    for video_id, name in ids.items():
        video = wait_completed(compose, video_id)
        source = video["source"]
        audio = (source.get("audio") or {}).get("codec", "no audio")
        print(f"{name} ({source['video_codec']}, {audio}):")
        check_published(video)
    print(f"{len(ids)} containers and codecs converted by the image's libav")


def one_process(compose):
    step("docker-compose up hls-ladder: one process")
    compose("up", "-d", "hls-ladder")
    compose.wait_healthy("hls-ladder")
    check_not_root(compose, "hls-ladder")
    # The page's vendored scripts, which the image carries beside the binary.
    for asset in ("hls.min.js", "tus.min.js"):
        body = fetch(compose.url(f"/assets/vendor/{asset}"))
        if len(body) < 10_000:
            raise SystemExit(f"/assets/vendor/{asset}: {len(body)} bytes")
        print(f"  /assets/vendor/{asset}: {len(body)} bytes")
    started = time.monotonic()
    video_id = upload(compose, "h264_aac.mp4", "?mp4_download=true")
    video = wait_completed(compose, video_id)
    print(f"h264_aac.mp4 completed in {time.monotonic() - started:.1f} s: "
          f"{video['playback_url']}")
    check_published(video)
    # The stills (the JPEG encoder) and the MP4 download (the MP4 muxer) of the image's libav.
    poster = fetch(video["poster_url"])
    if not poster.startswith(b"\xff\xd8\xff"):
        raise SystemExit(f"the poster is not a JPEG: {poster[:16]!r}")
    print(f"  poster.jpg: JPEG, {len(poster)} bytes")
    download = video["downloads"][0]["url"]
    picture, sound = ffprobe(download, "v"), ffprobe(download, "a")
    if (picture["codec_name"], sound["codec_name"]) != ("h264", "aac"):
        raise SystemExit(f"{download}: {picture} {sound}")
    print(f"  {video['downloads'][0]['rendition']}.mp4: h264 + aac, "
          f"{picture['nb_read_frames']} frames decoded")

    # Text subtitles (the SubRip decoder), published as WebVTT.
    with tempfile.TemporaryDirectory() as folder:
        video = wait_completed(compose, upload(compose, subtitled_clip(folder)))
    track = video["subtitles"][0]
    base = video["playback_url"].rsplit("/", 1)[0]
    playlist = fetch(f"{base}/{track['playlist']}").decode()
    cue_file = next(line for line in playlist.splitlines() if line and line[0] != "#")
    cues = fetch(f"{base}/{track['playlist'].rsplit('/', 1)[0]}/{cue_file}").decode()
    if not cues.startswith("WEBVTT") or "Hello there" not in cues:
        raise SystemExit(f"the subtitles did not come through: {track}\n{cues}")
    print(f"  subtitled.mkv: {track['language']} track, {track['cues']} cue, WebVTT served")

    # A codec whose decoder this libav leaves out (Debian's has it): refused, and named.
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / "zmbv.avi", "-f", "lavfi",
                         "-i", "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "zmbv")
        status, answer = post_video(compose, clip)
    if status != 422 or "unsupported-codec" not in answer or "zmbv" not in answer:
        raise SystemExit(f"a ZMBV upload was answered {status} {answer}")
    print("  zmbv.avi (no decoder in this libav): 422 unsupported-codec, naming zmbv")


def scale_out(compose):
    step(f"docker-compose --profile scale-out up --scale worker={WORKERS} api worker")
    compose("up", "-d", "--scale", f"worker={WORKERS}", "api", "worker")
    compose.wait_healthy("api")
    compose.wait_healthy("worker")
    check_not_root(compose, "api")
    check_not_root(compose, "worker")
    started = time.monotonic()
    with ThreadPoolExecutor(len(SCALE_OUT_FIXTURES)) as pool:
        ids = dict(zip(pool.map(lambda f: upload(compose, f), SCALE_OUT_FIXTURES),
                       SCALE_OUT_FIXTURES))
        videos = list(pool.map(lambda i: wait_completed(compose, i), ids))
    print(f"{len(videos)} videos completed in {time.monotonic() - started:.1f} s")
    for video in videos:
        print(f"{ids[video['id']]}:")
        check_published(video)

    # Who converted what: each worker container's JSON log lines name the video in their span.
    converted = defaultdict(list)  # video id -> containers that completed it
    started_by = defaultdict(list)
    for container in compose.containers("worker"):
        log = run("docker", "logs", container, capture=True)
        for line in (log.stdout + log.stderr).splitlines():
            for video_id in ids:
                if video_id in line and '"conversion completed"' in line:
                    converted[video_id].append(container[:12])
                if video_id in line and '"conversion started"' in line:
                    started_by[video_id].append(container[:12])
    for video_id, fixture in ids.items():
        print(f"  {fixture}: converted by {converted[video_id]}")
        if len(converted[video_id]) != 1 or len(started_by[video_id]) != 1:
            raise SystemExit(f"{fixture} ({video_id}) was not converted exactly once: "
                             f"started by {started_by[video_id]}, "
                             f"completed by {converted[video_id]}")
    workers = {c for containers in converted.values() for c in containers}
    if len(workers) < 2:
        raise SystemExit(f"one worker converted every video: {workers}")
    print(f"{len(workers)} of {WORKERS} workers converted the {len(ids)} videos, "
          "each exactly once")


def main():
    overall = time.monotonic()
    ensure_docker()
    build_args, compose_images = base_images()
    build(build_args)
    compose = Compose(compose_images)
    compose.down()
    try:
        one_process(compose)
        formats(compose)
        compose.down()
        scale_out(compose)
    except BaseException:
        compose("logs", "--tail", "40", check=False)
        raise
    finally:
        step("docker-compose down --volumes")
        compose.down()
    print(f"\ndocker-test passed in {time.monotonic() - overall:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
