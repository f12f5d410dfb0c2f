"""Every concrete model of every trialnode app leaves an event when written, or says why not.

A model added later without auditing, or without a sample below, fails this suite.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps

from tests.datarequests.audit_samples import datarequest_samples
from tests.feasibility.audit_samples import feasibility_samples
from trialnode.audit.models import AuditedModel, AuditEvent

DOMAIN_MODELS = sorted(
    (model for model in apps.get_models() if model.__module__.startswith("trialnode.")),
    key=lambda model: model._meta.label_lower,
)


def _sample(label: str, users):
    """A new row of the model, the name of a field to change, and the new value."""
    from trialnode.organisations.models import (
        CareProvider,
        HealthcareRegion,
        Locality,
        Node,
        Region,
        RoleAssignment,
        Unit,
        User,
    )
    from trialnode.organisations.services import api_token_create
    from trialnode.studies.models import (
        Study,
        StudyCondition,
        StudyContact,
        StudyIntervention,
        StudySite,
        StudyStatusChange,
    )

    region = Region.objects.get(slug="uppsala")
    provider = CareProvider.objects.get(slug="akademiska")

    def study():
        return Study.objects.create(title_sv="Provstudie", study_type="OTHER")

    from trialnode.audit.models import AuditReview
    from trialnode.counts.models import (
        CountRequest,
        DataSource,
        NodeQuery,
        Peer,
        RegionResult,
        TrustedHub,
    )
    from trialnode.interop.models import StudyLink, SyncState
    from trialnode.jobs.models import Job

    def source():
        return DataSource.objects.create(
            slug=f"prov{DataSource.objects.count()}",
            name="Prov",
            region=region,
            engine="duckdb",
            location="/prov",
        )

    def peer():
        return Peer.objects.create(
            slug=f"prov{Peer.objects.count()}",
            name="Prov",
            region=region,
            url="http://127.0.0.1:9/",
            public_key="-",
        )

    def count_request():
        return CountRequest.objects.create(
            title="Prov", definition={}, created_by=users.coordinator
        )

    samples = {
        "counts.datasource": lambda: (source(), "requires_approval", True),
        "counts.trustedhub": lambda: (
            TrustedHub.objects.create(name="Prov", public_key="-"),
            "is_active",
            False,
        ),
        "counts.peer": lambda: (peer(), "timeout_seconds", 5),
        "counts.countrequest": lambda: (count_request(), "state", "complete"),
        "counts.regionresult": lambda: (
            RegionResult.objects.create(request=count_request(), peer=peer()),
            "state",
            "late",
        ),
        "counts.nodequery": lambda: (
            NodeQuery.objects.create(
                source=source(), requester="prov", definition={}, state="answered"
            ),
            "state",
            "refused",
        ),
        "audit.auditreview": lambda: (
            AuditReview.objects.create(
                scope="Prov",
                period_start=dt.date(2026, 1, 1),
                period_end=dt.date(2026, 2, 1),
                planned_for=dt.date(2026, 3, 1),
                reviewer=users.auditor,
            ),
            "findings",
            "Inga avvikelser",
        ),
        "interop.studylink": lambda: (
            StudyLink.objects.create(local=study(), registry=study(), score=90, reasons="x"),
            "state",
            "rejected",
        ),
        "interop.syncstate": lambda: (SyncState.objects.create(name="prov"), "last_result", "ok"),
        "jobs.job": lambda: (
            Job.objects.create(kind=Job.Kind.IMPORT_CTIS, started_by=users.coordinator),
            "state",
            "done",
        ),
        "organisations.healthcareregion": lambda: (
            HealthcareRegion.objects.create(slug="prov", name="Prov"),
            "name",
            "Ny",
        ),
        "organisations.region": lambda: (
            Region.objects.create(
                slug="prov",
                code="99",
                name="Prov",
                healthcare_region=HealthcareRegion.objects.first(),
            ),
            "name",
            "Ny",
        ),
        "organisations.node": lambda: (Node.objects.create(slug="prov", name="Prov"), "name", "Ny"),
        "organisations.locality": lambda: (
            Locality.objects.create(name="Provby", region=region),
            "name",
            "Provstad",
        ),
        "organisations.careprovider": lambda: (
            CareProvider.objects.create(slug="prov", name="Prov", kind="hospital", region=region),
            "city",
            "Uppsala",
        ),
        "organisations.unit": lambda: (
            Unit.objects.create(care_provider=provider, name="Provklinik"),
            "name",
            "Ny",
        ),
        "organisations.user": lambda: (
            User.objects.create_user(username="prov", email="prov@example.se"),
            "first_name",
            "Ny",
        ),
        "organisations.roleassignment": lambda: (
            RoleAssignment.objects.create(user=users.outsider, role="coordinator", region=region),
            "role",
            "auditor",
        ),
        "organisations.apitoken": lambda: (
            api_token_create(user=users.outsider, name="prov")[0],
            "name",
            "ny",
        ),
        "studies.study": lambda: (study(), "title_sv", "Ny"),
        "studies.studystatuschange": lambda: (
            StudyStatusChange.objects.create(
                study=study(), status="RECRUITING", effective_date=dt.date(2024, 1, 1)
            ),
            "status",
            "COMPLETED",
        ),
        "studies.studycondition": lambda: (
            StudyCondition.objects.create(study=study(), text="Astma"),
            "text",
            "Ny",
        ),
        "studies.studyintervention": lambda: (
            StudyIntervention.objects.create(study=study(), type="DRUG", name="Prov"),
            "name",
            "Ny",
        ),
        "studies.studysite": lambda: (
            StudySite.objects.create(study=study(), region=region),
            "city",
            "Uppsala",
        ),
        "studies.studycontact": lambda: (
            StudyContact.objects.create(study=study(), name="Prov"),
            "name",
            "Ny",
        ),
    }
    samples.update(feasibility_samples(users))

    samples.update(datarequest_samples(users))
    if label not in samples:
        pytest.fail(f"{label} has no audit sample: add one to {__name__}")
    return samples[label]()


def _events(instance, action: str) -> int:
    return AuditEvent.objects.filter(
        object_type=instance._meta.label_lower, object_id=str(instance.pk), action=action
    ).count()


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m._meta.label_lower)
def test_every_write_to_every_model_leaves_an_event(model, users):
    exemption = getattr(model, "audit_exempt", "")
    if exemption:
        assert not issubclass(model, AuditedModel)
        assert isinstance(exemption, str) and len(exemption) > 10
        return
    assert issubclass(model, AuditedModel), f"{model._meta.label} is not audited"
    instance, field, value = _sample(model._meta.label_lower, users)
    assert _events(instance, "create") == 1
    setattr(instance, field, value)
    instance.save()
    assert _events(instance, "update") + _events(instance, "transition") == 1
    pk = instance.pk
    instance.delete()
    instance.pk = pk
    assert _events(instance, "delete") == 1


def test_many_to_many_changes_are_recorded(users):
    from trialnode.organisations.models import Node, Region

    node = Node.objects.get(slug="forum-norr")
    before = _events(node, "update")
    node.regions.add(Region.objects.get(slug="uppsala"))
    assert _events(node, "update") == before + 1
