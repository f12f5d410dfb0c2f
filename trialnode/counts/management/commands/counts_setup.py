"""Configure federated counts: this instance's data sources, the hubs it trusts, the
region nodes it asks, and the public keys to exchange.

    trialnode manage counts_setup keys
    trialnode manage counts_setup source --slug uppsala --name "Region Uppsala" \\
        --region uppsala --engine duckdb --location /data/omop [--requires-approval]
    trialnode manage counts_setup trust-hub --name "Forum Mellansverige" --public-key-file hub.pem
    trialnode manage counts_setup peer --slug uppsala --name "Region Uppsala" --region uppsala \\
        --url https://node.example/api/v1/counts/node/uppsala --public-key-file node.pem
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trialnode.counts import signing
from trialnode.counts.models import DataSource, Engine, Peer, TrustedHub
from trialnode.organisations.models import Region


def _pem(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
        signing.load_public(text)
    except (OSError, signing.SignatureError) as exc:
        raise CommandError(f"{path}: not an Ed25519 public key in PEM ({exc})") from None
    return text.strip() + "\n"


def _region(slug: str) -> Region:
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        raise CommandError(f"Unknown region {slug!r} (load the reference data first).")
    return region


class Command(BaseCommand):
    help = "Configure federated counts (sources, trusted hubs, region nodes, keys)."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="what", required=True)
        commands.add_parser("keys", help="print this instance's public keys as JSON")
        source = commands.add_parser("source", help="add or change a data source")
        source.add_argument("--slug", required=True)
        source.add_argument("--name", required=True)
        source.add_argument("--region", required=True)
        source.add_argument("--engine", choices=list(Engine.values), default="duckdb")
        source.add_argument("--location", required=True)
        source.add_argument("--requires-approval", action="store_true")
        hub = commands.add_parser("trust-hub", help="answer a hub's signed requests")
        hub.add_argument("--name", required=True)
        hub.add_argument("--public-key-file", required=True)
        peer = commands.add_parser("peer", help="add or change a region node to ask")
        peer.add_argument("--slug", required=True)
        peer.add_argument("--name", required=True)
        peer.add_argument("--region", required=True)
        peer.add_argument("--url", required=True)
        peer.add_argument("--public-key-file", required=True)
        peer.add_argument("--timeout", type=int, default=20)

    def handle(self, *args, what: str, **options) -> None:
        if what == "source":
            source, _created = DataSource.objects.update_or_create(
                slug=options["slug"],
                defaults={
                    "name": options["name"],
                    "region": _region(options["region"]),
                    "engine": options["engine"],
                    "location": options["location"],
                    "requires_approval": options["requires_approval"],
                },
            )
            signing.private_key(f"source-{source.slug}")
        elif what == "trust-hub":
            TrustedHub.objects.update_or_create(
                name=options["name"], defaults={"public_key": _pem(options["public_key_file"])}
            )
        elif what == "peer":
            Peer.objects.update_or_create(
                slug=options["slug"],
                defaults={
                    "name": options["name"],
                    "region": _region(options["region"]),
                    "url": options["url"],
                    "public_key": _pem(options["public_key_file"]),
                    "timeout_seconds": options["timeout"],
                },
            )
        keys = {"hub": signing.public_pem(signing.private_key("hub"))}
        for source in DataSource.objects.all():
            keys[f"source:{source.slug}"] = signing.public_pem(
                signing.private_key(f"source-{source.slug}")
            )
        self.stdout.write(json.dumps(keys, indent=2))
