"""Who may use the site-wide URLs: the accessibility statement, the health check,
language, API documents."""

from tests.urlaccess import EVERYONE, NOBODY, Access, read

URL_ACCESS = {
    "accessibility": read(EVERYONE),
    "health": read(EVERYONE),
    "set_language": Access(
        methods={"GET": EVERYONE, "POST": EVERYONE}, body={"language": "en", "next": "/"}
    ),
    "api:openapi-json": read(EVERYONE),
    "api:openapi-view": read(EVERYONE),
    "api:api-root": read(NOBODY),  # ninja serves no page at the root
}
