"""Patient counts at scale: GiBleed replicated to about a million persons.

For each OHDSI cohort definition of the sample data, on one DuckDB database:
- trialnode's count (Circe compiled to one statement, with the inclusion statistics and
  the record keys the protection needs);
- a hand-written SQL count of the same criteria;
- duckcdm 0.4.7 (OHDSI's circe-be SQL, ported to Python, run on DuckDB);
every count checked against the published count times the number of copies. Then the
latency of a federated count across 21 region nodes (separate ``trialnode serve``
processes) on loopback.

    python bench/counts.py [--copies 372] [--runs 5] [--nodes 21] [--json]

``--nodes 0`` times the cohorts only. Load from other work on the machine slows every
engine; the ratios hold better than the seconds, so note the load average beside them.

The replicated database is kept in ``--work`` (default /tmp/counts-bench) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/statistics.py would shadow the standard library's statistics module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench._setup import percentiles, say  # noqa: E402

HANDWRITTEN = {
    "cg_celecoxib.json": """
        SELECT COUNT(DISTINCT de.person_id) FROM drug_era de
        JOIN observation_period op ON op.person_id = de.person_id
         AND de.drug_era_start_date BETWEEN op.observation_period_start_date
                                        AND op.observation_period_end_date
        WHERE de.drug_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                     WHERE ancestor_concept_id = 1118084)
    """,
    "cg_celecoxibAge40Male.json": """
        WITH first_era AS (
            SELECT de.person_id, MIN(de.drug_era_start_date) AS start_date FROM drug_era de
            JOIN observation_period op ON op.person_id = de.person_id
             AND de.drug_era_start_date BETWEEN op.observation_period_start_date
                                            AND op.observation_period_end_date
            WHERE de.drug_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                         WHERE ancestor_concept_id = 1118084)
            GROUP BY de.person_id)
        SELECT COUNT(*) FROM first_era f JOIN person p ON p.person_id = f.person_id
        WHERE year(f.start_date) - p.year_of_birth > 40 AND p.gender_concept_id = 8507
    """,
    "cd_17493.json": """
        WITH first_bleed AS (
            SELECT person_id, MIN(condition_start_date) AS start_date FROM condition_occurrence
            WHERE condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                           WHERE ancestor_concept_id = 192671)
            GROUP BY person_id)
        SELECT COUNT(*) FROM first_bleed f JOIN observation_period op
          ON op.person_id = f.person_id
         AND f.start_date >= op.observation_period_start_date + 365
         AND f.start_date <= op.observation_period_end_date
    """,
}


def median(values: list[float]) -> float:
    return percentiles(values)[0] / 1000


def build_database(source: Path, target: Path, copies: int) -> float:
    from trialnode.counts.loading import replicate

    marker = target.with_suffix(".copies")
    if target.exists() and marker.exists() and marker.read_text() == str(copies):
        return 0.0
    started = time.perf_counter()
    replicate(source, target, copies=copies, duckdb_file=True)
    marker.write_text(str(copies))
    return time.perf_counter() - started


def duckcdm_count(connection, definition: str) -> int:
    from duckcdm.circe import build_cohort_query
    from duckcdm.sqlrender import render, split_sql, translate

    connection.execute(
        "CREATE TABLE IF NOT EXISTS main.cohort (cohort_definition_id BIGINT, subject_id BIGINT, "
        "cohort_start_date DATE, cohort_end_date DATE)"
    )
    connection.execute("DELETE FROM main.cohort")
    sql = build_cohort_query(
        definition,
        cdm_schema="main",
        vocabulary_schema="main",
        result_schema="main",
        target_table="main.cohort",
        cohort_id=1,
        generate_stats=False,
    )
    for statement in split_sql(translate(render(sql), "duckdb")):
        if statement.strip():
            connection.execute(statement)
    return connection.execute(
        "SELECT COUNT(DISTINCT subject_id) FROM main.cohort WHERE cohort_definition_id = 1"
    ).fetchone()[0]


def engines_benchmark(database: Path, cohorts: Path, copies: int, runs: int) -> dict:
    import duckdb

    from trialnode.counts.engines import DuckDBEngine
    from trialnode.counts.evaluate import evaluate
    from trialnode.counts.protection import keys_from_secret

    expected = {}
    for line in (cohorts / "EXPECTED_COUNTS.csv").read_text().splitlines()[1:]:
        file, _repo, _path, _commit, _dataset, persons, *_rest = line.split(",")
        expected[file] = int(persons) * copies
    connection = duckdb.connect(str(database))
    engine = DuckDBEngine.from_connection(connection, database)
    keys = keys_from_secret(b"benchmark")
    version = engine.data_version()
    persons = connection.execute("SELECT COUNT(*) FROM person").fetchone()[0]
    results = {}
    for file, want in expected.items():
        definition = json.loads((cohorts / file).read_text())
        ours, hand, other = [], [], []
        counts = set()
        evaluate(definition, engine, keys=keys, data_version=version)  # warm the cache
        for _ in range(runs):
            started = time.perf_counter()
            result = evaluate(definition, engine, keys=keys, data_version=version)
            ours.append(time.perf_counter() - started)
            counts.add(("trialnode", result.persons))
            started = time.perf_counter()
            n = connection.execute(HANDWRITTEN[file]).fetchone()[0]
            hand.append(time.perf_counter() - started)
            counts.add(("hand-written", n))
        for _ in range(max(1, runs // 2)):
            started = time.perf_counter()
            n = duckcdm_count(connection, (cohorts / file).read_text())
            other.append(time.perf_counter() - started)
            counts.add(("duckcdm", n))
        wrong = sorted(f"{who}={n}" for who, n in counts if n != want)
        row = {
            "persons": want,
            "trialnode_s": round(median(ours), 4),
            "handwritten_s": round(median(hand), 4),
            "duckcdm_s": round(median(other), 4),
            "ratio_to_handwritten": round(median(ours) / median(hand), 2),
            "duckcdm_ratio": round(median(other) / median(ours), 2),
            "counts_agree": not wrong,
        }
        if wrong:
            row["wrong"] = wrong
        results[file] = row
        say(
            f"  {file:<28} {want:>8} persons  trialnode {row['trialnode_s']:.3f}s  "
            f"hand-written {row['handwritten_s']:.3f}s ({row['ratio_to_handwritten']}x)  "
            f"duckcdm {row['duckcdm_s']:.3f}s ({row['duckcdm_ratio']}x slower)"
            + ("" if not wrong else f"  WRONG: {wrong}")
        )
    connection.close()
    return {"persons": persons, "cohorts": results}


NODE_SETUP = """
import json, os
from django.core.management import call_command
call_command("migrate", verbosity=0)
from trialnode.organisations.services import reference_data_load
from trialnode.organisations.models import Region
from trialnode.counts.models import DataSource, TrustedHub
reference_data_load()
location, hub_key = json.loads(os.environ["NODE_SETUP"])
for region in Region.objects.all():
    DataSource.objects.create(slug=region.slug, name=region.name, region=region,
        engine="duckdb", location=location)
