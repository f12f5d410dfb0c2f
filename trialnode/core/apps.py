from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "trialnode.core"
    label = "core"
