from django import forms
from django.utils.translation import gettext_lazy as _

from trialnode.audit.models import AuditReview


class EventFilterForm(forms.Form):
    object_type = forms.CharField(
        label=_("Record type"),
        required=False,
        max_length=100,
        help_text=_("For example studies.study"),
    )
    object_id = forms.CharField(label=_("Record id"), required=False, max_length=64)
    actor = forms.CharField(label=_("User (user name or e-mail)"), required=False, max_length=254)
    organisation = forms.CharField(label=_("Organisation"), required=False, max_length=200)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The period must start before it ends."))
        return data


class ReviewPlanForm(forms.ModelForm):
    class Meta:
        model = AuditReview
        fields = ["scope", "period_start", "period_end", "planned_for"]
        widgets = {
            "period_start": forms.DateInput(attrs={"type": "date"}),
            "period_end": forms.DateInput(attrs={"type": "date"}),
            "planned_for": forms.DateInput(attrs={"type": "date"}),
        }


class ReviewOutcomeForm(forms.ModelForm):
    class Meta:
        model = AuditReview
        fields = ["outcome", "findings"]
        widgets = {"findings": forms.Textarea(attrs={"rows": 5})}

    def clean_outcome(self):
        outcome = self.cleaned_data["outcome"]
        if not outcome:
            raise forms.ValidationError(_("Choose the outcome of the review."))
        return outcome
