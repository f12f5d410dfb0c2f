from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "trialnode.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from trialnode.audit import signals

        signals.connect_delete_receivers()