TrustedHub.objects.create(name="bench", public_key=open(hub_key).read())
"""


def _free_ports(count: int) -> list[int]:
    ports = []
    for port in range(18340, 18399):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("not enough free ports in 18340–18398")


def fanout_benchmark(gibleed: Path, nodes: int, runs: int) -> dict:
    """21 trialnode processes, one per region, each answering for its region's data."""
    work = Path(tempfile.mkdtemp(prefix="counts-fanout-"))
    os.environ.update(
        {
            "TRIALNODE_DATA_DIR": str(work / "hub"),
            "DATABASE_URL": f"sqlite:///{work / 'hub' / 'hub.sqlite3'}",
            "SECRET_KEY": "benchmark-hub",
            "DJANGO_SETTINGS_MODULE": "trialnode.settings",
            "TRIALNODE_COUNTS_DAILY_LIMIT": "100000",
        }
    )
    (work / "hub").mkdir()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from trialnode.audit.context import acting_as
    from trialnode.counts import signing
    from trialnode.counts.federation import count_request_create
    from trialnode.counts.models import Peer
    from trialnode.counts.selectors import request_summary
    from trialnode.organisations.models import Region, Role, RoleAssignment, User
    from trialnode.organisations.services import reference_data_load

    reference_data_load()
    hub_key = work / "hub.pem"
    hub_key.write_text(signing.public_pem(signing.private_key("hub")))
    template = work / "template"
    template.mkdir()
    env = {
        **os.environ,
        "TRIALNODE_DATA_DIR": str(template),
        "DATABASE_URL": f"sqlite:///{template / 'node.sqlite3'}",
        "SECRET_KEY": "benchmark-node",
        "NODE_SETUP": json.dumps([str(gibleed), str(hub_key)]),
    }
    subprocess.run(
        [sys.executable, "-m", "trialnode", "manage", "shell", "-c", NODE_SETUP],
        env=env,
        check=True,
        capture_output=True,
    )
    regions = list(Region.objects.order_by("code")[:nodes])
    ports = _free_ports(len(regions))
    processes = []
    try:
        for region, port in zip(regions, ports, strict=True):
            folder = work / region.slug
            shutil.copytree(template, folder)
            node_env = {
                **env,
                "TRIALNODE_DATA_DIR": str(folder),
                "DATABASE_URL": f"sqlite:///{folder / 'node.sqlite3'}",
            }
            # Each node has its own key (made on first use in its own data directory).
            keys = json.loads(
                subprocess.run(
                    [sys.executable, "-m", "trialnode", "manage", "counts_setup", "keys"],
                    env=node_env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "trialnode",
                        "serve",
                        "--no-worker",
                        "--port",
                        str(port),
                    ],
                    env=node_env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            Peer.objects.create(
                slug=region.slug,
                name=region.name,
                region=region,
                url=f"http://127.0.0.1:{port}/api/v1/counts/node/{region.slug}",
                public_key=keys[f"source:{region.slug}"],
                timeout_seconds=60,
            )
        deadline = time.monotonic() + 120
        for port in ports:
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node on {port} did not start")
                time.sleep(0.2)
        user = User.objects.create_user(username="bench", email="bench@example.se")
        RoleAssignment.objects.create(
            user=user, role=Role.COORDINATOR, region=Region.objects.get(slug="uppsala")
        )
        definition = json.loads(
            (gibleed.parent / "cohorts" / "cg_celecoxibAge40Male.json").read_text()
        )
        latencies, single = [], []
        with acting_as(actor=user, via="bench"):
            one = Peer.objects.filter(pk=Peer.objects.first().pk)
            count_request_create(by=user, title="warm", definition=definition)
            for index in range(runs):
                started = time.perf_counter()
                request = count_request_create(by=user, title=f"run {index}", definition=definition)
                latencies.append(time.perf_counter() - started)
                summary = request_summary(request)
                assert summary.complete, [r.state for r in summary.rows]
                started = time.perf_counter()
                count_request_create(
                    by=user, title=f"one {index}", definition=definition, peers=one
                )
                single.append(time.perf_counter() - started)
        total = (summary.low, summary.high)
    finally:
        for process in processes:
            process.terminate()
        stop_by = time.monotonic() + 60
        for process in processes:
            try:
                process.wait(timeout=max(1.0, stop_by - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
    p50, p95 = percentiles(latencies)
    one50, _one95 = percentiles(single)
    say(
        f"  {len(regions)} nodes: p50 {p50:.0f} ms, p95 {p95:.0f} ms (one node {one50:.0f} ms); "
        f"total released {total[0]}–{total[1]} for {266 * len(regions)} true"
    )
    return {
        "nodes": len(regions),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "one_node_p50_ms": round(one50, 1),
        "total_interval": list(total),
        "true_total": 266 * len(regions),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=372, help="replicas of GiBleed (2,694 each)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=21, help="0 leaves out the fan-out")
    parser.add_argument("--work", default="/tmp/counts-bench")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from trialnode.env import sample_data_dir

    sample = sample_data_dir()
    if sample is None or not (sample / "omop" / "gibleed_cdm53").is_dir():
        print("The OMOP sample data is missing (TRIALNODE_SAMPLE_DATA).", file=sys.stderr)
        return 2
    gibleed = sample / "omop" / "gibleed_cdm53"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    database = work / f"gibleed_x{args.copies}.duckdb"
    say(f"Replicating GiBleed {args.copies} times with offset ids into {database} …")
    built = build_database(gibleed, database, args.copies)
    say(f"  built in {built:.0f} s" if built else "  reused")
    say("Cohort counts on DuckDB (median of runs):")
    engines = engines_benchmark(database, sample / "omop" / "cohorts", args.copies, args.runs)
    fanout = None
    if args.nodes:
        say(f"Federated count across {args.nodes} nodes on loopback:")
        fanout = fanout_benchmark(gibleed, args.nodes, args.runs)
    rows = engines["cohorts"].values()
    summary = {
        "benchmark": "counts",
        "persons": engines["persons"],
        "cohorts": engines["cohorts"],
        "all_under_1s": all(r["trialnode_s"] < 1 for r in rows),
        "max_ratio_to_handwritten": max(r["ratio_to_handwritten"] for r in rows),
        "min_duckcdm_ratio": min(r["duckcdm_ratio"] for r in rows),
        "counts_agree": all(r["counts_agree"] for r in rows),
        "fanout": fanout,
    }
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["counts_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
