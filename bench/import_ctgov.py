"""ClinicalTrials.gov import throughput and peak memory on PostgreSQL, against parse-only.

Builds two NDJSON bulk files of N studies by varying the real records (new NCT numbers,
shifted titles), then measures for each, in one run:
  - parsing the file with orjson only (records/s), the baseline: the median of three
    runs, with the slowest and the fastest,
  - importing it with `trialnode import ctgov` in a child process into an empty database
    (records/s, ratio to parse-only, peak RSS of the child and of the mapping process
    the import forks for a long file; the command's start-up is part of the time).

The files: "sweden", every record with a site in Sweden (all are imported, with audit,
search rows, spans and condition areas); "world", 98 % of the records outside Sweden,
like the registry's bulk download (scanned, 2 % imported); "update", the Sweden file
with every record changed (a new title, one site fewer where there are several),
imported over the Sweden file: every record updates its study, as in the registry's
daily changes (only this second import is timed).

    python bench/import_ctgov.py [--count 5000] [--world-count N] [--keep FOLDER]
                                 [--cases sweden,world,update] [--json]

--count is the size of the Sweden file; the world file has --world-count records (five
times as many by default, so that it is not over before the command has started).

The whole of ClinicalTrials.gov is about 560,000 studies, of which about 2 % are in
Sweden. Needs PostgreSQL at BENCH_DATABASE_URL (default
postgres://root@127.0.0.1:5432/trialnode_bench) with "_import" appended; the database is
dropped and recreated for each case.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import BENCH_DATABASE, django_on_bench_database, say


def _sample_records() -> tuple[list[dict], list[dict]]:
    """The sample's records with a site in Sweden and those without."""
    from trialnode.env import sample_data_dir
    from trialnode.interop.ctgov import maybe_in_sweden

    folder = sample_data_dir()
    if folder is None:
        raise SystemExit("The sample data folder is needed (TRIALNODE_SAMPLE_DATA).")
    with zipfile.ZipFile(folder / "ctgov" / "ctg-studies.zip") as archive:
        records = [
            orjson.loads(archive.read(name))
            for name in archive.namelist()
            if name.endswith(".json")
        ]
    records += orjson.loads((folder / "ctgov" / "sweden.json").read_bytes())
    sweden = {r["protocolSection"]["identificationModule"]["nctId"]: r for r in records}
    inside = [r for r in sweden.values() if maybe_in_sweden(r)]
    outside = [r for r in sweden.values() if not maybe_in_sweden(r)]
    return inside, outside


def _varied(record: dict, number: int) -> bytes:
    protocol = dict(record["protocolSection"])
    identification = dict(protocol["identificationModule"])
    identification["nctId"] = f"NCT{90000000 + number:08d}"
    identification["briefTitle"] = f"{identification.get('briefTitle', '')} ({number})"
    protocol["identificationModule"] = identification
    return orjson.dumps({**record, "protocolSection": protocol}) + b"\n"


def _changed(line: bytes) -> bytes:
    """A record of the Sweden file with a new title and, if it has several sites in Sweden,
    the last one gone."""
    record = orjson.loads(line)
    protocol = record["protocolSection"]
    protocol["identificationModule"]["briefTitle"] += " (uppdaterad)"
    locations = protocol.get("contactsLocationsModule", {}).get("locations", [])
    sweden = [i for i, location in enumerate(locations) if location.get("country") == "Sweden"]
    if len(sweden) > 1:
        del locations[sweden[-1]]
    return orjson.dumps(record) + b"\n"


def build_file(path: Path, count: int, case: str) -> None:
    """``sweden``: every record in Sweden; ``world``: one record in 50 in Sweden;
    ``update``: the ``sweden`` file's records, changed (``_changed``)."""
    if case == "update":
        with _sweden_file(path.parent, count).open("rb") as source, path.open("wb") as out:
            for line in source:
                out.write(_changed(line))
        return
    inside, outside = _sample_records()
    with path.open("wb") as out:
        for number in range(count):
            if case == "sweden" or number % 50 == 0:
                record = inside[number % len(inside)]
            else:
                record = outside[number % len(outside)]
            out.write(_varied(record, number))


def _sweden_file(folder: Path, count: int) -> Path:
    path = folder / f"ctgov-sweden-{count}.ndjson"
    if not path.exists():
        build_file(path, count, "sweden")
    return path


PARSE_RUNS = 3


