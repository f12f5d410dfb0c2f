from django import template

from trialnode.core.labels import field_label as label_of
from trialnode.core.labels import model_of

register = template.Library()


@register.filter
def field_label(name: str, object_type: str) -> str:
    """``{{ field|field_label:event.object_type }}``: the field's label for the page."""
    return label_of(model_of(object_type), name)
