from trialnode.organisations.models import CareProvider, HealthcareRegion, Node, Region
from trialnode.organisations.services import reference_data_load


def test_reference_data_has_the_swedish_structure(reference_data):
    assert HealthcareRegion.objects.count() == 6
    assert Region.objects.count() == 21
    assert Node.objects.count() == 6
    mellansverige = Node.objects.get(slug="forum-mellansverige")
    assert mellansverige.regions.count() == 7
    # Every region is served by exactly one node.
    assert all(region.nodes.count() == 1 for region in Region.objects.all())


def test_the_care_providers_named_in_the_sources_are_there(reference_data):
    for name in [
        "Karolinska Universitetssjukhuset",
        "Södersjukhuset",
        "Danderyds sjukhus",
        "Södertälje sjukhus",
        "S:t Eriks ögonsjukhus",
        "Akademiska sjukhuset",
    ]:
        assert CareProvider.objects.filter(name=name).exists(), name
    assert CareProvider.objects.filter(slug="slso").exists()
    mellansverige = Node.objects.get(slug="forum-mellansverige").regions.all()
    assert all(CareProvider.objects.filter(region=r).exists() for r in mellansverige)


def test_loading_twice_changes_nothing(reference_data):
    before = (Region.objects.count(), CareProvider.objects.count())
    reference_data_load()
    assert (Region.objects.count(), CareProvider.objects.count()) == before


def test_a_node_admins_edit_is_kept_on_reload_of_other_rows(reference_data):
    provider = CareProvider.objects.get(slug="karolinska")
    provider.city = "Solna"
    provider.save()
    assert CareProvider.objects.get(slug="karolinska").city == "Solna"
