"""Forms of the sponsor, the coordinator and the recipient."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from trialnode.feasibility.models import (
    DirectoryEntry,
    Inquiry,
    InquiryKind,
    Recipient,
    SponsorOrganisation,
)
from trialnode.feasibility.services import COUNTRY_REQUIRED, SITE_REQUIRED
from trialnode.organisations.models import CareProvider, Region
from trialnode.studies.filters import CONDITION_AREA_LABELS
from trialnode.studies.validators import ICD10_CHAPTERS


def therapy_area_choices() -> list[tuple[str, str]]:
    return [(c, f"{c} {CONDITION_AREA_LABELS[c]}") for c, *_r in ICD10_CHAPTERS]


YES_NO = [("", "–"), ("yes", _("Yes")), ("no", _("No"))]

COMMON_FIELDS = ["title", "therapy_area", "specialty", "product"]
COUNTRY_FIELDS = [*COMMON_FIELDS, "planned_start"]
SITE_FIELDS = [
    *COMMON_FIELDS,
    "indication_purpose",
    "phase",
    "ce_marked",
    "inclusion_criteria",
    "exclusion_criteria",
    "special_requirements",
    "timeline",
    "target_enrolment",
    "investigators_contacted",
    "sweden_chosen",
]
CONTACT_FIELDS = ["reply_by", "sponsor_contact_name", "sponsor_contact_email"]


class InquiryForm(forms.ModelForm):
    """The fields of a country or a site inquiry (domain.md), the targets and the synopsis."""

    is_atmp = forms.ChoiceField(label=_("ATMP (advanced therapy)"), choices=YES_NO, required=False)
    synopsis = forms.FileField(
        label=_("Synopsis (PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    target_regions = forms.ModelMultipleChoiceField(
        label=_("Regions"),
        queryset=Region.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    target_providers = forms.ModelMultipleChoiceField(
        label=_("Hospitals and other care providers"),
        queryset=CareProvider.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Inquiry
        fields = [*SITE_FIELDS, "planned_start", *CONTACT_FIELDS, "all_sweden"]
        widgets = {
            "planned_start": forms.DateInput(attrs={"type": "date"}),
            "reply_by": forms.DateInput(attrs={"type": "date"}),
            "indication_purpose": forms.Textarea(attrs={"rows": 3}),
            "inclusion_criteria": forms.Textarea(attrs={"rows": 4}),
            "exclusion_criteria": forms.Textarea(attrs={"rows": 4}),
            "special_requirements": forms.Textarea(attrs={"rows": 2}),
            "timeline": forms.Textarea(attrs={"rows": 2}),
            "investigators_contacted": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(COUNTRY_FIELDS if kind == InquiryKind.COUNTRY else SITE_FIELDS)
        keep |= {*CONTACT_FIELDS, "all_sweden", "target_regions", "target_providers", "synopsis"}
        if kind == InquiryKind.COUNTRY:
            keep.add("is_atmp")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        self.fields["therapy_area"].choices = [  # type: ignore[attr-defined]
            ("", "–"),
            *therapy_area_choices(),
        ]
        required = COUNTRY_REQUIRED if kind == InquiryKind.COUNTRY else SITE_REQUIRED
        for name in required:
            self.fields[name].required = True
        if kind == InquiryKind.COUNTRY:
            self.fields["synopsis"].required = True
            self.fields["is_atmp"].required = True
        self.order_fields(
            [
                *(COUNTRY_FIELDS if kind == InquiryKind.COUNTRY else SITE_FIELDS),
                "is_atmp",
                *CONTACT_FIELDS,
                "all_sweden",
                "target_regions",
                "target_providers",
                "synopsis",
            ]
        )

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("synopsis", "target_regions", "target_providers", "all_sweden"):
            data.pop(name, None)
        if "is_atmp" in data:
            data["is_atmp"] = {"yes": True, "no": False}.get(data["is_atmp"])
        return data


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = SponsorOrganisation
        fields = ["name", "kind"]


class MemberForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address of the colleague's sponsor account"))


class MessageForm(forms.Form):
    text = forms.CharField(label=_("Message"), max_length=5000, widget=forms.Textarea({"rows": 3}))


class CompileForm(forms.Form):
    text = forms.CharField(
        label=_("Compiled answer to the sponsor"),
        max_length=20000,
        widget=forms.Textarea({"rows": 10}),
    )


class CloseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class DirectoryEntryForm(forms.ModelForm):
    therapy_areas = forms.MultipleChoiceField(
        label=_("Therapy areas (ICD-10 chapters)"),
        choices=therapy_area_choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = DirectoryEntry
        fields = [
            "care_provider",
            "unit_name",
            "investigator",
            "email",
            "phone",
            "specialty",
            "therapy_areas",
            "is_expert",
            "is_active",
        ]

    def __init__(self, *args: Any, providers, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["care_provider"].queryset = providers  # type: ignore[attr-defined]


class AnswerForm(forms.ModelForm):
    """The recipient's answer; the Early Feedback Form questions for country inquiries."""

    class Meta:
        model = Recipient
        fields = [
            "response",
            "decline_reason",
            "eligible_per_year",
            "population_exists",
            "recruitment_chance",
            "recruitment_limit",
            "discouraging_factors",
            "standard_of_care",
            "care_setting",
            "comments",
        ]
        widgets = {
            "response": forms.RadioSelect,
            "decline_reason": forms.Textarea({"rows": 2}),
            "comments": forms.Textarea({"rows": 3}),
        }

    FEEDBACK = (
        "population_exists",
        "recruitment_chance",
        "recruitment_limit",
        "discouraging_factors",
        "standard_of_care",
        "care_setting",
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["response"].choices = [c for c in self.fields["response"].choices if c[0]]  # type: ignore[attr-defined]
        self.fields["response"].required = True
        self.fields["eligible_per_year"].widget.attrs.update({"min": 0, "max": 1000000})
        if kind != InquiryKind.COUNTRY:
            for name in self.FEEDBACK:
                del self.fields[name]
        else:
            self.fields["population_exists"].required = True

    def answer(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
