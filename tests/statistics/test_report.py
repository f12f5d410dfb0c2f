"""The yearly report a node can send as it is: cover, summary, sections, both languages."""

import re
from datetime import date
from html import unescape

import pytest
from django.urls import reverse

from tests.statistics.conftest import _study
from trialnode.organisations.models import Node
from trialnode.statistics import sections
from trialnode.statistics.report import report_html
from trialnode.studies.models import Source, Study, StudyCondition

NNBSP = "\u202f"


def _text(html: str) -> str:
    body = html[max(html.find("<body>"), 0) :]
    # Collapse layout whitespace only: the no-break spaces in numbers are kept.
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def _summary(html: str) -> str:
    return _text(html[html.index('id="summary"') : html.index('id="key-figures"')])


def _feasibility_like(year, regions):
    """A capability's section, as feasibility or data requests would register it."""
    if year != 2024:
        return None
    return sections.Section(
        key="fake-inquiries",
        title="Förfrågningar",
        summary=("Noden tog emot 1 250 förfrågningar.",),
        tables=(
            sections.SectionTable(
                key="by-kind",
                caption="Förfrågningar per slag",
                header=("Slag", "Antal", "Andel skickade", "Dagar (median)"),
                rows=(("Klinikförfrågan", 1234, 0.925, None), ("Landsförfrågan", 16, 1.0, 3.5)),
                note="Räknat på inkomstdatum.",
            ),
        ),
        api_url="/api/v1/fake/measures",
    )


@pytest.fixture
def fake_section(monkeypatch):
    monkeypatch.setitem(sections._providers, "fake-inquiries", _feasibility_like)


@pytest.fixture
def node(known_studies):
    return Node.objects.get(slug="forum-mellansverige")


def test_the_cover_names_the_node_and_the_period(node):
    html = report_html(2024, node, language="sv")
    cover = html[html.index('class="cover"') : html.index('id="summary"')]
    assert "Kliniska studier i Forum Mellansverige 2024" in cover
    assert "1 januari–31 december 2024" in cover
    assert "Region Uppsala" in cover


def test_the_national_report_is_for_sweden_in_either_language(known_studies):
    assert "Kliniska studier i Sverige 2024" in report_html(2024, None, language="sv")
    assert "Clinical studies in Sweden 2024" in report_html(2024, None, language="en")


def test_the_contents_link_every_chapter_and_pages_are_numbered(node):
    html = report_html(2024, node, language="sv")
    contents = html[html.index('class="contents"') : html.index("</nav>")]
    for anchor in re.findall(r'href="#([^"]+)"', contents):
        assert f'id="{anchor}"' in html
    assert 'content: "Sida " counter(page) " av " counter(pages)' in html


def test_the_summary_says_in_words_what_the_numbers_say(node):
    summary = _summary(report_html(2024, node, language="sv"))
    # 2023: B and D ongoing; 2024: A, B and C (see the known studies).
    assert (
        "Antalet pågående studier ökade med 50,0\u00a0%, från 2 under 2023 till 3 under 2024."
        in summary
    )
    assert "Under 2024 startade 2 studier, jämfört med 0 under 2023." in summary
    assert "Ingen studie avslutades under 2024 (1 under 2023)." in summary
    assert "Den 31 december 2024 pågick 3 studier. Av dem var 2 öppna för rekrytering." in summary


def test_a_year_without_studies_has_no_empty_tables_and_says_why(known_studies):
    html = report_html(2010, None, language="en")
    assert 'id="by-' not in html
    assert 'id="series-month"' not in html and 'id="collaboration"' not in html
    assert "No studies." not in html
    assert "With no ongoing studies in 2010, the report has no breakdowns." in _summary(html)


def test_a_cancer_table_with_no_cancer_study_is_left_out(known_studies):
    StudyCondition.objects.filter(study=known_studies["A"]).delete()
    html = report_html(2024, None, language="en")
    assert 'id="by-cancer_area"' not in html
    assert "can be shown by cancer diagnosis area, so that table is left out." in _summary(html)


