"""The dashboard, the API, the CSV/XLSX downloads and the report give the same numbers."""

import csv
import io
import re
from html import unescape

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from trialnode.organisations.models import Node
from trialnode.statistics.formatting import format_percent
from trialnode.statistics.report import report_html, write_report


def _csv(response):
    text = b"".join(response.streaming_content).decode()
    return {row[0]: int(row[-1]) for row in list(csv.reader(io.StringIO(text)))[1:]}


def test_dashboard_api_csv_xlsx_and_report_agree_for_the_same_filters(client, known_studies):
    params = {"year": "2024", "region": "uppsala", "measure": "ongoing"}

    api = client.get("/api/v1/statistics/breakdown", {**params, "by": "study_type"}).json()
    from_api = {row["label"]: row["value"] for row in api["rows"]}
    assert from_api == {"Interventional": 1, "Observational": 1}  # A, B (E is unpublished)
    assert api["total"] == 2

    from_csv = _csv(
        client.get(reverse("statistics:download", args=["by-study_type", "csv"]), params)
    )
    assert from_csv == from_api

    workbook = load_workbook(
        io.BytesIO(
            client.get(
                reverse("statistics:download", args=["by-study_type", "xlsx"]), params
            ).content
        )
    )
    from_xlsx = {row[0]: row[1] for row in workbook.active.iter_rows(min_row=2, values_only=True)}
    assert from_xlsx == from_api

    page = client.get(reverse("statistics:dashboard"), params).content.decode()
    table = page[page.index('id="table-by-study_type"') :]
    table = table[: table.index("</section>")]
    cells = re.findall(r"<td>([^<]+)</td>\s*<td class=\"number\"><a [^>]+>(\d+)</a>", table)
    assert {label: int(value) for label, value in cells} == from_api

    summary = client.get("/api/v1/statistics/summary", {"date": "2024-12-31", "region": "uppsala"})
    assert summary.json()["ongoing"] == 2

    node = Node.objects.get(slug="forum-mellansverige")
    html = report_html(2024, node, language="en")
    region_rows = client.get(
        "/api/v1/statistics/breakdown",
        {
            "year": "2024",
            "by": "region",
            "region": list(node.regions.values_list("slug", flat=True)),
        },
    ).json()
    total = client.get(
        "/api/v1/statistics/breakdown",
        {
            "year": "2024",
            "by": "study_type",
            "region": list(node.regions.values_list("slug", flat=True)),
        },
    ).json()["total"]
    assert re.search(rf'id="total-ongoing">{total}<', html)
    for row in region_rows["rows"]:
        assert re.search(
            rf"<td>{row['label']}</td><td class=\"number\">\d+</td>"
            rf"<td class=\"number\">{row['value']}</td>",
            html,
        )


def test_the_reports_summary_in_words_has_the_apis_numbers(client, known_studies):
    node = Node.objects.get(slug="forum-mellansverige")
    regions = list(node.regions.values_list("slug", flat=True))
    now, before = (
        client.get("/api/v1/statistics/summary", {"date": day, "region": regions}).json()
        for day in ("2024-12-31", "2023-12-31")
    )
    html = report_html(2024, node, language="en")
    summary = unescape(html[html.index('id="summary"') : html.index('id="key-figures"')])
    growth = format_percent(
        100 * (now["ongoing_this_year"] - before["ongoing_this_year"]) / before["ongoing_this_year"]
    )
    assert (
        f"increased by {growth}, from {before['ongoing_this_year']} in 2023 "
        f"to {now['ongoing_this_year']} in 2024." in summary
    )
    assert (
        f"In 2024, {now['started_this_year']} studies started, "
        f"compared with {before['started_this_year']} in 2023." in summary
    )
    assert f"({before['completed_this_year']} in 2023)" in summary
    assert now["completed_this_year"] == 0 and "No study was completed in 2024" in summary
    assert f"On 31 December 2024, {now['ongoing']} studies were ongoing." in summary
    assert f"Of them, {now['recruiting']} were open for recruitment." in summary


def test_every_number_links_to_the_studies_it_counts(client, known_studies):
    page = client.get(
        reverse("statistics:studies"), {"year": "2024", "measure": "ongoing", "region": "orebro"}
    ).content.decode()
    assert ">A<" in page and ">C<" in page and ">B<" not in page
    headline = client.get(
        reverse("statistics:studies"), {"summary": "recruiting", "date": "2024-12-31"}
    ).content.decode()
    assert ">B<" in headline and ">C<" in headline and ">A<" not in headline


def test_bad_parameters_are_refused_with_a_clear_message(client, known_studies):
    response = client.get("/api/v1/statistics/breakdown", {"by": "colour", "year": "1850"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"by", "year"}
    assert client.get(reverse("statistics:dashboard"), {"region": "atlantis"}).status_code == 400


def test_the_report_is_written_as_pdf_with_html_beside_it(known_studies, tmp_path):
    html_path = write_report(2024, None, tmp_path / "report.pdf", language="sv")
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "Kliniska studier i Sverige 2024" in html_path.read_text()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_public_dashboard_works_without_login_in_both_languages(
    client, known_studies, language
):
    client.cookies["django_language"] = language
    page = client.get(reverse("statistics:dashboard"), {"year": "2024"})
    assert page.status_code == 200
    assert "chart.umd.min.js" in page.content.decode()


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({"by": "cancer_area", "key": "breast"}, {"A"}),
        ({"by": "condition_area", "key": ""}, {"C"}),
        ({"regions": "Region Dalarna,Region Uppsala"}, {"A"}),
        ({"by": "care_provider", "key": ""}, {"A", "B", "C"}),
        ({"period": "2023"}, {"B", "D"}),
    ],
)
def test_breakdown_and_collaboration_numbers_link_to_exactly_their_studies(
    client, known_studies, params, titles
):
    page = client.get(
        reverse("statistics:studies"), {"year": "2024", "measure": "ongoing", **params}
    )
    listed = set(re.findall(r'<a href="/studier/\d+/">([^<]+)</a>', page.content.decode()))
    assert listed == titles
