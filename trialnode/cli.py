"""The ``trialnode`` command: demo, serve, import, manage."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path


def _prepare_environment() -> None:
    """Settings module, data directory, a persistent secret key and compiled translations."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialnode.settings")
    from trialnode.env import data_dir, env_str

    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    key_file = directory / "secret_key"
    if not env_str("SECRET_KEY") and not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    from trialnode.i18n import compile_messages

    compile_messages()
    import django

    django.setup()


def _reset_database() -> None:
    """Empty the configured database so the demo starts fresh."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database['NAME']}{suffix}").unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
    else:
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)


def default_workers() -> int:
    """One web worker process per core the server may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _serve(
    host: str,
    port: int,
    *,
    worker: bool = True,
    workers: int | None = None,
    threads: int = 4,
) -> int:
    """Serve the web application with gunicorn (``workers`` processes of ``threads``
    threads), with a job worker beside it unless told otherwise.

    SIGTERM or SIGINT stops the server, its worker processes and the job worker with
    everything it started (it runs in its own process group).
    """
    import signal
    import subprocess

    from django.conf import settings
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from trialnode.wsgi import application

    if host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS.append(host)
    jobs: list[subprocess.Popen] = []

    def start_jobs(server) -> None:
        if worker:
            jobs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "trialnode", "worker"], start_new_session=True
                )
            )
        print(f"trialnode serves on http://{host}:{port}/ (Ctrl+C stops)", flush=True)

    def stop_jobs(server) -> None:
        for process in jobs:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    options = {
        "bind": f"{host}:{port}",
        "workers": workers or default_workers(),
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": True,
        "proc_name": "trialnode",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "graceful_timeout": 10,
        "when_ready": start_jobs,
        "on_exit": stop_jobs,
    }

    class Server(BaseApplication):
        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self):
            return application

    # Each worker opens its own database connections after the fork.
    connections.close_all()
    Server().run()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background jobs (imports, reports) as they are queued."""
    _prepare_environment()
    from django.core.management import call_command

    from trialnode.audit.tasks import checkpoint_schedule
    from trialnode.jobs.schedule import daily_schedule

    checkpoint_schedule()
    daily_schedule()
    call_command("db_worker", interval=args.interval, verbosity=0)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    # Demo users log in without an authenticator app unless asked otherwise.
    os.environ.setdefault("TRIALNODE_REQUIRE_SECOND_FACTOR", "false")
    _prepare_environment()
    from django.conf import settings

    from trialnode.audit.context import acting_as
    from trialnode.demo import DEMO_PASSWORD, load_demo

    print(f"Database: {settings.DATABASES['default']['NAME']} (reset for the demo)", flush=True)
    _reset_database()
    with acting_as(via="command:demo"):
        summary = load_demo()
    if summary.sample_folder is None:
        print(f"No sample data found: {summary.synthetic_studies} generated studies instead.")
    else:
        print(
            f"ClinicalTrials.gov: {summary.registry_studies} real studies with Swedish sites "
            f"from {summary.sample_folder} ({summary.rejected} rejected). "
            "Source: ClinicalTrials.gov, U.S. National Library of Medicine."
        )
        if summary.ctis_trials:
            print(
                f"EU CTIS: {summary.ctis_trials} real trials in Sweden. "
                "Source: European Medicines Agency, reuse with acknowledgement."
            )
        print(f"Generated local registrations for the statistics: {summary.synthetic_studies}.")
    print(f"Locally registered studies in every workflow state: {summary.local_studies}")
    if not settings.REQUIRE_SECOND_FACTOR:
        print(
            "The second factor is not required in this demo "
            "(TRIALNODE_REQUIRE_SECOND_FACTOR=true turns it on)."
        )
    print(f"\nDemo users (password for all: {DEMO_PASSWORD})")
    for user in summary.users:
        role = user.role.label if user.role else "superuser"
        print(f"  {user.username:<20} {role:<22} {user.scope}")
    if args.no_serve:
        return 0
    return _serve(args.host, args.port, worker=not args.no_worker)


def cmd_serve(args: argparse.Namespace) -> int:
    _prepare_environment()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return _serve(
        args.host,
        args.port,
        worker=not args.no_worker,
        workers=args.workers,
        threads=args.threads,
    )


def cmd_manage(args: argparse.Namespace) -> int:
    _prepare_environment()
    from django.core.management import execute_from_command_line

    from trialnode.audit.context import acting_as

    with acting_as(via=f"command:manage {args.rest[0] if args.rest else ''}".strip()):
        execute_from_command_line(["trialnode manage", *args.rest])
    return 0


class ProgressBar:
    """One line on a terminal: a bar for the share of input read, and the counts so far."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.shown = False

    def __call__(self, summary, fraction: float) -> None:
        filled = round(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {fraction:4.0%}  {summary.seen} read: {summary.created} new, "
            f"{summary.updated} updated, {summary.unchanged} unchanged, "
            f"{summary.outside_sweden} outside Sweden, {len(summary.rejected)} rejected"
        )
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _report_import(heading: str, summary) -> int:
    """Print the counts and every rejected record; exit 1 when some were rejected.

    Records without a site in Sweden are skipped, not rejected: a node's registry holds
    the studies conducted in Sweden.
    """
    print(
        f"{heading}: {summary.created} new, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.outside_sweden} outside Sweden (skipped), "
        f"{len(summary.rejected)} rejected"
    )
    if summary.unplaced_sites:
        print(
            f"  {summary.unplaced_sites} sites in Sweden could not be placed in a region; "
            "they are kept and listed for the coordinators at /koppling/platser/"
        )
    for identifier, reason in summary.rejected:
        print(f"  rejected {identifier}: {reason}")
    return 1 if summary.rejected else 0


