"""Events' payloads compressed with LZ4 where the server has it (see the helper)."""

from django.db import migrations

from trialnode.core.migration_sql import compressed_with_lz4


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_actor_index_covered_by_actor_seq")]

    operations = [compressed_with_lz4({"audit_auditevent": ["payload"]})]
