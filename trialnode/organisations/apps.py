from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationsConfig(AppConfig):
    name = "trialnode.organisations"
    label = "organisations"
    verbose_name = _("Organisations")

    def ready(self) -> None:
        from trialnode.organisations import login_protection  # noqa: F401  (signal receivers)
