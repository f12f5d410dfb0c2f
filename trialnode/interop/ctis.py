"""EU Clinical Trials Information System (CTIS) public trial data → trialnode studies.

CTIS has published its trials in two JSON structures: until June 2024 the
application parts sat at the top level and the trial status was text
(``ctStatus: "Authorised, not started"``); since then they sit under
``authorizedApplication`` and the status is a number (``ctPublicStatusCode``).
Both are read here, as are rows of the public search's CSV download (see
``CSV_COLUMNS``). Records are keyed by EU CT number and go through the same
upsert as ClinicalTrials.gov records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

from django.utils.translation import gettext as _

from trialnode.interop import fields as f
from trialnode.interop import upsert
from trialnode.interop.upsert import (
    ImportSummary,
    MappedStudy,
    RecordError,
    RegistryFormat,
    SiteMatcher,
    Unreadable,
    dig,
)
from trialnode.studies.models import (
    InterventionalKind,
    InterventionType,
    RegistrationState,
    Sex,
    Source,
    SponsorType,
    Status,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudySite,
    StudyType,
)
from trialnode.studies.validators import EU_CT_RE, EUDRACT_RE, NCT_RE

SWEDEN = frozenset({"Sweden", "SE"})
"""Sweden as CTIS names it: by name in the records, by country code in the CSV."""

# The overall trial status of the CTIS public portal, by the code its search API
# and the post-2024 records use (``ctPublicStatusCode``, and the number after the
# colon in ``trialCountries``).
PUBLIC_STATUS_CODES = {
    1: "Under evaluation",
    2: "Authorised, recruitment pending",
    3: "Authorised, recruiting",
    4: "Ongoing, recruiting",
    5: "Ongoing, recruitment ended",
    6: "Temporarily halted",
    7: "Suspended",
    8: "Ended",
    9: "Expired",
    10: "Revoked",
    11: "Not authorised",
    12: "Cancelled",
}

# CTIS status wording (current and pre-2024) → ClinicalTrials.gov ``overallStatus``.
# An authorisation that expired, was refused or cancelled never had participants:
# WITHDRAWN in ClinicalTrials.gov's terms; a revoked one was stopped: TERMINATED.
STATUS_BY_LABEL = {
    "under evaluation": Status.NOT_YET_RECRUITING,
    "authorised": Status.NOT_YET_RECRUITING,
    "authorised, not started": Status.NOT_YET_RECRUITING,
    "authorised, recruitment pending": Status.NOT_YET_RECRUITING,
    "ongoing, not yet recruiting": Status.NOT_YET_RECRUITING,
    "authorised, recruiting": Status.RECRUITING,
    "ongoing, recruiting": Status.RECRUITING,
    "ongoing": Status.ACTIVE_NOT_RECRUITING,
    "ongoing, recruitment ended": Status.ACTIVE_NOT_RECRUITING,
    "temporarily halted": Status.SUSPENDED,
    "halted": Status.SUSPENDED,
    "suspended": Status.SUSPENDED,
    "ended": Status.COMPLETED,
    "expired": Status.WITHDRAWN,
    "not authorised": Status.WITHDRAWN,
    "cancelled": Status.WITHDRAWN,
    "withdrawn": Status.WITHDRAWN,
    "revoked": Status.TERMINATED,
}

PHASE_RE = re.compile(r"Phase\s+(IV|I{1,3})\b", re.IGNORECASE)
PHASES_BY_NUMERALS = {
    ("I",): "PHASE1",
    ("I", "II"): "PHASE1_PHASE2",
    ("II",): "PHASE2",
    ("II", "III"): "PHASE2_PHASE3",
    ("III",): "PHASE3",
    ("IV",): "PHASE4",
}
AGE_GROUP_RE = re.compile(r"(\d+)\s*(?:-\s*(\d+)|\+)")

# Columns of the CTIS public search's CSV download that are read (matched without
# regard to case); the first three must be present.
CSV_COLUMNS = {
    "trial number": "ctNumber",
    "title of the trial": "title",
    "overall trial status": "ctStatus",
    "sponsor/co-sponsors": "sponsorName",
    "sponsor type": "sponsorType",
    "trial phase": "trialPhase",
    "location(s)": "trialCountries",
    "therapeutic areas": "therapeuticAreas",
    "medical conditions": "medicalConditions",
    "age group": "ageGroup",
    "gender": "gender",
    "number of participants enrolled": "totalNumberEnrolled",
    "start date": "startDateEU",
    "end date": "endDateEU",
    "last updated": "lastUpdated",
}
REQUIRED_CSV_COLUMNS = ("trial number", "title of the trial", "overall trial status")


def parse_ctis_date(value: Any) -> date | None:
    """CTIS writes YYYY-MM-DD, DD/MM/YYYY or an ISO timestamp."""
    if not value:
        return None
    if not isinstance(value, str):
        raise RecordError(_("unreadable date %(value)s") % {"value": f"{value!r:.40}"})
    text = value.strip()
    try:
        if re.fullmatch(r"\d{2}/\d{2}/\d{4}", text):
            return datetime.strptime(text, "%d/%m/%Y").date()
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RecordError(_("unreadable date %(value)s") % {"value": f"{value!r:.40}"}) from None


def record_key(record: Any) -> str:
    return str(dig(record, "ctNumber", default="?"))


def _parts(record: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Part I and the Parts II of the authorised application, in either structure."""
    application = record.get("authorizedApplication") or record
    part_one = application.get("authorizedPartI") or {}
    parts_two = application.get("authorizedPartsII") or []
    if not isinstance(part_one, dict) or not isinstance(parts_two, list):
        raise RecordError(_("authorizedPartI must be an object and authorizedPartsII a list"))
    return part_one, parts_two


