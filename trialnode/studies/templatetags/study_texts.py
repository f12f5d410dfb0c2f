from django import template
from django.utils.safestring import SafeString

from trialnode.studies.models import Study
from trialnode.studies.texts import text_html

register = template.Library()


@register.simple_tag
def study_text(study: Study, field: str) -> SafeString:
    """``{% study_text study "summary_en" %}``: the text as HTML blocks (``texts.text_html``)."""
    return text_html(study, field)
