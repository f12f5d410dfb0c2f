"""Who may use the registry's pages and API: declarations for the generic URL test."""

from tests.urlaccess import (
    EVERYONE,
    FACTORIES,
    LOGGED_IN,
    Access,
    only,
    read,
    read_write,
    write,
)
from trialnode.studies.models import RegistrationState

FACTORIES["draft_study"] = lambda world: world.study(
    state=RegistrationState.DRAFT, owner=world.users.registrant
)
FACTORIES["submitted_study"] = lambda world: world.study(
    state=RegistrationState.SUBMITTED, owner=world.users.registrant
)
FACTORIES["published_study"] = lambda world: world.study(
    state=RegistrationState.PUBLISHED, owner=world.users.registrant
)

REGISTERS = only("registrant", "other_registrant", "coordinator", "other_coordinator", "superuser")
# The owner, Uppsala's coordinator, and the staff of Forum Mellansverige (Uppsala's node).
FOLLOWS_UPPSALA = only("registrant", "coordinator", "node_admin", "auditor", "superuser")
CHANGES_PUBLISHED = only("registrant", "coordinator", "superuser")
VALIDATES_UPPSALA = only("coordinator", "superuser")


def draft(world):
    return {"pk": world.draft_study.pk}


def submitted(world):
    return {"pk": world.submitted_study.pk}


def published(world):
    return {"pk": world.published_study.pk}


def api(key):
    return lambda world: {"study_id": key(world)["pk"]}


URL_ACCESS = {
    "studies:search": read(EVERYONE, query={"q": "studie"}),
    "studies:detail": read(EVERYONE, kwargs=published),
    "studies:history": read(FOLLOWS_UPPSALA, kwargs=published),
    "studies:workspace": read(LOGGED_IN),
    "studies:create": read_write(REGISTERS, REGISTERS),
    "studies:edit": read_write(
        only("registrant", "superuser"), only("registrant", "superuser"), kwargs=draft
    ),
    "studies:submit": write(only("registrant", "superuser"), kwargs=draft),
    "studies:publish": write(VALIDATES_UPPSALA, kwargs=submitted),
    "studies:return": write(VALIDATES_UPPSALA, kwargs=submitted),
    "studies:confirm": write(CHANGES_PUBLISHED, kwargs=published),
    "studies:status": write(
        CHANGES_PUBLISHED,
        kwargs=published,
        body={"status": "COMPLETED", "effective_date": "2025-01-31", "reason": "Avslutad"},
    ),
    "api:list_studies": read(EVERYONE, query={"q": "studie"}),
    "api:create_study": write(
        REGISTERS, json=True, body={"title_sv": "Ny studie", "study_type": "OBSERVATIONAL"}
    ),
    "api:get_study": read(EVERYONE, kwargs=api(published)),
    "api:update_study": Access(
        methods={"PATCH": CHANGES_PUBLISHED},
        kwargs=api(published),
        json=True,
        body={"version": 1, "fields": {"acronym": "NY"}, "reason": "Rättelse"},
    ),
    "api:submit_study": write(only("registrant", "superuser"), kwargs=api(draft), json=True),
    "api:publish_study": write(
        VALIDATES_UPPSALA,
        kwargs=api(submitted),
        json=True,
        body={"reason": "Validerad", "password": "fel lösenord"},
    ),
    "api:return_study": write(
        VALIDATES_UPPSALA, kwargs=api(submitted), json=True, body={"comment": "Komplettera"}
    ),
    "api:change_status": write(
        CHANGES_PUBLISHED,
        kwargs=api(published),
        json=True,
        body={"status": "COMPLETED", "effective_date": "2025-01-31", "reason": "Avslutad"},
    ),
    "api:confirm_study": write(CHANGES_PUBLISHED, kwargs=api(published), json=True),
}
