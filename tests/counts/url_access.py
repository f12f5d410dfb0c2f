"""Who may use the count pages and API: declarations for the generic URL test."""

from tests.urlaccess import FACTORIES, LOGGED_IN, NOBODY, Access, only, read, read_write, write

COUNTS = only(
    "registrant",
    "other_registrant",
    "coordinator",
    "other_coordinator",
    "node_admin",
    "other_node_admin",
    "sponsor",
    "superuser",
)
USERS_OF_COUNTS = LOGGED_IN - {"outsider"}
# The coordinator who asked, and the staff of Forum Mellansverige (Uppsala's node).
SEES_UPPSALA_COUNT = only("coordinator", "node_admin", "auditor", "superuser")
OFFICERS = only("node_admin", "other_node_admin", "superuser")
DECIDES_UPPSALA = only("node_admin", "superuser")


def _peer(world):
    from trialnode.counts.models import Peer
    from trialnode.organisations.models import Region

    return Peer.objects.create(
        slug="uppsala",
        name="Region Uppsala",
        region=Region.objects.get(slug="uppsala"),
        url="http://127.0.0.1:9/api/v1/counts/node/uppsala",
        public_key="-",
        timeout_seconds=1,
    )


def _count_request(world):
    from trialnode.counts.models import CountRequest, RegionResult

    request = CountRequest.objects.create(
        title="Celecoxib", definition={"PrimaryCriteria": {}}, created_by=world.users.coordinator
    )
    RegionResult.objects.create(
        request=request,
        peer=world.peer,
        state=RegionResult.State.ANSWERED,
        released={"persons": 270, "interval": [251, 288], "attrition": []},
    )
    return request


def _waiting_query(world):
    from trialnode.counts.models import DataSource, NodeQuery, TrustedHub
    from trialnode.organisations.models import Region

    source = DataSource.objects.create(
        slug="uppsala-omop",
        name="Region Uppsala",
        region=Region.objects.get(slug="uppsala"),
        engine="duckdb",
        location="/nonexistent",
        requires_approval=True,
    )
    hub = TrustedHub.objects.create(name="Hubb", public_key="-")
    return NodeQuery.objects.create(
        source=source,
        hub=hub,
        request_id="r1",
        requester="sponsor@hubb",
        definition={"PrimaryCriteria": {}},
        state=NodeQuery.State.AWAITING_APPROVAL,
    )


FACTORIES["peer"] = _peer
FACTORIES["count_request"] = _count_request
FACTORIES["waiting_query"] = _waiting_query


def request_pk(world):
    return {"pk": world.count_request.pk}


URL_ACCESS = {
    "counts:index": read(USERS_OF_COUNTS),
    "counts:new": read_write(COUNTS, COUNTS, body={"title": "Prov", "entry_kind": "diagnosis"}),
    "counts:detail": read(SEES_UPPSALA_COUNT, kwargs=request_pk),
    "counts:refresh": write(SEES_UPPSALA_COUNT, kwargs=request_pk),
    "counts:approvals": read(OFFICERS),
    "counts:decide": write(
        DECIDES_UPPSALA,
        kwargs=lambda world: {"pk": world.waiting_query.pk},
        body={"decision": "refuse", "reason": "Inte nu"},
    ),
    "counts:attached": read(
        USERS_OF_COUNTS, kwargs=lambda world: {"target_type": "studies.study", "target_id": "1"}
    ),
    "api:create_count_request": write(
        COUNTS, json=True, body={"title": "Prov", "definition": {"PrimaryCriteria": {}}}
    ),
    "api:list_count_requests": read(LOGGED_IN),
    "api:get_count_request": read(
        SEES_UPPSALA_COUNT, kwargs=lambda world: {"request_id": world.count_request.pk}
    ),
    "api:refresh_count_request": write(
        SEES_UPPSALA_COUNT,
        json=True,
        kwargs=lambda world: {"request_id": world.count_request.pk},
    ),
    "api:list_waiting_queries": read(LOGGED_IN),
    "api:decide_query": write(
        DECIDES_UPPSALA,
        json=True,
        kwargs=lambda world: {"query_id": world.waiting_query.pk},
        body={"approve": False, "reason": "Inte nu"},
    ),
    "api:node_endpoint": Access(
        methods={"POST": NOBODY},
        kwargs=lambda world: {"source": "uppsala-omop", "kind": "evaluate"},
        json=True,
        body={"kind": "evaluate"},
    ),
}
