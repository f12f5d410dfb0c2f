"""The nine ways of rewriting the trail behind the application's back, each detected.

The tamperer has full access to the database (a superuser session with triggers off) but
neither the chain key nor the signing key, which are kept outside it. ``audit verify``
compares the chain with the signed checkpoints written before the tampering.
"""

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core import mail
from django.db import connection, transaction
from django.db.utils import DatabaseError

from trialnode.audit import checkpoints, keys, trail
from trialnode.audit.models import AuditChainHead, AuditEvent
from trialnode.cli import main


@pytest.fixture(autouse=True)
def _checkpoints_in_a_folder_of_their_own(settings, tmp_path):
    settings.TRIALNODE_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")


@pytest.fixture
def checkpointed_trail(make_study):
    """Six studies' worth of events, with a signed checkpoint of the head."""
    for number in range(3):
        make_study(title_sv=f"Studie {number}")
    checkpoints.checkpoint_write()
    assert _verify().intact
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def _verify() -> trail.VerifyResult:
    return trail.verify(checkpoints=checkpoints.all_checkpoints())


def _raw(sql, params=()):
    """Tamper as a database superuser would: with triggers switched off for the session."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def _no_pending_foreign_key_checks():
    """The test's transaction defers foreign key checks, which would block TRUNCATE and
    ALTER TABLE for another reason than the one under test."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _plain_hash(seq, prev, payload):
    return hashlib.sha256(f"{seq}|{prev}|{payload}".encode()).hexdigest()


def _rechain(hash_function):
    """Recompute every link and the head, as someone rewriting the whole trail would."""
    previous = trail.GENESIS
    last = 0
    for seq, payload in AuditEvent.objects.order_by("seq").values_list("seq", "payload"):
        digest = hash_function(seq, previous, payload)
        _raw(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
            [previous, digest, seq],
        )
        previous, last = digest, seq
    _raw(
        "UPDATE audit_auditchainhead SET seq = %s, hash = %s WHERE id = 1",
        [last, previous],
    )


def test_1_a_changed_event_is_detected(checkpointed_trail):
    target = AuditEvent.objects.filter(payload__contains="Studie 1").values_list("seq", flat=True)[
        0
    ]
    _raw(
        "UPDATE audit_auditevent SET payload = replace(payload, 'Studie', 'Forged') WHERE seq = %s",
        [target],
    )
    result = _verify()
    assert (result.intact, result.broken_seq) == (False, target)


def test_2_an_inserted_event_is_detected(checkpointed_trail):
    _raw("UPDATE audit_auditevent SET seq = seq + 1000 WHERE seq > 3")
    third = AuditEvent.objects.get(seq=3)
    payload = third.payload.replace("Studie", "Inserted")
    _raw(
        "INSERT INTO audit_auditevent (seq, occurred_at, actor_id, action, object_type, "
        "object_id, payload, prev_hash, hash) VALUES (4, %s, NULL, %s, %s, %s, %s, %s, %s)",
        [
            third.occurred_at,
            third.action,
            third.object_type,
            third.object_id,
            payload,
            third.hash,
            _plain_hash(4, third.hash, payload),
        ],
    )
    assert _verify().broken_seq == 4


def test_3_an_event_deleted_in_the_middle_is_detected(checkpointed_trail):
    target = checkpointed_trail[2]
    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [target])
    result = _verify()
    assert result.broken_seq == target
    assert "missing" in result.problem


def test_4_a_deleted_tail_is_detected_even_with_the_head_moved_back(checkpointed_trail):
    kept = checkpointed_trail[-3]
    _raw("DELETE FROM audit_auditevent WHERE seq > %s", [kept])
    last = AuditEvent.objects.get(seq=kept)
    _raw(
        "UPDATE audit_auditchainhead SET seq = %s, hash = %s, prev = %s WHERE id = 1",
        [kept, last.hash, last.prev_hash],
    )
    assert trail.verify().intact, "without the checkpoint the shortened chain looks whole"
    result = _verify()
    assert not result.intact
    assert "removed" in result.problem


def test_5_a_full_rewrite_with_recomputed_plain_hashes_is_detected(checkpointed_trail):
    _raw("UPDATE audit_auditevent SET payload = replace(payload, 'Studie', 'Forged')")
    _rechain(_plain_hash)
    result = _verify()
    assert (result.intact, result.broken_seq) == (False, 1)
    assert "changed" in result.problem


