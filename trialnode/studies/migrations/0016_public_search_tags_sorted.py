"""The tags of each public search row sorted by number, so that the tags of one facet are
one run of them (``searchrows.facet_tags``); ``searchrows`` writes every row sorted since.
Every row is rewritten (24 s for 500,000 rows); autovacuum reclaims the old versions. The
reverse leaves them sorted: the code before never required an order."""

from django.db import migrations

from trialnode.core.migration_sql import vendor_sql

POSTGRES_FORWARD = [
    "UPDATE studies_publicsearchrow SET tags = ARRAY(SELECT unnest(tags) ORDER BY 1) "
    "WHERE tags <> ARRAY(SELECT unnest(tags) ORDER BY 1)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("studies", "0015_long_texts_storage"),
    ]

    operations = [
        vendor_sql({"postgresql": POSTGRES_FORWARD}, {}),
    ]
