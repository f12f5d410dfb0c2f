"""Registry interoperability tests, and helpers that shape real records for them."""

from __future__ import annotations

import copy
from typing import Any

UPPSALA = {
    "facility": "Akademiska sjukhuset",
    "city": "Uppsala",
    "country": "Sweden",
    "status": "RECRUITING",
}


def in_sweden(record: dict[str, Any], location: dict[str, Any] = UPPSALA) -> dict[str, Any]:
    """A copy of a real ClinicalTrials.gov record with a site in Sweden added, as the API
    returns it for ``query.locn=Sweden`` (the recorded API pages are of other countries)."""
    record = copy.deepcopy(record)
    module = record["protocolSection"].setdefault("contactsLocationsModule", {})
    module.setdefault("locations", []).append(dict(location))
    return record


def ctis_in_sweden(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a real CTIS trial with Sweden among its member states concerned (none of
    the sample trials runs in Sweden)."""
    record = copy.deepcopy(record)
    holder = record.get("authorizedApplication") or record
    states = holder.setdefault("memberStatesConcerned", [])
    states.append({"countryName": "Sweden", "mscName": "Sweden"})
    return record


def minimal_ctgov_record(nct_id: str, title: str, *secondary_ids: str) -> dict[str, Any]:
    """The least a ClinicalTrials.gov record in Sweden needs (recruiting, interventional),
    naming other registries' numbers among its secondary identifiers."""
    return in_sweden(
        {
            "protocolSection": {
                "identificationModule": {
                    "nctId": nct_id,
                    "briefTitle": title,
                    "secondaryIdInfos": [{"id": number} for number in secondary_ids],
                },
                "statusModule": {"overallStatus": "RECRUITING"},
                "designModule": {"studyType": "INTERVENTIONAL"},
            }
        }
    )
