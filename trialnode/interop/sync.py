"""Keeping up with ClinicalTrials.gov: studies with a location in Sweden, changed since the
last run, fetched page by page from the API v2, with retries and back-off.

Run it daily (cron or a systemd timer): ``trialnode sync ctgov``.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from django.conf import settings
from django.utils import timezone

from trialnode.interop.ctgov import ImportSummary, import_records
from trialnode.interop.linking import merge_registry_duplicates, suggest_links_for_registry
from trialnode.interop.models import SyncState

RETRY_STATUSES = {429, 500, 502, 503, 504}
OVERLAP = dt.timedelta(days=1)


class SyncError(RuntimeError):
    pass


def fetch_json(
    url: str,
    *,
    attempts: int = 5,
    backoff_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """GET a JSON document, retrying rate limits, server errors and broken connections."""
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "trialnode-sync"}
    )
    last_error = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRY_STATUSES:
                raise SyncError(f"{url}: HTTP {exc.code}") from exc
            last_error = f"HTTP {exc.code}"
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            wait = (
                float(retry_after)
                if retry_after and retry_after.isdigit()
                else (backoff_seconds * 2**attempt)
            )
        except (urllib.error.URLError, TimeoutError, orjson.JSONDecodeError) as exc:
            last_error = str(exc)
            wait = backoff_seconds * 2**attempt
        if attempt + 1 < attempts:
            sleep(wait)
    raise SyncError(f"{url}: gave up after {attempts} attempts ({last_error})")


@dataclass
class SyncSummary:
    pages: int
    imported: ImportSummary
    since: dt.date | None


def ctgov_sync(
    *,
    api_url: str | None = None,
    since: dt.date | None = None,
    page_size: int = 100,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncSummary:
    """Import every Swedish study changed since ``since`` (default: the last run, less a day)."""
    state, _created = SyncState.objects.get_or_create(name="ctgov")
    if since is None and state.last_synced_at is not None:
        since = (state.last_synced_at - OVERLAP).date()
    started = timezone.now()
    params: dict[str, Any] = {"query.locn": "Sweden", "pageSize": page_size}
    if since is not None:
        params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
    base = (api_url or settings.TRIALNODE_CTGOV_API_URL).rstrip("/")
    total = ImportSummary()
    pages = 0
    token = None
    while True:
        query = {**params, **({"pageToken": token} if token else {})}
        page = fetch_json(f"{base}/studies?{urlencode(query)}", sleep=sleep)
        total.add(import_records(page.get("studies") or []))
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    if total.created or total.updated:
        merge_registry_duplicates(total.written)
        suggest_links_for_registry(total.written)
    state.last_synced_at = started
    state.last_result = (
        f"{pages} pages: {total.created} new, {total.updated} updated, "
        f"{total.unchanged} unchanged, {total.outside_sweden} outside Sweden, "
        f"{len(total.rejected)} rejected"
    )
    state.save()
    return SyncSummary(pages=pages, imported=total, since=since)