def test_sections_of_other_capabilities_are_rendered_in_the_swedish_format(node, fake_section):
    html = report_html(2024, node, language="sv")
    section = html[html.index('id="section-fake-inquiries"') :]
    section = section[: section.index("</section>")]
    assert "Förfrågningar per slag" in section
    assert f'<td class="number">1{NNBSP}234</td>' in section
    assert '<td class="number">0,93</td>' in section
    assert '<td class="number">3,5</td>' in section
    assert '<td class="number">–</td>' in section
    assert "Räknat på inkomstdatum." in section
    # In the contents and, in words, on the summary page.
    assert 'href="#section-fake-inquiries"' in html
    assert "Noden tog emot 1 250 förfrågningar." in _summary(html)
    # A link into the API means nothing on paper.
    assert "/api/v1/fake/measures" not in html


def test_a_section_whose_provider_returns_nothing_is_left_out(node, fake_section):
    html = report_html(2023, node, language="sv")
    assert "section-fake-inquiries" not in html
    assert "Förfrågningar" not in html


# Words that only one of the two languages uses in the report.
SWEDISH_WORDS = {"och", "studier", "studie", "pågående", "Sverige", "Sida", "av", "under", "Totalt"}
ENGLISH_WORDS = {"and", "studies", "study", "ongoing", "Sweden", "Page", "of", "the", "Total"}


@pytest.mark.parametrize(("language", "foreign"), [("en", SWEDISH_WORDS), ("sv", ENGLISH_WORDS)])
def test_every_word_is_in_the_reports_language(known_studies, language, foreign):
    html = report_html(2024, None, language=language)
    words = set(re.findall(r"[^\W\d_]+", _text(html)))
    footer = html[html.index("@bottom-left") : html.index("@page :first")]
    words |= set(re.findall(r"[^\W\d_]+", footer))
    assert words & foreign == set()


def test_the_summary_names_the_most_common_value_but_not_a_tie(known_studies):
    summary = _summary(report_html(2024, None, language="en"))
    # 2024: A and C interventional, B observational; A breast cancer (II), B heart (IX).
    assert "The most common study type was “Interventional”: 2 of 3 ongoing studies" in summary
    assert "The most common sponsor type was “Academic or public”: 2 of 3" in summary
    assert "condition area" not in summary


def test_the_command_writes_the_report_and_refuses_a_year_not_begun(
    known_studies, tmp_path, capsys
):
    from trialnode.cli import main

    out = tmp_path / "clinical-studies.pdf"
    arguments = ["report", "--node", "forum-mellansverige", "--language", "en", "--out", str(out)]
    assert main([*arguments, "--year", "2024"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert '<html lang="en">' in out.with_suffix(".html").read_text()
    assert main([*arguments, "--year", "2999"]) == 2
    assert "2999 has not begun" in capsys.readouterr().err


def test_the_dashboard_shows_the_sections_in_the_same_format(client, known_studies, fake_section):
    client.cookies["django_language"] = "sv"
    page = client.get(reverse("statistics:dashboard"), {"year": "2024"}).content.decode()
    section = page[page.index('id="section-fake-inquiries"') :]
    assert f'<td class="number">1{NNBSP}234</td>' in section
    assert '<td class="number">0,93</td>' in section
    assert 'href="/api/v1/fake/measures"' in section


def test_a_condition_area_is_named_in_words_without_its_chapter_number(known_studies):
    _study("G", ["uppsala"], [(date(2024, 1, 1), "RECRUITING")], icd10="C61")
    summary = _summary(report_html(2024, None, language="sv"))
    assert (
        "Det vanligaste sjukdomsområdet var ”Cancer och tumörer”: 2 av 4 pågående studier "
        "(50,0\u00a0%)." in summary
    )


def test_the_method_names_the_sources_of_the_counted_studies(known_studies):
    Study.objects.filter(pk=known_studies["C"].pk).update(source=Source.CTGOV)
    html = report_html(2024, None, language="sv")
    method = _text(html[html.index('id="method"') :])
    assert (
        "Källor: registreringar gjorda i trialnode och ClinicalTrials.gov "
        "(USA:s nationella medicinska bibliotek, NLM)." in method
    )
