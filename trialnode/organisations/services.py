"""Writes with a rule for organisations and reference data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from trialnode.organisations.models import (
    CareProvider,
    HealthcareRegion,
    Locality,
    Node,
    Region,
    normalise_name,
)

REFERENCE_DATA = Path(__file__).resolve().parent / "data" / "reference.json"


@dataclass(frozen=True)
class ReferenceDataSummary:
    healthcare_regions: int
    regions: int
    nodes: int
    care_providers: int
    localities: int


@transaction.atomic
def reference_data_load(*, path: Path = REFERENCE_DATA) -> ReferenceDataSummary:
    """Create or update the reference data from its JSON file (idempotent)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    healthcare_regions = {}
    for row in data["healthcare_regions"]:
        healthcare_regions[row["slug"]], _ = HealthcareRegion.objects.update_or_create(
            slug=row["slug"], defaults={"name": row["name"]}
        )
    regions = {}
    for row in data["regions"]:
        regions[row["slug"]], _ = Region.objects.update_or_create(
            slug=row["slug"],
            defaults={
                "code": row["code"],
                "name": row["name"],
                "healthcare_region": healthcare_regions[row["healthcare_region"]],
            },
        )
    for row in data["nodes"]:
        node, _ = Node.objects.update_or_create(slug=row["slug"], defaults={"name": row["name"]})
        node.regions.set([regions[slug] for slug in row["regions"]])
    for row in data["care_providers"]:
        CareProvider.objects.update_or_create(
            slug=row["slug"],
            defaults={
                "name": row["name"],
                "kind": row["kind"],
                "region": regions[row["region"]],
                "city": row["city"],
                "aliases": "\n".join(row["aliases"]),
            },
        )
    locality_count = 0
    for region_slug, names in data["localities"].items():
        for name in names:
            Locality.objects.update_or_create(
                normalised_name=normalise_name(name),
                defaults={"name": name, "region": regions[region_slug]},
            )
            locality_count += 1
    return ReferenceDataSummary(
        healthcare_regions=len(healthcare_regions),
        regions=len(regions),
        nodes=len(data["nodes"]),
        care_providers=len(data["care_providers"]),
        localities=locality_count,
    )