def test_6_a_wiped_trail_is_detected(checkpointed_trail):
    _raw("DELETE FROM audit_auditevent")
    _raw(
        "UPDATE audit_auditchainhead SET seq = 0, hash = %s, prev = %s WHERE id = 1",
        [trail.GENESIS, trail.GENESIS],
    )
    result = _verify()
    assert (result.intact, result.broken_seq) == (False, 1)
    assert f"recorded {len(checkpointed_trail)} events" in result.problem


def test_7_truncating_the_trail_is_refused_and_detected(checkpointed_trail):
    if connection.vendor == "postgresql":
        _no_pending_foreign_key_checks()
        for table in ("audit_auditevent", "audit_auditchainhead"):
            with (
                pytest.raises(DatabaseError, match="refused"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(f"TRUNCATE {table}")
        assert AuditEvent.objects.count() == len(checkpointed_trail)
        _raw("TRUNCATE audit_auditevent")
    else:
        # SQLite has no TRUNCATE: emptying the table is its equivalent.
        _raw("DELETE FROM audit_auditevent")
    assert not _verify().intact


def test_8_switching_the_triggers_off_only_helps_a_superuser_and_is_still_detected(
    checkpointed_trail,
):
    """The application's own role may not switch triggers off (see test_runtime_role); a
    superuser can, and the change is then caught by the chain."""
    if connection.vendor == "postgresql":
        _no_pending_foreign_key_checks()
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = 2")
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    else:
        _raw("UPDATE audit_auditevent SET object_id = 'x' WHERE seq = 2")
    assert _verify().broken_seq == 2


def test_9_a_forged_checkpoint_or_chain_key_is_detected(checkpointed_trail, settings):
    # A rewrite with a chain key of the tamperer's own, and a checkpoint signed to match.
    _raw("UPDATE audit_auditevent SET payload = replace(payload, 'Studie', 'Forged')")
    _rechain(lambda seq, prev, payload: _plain_hash(seq, prev, "other key" + payload))
    forger = Ed25519PrivateKey.generate()
    settings.TRIALNODE_AUDIT_SIGNING_KEY = forger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    keys.forget()
    forged = checkpoints.checkpoint_write()
    settings.TRIALNODE_AUDIT_SIGNING_KEY = ""
    keys.forget()

    with pytest.raises(checkpoints.CheckpointError, match="not signed with this node's key"):
        checkpoints.all_checkpoints()
    forged.path.unlink()
    assert _verify().broken_seq == 1


def test_the_chain_is_keyed_so_the_same_events_hash_differently_under_another_key(
    checkpointed_trail, settings
):
    assert _verify().intact
    settings.TRIALNODE_AUDIT_KEY = "another-key-of-at-least-thirty-two-characters"
    keys.forget()
    try:
        assert trail.verify().broken_seq == 1
    finally:
        settings.TRIALNODE_AUDIT_KEY = ""
        keys.forget()


def test_the_checkpoint_command_signs_the_head_and_verify_compares_with_it(
    checkpointed_trail, capsys
):
    assert main(["audit", "checkpoint"]) == 0
    written = checkpoints.all_checkpoints()
    head = AuditChainHead.objects.get(pk=1)
    assert (written[-1].events, written[-1].head) == (head.seq, head.hash)
    assert main(["audit", "verify"]) == 0
    assert "agrees with every signed checkpoint" in capsys.readouterr().out

    _raw("DELETE FROM audit_auditevent WHERE seq = %s", [head.seq])
    _raw("UPDATE audit_auditchainhead SET seq = seq - 1, hash = prev WHERE id = 1")
    assert main(["audit", "verify"]) == 2
    assert "events were removed" in capsys.readouterr().err


def test_a_checkpoint_is_mailed_to_the_auditors_when_addresses_are_set(
    checkpointed_trail, settings
):
    settings.TRIALNODE_AUDIT_CHECKPOINT_MAIL = ["granskning@example.se"]
    checkpoint = checkpoints.checkpoint_write()
    assert mail.outbox[-1].to == ["granskning@example.se"]
    assert checkpoint.head in mail.outbox[-1].body


def test_the_scheduled_task_writes_a_checkpoint(checkpointed_trail):
    from trialnode.audit.tasks import audit_checkpoint

    before = len(checkpoints.all_checkpoints())
    path = audit_checkpoint.call()
    assert len(checkpoints.all_checkpoints()) == before + 1
    assert path.endswith(".json")
