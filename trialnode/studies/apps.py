from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudiesConfig(AppConfig):
    name = "trialnode.studies"
    label = "studies"
    verbose_name = _("Studies")

    def ready(self) -> None:
        from trialnode.studies import signals  # noqa: F401
