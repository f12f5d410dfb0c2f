"""Who may use the account pages and the access review."""

from tests.urlaccess import (
    EVERYONE,
    FACTORIES,
    LOGGED_IN,
    Access,
    only,
    read,
    read_write,
    write,
)


def _lockout(world):
    """The registrant (Akademiska, Uppsala: Forum Mellansverige) locked from one address."""
    from axes.models import AccessAttempt

    return AccessAttempt.objects.create(
        username="registrant",
        ip_address="192.0.2.10",
        user_agent="test",
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/accounts/login/",
    )


FACTORIES["lockout"] = _lockout

URL_ACCESS = {
    "access_review": read(
        only("node_admin", "other_node_admin", "auditor", "other_auditor", "superuser")
    ),
    "lockouts": read(only("node_admin", "other_node_admin", "superuser")),
    "lockout_lift": write(
        only("node_admin", "superuser"), kwargs=lambda world: {"pk": world.lockout.pk}
    ),
    "second_factor_verify": read_write(LOGGED_IN, LOGGED_IN),
    "second_factor_setup": read_write(LOGGED_IN, LOGGED_IN),
    "login": read_write(EVERYONE, EVERYONE),
    "logout": Access(methods={"POST": EVERYONE}),
    "password_change": read_write(LOGGED_IN, LOGGED_IN),
    "password_change_done": read(LOGGED_IN),
    "password_reset": read_write(EVERYONE, EVERYONE),
    "password_reset_done": read(EVERYONE),
    "password_reset_confirm": read_write(
        EVERYONE, EVERYONE, kwargs=lambda world: {"uidb64": "MQ", "token": "set-password"}
    ),
    "password_reset_complete": read(EVERYONE),
}
