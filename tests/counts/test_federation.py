"""A hub and three region nodes on loopback ports, end to end.

The hub is this test process (its database, its signing key); each node is a separate
trialnode instance (``trialnode serve``) with its own database, keys and OMOP data:
GiBleed in Uppsala and two replicas with offset ids in Örebro and Västmanland, the
last one needing its officer's approval before it answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.counts.conftest import load_cohort
from trialnode.counts import signing
from trialnode.counts.federation import count_request_create, count_request_refresh
from trialnode.counts.models import NodeQuery, Peer, RegionResult
from trialnode.counts.selectors import request_summary
from trialnode.organisations.models import Region

NODES = [
    ("uppsala", "Region Uppsala", 0, False),
    ("orebro", "Region Örebro län", 1, False),
    ("vastmanland", "Region Västmanland", 2, True),
]
SETUP = """
import json, os
from django.core.management import call_command
call_command("migrate", verbosity=0)
from trialnode.organisations.services import reference_data_load
from trialnode.organisations.models import Region, Role, RoleAssignment, User
from trialnode.organisations.services import api_token_create
from trialnode.counts.models import DataSource, TrustedHub
from trialnode.counts import signing
reference_data_load()
slug, name, location, approval, hub_key = json.loads(os.environ["NODE_SETUP"])
region = Region.objects.get(slug=slug)
DataSource.objects.create(slug=slug, name=name, region=region, engine="duckdb",
    location=location, requires_approval=approval == "1")
TrustedHub.objects.create(name="Testhubb", public_key=open(hub_key).read())
officer = User.objects.create_user(username="officer", email="officer@example.se")
RoleAssignment.objects.create(user=officer, role=Role.CASE_OFFICER, region=region)
token = api_token_create(user=officer, name="test")[1]
print(json.dumps({"key": signing.public_pem(signing.private_key("source-" + slug)),
                  "token": token}))
