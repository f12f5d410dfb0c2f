"""Sync with the ClinicalTrials.gov API, against a local server serving recorded real pages."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from tests.interop import in_sweden
from trialnode.interop.models import SyncState
from trialnode.interop.sync import SyncError, ctgov_sync
from trialnode.studies.models import Study


class RecordedApi:
    """Serves page-1 and page-2 as recorded, then a last empty page; fails on request."""

    def __init__(self, sample_data):
        folder = sample_data / "ctgov" / "api-pages"
        self.pages = [json.loads((folder / f"page-{n}.json").read_text()) for n in (1, 2)]
        # The API answers query.locn=Sweden with studies that have a site in Sweden.
        for page in self.pages:
            page["studies"] = [in_sweden(study) for study in page["studies"]]
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.requests: list[dict[str, list[str]]] = []

    def respond(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(query)
        if self.failures:
            status, headers = self.failures.pop(0)
            return status, headers, b"{}"
        token = query.get("pageToken", [None])[0]
        tokens = [None] + [page["nextPageToken"] for page in self.pages]
        index = tokens.index(token) if token in tokens else len(self.pages)
        body = self.pages[index] if index < len(self.pages) else {"studies": []}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def api(sample_data):
    recorded = RecordedApi(sample_data)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = recorded.respond(parse_qs(urlparse(self.path).query))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    yield recorded
    server.shutdown()


def test_sync_follows_every_page_and_imports_the_studies(reference_data, api):
    result = ctgov_sync(api_url=api.url, sleep=lambda seconds: None)
    assert result.pages == 3
    assert result.imported.created == 3
    assert set(Study.objects.values_list("nct_id", flat=True)) == {
        "NCT05147467",
        "NCT00184067",
        "NCT03934567",
    }
    assert api.requests[0]["query.locn"] == ["Sweden"]
    assert api.requests[1]["pageToken"] == [api.pages[0]["nextPageToken"]]


def test_the_next_run_asks_only_for_changes_since_the_last(reference_data, api):
    ctgov_sync(api_url=api.url, sleep=lambda seconds: None)
    last = SyncState.objects.get(name="ctgov").last_synced_at
    result = ctgov_sync(api_url=api.url, sleep=lambda seconds: None)
    since = (last - dt.timedelta(days=1)).date().isoformat()
    assert api.requests[-1]["filter.advanced"] == [f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"]
    assert result.imported.unchanged == 3 and result.imported.created == 0


def test_rate_limits_and_server_errors_are_retried_with_back_off(reference_data, api):
    api.failures = [(429, {"Retry-After": "2"}), (503, {})]
    waits: list[float] = []
    result = ctgov_sync(api_url=api.url, sleep=waits.append)
    assert waits == [2.0, 2.0]  # Retry-After, then the back-off of the second attempt
    assert result.imported.created == 3


def test_a_server_that_keeps_failing_stops_the_sync_and_keeps_the_last_run(reference_data, api):
    api.failures = [(503, {})] * 5
    with pytest.raises(SyncError, match="gave up after 5 attempts"):
        ctgov_sync(api_url=api.url, sleep=lambda seconds: None)
    assert not SyncState.objects.filter(last_synced_at__isnull=False).exists()


def test_a_client_error_is_not_retried(reference_data, api):
    api.failures = [(400, {})]
    with pytest.raises(SyncError, match="HTTP 400"):
        ctgov_sync(api_url=api.url, sleep=lambda seconds: None)
    assert len(api.requests) == 1
