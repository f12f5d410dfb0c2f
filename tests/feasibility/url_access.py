"""Who may use the feasibility pages and API: declarations for the generic URL test.

The inquiry asks Region Uppsala: its sponsor's members, Uppsala's coordinator and the
staff of Forum Mellansverige see it; Örebro's coordinator and Forum Söder do not. Only
coordinators handle it; the answer link needs no account.
"""

from __future__ import annotations

import datetime as dt

from tests.urlaccess import EVERYONE, FACTORIES, LOGGED_IN, only, read, read_write, write

SPONSOR = only("sponsor")
STAFF = only("coordinator", "other_coordinator", "node_admin", "other_node_admin", "superuser")
USERS = SPONSOR | STAFF
SEES = only("sponsor", "coordinator", "node_admin", "superuser")
HANDLES = only("coordinator", "superuser")
COORDINATORS = only("coordinator", "other_coordinator", "superuser")
SYNOPSIS_READERS = only("sponsor", "coordinator", "superuser")
TOKEN = "test-link-token-for-the-url-access-test-0001"


def _organisation(world):
    from trialnode.feasibility.models import SponsorMembership, SponsorOrganisation

    organisation = SponsorOrganisation.objects.create(name="Läkemedelsbolaget AB", kind="industry")
    SponsorMembership.objects.create(organisation=organisation, user=world.users.sponsor)
    return organisation


def _inquiry(world):
    from trialnode.feasibility.models import Inquiry
    from trialnode.feasibility.synopses import synopsis_dir
    from trialnode.organisations.models import Region

    (synopsis_dir() / "url-access.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    inquiry = Inquiry.objects.create(
        organisation=world.organisation,
        created_by=world.users.sponsor,
        kind="site",
        title="Ny behandling vid hjärtsvikt",
        therapy_area="IX",
        reply_by=dt.date.today() + dt.timedelta(days=30),
        sponsor_contact_name="Studieansvarig",
        sponsor_contact_email="studie@example.se",
        synopsis_name="synopsis.pdf",
        synopsis_path="url-access.pdf",
        synopsis_size=16,
    )
    inquiry.target_regions.set([Region.objects.get(slug="uppsala")])
    return inquiry


def _entry(world):
    from trialnode.feasibility.models import DirectoryEntry

    return DirectoryEntry.objects.create(
        care_provider=world.uppsala_provider,
        unit_name="Kardiologkliniken",
        investigator="Prövare (test)",
        email="kardiologi@example.se",
        specialty="Kardiologi",
        therapy_areas=["IX"],
    )


def _link(world):
    """A dispatched inquiry's recipient and its valid link."""
    from trialnode.feasibility.answers import token_hash
    from trialnode.feasibility.models import AnswerLink, Inquiry, Recipient

    inquiry = world.inquiry
    Inquiry.objects.filter(pk=inquiry.pk).update(state="dispatched")
    recipient = Recipient.objects.create(
        inquiry=inquiry,
        entry=world.entry,
        region=world.uppsala_provider.region,
        dispatched_by=world.users.coordinator,
    )
    AnswerLink.objects.create(
        recipient=recipient,
        token_hash=token_hash(TOKEN),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
    )
    return recipient


FACTORIES["organisation"] = _organisation
FACTORIES["inquiry"] = _inquiry
FACTORIES["entry"] = _entry
FACTORIES["link"] = _link


def inquiry_pk(world):
    return {"pk": world.inquiry.pk}


def inquiry_id(world):
    return {"inquiry_id": world.inquiry.pk}


def link_kwargs(world):
    return {"recipient_id": world.link.pk, "token": TOKEN}


def _new_inquiry(world):
    import json

    world.organisation  # noqa: B018 - the sponsor belongs to an organisation
    return {
        "inquiry": json.dumps(
            {
                "kind": "site",
                "title": "Prov",
                "therapy_area": "IX",
                "indication_purpose": "Hjärtsvikt",
                "phase": "PHASE2",
                "inclusion_criteria": "Vuxna",
                "reply_by": str(dt.date.today() + dt.timedelta(days=20)),
                "sponsor_contact_name": "Kontakt",
                "sponsor_contact_email": "kontakt@example.se",
                "regions": ["uppsala"],
            }
        )
    }


