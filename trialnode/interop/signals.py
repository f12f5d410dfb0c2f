"""A local registration that names a registry number becomes one study with that record."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from trialnode.interop.linking import link_same_identifiers
from trialnode.studies.models import RegistrationState, Source, Study


@receiver(post_save, sender=Study)
def local_registration_saved(sender, instance: Study, raw: bool = False, **kwargs) -> None:
    if raw or instance.source != Source.LOCAL:
        return
    if instance.registration_state == RegistrationState.DRAFT:
        return
    if instance.nct_id or instance.eu_ct_number:
        link_same_identifiers(instance)
