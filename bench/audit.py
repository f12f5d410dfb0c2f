"""The cost of the audit trail on PostgreSQL (kept for its name: runs ``audit_overhead``).

python bench/audit.py [--updates 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_overhead import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=100, help="interleaved rounds of each")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    arguments = parser.parse_args()
    figures = run(arguments.updates, arguments.rounds)
    if arguments.json:
        print(json.dumps(figures))