ANSWER = {"response": "interested", "eligible_per_year": "12", "comments": "Gärna"}

URL_ACCESS = {
    "feasibility:index": read(USERS),
    "feasibility:organisation": read_write(
        SPONSOR, SPONSOR, body={"name": "Ny sponsor AB", "kind": "cro"}
    ),
    "feasibility:new": read_write(
        SPONSOR, SPONSOR, kwargs=lambda world: {"kind": "site"}, body={"title": "Prov"}
    ),
    "feasibility:detail": read(SEES, kwargs=inquiry_pk),
    "feasibility:synopsis": read(SYNOPSIS_READERS, kwargs=inquiry_pk),
    "feasibility:ask": write(HANDLES, kwargs=inquiry_pk, body={"text": "Saknas: protokoll"}),
    "feasibility:reply": write(SPONSOR, kwargs=inquiry_pk, body={"text": "Bifogat"}),
    "feasibility:triage": write(HANDLES, kwargs=inquiry_pk),
    "feasibility:recipients": read_write(
        HANDLES,
        HANDLES,
        kwargs=inquiry_pk,
        body=lambda world: {"entries": [str(world.entry.pk)]},
    ),
    "feasibility:remind": write(HANDLES, kwargs=inquiry_pk),
    "feasibility:compile": write(HANDLES, kwargs=inquiry_pk, body={"text": "Sammanställning"}),
    "feasibility:close": write(HANDLES, kwargs=inquiry_pk, body={"reason": "Dragen tillbaka"}),
    "feasibility:answers_download": read(SEES, kwargs=inquiry_pk),
    "feasibility:directory": read_write(
        COORDINATORS,
        COORDINATORS,
        body=lambda world: {
            "care_provider": str(world.uppsala_provider.pk),
            "unit_name": "Lungkliniken",
            "investigator": "Prövare",
            "email": "lunga@example.se",
            "specialty": "Lungmedicin",
            "therapy_areas": ["X"],
            "is_active": "on",
        },
    ),
    "feasibility:directory_entry": read_write(
        HANDLES,
        HANDLES,
        kwargs=lambda world: {"pk": world.entry.pk},
        body=lambda world: {
            "care_provider": str(world.uppsala_provider.pk),
            "unit_name": "Kardiologkliniken",
            "investigator": "Ny prövare",
            "email": "kardiologi@example.se",
            "specialty": "Kardiologi",
            "therapy_areas": ["IX"],
            "is_active": "on",
        },
    ),
    "feasibility:answer": read_write(EVERYONE, EVERYONE, kwargs=link_kwargs, body=ANSWER),
    "feasibility:answer_synopsis": read(EVERYONE, kwargs=link_kwargs),
    "api:feasibility_measures": read(EVERYONE, query={"year": str(dt.date.today().year)}),
    "api:list_inquiries": read(LOGGED_IN),
    "api:create_inquiry": write(SPONSOR, body=_new_inquiry),
    "api:get_inquiry": read(SEES, kwargs=inquiry_id),
    "api:ask_sponsor": write(HANDLES, json=True, kwargs=inquiry_id, body={"text": "Saknas"}),
    "api:reply_to_question": write(SPONSOR, json=True, kwargs=inquiry_id, body={"text": "Svar"}),
    "api:triage_inquiry": write(HANDLES, json=True, kwargs=inquiry_id),
    "api:inquiry_proposal": read(HANDLES, kwargs=inquiry_id),
    "api:dispatch_inquiry": write(
        HANDLES, json=True, kwargs=inquiry_id, body=lambda world: {"entry_ids": [world.entry.pk]}
    ),
    "api:remind_inquiry": write(HANDLES, json=True, kwargs=inquiry_id),
    "api:compile_inquiry": write(HANDLES, json=True, kwargs=inquiry_id, body={"text": "Svar"}),
    "api:close_inquiry": write(HANDLES, json=True, kwargs=inquiry_id, body={"reason": "Nej"}),
    "api:list_directory": read(COORDINATORS),
}
