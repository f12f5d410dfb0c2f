"""Who may use the statistics pages, downloads and API."""

from tests.urlaccess import EVERYONE, only, read, read_write

# Staff of a region: its coordinators, and the node admins and auditors of its node.
REGION_STAFF = only(
    "coordinator",
    "other_coordinator",
    "node_admin",
    "other_node_admin",
    "auditor",
    "other_auditor",
    "superuser",
)

URL_ACCESS = {
    "statistics:dashboard": read(EVERYONE),
    # A yearly report for Forum Mellansverige: only staff of its regions may start it.
    "statistics:staff": read_write(
        REGION_STAFF,
        only("coordinator", "other_coordinator", "node_admin", "auditor", "superuser"),
        body={"year": "2025", "node": "forum-mellansverige"},
    ),
    "statistics:studies": read(EVERYONE, query={"measure": "ongoing", "year": "2025"}),
    "statistics:national": read(EVERYONE),
    "statistics:download": read(
        EVERYONE, kwargs=lambda world: {"name": "summary", "file_format": "csv"}
    ),
    "api:statistics_summary": read(EVERYONE),
    "api:statistics_breakdown": read(EVERYONE, query={"measure": "ongoing", "by": "region"}),
    "api:statistics_timeseries": read(EVERYONE),
    "api:statistics_collaboration": read(EVERYONE),
    "api:statistics_studies": read(EVERYONE, query={"measure": "ongoing"}),
}
