"""Writes with a rule for organisations and reference data."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from trialnode.organisations.models import (
    ApiToken,
    CareProvider,
    HealthcareRegion,
    Locality,
    Node,
    Region,
    User,
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


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the record and the secret (shown only now)."""
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=api_token_hash(secret))
    return token, secret


def api_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_user(secret: str) -> User | None:
    """The active user a token belongs to, or None for an unknown, revoked or disabled one."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=api_token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