def _event_types(record: dict[str, Any]) -> set[str]:
    types = set()
    for country in dig(record, "events", "trialEvents", default=[]) or []:
        for event in country.get("events") or []:
            types.add(str(event.get("notificationType", "")).upper())
    for country in record.get("mscTrialNotificationsInfoList") or []:
        for notification in country.get("mscNotificationsListInfo") or []:
            types.add(str(notification.get("notificationType", "")).upper())
    return types


def resolve_status(record: dict[str, Any]) -> Status:
    """The overall status from the status code or wording, refined by trial events."""
    code = record.get("ctPublicStatusCode")
    if code is None and isinstance(record.get("ctStatus"), int):
        code = record["ctStatus"]
    if code is not None:
        if isinstance(code, bool) or not isinstance(code, int):
            raise RecordError(
                _("ctPublicStatusCode must be a number, not %(value)s") % {"value": f"{code!r:.40}"}
            )
        if code not in PUBLIC_STATUS_CODES:
            raise RecordError(_("unknown CTIS status code %(code)d") % {"code": code})
        label = PUBLIC_STATUS_CODES[code]
    else:
        wording = record.get("ctStatus")
        if not isinstance(wording, str) or not wording.strip():
            raise RecordError(_("no trial status (ctStatus or ctPublicStatusCode)"))
        label = wording
    status = STATUS_BY_LABEL.get(label.strip().lower())
    if status is None:
        raise RecordError(_("unknown CTIS trial status %(value)s") % {"value": f"{label!r:.40}"})
    # Before 2024 "Ongoing" left recruitment to the per-country recruitment status.
    recruiting = "recruiting" in str(record.get("recruitmentStatus", "")).lower()
    if label.strip().lower() == "ongoing" and recruiting:
        status = Status.RECRUITING
    if status == Status.COMPLETED and any("EARLY" in kind for kind in _event_types(record)):
        status = Status.TERMINATED
    return status


def parse_phase(text: Any) -> str:
    numerals = tuple(dict.fromkeys(m.upper() for m in PHASE_RE.findall(str(text or ""))))
    return PHASES_BY_NUMERALS.get(numerals, "")


def parse_age_groups(text: Any) -> tuple[int | None, int | None]:
    """'65+ years, 18-64 years' → (18, None); '0-17 years' → (0, 17); 'In utero' → 0."""
    groups = text if isinstance(text, list) else str(text or "").split(",")
    lows: list[int] = []
    highs: list[int | None] = []
    for group in groups:
        group = str(group).strip()
        if not group:
            continue
        if "utero" in group.lower():
            lows.append(0)
            highs.append(0)
            continue
        match = AGE_GROUP_RE.search(group)
        if not match:
            raise RecordError(_("unreadable age group %(value)s") % {"value": f"{group!r:.40}"})
        lows.append(int(match.group(1)))
        highs.append(int(match.group(2)) if match.group(2) else None)
    if not lows:
        return None, None
    return min(lows), None if None in highs else max(h for h in highs if h is not None)


