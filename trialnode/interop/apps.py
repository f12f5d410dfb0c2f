from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteropConfig(AppConfig):
    name = "trialnode.interop"
    label = "interop"
    verbose_name = _("Registry interoperability")

    def ready(self) -> None:
        from trialnode.interop import signals  # noqa: F401
