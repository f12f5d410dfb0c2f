from django.db import migrations

FORWARD = """
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

CREATE OR REPLACE FUNCTION audit_chain_head_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit chain head cannot be removed: %% refused', TG_OP;
END
$$;
CREATE TRIGGER audit_chain_head_kept BEFORE DELETE ON audit_auditchainhead
FOR EACH ROW EXECUTE FUNCTION audit_chain_head_kept();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_kept();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_auditchainhead;
DROP TRIGGER IF EXISTS audit_chain_head_kept ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_chain_head_kept();
"""


def block_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def allow_truncate(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_auditreview")]

    operations = [migrations.RunPython(block_truncate, allow_truncate)]
