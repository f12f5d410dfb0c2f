"""The fast paths of a ClinicalTrials.gov import give the slow paths' result.

- A site is placed as it would be without the places found before it.
- The look at a raw record that skips records outside Sweden without parsing them
  answers as the plain byte searches it replaces.
"""

from __future__ import annotations

import re

import orjson

from trialnode.interop.ctgov import outside_sweden_key
from trialnode.interop.upsert import SiteMatcher
from trialnode.studies.validators import NCT_RE


def _plain_outside_sweden_key(raw: bytes) -> str | None:
    """The raw look as plain byte searches (``bytes.find``), for comparison."""
    if not raw.startswith(b"{") or not raw.endswith((b"}", b"}\n", b"}\r\n")):
        return None
    if b"Sweden" in raw or b"\\u" in raw:
        return None
    start = raw.find(b'"nctId"')
    if start < 0 or raw.find(b'"nctId"', start + 7) >= 0:
        return None
    found = re.compile(rb'"nctId"\s*:\s*"([^"\\]{1,40})"').match(raw, start)
    key = found.group(1).decode("ascii", "replace") if found else ""
    return key if NCT_RE.match(key) else None


def test_the_raw_look_at_a_record_answers_as_plain_byte_searches(sample_data):
    sample = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    elsewhere = [
        orjson.loads(orjson.dumps(record).replace(b"Sweden", b"Norway")) for record in sample
    ]
    raws = [orjson.dumps(record) for record in sample + elsewhere]
    variants = [
        b'{"nctId": "NCT99000001", "x": "%s"}' % text
        for text in (
            b"",
            b"Sweden",
            b"Swede",
            b"\\\\u0041",
            b"\\u0065",
            b"ctId",
            b'\\"nctId\\"',
            b'", "nctId": "NCT99000002',
            b'", "productId": "1',
            b'", "nctIds": "1',
            b"\\\\",
        )
    ]
    variants.append(b'{"nctId":"NCT99000001","a":"nctId","b":{"nctId":1}}')
    for raw in raws + variants:
        for line in (raw, raw + b"\n", raw[:-3]):
            assert outside_sweden_key(line) == _plain_outside_sweden_key(line), line[:80]
    assert sum(outside_sweden_key(raw) is not None for raw in raws) > 0


def test_a_site_is_placed_as_without_the_places_found_before(reference_data, sample_data):
    sample = orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes())
    places = [
        (location.get("facility") or "", location.get("city") or "")
        for record in sample
        for location in record["protocolSection"]
        .get("contactsLocationsModule", {})
        .get("locations", [])
        if location.get("country") == "Sweden"
    ]
    matcher = SiteMatcher()
    first = [matcher.match(facility, city) for facility, city in places]
    again = [matcher.match(facility, city) for facility, city in places]
    fresh = SiteMatcher()
    assert len(places) > 10 and any(region for region, _provider in first)
    assert first == again == [fresh.search(facility, city) for facility, city in places]
