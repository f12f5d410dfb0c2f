from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CountsConfig(AppConfig):
    name = "trialnode.counts"
    label = "counts"
    verbose_name = _("Patient counts")
