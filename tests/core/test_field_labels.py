"""Every column of every model has a Swedish label for the history and audit pages."""

from __future__ import annotations

from django.apps import apps
from django.utils import translation

from trialnode.core.labels import field_label

# Words that are the same in Swedish and English.
SAME_IN_BOTH = {"ID", "Id", "Region", "Status", "Version", "Sponsor", "Organisation", "Start"}
SAME_IN_BOTH |= {"Text", "Definition", "Period", "Synopsis", "Format", "Kod", "E-post"}


def _labels(language: str) -> dict[tuple[str, str], str]:
    with translation.override(language):
        return {
            (model._meta.label_lower, field.name): field_label(model, field.name)
            for model in apps.get_models()
            if model.__module__.startswith("trialnode.")
            for field in model._meta.concrete_fields
        }


def test_every_field_of_every_model_has_a_swedish_label():
    swedish, english = _labels("sv"), _labels("en")
    untranslated = sorted(
        f"{model}.{name}: {label}"
        for (model, name), label in swedish.items()
        if label == english[model, name] and label not in SAME_IN_BOTH
    )
    assert untranslated == []
