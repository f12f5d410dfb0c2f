from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    user = request.user
    roles = user.active_roles() if user.is_authenticated else frozenset()
    return {"user_roles": roles}
