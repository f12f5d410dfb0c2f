"""Every choice on the search page can be undone, and a new search sorts by relevance."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit


def _chips(page: str) -> dict[str, str]:
    """The undo links of the chosen terms: their text → the URL without that choice."""
    return {
        re.sub(r"<[^>]+>|\s+", " ", text).split("✕")[0].strip(): html.unescape(href)
        for href, text in re.findall(r'<a class="chip" href="([^"]+)">(.*?)</a>', page)
    }


def test_each_chosen_term_links_to_the_search_without_it(client, make_study, settings):
    settings.LANGUAGE_CODE = "sv"
    make_study(title_sv="Hjärtsvikt", regions=("uppsala", "orebro"))
    page = client.get(
        "/", {"q": "hjärtsvikt", "region": ["uppsala", "orebro"], "recruiting": "true"}
    ).content.decode()
    chips = _chips(page)
    assert len(chips) == 4  # the words, two regions, open for recruitment
    params = {text: parse_qs(urlsplit(url).query) for text, url in chips.items()}
    without_words = params["Sökord: hjärtsvikt"]
    assert "q" not in without_words and without_words["region"] == ["uppsala", "orebro"]
    without_uppsala = params["Region: Region Uppsala"]
    assert without_uppsala["region"] == ["orebro"] and without_uppsala["q"] == ["hjärtsvikt"]
    assert "recruiting" not in params["Öppen för rekrytering: Ja"]
    assert 'href="/">Rensa allt</a>' in page
    # A single-choice filter has its own undo link beside its options.
    assert "Ta bort valet" in page


def test_the_default_sort_sends_no_value_so_a_new_search_sorts_by_relevance(
    client, make_study, settings
):
    settings.LANGUAGE_CODE = "sv"
    make_study(title_sv="Hjärtsvikt")
    home = client.get("/").content.decode()
    assert re.search(r'<option value="" selected>Senast uppdaterad</option>', home)
    results = client.get("/", {"q": "hjärtsvikt", "sort": ""}).content.decode()
    assert re.search(r'<option value="" selected>Relevans</option>', results)
    assert 'value="relevance"' not in results
