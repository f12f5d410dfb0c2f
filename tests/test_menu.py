"""The main menu offers each user the pages they may open, and no other."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_every_url_is_scoped import declarations
from tests.urlaccess import ACTORS

MENU = ("studies:workspace", "counts:index", "feasibility:index", "datarequests:index")


@pytest.mark.parametrize("actor", [actor for actor in ACTORS if actor != "anonymous"])
def test_the_menu_offers_the_pages_the_user_may_open(actor, users):
    declared = declarations()
    client = Client()
    client.force_login(getattr(users, actor))
    page = client.get("/").content.decode()
    menu = re.search(r'<nav aria-label="[^"]+">(.*?)</nav>', page, re.S)
    assert menu is not None
    offered = {name for name in MENU if f'href="{reverse(name)}"' in menu.group(1)}
    may_open = {name for name in MENU if actor in declared[name].methods["GET"]}
    assert offered == may_open
    for name in offered:
        assert client.get(reverse(name)).status_code == 200, name
