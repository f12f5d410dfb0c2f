"""The client's address: the connecting address, or, when that is one of the configured
trusted proxies, the address the proxies say they received the request from."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.TRIALNODE_TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: HttpRequest) -> str | None:
    """``REMOTE_ADDR``, unless it is a trusted proxy: then the right-most address in
    ``X-Forwarded-For`` that is not a trusted proxy itself (entries further left were
    written by the client and prove nothing)."""
    address = request.META.get("REMOTE_ADDR") or None
    if address is None or not _is_trusted_proxy(address):
        return address
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address
        if not _is_trusted_proxy(hop):
            return hop
    return address
