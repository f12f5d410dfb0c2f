"""Forms of the application and of each step; the rules are in ``services``."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from trialnode.datarequests.models import Attachment, DataRequest, HandbookPage, Outcome, Review
from trialnode.datarequests.services import EDITABLE_FIELDS
from trialnode.organisations.models import CareProvider, Role, User

# Which handbook step explains which field of the form.
FIELD_STEPS = {
    "title": HandbookPage.Step.PROJECT,
    "purpose": HandbookPage.Step.PROJECT,
    "applicant_organisation": HandbookPage.Step.PROJECT,
    "applicant_kind": HandbookPage.Step.PROJECT,
    "legal_basis": HandbookPage.Step.ETHICS,
    "epm_dnr": HandbookPage.Step.ETHICS,
    "epm_decision_date": HandbookPage.Step.ETHICS,
    "data_holder": HandbookPage.Step.DATA,
    "other_care_providers": HandbookPage.Step.DATA,
    "source": HandbookPage.Step.DATA,
    "cohort_description": HandbookPage.Step.DATA,
    "environment": HandbookPage.Step.ENVIRONMENT,
    "output_kind": HandbookPage.Step.ENVIRONMENT,
}
FORM_STEPS = (
    (HandbookPage.Step.PROJECT, _("1. Project and purpose")),
    (HandbookPage.Step.ETHICS, _("2. Ethical approval and legal basis")),
    (HandbookPage.Step.DATA, _("3. Data sources and cohort")),
    (HandbookPage.Step.ENVIRONMENT, _("4. Environment and output")),
)


def describe_fields(form: forms.BaseForm) -> None:
    """Tie each field's help text to its input for screen readers (the hint's id is set in
    ``_field.html``)."""
    for name, field in form.fields.items():
        if field.help_text:
            field.widget.attrs["aria-describedby"] = f"{form[name].auto_id}-hint"


class ApplicationForm(forms.ModelForm):
    class Meta:
        model = DataRequest
        fields = EDITABLE_FIELDS
        widgets = {
            "epm_decision_date": forms.DateInput(attrs={"type": "date"}),
            "purpose": forms.Textarea(attrs={"rows": 5}),
            "cohort_description": forms.Textarea(attrs={"rows": 4}),
            "environment": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "epm_dnr": _("For example 2024-01234-01."),
            "environment": _("Where the data will be stored and analysed, and who has access."),
            "cohort_description": _(
                "Who is included, in words: diagnoses, ages, periods. Never names or "
                "personal identity numbers."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(
            forms.ModelChoiceField, self.fields["data_holder"]
        ).queryset = CareProvider.objects.filter(is_active=True)
        for name in ("cohort_description", "environment"):
            self.fields[name].required = False
        describe_fields(self)

    def steps(self):
        """The fields grouped by the form step they belong to (for the page)."""
        return [
            (step, label, [self[name] for name, s in FIELD_STEPS.items() if s == step])
            for step, label in FORM_STEPS
        ]


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=Attachment.Kind.choices)
    file = forms.FileField(
        label=_("PDF file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )


class VariablesUploadForm(forms.Form):
    file = forms.FileField(label=_("Filled-in template (.xlsx or .csv)"))


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Review"),
        choices=[
            (Review.Kind.LEGAL, Review.Kind.LEGAL.label),
            (Review.Kind.TECHNICAL, Review.Kind.TECHNICAL.label),
        ],
    )
    recommendation = forms.ChoiceField(
        label=_("Recommendation"), choices=Review.Recommendation.choices
    )
    comment = forms.CharField(
        label=_("Grounds"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (Outcome.APPROVED, Outcome.APPROVED.label),
            (Outcome.APPROVED_WITH_CONDITIONS, Outcome.APPROVED_WITH_CONDITIONS.label),
            (Outcome.REJECTED, Outcome.REJECTED.label),
        ],
    )
    text = forms.CharField(
        label=_("Conditions or reasons"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    password = forms.CharField(
        label=_("Your password (electronic signature)"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=_("Authenticator code, if you have one"), max_length=10, required=False
    )


class AssignForm(forms.Form):
    engineer = forms.ModelChoiceField(label=_("Data engineer"), queryset=User.objects.none())
    estimated_hours = forms.IntegerField(
        label=_("Estimated effort (hours)"), min_value=1, max_value=10000
    )
    reason = forms.CharField(label=_("Comment"), max_length=2000, required=False)

    def __init__(self, *args, case: DataRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        region = case.data_holder.region_id
        cast(forms.ModelChoiceField, self.fields["engineer"]).queryset = (
            User.objects.filter(
                is_active=True,
                role_assignments__role=Role.DATA_ENGINEER,
                role_assignments__revoked_at__isnull=True,
            )
            .filter(models_q_region(region))
            .distinct()
            .order_by("username")
        )


def models_q_region(region: int):
    from django.db.models import Q

    return (
        Q(role_assignments__region_id=region)
        | Q(role_assignments__node__regions__id=region)
        | Q(role_assignments__care_provider__region_id=region)
    )


class ExtractionDoneForm(forms.Form):
    output_description = forms.CharField(
        label=_("The output, and how small cells were suppressed"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DisclosureForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[
            ("yes", _("Passed: may be delivered")),
            ("no", _("Not passed: back to extraction")),
        ],
        coerce=lambda value: value == "yes",
    )
    comment = forms.CharField(
        label=_("What was checked"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class DeliverForm(forms.Form):
    checksum = forms.CharField(
        label=_("SHA-256 of the delivered file"), max_length=64, min_length=64
    )
    row_count = forms.IntegerField(label=_("Rows delivered"), min_value=0)
    reason = forms.CharField(label=_("Comment"), max_length=2000, required=False)


class HandbookPageForm(forms.ModelForm):
    class Meta:
        model = HandbookPage
        fields = ("slug", "step", "title_sv", "title_en", "body_sv", "body_en", "position")
        widgets = {
            "body_sv": forms.Textarea(attrs={"rows": 12}),
            "body_en": forms.Textarea(attrs={"rows": 12}),
        }
