"""Throughput and latency of `trialnode serve` under concurrent clients, against its ceiling.

Starts `trialnode serve` (gunicorn, one worker per core by default) on a database of
synthetic studies and loads it with 16 concurrent clients: a trivial view of the same
server (the ceiling: the health check `/healthz` through the whole middleware, no
database), a static file (served by WhiteNoise before any view: a stricter reference),
the accessibility page (a template without database reads), the public search page with text and a filter (the same URL
again and again, as a popular search is: served from the page cache after the first
request), the same search with another page for every request (never from the cache),
a study page and the search API. Uses wrk when installed, otherwise a bounded Python load generator
(threads with keep-alive connections, which costs client CPU on the same machine).
Goal: the search page reaches >= 40 % of the ceiling's requests/s with p99 <= 150 ms.

    python bench/serve.py [--count 10000] [--clients 16] [--seconds 10] [--reuse] [--json]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench)
with "_serve" appended; the database is dropped and recreated unless --reuse is given.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_DATABASE, django_on_bench_database, say

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A different page of the search for every request (no two alike in the page cache).
VARYING_PAGE_LUA = """
local counter = 0
request = function()
  counter = counter + 1
  local page = (counter * 7919 + math.random(1, 1000000)) % 10000 + 1
  return wrk.format(nil, wrk.path .. "&page=" .. page)
end
"""


def _wrk(url: str, clients: int, seconds: int, varying: bool = False) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency"]
    if varying:
        script = Path(tempfile.mkdtemp()) / "varying.lua"
        script.write_text(VARYING_PAGE_LUA, encoding="utf-8")
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for name, percent in (("p50_ms", "50"), ("p99_ms", "99")):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        figures[name] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["errors"] = int(errors.group(1)) if errors else 0
    return figures


def _python_load(url: str, clients: int, seconds: int, varying: bool = False) -> dict[str, float]:
    """Each client sends requests one after another on its own keep-alive connection."""
    parsed = urllib.request.urlparse(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            page = f"&page={random.randint(1, 10_000)}" if varying else ""
            connection.request("GET", path + page)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000

    return {
        "rps": len(ordered) / seconds,
        "p50_ms": at(0.5),
        "p99_ms": at(0.99),
        "errors": errors[0],
    }


def run(count: int, clients: int, seconds: int, reuse: bool, workers: int | None) -> dict:
    django_on_bench_database(recreate=not reuse, suffix="_serve")
    from trialnode.organisations.models import Region
    from trialnode.organisations.services import reference_data_load
    from trialnode.studies.models import Study
    from trialnode.studies.synthetic import synthetic_studies_create

    if not Region.objects.exists():
        reference_data_load()
    have = Study.objects.count()
    if have < count:
        synthetic_studies_create(count - have, seed=count)
    study = Study.objects.published().order_by("pk").first()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "trialnode.cli", "serve", "--port", str(port), "--no-worker"]
    if workers:
        command += ["--workers", str(workers)]
    environment = {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE + "_serve",
        "SECRET_KEY": "benchmark-only",
        "TRIALNODE_DATA_DIR": tempfile.mkdtemp(),
    }
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(command, env=environment)
    targets = [
        ("ceiling: trivial view", "/healthz"),
        ("static file", "/static/css/trialnode.css"),
        ("accessibility page", "/tillganglighet/"),
        ("search page", "/?q=diabetes&region=uppsala"),
        # Every request another page of the same search: nothing from the page cache.
        ("search page, uncached", "/?q=diabetes&region=uppsala"),
        ("study page", f"/studier/{study.pk}/"),
        ("search API", "/api/v1/studies?q=diabetes&region=uppsala&recruiting=true"),
    ]
    load = _wrk if shutil.which("wrk") else _python_load
    results = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/tillganglighet/", timeout=10).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.5)
        say(f"{count} studies, {clients} clients, {seconds}s each, load generator {load.__name__}")
        say(
            f"{'target':<22} {'req/s':>8} {'p50':>8} {'p99':>8} {'of ceiling':>10} "
            f"{'of static':>9} {'errors':>6}  load"
        )
        for name, path in targets:
            varying = name.endswith("uncached")
            load(base + path, clients, 2, varying)  # warm up
            figures = load(base + path, clients, seconds, varying)
            figures["load"] = round(os.getloadavg()[0], 2)
            ceiling = results[0]["rps"] if results else figures["rps"]
            static = results[1]["rps"] if len(results) > 1 else figures["rps"]
            figures["of_ceiling"] = round(figures["rps"] / ceiling, 3)
            figures["of_static"] = round(figures["rps"] / static, 3)
            results.append({"target": name, "path": path, **figures})
            say(
                f"{name:<22} {figures['rps']:>8.1f} {figures['p50_ms']:>6.1f}ms "
                f"{figures['p99_ms']:>6.1f}ms {figures['of_ceiling']:>9.0%} "
                f"{figures['of_static']:>9.0%} {figures['errors']:>6}  {figures['load']:.2f}"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return {
        "benchmark": "serve",
        "studies": count,
        "clients": clients,
        "generator": load.__name__.strip("_"),
        "results": results,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--reuse", action="store_true", help="keep the studies already there")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    arguments = parser.parse_args()
    outcome = run(
        arguments.count, arguments.clients, arguments.seconds, arguments.reuse, arguments.workers
    )
    if arguments.json:
        print(json.dumps(outcome), flush=True)
