"""Who may use the health-data request pages and API: declarations for the generic URL test.

The case of the test world was submitted by ``registrant`` with Akademiska (Uppsala) as
data holder, so Forum Mellansverige's ``node_admin`` handles it as case officer; it waits
for its completeness check.
"""

from tests.urlaccess import (
    EVERYONE,
    FACTORIES,
    LOGGED_IN,
    NOBODY,
    only,
    read,
    read_write,
    write,
)

APPLICANT = only("registrant")
SEES_CASE = only("registrant", "node_admin", "superuser")
OFFICERS = only("node_admin", "superuser")
NODE_ADMINS = only("node_admin", "other_node_admin", "superuser")
CASE_STAFF = only("registrant", "node_admin", "superuser")


def _datarequest(world):
    from tests.datarequests.conftest import ready_application
    from trialnode.datarequests import services

    case = ready_application(world.users.registrant)
    return services.datarequest_submit(case=case, by=world.users.registrant)


def _handbook_page(world):
    from trialnode.datarequests.models import HandbookPage

    return HandbookPage.objects.create(
        slug="sa-ansoker-du", step="general", title_sv="Så ansöker du", title_en="How to apply",
        body_sv="Text", body_en="Text",
    )  # fmt: skip


FACTORIES["datarequest"] = _datarequest
FACTORIES["handbook_page"] = _handbook_page


def case_pk(world):
    return {"pk": world.datarequest.pk}


def case_id(world):
    return {"case_id": world.datarequest.pk}


def _api_step(allowed, body=None):
    return write(allowed, json=True, kwargs=case_id, body=body or {})


URL_ACCESS = {
    "datarequests:index": read(LOGGED_IN),
    "datarequests:new": read_write(LOGGED_IN, LOGGED_IN, body={"title": ""}),
    "datarequests:variables_template": read(LOGGED_IN),
    "datarequests:handbook": read(EVERYONE),
    "datarequests:handbook_page": read(
        EVERYONE, kwargs=lambda world: {"slug": world.handbook_page.slug}
    ),
    "datarequests:handbook_new": read_write(NODE_ADMINS, NODE_ADMINS, body={"slug": ""}),
    "datarequests:handbook_edit": read_write(
        NODE_ADMINS,
        NODE_ADMINS,
        kwargs=lambda world: {"slug": world.handbook_page.slug},
        body={"slug": ""},
    ),
    "datarequests:detail": read(SEES_CASE, kwargs=case_pk),
    "datarequests:edit": read_write(APPLICANT, APPLICANT, kwargs=case_pk),
    "datarequests:step": write(
        OFFICERS, kwargs=lambda world: {"pk": world.datarequest.pk, "name": "accept"}
    ),
    "datarequests:attachment_upload": write(APPLICANT, kwargs=case_pk),
    "datarequests:attachment": read(
        SEES_CASE,
        kwargs=lambda world: {
            "pk": world.datarequest.pk,
            "attachment_pk": world.datarequest.attachments.first().pk,
        },
    ),
    "datarequests:variables_upload": write(APPLICANT, kwargs=case_pk),
    "api:datarequest_measures": read(EVERYONE, query={"year": "2026"}),
    "api:list_datarequests": read(LOGGED_IN),
    "api:create_datarequest": write(LOGGED_IN, json=True, body={"title": ""}),
    "api:get_datarequest": read(SEES_CASE, kwargs=case_id),
    "api:update_datarequest": write(
        APPLICANT, method="PATCH", json=True, kwargs=case_id, body={"fields": {"title": "x"}}
    ),
    "api:replace_variables": write(
        APPLICANT, method="PUT", json=True, kwargs=case_id, body={"variables": []}
    ),
    "api:add_attachment": write(APPLICANT, kwargs=case_id),
    "api:submit_datarequest": _api_step(APPLICANT),
    "api:return_datarequest": _api_step(OFFICERS, {"reason": "Komplettera"}),
    "api:accept_datarequest": _api_step(OFFICERS),
    "api:review_datarequest": _api_step(
        only("superuser"), {"kind": "legal", "recommendation": "approve", "comment": "ok"}
    ),
    "api:decide_datarequest": _api_step(
        OFFICERS, {"outcome": "approved", "text": "", "password": "x"}
    ),
    "api:assign_datarequest": _api_step(OFFICERS, {"engineer": "nobody", "estimated_hours": 1}),
    "api:extraction_done": _api_step(NOBODY, {"output_description": "x"}),
    "api:disclosure_review": _api_step(OFFICERS, {"passed": True, "comment": "ok"}),
    "api:deliver_datarequest": _api_step(OFFICERS, {"checksum": "a" * 64, "row_count": 1}),
    "api:confirm_datarequest": _api_step(APPLICANT),
    "api:withdraw_datarequest": _api_step(CASE_STAFF, {"reason": "Avbrutet"}),
    "api:amend_datarequest": _api_step(APPLICANT, {"reason": "Ändring"}),
}
