from functools import partial

from django.http import HttpRequest

from trialnode.counts.services import may_use


def menu(request: HttpRequest) -> dict[str, object]:
    """Whether the menu offers the patient counts: asked only when a page shows the menu."""
    return {"may_use_counts": partial(may_use, request.user)}
