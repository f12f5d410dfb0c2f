"""Node admins keep the reference data of their own node; others cannot."""

from trialnode.organisations.models import CareProvider


def test_a_node_admin_edits_a_care_provider_of_the_node(client, users):
    provider = CareProvider.objects.get(slug="akademiska")
    client.force_login(users.node_admin)
    page = client.get(f"/admin/organisations/careprovider/{provider.pk}/change/")
    assert page.status_code == 200
    data = {
        "slug": provider.slug,
        "name": "Akademiska sjukhuset i Uppsala",
        "kind": provider.kind,
        "region": provider.region_id,
        "city": "Uppsala",
        "aliases": provider.aliases,
        "is_active": "on",
    }
    response = client.post(f"/admin/organisations/careprovider/{provider.pk}/change/", data)
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "Akademiska sjukhuset i Uppsala"


def test_a_node_admin_cannot_reach_another_nodes_providers(client, users):
    karolinska = CareProvider.objects.get(slug="karolinska")
    client.force_login(users.node_admin)
    response = client.get(f"/admin/organisations/careprovider/{karolinska.pk}/change/")
    assert response.status_code == 302  # redirected away: not in the admin's queryset
    listing = client.get("/admin/organisations/careprovider/").content.decode()
    assert "Akademiska" in listing and "Karolinska" not in listing


def test_the_region_structure_is_read_only_for_node_admins(client, users):
    client.force_login(users.node_admin)
    response = client.post(
        "/admin/organisations/region/add/", {"slug": "x", "code": "99", "name": "X"}
    )
    assert response.status_code == 403


def test_a_coordinator_has_no_admin_access(client, users):
    client.force_login(users.coordinator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
