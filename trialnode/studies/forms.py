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
    """The study's own fields. A new study has no change reason (there is no change yet);
    an edit has no duplicate override (duplicates are looked for at registration)."""

    required_css_class = "required"
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            del self.fields["reason"]
        else:
            del self.fields["allow_duplicate"]

    @property
    def main_fields(self) -> list[forms.BoundField]:
        """The visible fields in page order; the duplicate override is shown beside the
        duplicates it overrides, not among them."""
        return [f for f in self.visible_fields() if f.name != "allow_duplicate"]

    def study_fields(self) -> dict[str, Any]:
        """The study's fields as the services take them. Browsers send a text area's line
        breaks as CRLF: they are stored as LF, as imports store them, so that saving
        the form changes no text nobody touched."""
        return {
            name: _lf(value) if isinstance(value, str) else value
            for name, value in ((name, self.cleaned_data[name]) for name in STUDY_FORM_FIELDS)
        }

    def status_arguments(self) -> dict[str, Any]:
        """The overall status and the day it took effect, as the services take them."""
        return {
            "status": self.cleaned_data["status"],
            "status_date": self.cleaned_data["status_date"],
        }


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class UnitSelect(forms.Select):
    """A unit menu whose options name their care provider, so the page can show only
    the units of the provider chosen beside it."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-care-provider"] = str(instance.care_provider_id)
        return option


class ChildForm(forms.ModelForm):
    required_css_class = "required"


class SiteForm(ChildForm):
    class Meta:
        model = StudySite
        fields = [
            "region",
            "care_provider",
            "unit",
            "facility_name",
            "city",
            "investigator",
            "recruitment_status",
        ]
        labels = {"region": _("Region"), "care_provider": _("Care provider"), "unit": _("Unit")}
        help_texts = {
            "region": "",  # the model's note is about imported registry sites
            "unit": _("The list shows the units of the chosen care provider."),
        }
        widgets = {"unit": UnitSelect}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        unit, provider = data.get("unit"), data.get("care_provider")
        if unit is not None and unit.care_provider_id != getattr(provider, "pk", None):
            self.add_error("unit", _("Choose a unit of the chosen care provider."))
        return data


def _formset(model, form=ChildForm, fields: list[str] | None = None):
    return inlineformset_factory(Study, model, form=form, fields=fields, extra=1, can_delete=True)


SiteFormSet = _formset(StudySite, form=SiteForm)
ConditionFormSet = _formset(StudyCondition, fields=["icd10_code", "text"])
InterventionFormSet = _formset(StudyIntervention, fields=["type", "name", "atc_code"])
ContactFormSet = _formset(StudyContact, fields=["name", "role", "email", "phone"])

FORMSET_TITLES = {
    "sites": (_("Sites"), _("Site"), _("Add a site")),
    "conditions": (_("Conditions"), _("Condition"), _("Add a condition")),
    "interventions": (_("Interventions"), _("Intervention"), _("Add an intervention")),
    "contacts": (_("Contacts"), _("Contact"), _("Add a contact")),
}
"""Per formset: the heading, the name of one row, and the label of the button adding one."""

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


def error_summary(form: forms.BaseForm, formsets: dict[str, Any]) -> list[tuple[str, str]]:
    """Every error of the study form and its formsets as (message, link to the field),
    in page order, for the summary at the top of the page."""
    errors: list[tuple[str, str]] = []
    for error in form.non_field_errors().as_data():
        if error.code == "duplicate":  # the studies are listed once, beside the override
            errors.append((str(_("Check the possible duplicates below.")), "#duplicates"))
        else:
            errors.extend((message, "#study-form") for message in error.messages)
    for field in form:
        errors.extend(
            (f"{field.label}: {message}", f"#{field.auto_id}") for message in field.errors
        )
    for name, formset in formsets.items():
        heading, row_name, _add = FORMSET_TITLES[name]
        errors.extend(
            (f"{heading}: {message}", f"#formset-{name}") for message in formset.non_form_errors()
        )
        for number, subform in enumerate(formset.forms, start=1):
            prefix = f"{row_name} {number}"
            errors.extend(
                (f"{prefix}: {message}", f"#formset-{name}")
                for message in subform.non_field_errors()
            )
            for field in subform:
                errors.extend(
                    (f"{prefix}, {field.label}: {message}", f"#{field.auto_id}")
                    for message in field.errors
                )
    return errors
