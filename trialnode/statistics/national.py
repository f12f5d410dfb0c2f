"""National numbers from several trialnode instances, each study counted once.

Every instance publishes the studies behind a number with their identifiers
(``/api/v1/statistics/studies``). Studies that share an NCT, EU CT, EudraCT or EPM
number are one study, whichever instances list them; a study without any of these
identifiers is only known to its own instance and counts once there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import orjson

SHARED_IDENTIFIERS = ("nct_id", "eu_ct_number", "eudract_number", "epm_dnr")
MULTI_VALUED = ("regions", "condition_areas")


class InstanceError(RuntimeError):
    """An instance could not be read; the national numbers would be incomplete."""


@dataclass
class NationalStudy:
    identifiers: set[tuple[str, str]] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)


def fetch_json(url: str, timeout: float = 60) -> dict:
    request = Request(url, headers={"Accept": "application/json"})
    try:
        with urlopen(request, timeout=timeout) as response:
            return orjson.loads(response.read())
    except (OSError, ValueError) as exc:
        raise InstanceError(f"{url}: {exc}") from exc


def merge(listings: Iterable[tuple[str, list[dict]]]) -> list[NationalStudy]:
    """One entry per study: listings joined wherever they share an identifier."""
    studies: list[NationalStudy] = []
    owner: dict[tuple[str, str], int] = {}
    parent: list[int] = []

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for instance, rows in listings:
        for row in rows:
            keys = {(name, row[name]) for name in SHARED_IDENTIFIERS if row.get(name)}
            if not keys:
                keys = {("reference", f"{instance}#{row['reference']}")}
            index = len(studies)
            parent.append(index)
            entry = NationalStudy(identifiers=set(keys), instances={instance})
            for name in ("study_type", "phase", "sponsor_type"):
                entry.values[name] = {row.get(name) or ""}
            for name in MULTI_VALUED:
                entry.values[name] = set(row.get(name) or [])
            studies.append(entry)
            for key in keys:
                if key in owner:
                    parent[root(index)] = root(owner[key])
                else:
                    owner[key] = index
    groups: dict[int, NationalStudy] = {}
    for index, entry in enumerate(studies):
        group = groups.setdefault(root(index), NationalStudy())
        group.identifiers |= entry.identifiers
        group.instances |= entry.instances
        for name, values in entry.values.items():
            group.values.setdefault(name, set()).update(values)
    return list(groups.values())


def national_numbers(
    instances: list[str],
    params: dict[str, str],
    *,
    by: str = "",
    fetch: Callable[[str], dict] = fetch_json,
) -> dict[str, object]:
    """The national count (and breakdown) over the instances' listings."""
    listings = []
    listed = 0
    for base in instances:
        url = f"{base.rstrip('/')}/api/v1/statistics/studies?{urlencode(params, doseq=True)}"
        rows = fetch(url)["studies"]
        listed += len(rows)
        listings.append((base, rows))
    studies = merge(listings)
    result: dict[str, object] = {
        "instances": instances,
        "listed": listed,
        "count": len(studies),
        "in_several_instances": sum(1 for study in studies if len(study.instances) > 1),
    }
    if by:
        counts: dict[str, int] = {}
        for study in studies:
            values = study.values.get(by) or {""}
            for value in values:
                counts[value] = counts.get(value, 0) + 1
        result["rows"] = [
            {"key": key, "value": value}
            for key, value in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]
    return result
