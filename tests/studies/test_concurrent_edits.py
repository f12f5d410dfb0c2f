import pytest

from tests.conftest import complete_children, complete_fields
from trialnode.studies import services


def test_saving_an_older_version_is_refused_and_overwrites_nothing(users):
    study = services.study_create(
        by=users.registrant, fields=complete_fields(), **complete_children()
    )
    opened_version = study.version
    services.study_update(
        study=study,
        by=users.registrant,
        expected_version=opened_version,
        fields={"title_sv": "Första ändringen"},
    )
    with pytest.raises(services.StaleVersion):
        services.study_update(
            study=study,
            by=users.registrant,
            expected_version=opened_version,
            fields={"title_sv": "Andra ändringen"},
        )
    study.refresh_from_db()
    assert study.title_sv == "Första ändringen"
    assert study.version == opened_version + 1


def test_unknown_fields_are_refused(users):
    study = services.study_create(by=users.registrant, fields=complete_fields())
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="registration_state"):
        services.study_update(
            study=study,
            by=users.registrant,
            expected_version=study.version,
            fields={"registration_state": "published"},
        )