def cmd_import(args: argparse.Namespace) -> int:
    _prepare_environment()
    from trialnode.audit.context import acting_as
    from trialnode.interop.ctis import CsvTemplateError
    from trialnode.interop.files import import_ctgov_paths, import_ctis_paths
    from trialnode.interop.upsert import ReferenceDataMissing

    importer = {"ctgov": import_ctgov_paths, "ctis": import_ctis_paths}[args.source]
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        with acting_as(via=f"command:import {args.source}"):
            summary = importer([Path(p) for p in args.paths], progress=progress)
    except (CsvTemplateError, ReferenceDataMissing) as exc:
        print(f"Nothing imported: {exc}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.close()
    return _report_import("Imported", summary)


def cmd_report(args: argparse.Namespace) -> int:
    """The yearly report as PDF, with the HTML beside it."""
    _prepare_environment()
    from trialnode.organisations.models import Node
    from trialnode.statistics.report import write_report

    node = None
    if args.node:
        node = Node.objects.filter(slug=args.node).first()
        if node is None:
            known = ", ".join(Node.objects.values_list("slug", flat=True))
            print(f"Unknown node {args.node!r}. Known nodes: {known}", file=sys.stderr)
            return 2
    from django.utils import timezone

    if args.year > timezone.localdate().year:
        print(f"{args.year} has not begun: no report for it.", file=sys.stderr)
        return 2
    out = Path(args.out)
    html = write_report(args.year, node, out, language=args.language)
    print(f"Wrote {out} and {html}")
    return 0


def cmd_national(args: argparse.Namespace) -> int:
    """National numbers over several trialnode instances, each study counted once."""
    import json

    from trialnode.statistics.national import InstanceError, national_numbers

    params = {"measure": args.measure}
    if args.year:
        params["year"] = str(args.year)
    if args.date:
        params["date"] = args.date
    try:
        result = national_numbers(args.instances, params, by=args.by or "")
    except InstanceError as exc:
        print(f"Could not read an instance: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _prepare_environment()
    import time

    from trialnode.audit.checkpoints import CheckpointError, all_checkpoints, checkpoint_dir
    from trialnode.audit.trail import verify

    started = time.perf_counter()
    try:
        checkpoints = all_checkpoints()
    except CheckpointError as exc:
        print(f"Audit checkpoint refused: {exc}", file=sys.stderr)
        return 2
    result = verify(checkpoints=checkpoints)
    seconds = time.perf_counter() - started
    if not result.intact:
        print(f"Audit chain broken at event {result.broken_seq}: {result.problem}", file=sys.stderr)
        return 2
    print(f"Audit chain intact: {result.events} events verified in {seconds:.2f}s.")
    if checkpoints:
        latest = checkpoints[-1]
        print(
            f"It agrees with every signed checkpoint in {checkpoint_dir()} "
            f"({len(checkpoints)}; the latest: {latest.events} events at {latest.created_at})."
        )
    else:
        print(f"No signed checkpoint in {checkpoint_dir()} to compare with.")
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    _prepare_environment()
    from trialnode.audit.checkpoints import checkpoint_write

    checkpoint = checkpoint_write()
    print(f"Checkpoint of {checkpoint.events} events written to {checkpoint.path}.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _prepare_environment()
    from trialnode.core.database_roles import migrate_as_owner

    granted = migrate_as_owner(verbosity=1)
    if granted:
        print(f"Migrated as the tables' owner; the role {granted} may read and write rows.")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    _prepare_environment()
    import datetime as dt

    from trialnode.audit.context import acting_as
    from trialnode.interop.sync import SyncError, ctgov_sync

    since = dt.date.fromisoformat(args.since) if args.since else None
    try:
        with acting_as(via="command:sync ctgov"):
            result = ctgov_sync(since=since, api_url=args.api_url)
    except SyncError as exc:
        print(f"Sync failed: {exc}", file=sys.stderr)
        return 1
    summary = result.imported
    return _report_import(f"{result.pages} pages since {result.since or 'the beginning'}", summary)


def cmd_backup(args: argparse.Namespace) -> int:
    _prepare_environment()
    from trialnode.core.backup import BackupError, backup

    try:
        path = backup(Path(args.path))
    except BackupError as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"Backup written to {path} ({path.stat().st_size} bytes).")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _prepare_environment()
    from trialnode.audit.trail import verify
    from trialnode.core.backup import BackupError, restore

    try:
        restore(Path(args.path))
    except BackupError as exc:
        print(f"Restore failed, the database is unchanged: {exc}", file=sys.stderr)
        return 1
    result = verify()
    if not result.intact:
        print(
            f"Restored, but the audit chain is broken at event {result.broken_seq}: "
            f"{result.problem}",
            file=sys.stderr,
        )
        return 2
    print(f"Restored from {args.path}; audit chain intact ({result.events} events).")
    return 0


def cmd_counts_evaluate(args: argparse.Namespace) -> int:
    """Count a cohort definition on local OMOP data (see trialnode/counts/cli.py)."""
    from trialnode.counts.cli import evaluate_command

    return evaluate_command(args, _prepare_environment)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trialnode", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="fresh database with demo data, then serve")
    demo.add_argument("--no-serve", action="store_true", help="stop after loading")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-worker", action="store_true", help="run jobs elsewhere")
    demo.set_defaults(func=cmd_demo)

    serve = commands.add_parser("serve", help="serve the current database")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="run jobs elsewhere")
    serve.add_argument(
        "--workers", type=int, default=None, help="web worker processes (default: one per core)"
    )
    serve.add_argument("--threads", type=int, default=4, help="threads per web worker")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run queued background jobs")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    worker.set_defaults(func=cmd_worker)

    manage = commands.add_parser("manage", help="Django's manage.py", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)

    importer = commands.add_parser("import", help="import registry records")
    sources = importer.add_subparsers(dest="source", required=True)
    ctgov = sources.add_parser("ctgov", help="ClinicalTrials.gov API v2 JSON, NDJSON or zip")
    ctgov.add_argument("paths", nargs="+")
    ctgov.set_defaults(func=cmd_import)
    ctis = sources.add_parser("ctis", help="EU CTIS trials: JSON (either structure) or CSV")
    ctis.add_argument("paths", nargs="+")
    ctis.set_defaults(func=cmd_import)

    sync = commands.add_parser("sync", help="fetch changed registry records")
    sync_sources = sync.add_subparsers(dest="source", required=True)
    sync_ctgov = sync_sources.add_parser("ctgov", help="ClinicalTrials.gov studies in Sweden")
    sync_ctgov.add_argument("--since", help="YYYY-MM-DD (default: the last run, less a day)")
    sync_ctgov.add_argument("--api-url", help="the API's base URL (default from settings)")
    sync_ctgov.set_defaults(func=cmd_sync)

    report = commands.add_parser("report", help="the yearly report (PDF and HTML)")
    report.add_argument("--year", type=int, required=True)
    report.add_argument("--node", help="a node's slug (default: all of Sweden)")
    report.add_argument("--out", required=True, help="where to write the PDF")
    report.add_argument("--language", choices=["sv", "en"], default="sv")
    report.set_defaults(func=cmd_report)

    national = commands.add_parser(
        "national", help="national statistics over several instances, each study once"
    )
    national.add_argument("instances", nargs="+", help="base URLs of trialnode instances")
    national.add_argument("--measure", default="ongoing")
    national.add_argument("--year", type=int)
    national.add_argument("--date", help="YYYY-MM-DD")
    national.add_argument("--by", help="a dimension: study_type, phase, sponsor_type, regions…")
    national.set_defaults(func=cmd_national)

    backup = commands.add_parser("backup", help="full backup of the database")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="restore a full backup, then verify the trail")
    restore.add_argument("path")
    restore.set_defaults(func=cmd_restore)

    counts = commands.add_parser("counts", help="patient counts on OMOP data")
    counts_commands = counts.add_subparsers(dest="counts_command", required=True)
    evaluate = counts_commands.add_parser("evaluate", help="count a cohort definition")
    evaluate.add_argument("definition", help="OHDSI cohort definition (Circe JSON)")
    evaluate.add_argument("--omop", required=True, help="Parquet folder, DuckDB file or URL")
    evaluate.add_argument("--engine", choices=["duckdb", "postgres", "spark"], default="duckdb")
    evaluate.add_argument("--exact", action="store_true", help="true counts (audited)")
    evaluate.set_defaults(func=cmd_counts_evaluate)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the chain of every event against the signed checkpoints"
    )
    verify.set_defaults(func=cmd_audit_verify)
    checkpoint = audit_commands.add_parser(
        "checkpoint", help="sign the chain head and write it outside the database"
    )
    checkpoint.set_defaults(func=cmd_audit_checkpoint)

    migrate = commands.add_parser(
        "migrate", help="apply migrations (as DATABASE_MIGRATE_URL's owner role when set)"
    )
    migrate.set_defaults(func=cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
