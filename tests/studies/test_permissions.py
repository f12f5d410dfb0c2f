"""Who sees and who changes which study: every rule, for every kind of user."""

from django.contrib.auth.models import AnonymousUser

from trialnode.studies.models import RegistrationState, Study


def _ids(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_anonymous_sees_only_published_studies(make_study):
    published = make_study()
    make_study(registration_state=RegistrationState.SUBMITTED)
    assert _ids(Study.objects.visible_to(AnonymousUser())) == {published.pk}
    assert not Study.objects.editable_by(AnonymousUser()).exists()


def test_a_draft_is_seen_only_by_its_owner(users, make_study):
    draft = make_study(registration_state=RegistrationState.DRAFT, owner=users.registrant)
    assert draft.pk in _ids(Study.objects.visible_to(users.registrant))
    assert draft.pk not in _ids(Study.objects.visible_to(users.coordinator))
    assert draft.pk not in _ids(Study.objects.visible_to(users.other_registrant))


def test_the_owner_edits_own_study_but_not_while_it_awaits_validation(users, make_study):
    draft = make_study(registration_state=RegistrationState.DRAFT, owner=users.registrant)
    submitted = make_study(registration_state=RegistrationState.SUBMITTED, owner=users.registrant)
    editable = _ids(Study.objects.editable_by(users.registrant))
    assert draft.pk in editable
    assert submitted.pk not in editable


def test_another_registrant_cannot_edit_someone_elses_study(users, make_study):
    study = make_study(owner=users.registrant)
    assert study.pk not in _ids(Study.objects.editable_by(users.other_registrant))


def test_a_coordinator_edits_studies_of_their_region_only(users, make_study):
    uppsala = make_study(regions=("uppsala",))
    orebro = make_study(regions=("orebro",))
    both = make_study(regions=("orebro", "uppsala"))
    assert _ids(Study.objects.editable_by(users.coordinator)) == {uppsala.pk, both.pk}
    assert _ids(Study.objects.editable_by(users.other_coordinator)) == {orebro.pk, both.pk}


def test_a_coordinator_validates_submitted_studies_of_their_region_only(users, make_study):
    submitted = make_study(registration_state=RegistrationState.SUBMITTED, regions=("uppsala",))
    make_study(registration_state=RegistrationState.SUBMITTED, regions=("orebro",))
    make_study(registration_state=RegistrationState.PUBLISHED, regions=("uppsala",))
    assert _ids(Study.objects.validatable_by(users.coordinator)) == {submitted.pk}
    assert not Study.objects.validatable_by(users.registrant).exists()


def test_a_node_admin_sees_unpublished_studies_of_the_node_regions_but_edits_none(
    users, make_study
):
    submitted = make_study(registration_state=RegistrationState.SUBMITTED, regions=("dalarna",))
    skane = make_study(registration_state=RegistrationState.SUBMITTED, regions=("skane",))
    visible = _ids(Study.objects.visible_to(users.node_admin))
    assert submitted.pk in visible
    assert skane.pk not in visible
    assert not Study.objects.editable_by(users.node_admin).exists()


def test_a_deactivated_coordinator_loses_all_rights(users, make_study):
    make_study(registration_state=RegistrationState.SUBMITTED, regions=("uppsala",))
    users.coordinator.is_active = False
    users.coordinator.save()
    assert not Study.objects.editable_by(users.coordinator).exists()
    assert not Study.objects.validatable_by(users.coordinator).exists()


def test_a_revoked_role_no_longer_counts(users, make_study):
    from django.utils import timezone

    study = make_study(regions=("uppsala",))
    users.coordinator.role_assignments.update(revoked_at=timezone.now())
    coordinator = type(users.coordinator).objects.get(pk=users.coordinator.pk)
    assert study.pk not in _ids(Study.objects.editable_by(coordinator))