def parse_only(path: Path) -> tuple[float, float, float]:
    """Seconds to parse the file with orjson alone: the median of ``PARSE_RUNS`` runs (one
    run moved by up to 40 % on this machine), with the fastest and the slowest."""
    runs = []
    for _run in range(PARSE_RUNS):
        started = time.perf_counter()
        with path.open("rb") as stream:
            for line in stream:
                orjson.loads(line)
        runs.append(time.perf_counter() - started)
    runs.sort()
    return runs[len(runs) // 2], runs[0], runs[-1]


# Runs the command line in this process and reports its own peak memory.
_CHILD = (
    "import resource, runpy, sys\n"
    "sys.argv = ['trialnode', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('trialnode.cli', run_name='__main__')\n"
    "finally:\n"
    "    self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "    mapping = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "    print('peak-kb', self, mapping, file=sys.stderr)\n"
)


def import_file(
    path: Path, folder: Path, before: Path | None = None
) -> tuple[float, float, float, str]:
    """Seconds to import the file in a child process, its peak RSS and that of the mapping
    process it forks (if any) in MB, its summary; ``before``: a file imported first (not
    timed)."""
    from django.db import connections

    from trialnode.organisations.services import reference_data_load

    connections.close_all()
    django_on_bench_database(recreate=True, suffix="_import")

    reference_data_load()
    connections.close_all()
    environment = {
        **os.environ,
        "DATABASE_URL": BENCH_DATABASE + "_import",
        "SECRET_KEY": "benchmark-only",
        "TRIALNODE_DATA_DIR": str(folder),
    }
    if before is not None:
        _run_child(before, environment)
    started = time.perf_counter()
    child = _run_child(path, environment)
    seconds = time.perf_counter() - started
    peak = [line for line in child.stderr.splitlines() if line.startswith("peak-kb ")]
    if not peak:
        raise SystemExit(f"The import failed:\n{child.stdout[-2000:]}\n{child.stderr[-4000:]}")
    summary = child.stdout.strip().splitlines()[0] if child.stdout.strip() else ""
    _label, own, mapping = peak[-1].split()
    return seconds, int(own) / 1024, int(mapping) / 1024, summary


def _run_child(path: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, "import", "ctgov", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"The import failed:\n{child.stdout[-2000:]}\n{child.stderr[-4000:]}")
    return child


def run(count: int, keep: str | None, cases: list[str], world_count: int | None = None) -> dict:
    django_on_bench_database(recreate=False, suffix="_import")
    folder = Path(keep) if keep else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"sweden": count, "world": world_count or 5 * count, "update": count}
    outcome: dict = {"benchmark": "import_ctgov", "records": counts}
    say(f"{counts} records; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say(
        f"{'file':8} {'MB':>5} {'parse/s (min-max)':>20} {'import/s':>9} {'ratio':>6} "
        f"{'peak MB':>8} {'+mapping':>8}  summary"
    )
    for case in cases:
        count = counts[case]
        path = folder / f"ctgov-{case}-{count}.ndjson"
        if not path.exists():
            build_file(path, count, case)
        parse_seconds, fastest, slowest = parse_only(path)
        before = _sweden_file(folder, count) if case == "update" else None
        import_seconds, peak_mb, mapping_mb, summary = import_file(path, folder, before)
        ratio = import_seconds / parse_seconds
        spread = f"{count / parse_seconds:,.0f} ({count / slowest:,.0f}-{count / fastest:,.0f})"
        say(
            f"{case:8} {path.stat().st_size / 1e6:5.0f} {spread:>20} "
            f"{count / import_seconds:9,.0f} {ratio:5.1f}x {peak_mb:8.0f} {mapping_mb:8.0f}  "
            f"{summary}"
        )
        outcome[case] = {
            "parse_only_per_s": round(count / parse_seconds),
            "parse_only_per_s_range": [round(count / slowest), round(count / fastest)],
            "import_per_s": round(count / import_seconds),
            "ratio_to_parse_only": round(ratio, 2),
            "peak_mb": round(peak_mb),
            "mapping_process_peak_mb": round(mapping_mb),
        }
    say(
        "goals: sweden >= 1,500 records/s and <= 8x parse-only; world <= 1.5x parse-only; "
        "update: none of its own (the registry's daily changes)"
    )
    outcome["load"] = [round(x, 2) for x in os.getloadavg()]
    return outcome


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--keep", help="reuse or keep the generated files in this folder")
    parser.add_argument(
        "--cases", default="sweden,world,update", help="sweden, world, update (a list)"
    )
    parser.add_argument("--world-count", type=int, help="records in the world file (5x --count)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    arguments = parser.parse_args()
    outcome = run(
        arguments.count, arguments.keep, arguments.cases.split(","), arguments.world_count
    )
    if arguments.json:
        print(orjson.dumps(outcome).decode(), flush=True)
