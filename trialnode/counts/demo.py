"""Demo data for patient counts: three regions' OMOP data and an example count.

Region Uppsala holds the GiBleed OMOP set as it is (read from the sample data folder),
Region Örebro län and Region Västmanland hold replicas of it with offset ids, written
to the data directory (never to the repository). The demo instance is the hub and the
three nodes at once; Västmanland's answers need its officer's approval (the demo user
"caseofficer"). Without the sample data nothing is set up and the count pages say that
counts need OMOP data.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from trialnode.counts import signing
from trialnode.counts.federation import NODE_STATES
from trialnode.counts.models import (
    CountRequest,
    DataSource,
    Peer,
    RegionResult,
    TrustedHub,
)
from trialnode.counts.services import node_query_receive
from trialnode.organisations.models import Region, User

REGIONS = [
    # slug, name, replica number (0: the data set itself), officer approval
    ("uppsala", "Region Uppsala", 0, False),
    ("orebro", "Region Örebro län", 1, False),
    ("vastmanland", "Region Västmanland", 2, True),
]
EXAMPLE = "cg_celecoxibAge40Male.json"


def load_counts_demo(sample_folder: Path | None) -> str:
    """Set up the three regions and one example count; returns a line for the console."""
    from trialnode.counts.loading import id_offset, replicate

    gibleed = sample_folder / "omop" / "gibleed_cdm53" if sample_folder else None
    if gibleed is None or not (gibleed / "person.parquet").is_file():
        return "Patient counts: no OMOP sample data found, so counts need OMOP data to be set up."
    offset = id_offset(gibleed)
    hub_key = signing.public_pem(signing.private_key("hub"))
    with transaction.atomic():
        hub = TrustedHub.objects.create(name=settings.TRIALNODE_COUNTS_HUB_NAME, public_key=hub_key)
        peers = []
        for slug, name, copy, approval in REGIONS:
            location = gibleed
            if copy:
                location = Path(settings.DATA_DIR) / "counts" / "omop" / slug
                if not (location / "person.parquet").is_file():
                    replicate(gibleed, location, first=copy, offset=offset)
            region = Region.objects.get(slug=slug)
            DataSource.objects.create(
                slug=slug,
                name=f"{name} (OMOP)",
                region=region,
                engine="duckdb",
                location=str(location),
                requires_approval=approval,
            )
            peers.append(
                Peer.objects.create(
                    slug=slug,
                    name=f"{name} (nod)",
                    region=region,
                    url=f"/api/v1/counts/node/{slug}",
                    public_key=signing.public_pem(signing.private_key(f"source-{slug}")),
                    timeout_seconds=30,
                )
            )
    _example_count(sample_folder, hub, peers)
    return (
        "Patient counts: GiBleed OMOP data in Region Uppsala and replicas with offset ids in "
        "Region Örebro län and Region Västmanland (answers there need the case officer's "
        "approval). Source: OHDSI Eunomia GiBleed, Apache-2.0."
    )


def _example_count(sample_folder: Path | None, hub: TrustedHub, peers: list[Peer]) -> None:
    """The coordinator's example count, answered in-process as the nodes would over HTTP
    (the server is not running yet while the demo loads)."""
    assert sample_folder is not None
    path = sample_folder / "omop" / "cohorts" / EXAMPLE
    if not path.is_file():
        return
    coordinator = User.objects.filter(username="coordinator").first()
    if coordinator is None:
        return
    request = CountRequest.objects.create(
        title="Celekoxib, män över 40 år (OHDSI-exempel)",
        definition=json.loads(path.read_text()),
        created_by=coordinator,
    )
    for peer in peers:
        source = DataSource.objects.get(slug=peer.slug)
        query = node_query_receive(
            source=source,
            hub=hub,
            request_id=str(request.request_id),
            requester=f"{coordinator.username}@{hub.name}",
            title=request.title,
            definition=request.definition,
        )
        RegionResult.objects.create(
            request=request,
            peer=peer,
            state=NODE_STATES[query.state],
            released=query.released,
            data_version=query.data_version,
        )