def parse_sex(text: Any) -> str:
    words = {w.strip().lower() for w in str(text or "").split(",") if w.strip()}
    if words == {"female"}:
        return Sex.FEMALE
    if words == {"male"}:
        return Sex.MALE
    return Sex.ALL


def _primary_sponsor(record: dict[str, Any], part_one: dict[str, Any]) -> dict[str, Any]:
    sponsor = record.get("primarySponsor")
    if isinstance(sponsor, dict):
        return sponsor
    sponsors = [s for s in part_one.get("sponsors") or [] if isinstance(s, dict)]
    return next((s for s in sponsors if s.get("primary")), sponsors[0] if sponsors else {})


def _sponsor_type(sponsor: dict[str, Any], sponsor_type_text: Any) -> str:
    commercial = dig(sponsor, "organisation", "commercial")
    if commercial is None:
        commercial = sponsor.get("commercial")
    if isinstance(commercial, bool):
        return SponsorType.INDUSTRY if commercial else SponsorType.ACADEMIC
    text = str(sponsor_type_text or "").lower()
    if not text:
        return ""
    if "pharmaceutical" in text or "commercial" in text:
        return SponsorType.INDUSTRY
    return SponsorType.ACADEMIC


def _countries(record: dict[str, Any]) -> list[str]:
    """Member states concerned, by name (a CSV or a bare `trialCountries` may give codes)."""
    names = [
        str(state.get("mscName") or state.get("countryName") or "")
        for state in dig(record, "authorizedApplication", "memberStatesConcerned", default=[])
        or record.get("memberStatesConcerned")
        or []
        if isinstance(state, dict)
    ]
    if not any(names):
        raw = record.get("trialCountries") or []
        entries = raw if isinstance(raw, list) else str(raw).split(",")
        names = [str(entry).split(":")[0].strip() for entry in entries]
    return sorted({name for name in names if name})


