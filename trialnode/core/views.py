from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "core/accessibility.html")


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """For a load balancer or a container's health check: the server process answers.
    Reads nothing, so a busy database does not take the web servers out of rotation."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
