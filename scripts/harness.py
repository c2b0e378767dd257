"""What the measurement scripts share: a test clip, a fresh database, the service as a child
process, and JSON over HTTP. Standard library only.

    from harness import Server, make_clip, request
"""

from __future__ import annotations

import json
import os
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
    once and stops at the end; `start`, `kill` and `stop` allow restarts in between."""

    def __init__(self, binary: Path, database: str, bucket: str, port: int, work: Path,
                 extra_env: dict | None = None):
        self.address = f"http://127.0.0.1:{port}"
        self.log_path = work / "server.log"
        self.database = database
        self._args = [str(binary), "serve", "--listen", f"127.0.0.1:{port}"]
        self._env = {**os.environ, "RUST_LOG": "warn", **(extra_env or {}),
                     "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
                     "S3_ENDPOINT": "http://127.0.0.1:4566", "S3_BUCKET": bucket,
                     "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                     "AWS_REGION": "us-east-1", "TEMP_DIR": str(work)}
        self.process: subprocess.Popen | None = None
        drop_database(database)

    def start(self) -> None:
        """Starts the process (its log appended to server.log) and waits for /readyz."""
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self._args, env=self._env,
                                            stdout=subprocess.DEVNULL, stderr=log_file)
        deadline = time.time() + 30
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

    def stop(self) -> None:
        """SIGTERM, the graceful way."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        drop_database(self.database)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        return request(self.address, method, path, body, headers)
