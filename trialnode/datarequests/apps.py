from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataRequestsConfig(AppConfig):
    name = "trialnode.datarequests"
    label = "datarequests"
    verbose_name = _("Health-data requests")

    def ready(self) -> None:
        from trialnode.datarequests import clock
        from trialnode.datarequests.section import datarequests_section
        from trialnode.statistics import sections

        clock.targets()  # a bad TRIALNODE_DATAREQUEST_TARGETS stops start-up here
        sections.register("datarequests", datarequests_section)
