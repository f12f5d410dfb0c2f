"""`trialnode serve` as an operator runs it: pages and static files from several worker
processes, and stopping it stops every process it started."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def _start(tmp_path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    # As an operator starts it: the project's own settings, not the tests'.
    left_out = ("DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")
    environment = {
        **{k: v for k, v in os.environ.items() if k not in left_out},
        "TRIALNODE_DATA_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "trialnode.cli", "serve", "--port", str(port), "--workers", "2"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            _get(base + "/")
            return server, base
        except OSError:
            if server.poll() is not None:
                pytest.fail(server.stdout.read().decode())
            time.sleep(0.5)
    server.kill()
    pytest.fail("the server did not answer")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_from_worker_processes_and_stopping_it_stops_them_all(tmp_path, stop):
    server, base = _start(tmp_path)
    try:
        status, _body = _get(base + "/?q=diabetes")
        assert status == 200
        status, body = _get(base + "/static/css/trialnode.css")
        assert status == 200 and body
        # Two web workers and the job worker.
        deadline = time.monotonic() + 30
        while len(started := _descendants(server.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(started) >= 3
        server.send_signal(stop)
        server.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if _alive(pid)]
    finally:
        if server.poll() is None:
            server.kill()
