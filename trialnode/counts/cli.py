"""``trialnode counts evaluate DEFINITION.json --omop PATH [--engine …] [--exact]``.

Prints ``{"persons": N, "attrition": [...]}`` on stdout: without ``--exact`` the
released (protected) values, with it the true ones, for the data holder on their own
machine. Either way the query is audited.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path


def _migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0)


def evaluate_command(args: argparse.Namespace, prepare: Callable[[], None]) -> int:
    path = Path(args.definition)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"Cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    prepare()
    from trialnode.audit.context import acting_as
    from trialnode.counts.definition import DefinitionError, load_definition
    from trialnode.counts.engines import EngineError
    from trialnode.counts.services import cli_evaluate

    try:
        definition = load_definition(raw)
    except DefinitionError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    _migrate_if_needed()
    location = args.omop
    if args.engine != "postgres":
        location = str(Path(location).expanduser().resolve())
    via = f"command:counts evaluate ({getpass.getuser()})"
    try:
        with acting_as(via=via):
            result = cli_evaluate(
                engine_kind=args.engine,
                location=location,
                definition=definition,
                exact=args.exact,
            )
    except DefinitionError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(str(exc), file=sys.stderr)
        return 3
    print(json.dumps(result, ensure_ascii=False))
    return 0
