"""The criteria builder's form and the officer's decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trialnode.counts.builder import Criterion, Spec
from trialnode.counts.definition import DefinitionError, load_definition

KIND_CHOICES = [
    ("diagnosis", _("Diagnosis (ICD-10-SE)")),
    ("drug", _("Drug (ATC)")),
    ("procedure", _("Procedure (KVÅ)")),
    ("lab", _("Lab value (LOINC)")),
]
SEX_CHOICES = [("", _("Any")), ("female", _("Women")), ("male", _("Men"))]
INCLUDE_CHOICES = [("include", _("Must have")), ("exclude", _("Must not have"))]
OP_CHOICES = [
    ("", "–"),
    ("gt", _("above")),
    ("gte", _("at least")),
    ("lt", _("below")),
    ("lte", _("at most")),
]


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.replace(";", ",").split(",") if code.strip()]


class CleanTextMixin:
    def _plain(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""  # type: ignore[attr-defined]
        if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
            raise forms.ValidationError(_("Remove the control characters."))
        return value


class BuilderForm(CleanTextMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    entry_kind = forms.ChoiceField(label=_("Patients are counted from"), choices=KIND_CHOICES)
    entry_codes = forms.CharField(
        label=_("Codes"),
        max_length=500,
        help_text=_("One or more codes, separated by commas, e.g. K92.2 or M01AH01."),
    )
    first_event = forms.BooleanField(
        label=_("Only each patient's first occurrence"), required=False, initial=True
    )
    prior_days = forms.IntegerField(
        label=_("Days of history required before it"),
        min_value=0,
        max_value=3650,
        initial=0,
        required=False,
    )
    age_min = forms.IntegerField(label=_("Age from"), min_value=0, max_value=130, required=False)
    age_max = forms.IntegerField(label=_("Age to"), min_value=0, max_value=130, required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, required=False)
    definition_json = forms.CharField(
        label=_("Or paste a cohort definition (Circe JSON from ATLAS)"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=512 * 1024,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.definition: dict[str, Any] | None = None

    def clean_title(self) -> str:
        return self._plain("title").strip()

    def clean_entry_codes(self) -> str:
        return self._plain("entry_codes")

    def clean_definition_json(self) -> str:
        raw = self._plain("definition_json").strip()
        if raw:
            try:
                self.definition = load_definition(raw)
            except DefinitionError as exc:
                raise forms.ValidationError(str(exc)) from None
        return raw

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("age_min"), data.get("age_max")
        if low is not None and high is not None and low > high:
            self.add_error("age_max", _("The highest age must not be below the lowest."))
        return data

    def spec(self, criteria: list[Criterion]) -> Spec:
        data = self.cleaned_data
        return Spec(
            entry=Criterion(kind=data["entry_kind"], codes=_codes(data["entry_codes"])),
            first_event=bool(data.get("first_event")),
            prior_days=data.get("prior_days") or 0,
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            sex=data.get("sex") or "",
            criteria=criteria,
        )


class CriterionForm(CleanTextMixin, forms.Form):
    include = forms.ChoiceField(label=_("Inclusion or exclusion"), choices=INCLUDE_CHOICES)
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES)
    codes = forms.CharField(label=_("Codes"), max_length=500, required=False)
    days_before = forms.IntegerField(
        label=_("Within days before"),
        min_value=0,
        max_value=36500,
        required=False,
        help_text=_("Empty: any time before."),
    )
    days_after = forms.IntegerField(
        label=_("Within days after"),
        min_value=0,
        max_value=36500,
        required=False,
        help_text=_("Empty: any time after."),
    )
    min_count = forms.IntegerField(
        label=_("At least this many times"), min_value=1, max_value=100, initial=1, required=False
    )
    lab_op = forms.ChoiceField(label=_("Lab value"), choices=OP_CHOICES, required=False)
    lab_value = forms.FloatField(label=_("Threshold"), required=False)

    def clean_codes(self) -> str:
        return self._plain("codes")

    def criterion(self) -> Criterion:
        data = self.cleaned_data
        return Criterion(
            kind=data["kind"],
            codes=_codes(data["codes"]),
            include=data["include"] == "include",
            days_before=data.get("days_before"),
            days_after=data.get("days_after"),
            min_count=data.get("min_count") or 1,
            lab_op=data.get("lab_op") or "",
            lab_value=data.get("lab_value"),
        )


CriteriaFormSet = forms.formset_factory(CriterionForm, extra=2, max_num=20, validate_max=True)


class DecisionForm(CleanTextMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))]
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def clean_reason(self) -> str:
        return self._plain("reason").strip()
