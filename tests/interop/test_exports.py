"""Any search result as CSV or XLSX, with the same filters as the page."""

import csv
import io

from openpyxl import load_workbook


def test_the_csv_holds_every_study_the_search_finds(client, make_study):
    make_study(title_sv="Hjärtsvikt i Uppsala", regions=("uppsala",), nct_id="NCT01234567")
    make_study(title_sv="Hjärtsvikt i Skåne", regions=("skane",))
    make_study(title_sv="Astma i Uppsala", regions=("uppsala",))
    response = client.get("/export/studier.csv", {"q": "hjärtsvikt", "region": "uppsala"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["title_sv"] for row in rows] == ["Hjärtsvikt i Uppsala"]
    assert rows[0]["nct_id"] == "NCT01234567"
    assert rows[0]["regions"] == "Region Uppsala"


def test_the_xlsx_holds_the_same_rows(client, make_study):
    for number in range(25):
        make_study(title_sv=f"Studie {number}")
    response = client.get("/export/studier.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "reference"
    assert len(rows) == 26  # every page of the search, not only the first


def test_the_search_page_links_to_its_downloads(client, make_study):
    make_study(title_sv="Hjärtsvikt")
    page = client.get("/", {"q": "hjärtsvikt"}).content.decode()
    assert "/export/studier.csv?q=hj%C3%A4rtsvikt" in page


def test_an_unknown_filter_value_is_a_400_and_an_unknown_format_a_404(client, reference_data):
    assert client.get("/export/studier.csv", {"status": "FINISHED"}).status_code == 400
    assert client.get("/export/studier.pdf").status_code == 404


def test_the_ctgov_shaped_export_maps_back_to_the_same_values(client, reference_data, sample_data):
    import orjson

    from trialnode.interop.ctgov import SiteMatcher, import_records, map_record
    from trialnode.studies.models import Study

    import_records(orjson.loads((sample_data / "ctgov" / "sweden.json").read_bytes()))
    response = client.get("/export/studier.json")
    exported = orjson.loads(b"".join(response.streaming_content))
    assert len(exported) == 18
    matcher = SiteMatcher()
    fields = [
        "nct_id",
        "eudract_number",
        "eu_ct_number",
        "title_en",
        "acronym",
        "status",
        "study_type",
        "phase",
        "sponsor_name",
        "sponsor_type",
        "summary_en",
        "start_date",
        "completion_date",
        "planned_enrolment",
        "actual_enrolment",
        "min_age_years",
        "max_age_years",
        "sex",
        "healthy_volunteers",
        "eligibility_criteria",
    ]
    for record in exported:
        again = map_record(record, matcher)
        original = Study.objects.get(nct_id=again.study.nct_id)
        for name in fields:
            assert getattr(again.study, name) == getattr(original, name), (original.nct_id, name)
        assert [c.text for c in again.conditions] == [c.text for c in original.conditions.all()]
        assert [(s.region_id, s.care_provider_id) for s in again.sites] == [
            (s.region_id, s.care_provider_id) for s in original.sites.all()
        ]
