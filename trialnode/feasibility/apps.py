from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeasibilityConfig(AppConfig):
    name = "trialnode.feasibility"
    label = "feasibility"
    verbose_name = _("Feasibility inquiries")

    def ready(self) -> None:
        from trialnode.counts import attachments
        from trialnode.feasibility.permissions import may_attach_count
        from trialnode.feasibility.section import feasibility_section
        from trialnode.statistics import sections

        sections.register("feasibility", feasibility_section)
        attachments.register("feasibility.inquiry", may_attach_count)