def _listed(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").split(";") if part.strip()]


def _count(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RecordError(
            _("totalNumberEnrolled is not a number: %(value)s") % {"value": f"{value!r:.40}"}
        ) from None
    if number < 0:
        raise RecordError(_("negative totalNumberEnrolled %(number)d") % {"number": number})
    return number


def map_record(record: dict[str, Any], matcher: SiteMatcher) -> MappedStudy:
    """Map one CTIS trial (either structure, or a CSV row); raises RecordError naming the fault."""
    if not isinstance(record, dict):
        raise RecordError(_("a trial must be a JSON object"))
    ct_number = record.get("ctNumber")
    if not isinstance(ct_number, str) or not EU_CT_RE.match(ct_number):
        if ct_number is None:
            raise RecordError(_("no ctNumber"))
        raise RecordError(_("invalid ctNumber %(value)s") % {"value": f"{ct_number!r:.40}"})
    part_one, parts_two = _parts(record)
    details = part_one.get("trialDetails") or {}
    identifiers = details.get("clinicalTrialIdentifiers") or {}
    information = details.get("trialInformation") or {}
    duration = information.get("trialDuration") or {}
    title = record.get("title") or identifiers.get("fullTitle") or identifiers.get("publicTitle")
    if not isinstance(title, str) or not title.strip():
        raise RecordError(_("no title"))
    sponsor = _primary_sponsor(record, part_one)
    eudract = str(
        dig(record, "authorizedApplication", "eudraCt", "eudraCtCode")
        or dig(record, "eudraCtInfo", "eudraCtCode")
        or ""
    )
    nct = str(dig(identifiers, "secondaryIdentifyingNumbers", "nctNumber", "number") or "")
    min_age, max_age = parse_age_groups(record.get("ageGroup"))
    end_date = duration.get("estimatedGlobalEndDate") or duration.get("estimatedEndDate")
    study = Study(
        eu_ct_number=ct_number,
        eudract_number=eudract if EUDRACT_RE.match(eudract) else "",
        nct_id=nct if NCT_RE.match(nct) else "",
        local_id=f.text(identifiers.get("shortTitle"), "shortTitle", 60),
        title_en=f.text(" ".join(title.split()), "title", 600),
        status=resolve_status(record),
        study_type=StudyType.INTERVENTIONAL,
        interventional_kind=InterventionalKind.DRUG,
        phase=parse_phase(record.get("trialPhase")),
        sponsor_name=f.text(
            dig(sponsor, "organisation", "name") or record.get("sponsorName"), "sponsor", 300
        ),
        sponsor_type=_sponsor_type(sponsor, record.get("sponsorType")),
        member_states=f.text(", ".join(_countries(record)), "member states", 300),
        therapeutic_area=f.text(
            "; ".join(_listed(record.get("therapeuticAreas"))), "therapeuticAreas", 500
        ),
        summary_en=f.text(
            dig(information, "trialObjective", "mainObjective"), "mainObjective", 5000
        ),
        start_date=parse_ctis_date(
            record.get("startDateEU") or duration.get("estimatedRecruitmentStartDate")
        ),
        completion_date=parse_ctis_date(end_date or record.get("endDateEU")),
        planned_enrolment=_count(record.get("totalNumberEnrolled")),
        min_age_years=min_age,
        max_age_years=max_age,
        sex=parse_sex(record.get("gender")),
        source=Source.CTIS,
        registration_state=RegistrationState.PUBLISHED,
        last_confirmed_at=parse_ctis_date(record.get("lastUpdated")),
    )
    mapped = MappedStudy(study=study, status_date=parse_ctis_date(record.get("lastUpdated")))
    conditions = dig(part_one, "medicalConditions", default=None) or dig(
        information, "medicalCondition", "partIMedicalConditions", default=[]
    )
    texts = [c.get("medicalCondition") for c in conditions if isinstance(c, dict)]
    texts += _listed(record.get("medicalConditions")) if not texts else []
    for text in dict.fromkeys(t for t in texts if t):
        mapped.conditions.append(StudyCondition(text=f.text(text, "medicalCondition", 300)))
    for product in part_one.get("products") or []:
        name = dig(product, "productDictionaryInfo", "prodName") or dig(
            product, "productDictionaryInfo", "activeSubstanceName"
        )
        if name:
            mapped.interventions.append(
                StudyIntervention(type=InterventionType.DRUG, name=f.text(name, "product", 300))
            )
    for contact in sponsor.get("publicContacts") or []:
        if contact.get("functionalName"):
            mapped.contacts.append(
                StudyContact(
                    name=f.text(contact["functionalName"], "functionalName", 200),
                    role="Public contact",
                    email=f.text(contact.get("functionalEmailAddress"), "contact e-mail", 254),
                    phone=f.text(contact.get("telephone"), "contact telephone", 40),
                )
            )
    mapped.sites = list(_swedish_sites(parts_two, matcher))
    study.conducted_in_sweden = bool(SWEDEN & set(_countries(record))) or bool(mapped.sites)
    study.is_multicentre = sum(len(part.get("trialSites") or []) for part in parts_two) > 1
    return mapped


def _swedish_sites(parts_two: list[dict[str, Any]], matcher: SiteMatcher) -> Iterator[StudySite]:
    for part in parts_two:
        for site in part.get("trialSites") or []:
            address_info = site.get("organisationAddressInfo") or {}
            address = address_info.get("address") or {}
            if address.get("countryName") not in SWEDEN:
                continue
            facility = f.text(dig(address_info, "organisation", "name"), "site name", 300)
            city = f.text(address.get("city"), "site city", 100)
            region_id, provider = matcher.match(facility, city)
            person = site.get("personInfo") or {}
            investigator = " ".join(
                f.text(person.get(k), "investigator", 100) for k in ("firstName", "lastName")
            ).strip()
            yield StudySite(
                region_id=region_id,
                care_provider=provider,
                facility_name=facility,
                city=city,
                investigator=investigator,
            )


def maybe_in_sweden(record: dict[str, Any]) -> bool:
    """Sweden among the member states concerned, or a trial site in Sweden (a record too
    malformed to tell goes on to be mapped, and rejected with its reason)."""
    if not EU_CT_RE.match(record_key(record)):
        return True
    try:
        countries = _countries(record)
        _one, parts_two = _parts(record)
    except (RecordError, AttributeError, TypeError):
        return True
    return bool(SWEDEN & set(countries)) or any(
        dig(site, "organisationAddressInfo", "address", "countryName") in SWEDEN
        for part in parts_two
        if isinstance(part, dict)
        for site in (part.get("trialSites") or [])
        if isinstance(site, dict)
    )


CTIS = RegistryFormat(
    source=Source.CTIS,
    key_field="eu_ct_number",
    record_key=record_key,
    map_record=map_record,
    maybe_in_sweden=maybe_in_sweden,
    fields=frozenset(
        {
            "eu_ct_number",
            "eudract_number",
            "nct_id",
            "local_id",
            "title_en",
            "status",
            "study_type",
            "interventional_kind",
            "phase",
            "sponsor_name",
            "sponsor_type",
            "member_states",
            "therapeutic_area",
            "summary_en",
            "start_date",
            "completion_date",
            "planned_enrolment",
            "min_age_years",
            "max_age_years",
            "sex",
            "source",
            "last_confirmed_at",
            "conducted_in_sweden",
            "is_multicentre",
        }
    ),
)


def import_records(records: Iterable[dict[str, Any]], **options: Any) -> ImportSummary:
    """Import CTIS trial records (see ``upsert.import_records``)."""
    return upsert.import_records(records, CTIS, **options)


class CsvTemplateError(ValueError):
    """The CSV is not a CTIS search download: nothing of it is imported."""


MAX_CSV_LINE = 1 << 20
"""No row of CTIS's search download comes near a megabyte."""


def _bounded_lines(text: IO[str], too_long: list[int]) -> Iterator[str]:
    """The lines of ``text``, each at most ``MAX_CSV_LINE`` characters: a longer line is
    skipped (read on to its end a block at a time), its number noted in ``too_long``,
    and an empty line given in its place so that the row numbers stay true."""
    number = 0
    while line := text.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(line) > MAX_CSV_LINE and not line.endswith("\n"):
            while (more := text.readline(1 << 20)) and not more.endswith("\n"):
                pass
            too_long.append(number)
            line = "\n"
        yield line


def _separator(header: str) -> str:
    """The separator that splits the header into CTIS's columns (comma by default)."""
    return max(
        (",", ";", "\t"),
        key=lambda sep: sum(
            1 for c in header.split(sep) if c.strip().strip('"').lower() in CSV_COLUMNS
        ),
    )


def _row(name: str, number: int) -> str:
    return _("%(name)s row %(number)d") % {"name": name, "number": number}


def iter_csv_records(stream: IO[bytes], name: str) -> Iterator[dict[str, Any]]:
    """Rows of the CTIS public search's CSV download, as records ``map_record`` reads.

    Read line by line with a bound on each line; a row that cannot be read is reported
    with its number and the next rows go on.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    too_long: list[int] = []
    lines = _bounded_lines(text, too_long)
    first = next(lines, "")
    header = [
        column.strip().lower()
        for column in next(csv.reader([first], delimiter=_separator(first)), [])
    ]
    missing = [column for column in REQUIRED_CSV_COLUMNS if column not in header]
    if missing:
        raise CsvTemplateError(
            _("%(name)s: missing columns: %(columns)s")
            % {"name": name, "columns": ", ".join(missing)}
        )
    fields = [CSV_COLUMNS.get(column) for column in header]
    reader = csv.reader(lines, delimiter=_separator(first))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Unreadable(
                where=_row(name, reader.line_num + 1),
                error=_("unreadable (%(error)s)") % {"error": exc},
            )
            continue
        number = reader.line_num + 1
        if too_long and too_long[-1] == number:
            yield Unreadable(where=_row(name, number), error=_("row longer than a megabyte"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Unreadable(where=_row(name, number), error=_("wrong number of columns"))
            continue
        record: dict[str, Any] = {
            key: cell.strip() for key, cell in zip(fields, row, strict=True) if key
        }
        if "trialCountries" in record:
            record["trialCountries"] = _listed(record["trialCountries"].replace(",", ";"))
        yield record
