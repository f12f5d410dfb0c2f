"""ClinicalTrials.gov import throughput and peak memory on PostgreSQL, against parse-only.

Builds an NDJSON bulk file of N studies by varying the real records (new NCT numbers,
shifted titles and dates), then measures in one run:
  - parsing the file with orjson only (records/s),
  - importing it with `trialnode import ctgov` in a child process (records/s, peak RSS).

    python bench/import_ctgov.py [--count 20000] [--keep FILE]

The whole of ClinicalTrials.gov is about 560,000 studies: pass --count 560000 for that
(the default is smaller so that the run fits in minutes). Needs PostgreSQL at
BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/trialnode_bench) with
"_import" appended; the database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_DATABASE, django_on_bench_database, say


def _sample_records() -> list[dict]:
    from trialnode.env import sample_data_dir

    folder = sample_data_dir()
    if folder is None:
        raise SystemExit("The sample data folder is needed (TRIALNODE_SAMPLE_DATA).")
    with zipfile.ZipFile(folder / "ctgov" / "ctg-studies.zip") as archive:
        return [
            orjson.loads(archive.read(name))
            for name in archive.namelist()
            if name.endswith(".json")
        ]


def build_file(path: Path, count: int) -> None:
    records = _sample_records()
    with path.open("wb") as out:
        for number in range(count):
            record = records[number % len(records)]
            protocol = dict(record["protocolSection"])
            identification = dict(protocol["identificationModule"])
            identification["nctId"] = f"NCT{90000000 + number:08d}"
            identification["briefTitle"] = f"{identification.get('briefTitle', '')} ({number})"
            protocol["identificationModule"] = identification
            out.write(orjson.dumps({**record, "protocolSection": protocol}) + b"\n")


def parse_only(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as stream:
        for line in stream:
            orjson.loads(line)
    return time.perf_counter() - started


def run(count: int, keep: str | None) -> dict:
    django_on_bench_database(recreate=True, suffix="_import")
    from trialnode.organisations.services import reference_data_load

    reference_data_load()
    folder = Path(tempfile.mkdtemp())
    path = Path(keep) if keep else folder / "bulk.ndjson"
    if not path.exists():
        build_file(path, count)
    size_mb = path.stat().st_size / 1e6
    parse_seconds = parse_only(path)
    environment = {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE + "_import",
        "SECRET_KEY": "benchmark-only",
        "TRIALNODE_DATA_DIR": str(folder),
    }
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-m", "trialnode.cli", "import", "ctgov", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    import_seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    say(child.stdout.strip().splitlines()[0] if child.stdout else child.stderr[-2000:])
    say(f"{count} studies, {size_mb:.0f} MB NDJSON")
    say(f"  orjson parse only: {parse_seconds:.1f}s = {count / parse_seconds:,.0f} studies/s")
    say(
        f"  import:            {import_seconds:.1f}s = {count / import_seconds:,.0f} studies/s, "
        f"peak memory {peak_mb:.0f} MB"
    )
    say(
        f"  import / parse time: {import_seconds / parse_seconds:.0f}x; "
        f"560,000 studies at this rate: {560_000 / (count / import_seconds) / 60:.0f} min"
    )
    return {
        "benchmark": "import_ctgov",
        "records": count,
        "parse_only_per_s": round(count / parse_seconds),
        "import_per_s": round(count / import_seconds),
        "ratio_to_parse_only": round(import_seconds / parse_seconds, 1),
        "peak_mb": round(peak_mb),
        "load": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--keep", help="reuse or keep the generated file at this path")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    arguments = parser.parse_args()
    outcome = run(arguments.count, arguments.keep)
    if arguments.json:
        print(orjson.dumps(outcome).decode(), flush=True)