"""


def _free_port() -> int:
    for port in range(18320, 18399):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18320–18398")


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"node on {port} stopped: {process.stderr.read()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"node on {port} did not start")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, gibleed):
    """Three running nodes: slug → (url of its count endpoint, public key, officer token)."""
    from trialnode.counts.loading import id_offset, replicate
    from trialnode.counts.signing import private_key, public_pem

    root = tmp_path_factory.mktemp("federation")
    hub_key_file = root / "hub.pem"
    hub_key_file.write_text(public_pem(private_key("hub")))
    offset = id_offset(gibleed)
    started = []
    for slug, name, copy, approval in NODES:
        folder = root / slug
        folder.mkdir()
        data = (
            gibleed if copy == 0 else replicate(gibleed, folder / "omop", first=copy, offset=offset)
        )
        env = {
            **os.environ,
            "TRIALNODE_DATA_DIR": str(folder),
            "DATABASE_URL": f"sqlite:///{folder / 'node.sqlite3'}",
            "SECRET_KEY": f"node-secret-{slug}",
            "TRIALNODE_REQUIRE_SECOND_FACTOR": "false",
            "NODE_SETUP": json.dumps(
                [slug, name, str(data), "1" if approval else "0", str(hub_key_file)]
            ),
        }
        setup = subprocess.Popen(
            [sys.executable, "-m", "trialnode", "manage", "shell", "-c", SETUP],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append((slug, env, setup))
    running = {}
    processes = []
    try:
        for slug, env, setup in started:
            out, err = setup.communicate(timeout=120)
            assert setup.returncode == 0, err[-3000:]
            info = json.loads(out.strip().splitlines()[-1])
            port = _free_port()
            server = subprocess.Popen(
                [sys.executable, "-m", "trialnode", "serve", "--no-worker", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            processes.append(server)
            _wait_for(port, server)
            url = f"http://127.0.0.1:{port}/api/v1/counts/node/{slug}"
            running[slug] = (url, info["key"], info["token"], port)
        yield running
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def peers(nodes, db, reference_data):
    made = []
    for slug, name, _copy, _approval in NODES:
        url, key, _token, _port = nodes[slug]
        made.append(
            Peer.objects.create(
                slug=slug,
                name=name,
                region=Region.objects.get(slug=slug),
                url=url,
                public_key=key,
                timeout_seconds=30,
            )
        )
    return made


def _decide(nodes, slug: str, approve: bool) -> dict:
    _url, _key, token, port = nodes[slug]
    listed = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/counts/queries",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(listed, timeout=30) as response:
        waiting = json.loads(response.read())
    assert waiting, "the node shows the officer the waiting count"
    decide = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/counts/queries/{waiting[0]['id']}/decide",
        data=json.dumps({"approve": approve, "reason": "" if approve else "Inte nu"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(decide, timeout=60) as response:
        return json.loads(response.read())


def test_a_federated_count_adds_up_protected_region_results(nodes, peers, users):
    request = count_request_create(
        by=users.coordinator,
        title="Celecoxib, män över 40",
        definition=load_cohort("cg_celecoxibAge40Male.json"),
    )
    states = {r.peer.slug: r.state for r in request.results.all()}
    assert states == {
        "uppsala": RegionResult.State.ANSWERED,
        "orebro": RegionResult.State.ANSWERED,
        "vastmanland": RegionResult.State.AWAITING_APPROVAL,
    }
    summary = request_summary(request)
    answered = [row for row in summary.rows if row.answered]
    # Each region released a protected value (266 exactly, rounded to 270 here), never
    # the exact count, and the replicas hold the same persons under other ids.
    for row in answered:
        assert row.persons != 266 and row.persons % 10 == 0
        assert row.low <= 266 <= row.high
        assert [a["person_count"] for a in row.attrition] != [569, 894]
    assert summary.missing == ["Region Västmanland"]
    assert (summary.low, summary.high) == (
        sum(r.low for r in answered),
        sum(r.high for r in answered),
    )
    _decide(nodes, "vastmanland", approve=True)
    request = count_request_refresh(request=request, by=users.coordinator)
    summary = request_summary(request)
    assert summary.complete and len(summary.rows) == 3
    assert summary.low <= 3 * 266 <= summary.high
    assert request.state == request.State.COMPLETE


def test_an_answer_with_a_bad_signature_is_ignored(nodes, peers, users):
    wrong = signing.public_pem(signing.private_key("not-the-node"))
    Peer.objects.filter(slug="orebro").update(public_key=wrong)
    request = count_request_create(
        by=users.coordinator,
        title="Celecoxib",
        definition=load_cohort("cg_celecoxib.json"),
        peers=Peer.objects.filter(slug__in=["uppsala", "orebro"]),
    )
    states = {r.peer.slug: (r.state, r.released) for r in request.results.all()}
    assert states["orebro"] == (RegionResult.State.BAD_SIGNATURE, {})
    assert states["uppsala"][0] == RegionResult.State.ANSWERED


def test_a_node_that_does_not_answer_in_time_is_marked_late(peers, users):
    release = threading.Event()

    class Silent(BaseHTTPRequestHandler):
        def do_POST(self):
            release.wait(10)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Silent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Peer.objects.filter(slug="orebro").update(
            url=f"http://127.0.0.1:{server.server_port}/api/v1/counts/node/orebro",
            timeout_seconds=1,
        )
        started = time.monotonic()
        request = count_request_create(
            by=users.coordinator,
            title="Celecoxib",
            definition=load_cohort("cg_celecoxib.json"),
            peers=Peer.objects.filter(slug__in=["uppsala", "orebro"]),
        )
        assert time.monotonic() - started < 25
        states = {r.peer.slug: r.state for r in request.results.all()}
        assert states == {"uppsala": "answered", "orebro": RegionResult.State.LATE}
    finally:
        release.set()
        server.shutdown()


def _signed_request(url: str, message: dict) -> tuple[int, bytes]:
    from urllib.parse import urlsplit

    body = signing.encode(message)
    key = signing.private_key("hub")
    request = urllib.request.Request(
        url + "/evaluate",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            signing.SIGNATURE_HEADER: signing.sign(
                key, "POST", urlsplit(url + "/evaluate").path, body
            ),
            signing.KEY_HEADER: signing.key_id(signing.public_pem(key)),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_replayed_or_tampered_request_is_refused(nodes):
    import datetime as dt
    import secrets

    url = nodes["uppsala"][0]
    message = {
        "kind": "evaluate",
        "hub": "Testhubb",
        "request_id": "replay-test",
        "nonce": secrets.token_hex(16),
        "issued_at": dt.datetime.now(dt.UTC).isoformat(),
        "definition": load_cohort("cg_celecoxib.json"),
        "title": "x",
        "requester": "a@hub",
    }
    status, _body = _signed_request(url, message)
    assert status == 200
    status, body = _signed_request(url, message)
    assert status == 409 and b"replayed" in body
    stale = {
        **message,
        "nonce": secrets.token_hex(16),
        "issued_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat(),
    }
    status, _body = _signed_request(url, stale)
    assert status == 409
    # A body changed after signing fails the signature.
    body = signing.encode({**message, "nonce": secrets.token_hex(16)})
    key = signing.private_key("hub")
    signature = signing.sign(key, "POST", "/elsewhere", body)
    request = urllib.request.Request(
        url + "/evaluate",
        data=body,
        method="POST",
        headers={
            signing.SIGNATURE_HEADER: signature,
            signing.KEY_HEADER: signing.key_id(signing.public_pem(key)),
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401


def test_nothing_about_the_node_queries_is_stored_on_the_hub(nodes, peers, users):
    count_request_create(
        by=users.coordinator,
        title="Celecoxib",
        definition=load_cohort("cg_celecoxib.json"),
        peers=Peer.objects.filter(slug="uppsala"),
    )
    assert not NodeQuery.objects.exists()
