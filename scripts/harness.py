"""What the measurement scripts share: a test clip, a fresh database, the service as a child
process, and JSON over HTTP. Standard library only.

    from harness import Server, make_clip, request
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEASE_BINARY = REPO / "target" / "release" / "hls-ladder"


def make_clip(path: Path, size: str = "1280x720", seconds: float = 20, rate: int = 30) -> Path:
    """An H.264 + AAC MP4 of the ffmpeg test pattern and a sine tone."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path)], check=True)
    return path


def drop_database(name: str) -> None:
    subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c",
                    f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def request(address: str, method: str, path: str, body: bytes | None = None,
            headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """Status and parsed JSON body (an empty dict when there is none)."""
    req = urllib.request.Request(address + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def write_report(name: str, report: str) -> None:
    """Prints a Markdown report and keeps it as scripts/results/NAME.md."""
    out = REPO / "scripts" / "results" / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    print(report)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Server:
    """`hls-ladder serve` on LocalStack and a database of its own (dropped before the
    first start and after the last stop), as a child process. As a context manager it starts
    once and stops at the end; `start`, `kill` and `stop` allow restarts in between.

    `extra_args` go after `serve`; `log_path` and `temp_dir` default to files in `work`.
    With `scrub_env`, the service's own settings in this process's environment (S3_*,
    AWS_*, DATABASE_URL, WORKERS, ...) are not passed on, so that only the ones given here
    count (the benchmarks need that)."""

    SERVICE_VARIABLES = ("AWS_", "S3_", "RUST_LOG", "DATABASE_URL", "LISTEN", "WORKERS",
                         "TEMP_DIR", "UPLOAD_LIMIT", "LADDER", "PRESET")

    def __init__(self, binary: Path, database: str, bucket: str, port: int, work: Path,
                 extra_env: dict | None = None, extra_args: list[str] | None = None,
                 log_path: Path | None = None, temp_dir: Path | None = None,
                 scrub_env: bool = False, start_timeout: float = 30):
        self.port = port
        self.address = f"http://127.0.0.1:{port}"
        self.log_path = log_path or work / "server.log"
        self.temp_dir = temp_dir or work
        self.database = database
        self.start_timeout = start_timeout
        self._args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", *(extra_args or [])]
        self.settings = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
                         "S3_ENDPOINT": "http://127.0.0.1:4566", "S3_BUCKET": bucket,
                         "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                         "AWS_REGION": "us-east-1", "TEMP_DIR": str(self.temp_dir)}
        inherited = {k: v for k, v in os.environ.items()
                     if not (scrub_env and k.startswith(self.SERVICE_VARIABLES))}
        self._env = {**inherited, "RUST_LOG": "warn", **(extra_env or {}), **self.settings}
        self.process: subprocess.Popen | None = None
        drop_database(database)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def command_line(self) -> str:
        """The command with the settings it is given, as a shell line for a report."""
        settings = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.settings.items())
        return f"{settings} {shlex.join(self._args)}"

    def start(self) -> None:
        """Starts the process (its log appended to `log_path`) and waits for /readyz."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self._args, env=self._env, stdin=subprocess.DEVNULL,
                                            stdout=log_file, stderr=log_file,
                                            start_new_session=True)
        deadline = time.time() + self.start_timeout
        while True:
            try:
                if urllib.request.urlopen(self.address + "/readyz", timeout=1).status == 200:
                    return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"the server did not start; see {self.log_path}")
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: a crash."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self, patience: float = 60) -> str:
        """SIGTERM, the graceful way; SIGKILL after `patience` seconds. Says how it ended."""
        if self.process is None or self.process.poll() is not None:
            return "not running"
        self.process.terminate()
        try:
            self.process.wait(timeout=patience)
            return f"exited with {self.process.returncode} after SIGTERM"
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return f"killed after {patience:g} s"

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        drop_database(self.database)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        return request(self.address, method, path, body, headers)
