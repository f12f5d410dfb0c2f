from functools import partial

from django.http import HttpRequest

from trialnode.feasibility.permissions import may_open_inquiries


def menu(request: HttpRequest) -> dict[str, object]:
    """Whether the menu offers the inquiries: asked only when a page shows the menu."""
    return {"may_open_inquiries": partial(may_open_inquiries, request.user)}
