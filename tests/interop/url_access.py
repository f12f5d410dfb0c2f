"""Who may use FHIR, the exports, the link queue and the imports."""

from tests.urlaccess import EVERYONE, FACTORIES, LOGGED_IN, only, read, read_write, write

COORDINATORS = only("coordinator", "other_coordinator", "superuser")


def _link(world):
    from trialnode.interop.models import StudyLink
    from trialnode.studies.models import RegistrationState, Source

    registry = world.study(
        state=RegistrationState.PUBLISHED, source=Source.CTGOV, nct_id="NCT01234567"
    )
    return StudyLink.objects.create(
        local=world.published_study, registry=registry, score=90, reasons="same title"
    )


FACTORIES["study_link"] = _link


def _unmatched_site(world):
    from trialnode.organisations.models import Region
    from trialnode.studies.models import RegistrationState, Source, StudySite

    registry = world.study(
        state=RegistrationState.PUBLISHED, source=Source.CTGOV, nct_id="NCT07654321"
    )
    return StudySite.objects.create(
        study=registry,
        region=Region.objects.get(slug="uppsala"),
        facility_name="Okänd klinik",
        city="Uppsala",
    )


FACTORIES["unmatched_site"] = _unmatched_site


def published(world):
    return {"pk": world.published_study.pk}


URL_ACCESS = {
    "fhir_metadata": read(EVERYONE),
    "fhir_research_study_search": read(EVERYONE, query={"status": "active"}),
    "fhir_research_study": read(EVERYONE, kwargs=published),
    "fhir_r5_research_study": read(EVERYONE, kwargs=published),
    "export_studies": read(EVERYONE, kwargs=lambda world: {"file_format": "csv"}),
    "link_queue": read(COORDINATORS),
    "link_decide": write(
        only("coordinator", "superuser"),
        kwargs=lambda world: {"pk": world.study_link.pk},
        body={"decision": "reject"},
    ),
    "unmatched_sites": read_write(
        COORDINATORS,
        only("coordinator", "superuser"),
        body=lambda world: {"site": world.unmatched_site.pk, "care_provider": "akademiska"},
    ),
    "spreadsheet_template": read(LOGGED_IN),
    "spreadsheet_import": read_write(COORDINATORS, COORDINATORS),
    "registry_import": read_write(COORDINATORS, COORDINATORS),
}
