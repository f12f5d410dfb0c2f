from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeasibilityConfig(AppConfig):
    name = "trialnode.feasibility"
    label = "feasibility"
    verbose_name = _("Feasibility inquiries")

    def ready(self) -> None:
        from trialnode.feasibility.section import feasibility_section
        from trialnode.statistics import sections

        sections.register("feasibility", feasibility_section)
