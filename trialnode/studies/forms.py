from __future__ import annotations

from typing import Any

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from trialnode.studies.models import (
    Status,
    Study,
    StudyCondition,
    StudyContact,
    StudyIntervention,
    StudySite,
)

STUDY_FORM_FIELDS = [
    "title_sv",
    "title_en",
    "acronym",
    "epm_dnr",
    "eu_ct_number",
    "eudract_number",
    "nct_id",
    "isrctn",
    "local_id",
    "study_type",
    "interventional_kind",
    "phase",
    "is_multicentre",
    "sponsor_name",
    "sponsor_type",
    "summary_sv",
    "summary_en",
    "research_subject",
    "start_date",
    "primary_completion_date",
    "completion_date",
    "planned_enrolment",
    "actual_enrolment",
    "min_age_years",
    "max_age_years",
    "sex",
    "healthy_volunteers",
    "eligibility_criteria",
]


LOCAL_STATUSES = [
    (value, label)
    for value, label in Status.choices
    if value
    not in (
        Status.UNKNOWN,
        Status.WITHHELD,
        Status.AVAILABLE,
        Status.NO_LONGER_AVAILABLE,
        Status.TEMPORARILY_NOT_AVAILABLE,
        Status.APPROVED_FOR_MARKETING,
    )
]
"""The overall statuses a registrant chooses from (ClinicalTrials.gov's registry-only
and expanded-access values are left out)."""


class StudyForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(
        label=_("Overall status"), choices=LOCAL_STATUSES, initial=Status.NOT_YET_RECRUITING
    )
    status_date = forms.DateField(
        label=_("Status in force since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The day the status took effect; today if you leave it empty."),
    )
    allow_duplicate = forms.BooleanField(
        label=_("I have checked: this is not the same study as the ones listed"), required=False
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=1000,
        help_text=_("Required when the study is published; it is kept in the history."),
    )

    class Meta:
        model = Study
        fields = STUDY_FORM_FIELDS
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "primary_completion_date": forms.DateInput(attrs={"type": "date"}),
            "completion_date": forms.DateInput(attrs={"type": "date"}),
            "summary_sv": forms.Textarea(attrs={"rows": 5}),
            "summary_en": forms.Textarea(attrs={"rows": 5}),
            "eligibility_criteria": forms.Textarea(attrs={"rows": 5}),
        }

    def study_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in STUDY_FORM_FIELDS}

    def status_arguments(self) -> dict[str, Any]:
        """The overall status and the day it took effect, as the services take them."""
        return {
            "status": self.cleaned_data["status"],
            "status_date": self.cleaned_data["status_date"],
        }


def _formset(model, fields: list[str]):
    return inlineformset_factory(Study, model, fields=fields, extra=1, can_delete=True)


SiteFormSet = _formset(
    StudySite,
    [
        "region",
        "care_provider",
        "unit",
        "facility_name",
        "city",
        "investigator",
        "recruitment_status",
    ],
)
ConditionFormSet = _formset(StudyCondition, ["icd10_code", "text"])
InterventionFormSet = _formset(StudyIntervention, ["type", "name", "atc_code"])
ContactFormSet = _formset(StudyContact, ["name", "role", "email", "phone"])

FORMSETS = {
    "sites": SiteFormSet,
    "conditions": ConditionFormSet,
    "interventions": InterventionFormSet,
    "contacts": ContactFormSet,
}


def child_rows(formsets: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The kept rows of every valid formset, by the name the services take them under."""
    return {name: formset_rows(formset) for name, formset in formsets.items()}


def formset_rows(formset) -> list[dict[str, Any]]:
    """The kept rows of a valid inline formset, as plain field dictionaries."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        rows.append({k: v for k, v in data.items() if k not in ("id", "DELETE", "study")})
    return rows


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What must the registrant change?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New overall status"), choices=Status.choices)
    effective_date = forms.DateField(
        label=_("Took effect on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=1000)


class PublishForm(forms.Form):
    """Publishing is signed: the coordinator gives the password again."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        initial=_("Validated against the minimal data set"),
    )
    password = forms.CharField(
        label=_("Your password (electronic signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )
    otp_token = forms.CharField(
        label=_("Code from your authenticator app, if you use one"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
