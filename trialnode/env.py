"""Strict parsing of configuration from environment variables.

Every setting may also be read from a file named in ``<NAME>_FILE`` (for
secrets mounted by an orchestrator). A value that cannot be parsed stops
start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    """Where the embedded database and uploads live (``TRIALNODE_DATA_DIR``)."""
    raw = env_str("TRIALNODE_DATA_DIR")
    if raw:
        return Path(raw).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "trialnode").resolve()


def sample_data_dir() -> Path | None:
    """The folder of real sample registry data, if there is one.

    ``TRIALNODE_SAMPLE_DATA`` names it; otherwise ``../shared/data`` seen from
    the working directory or from the checkout is used when it exists.
    """
    raw = env_str("TRIALNODE_SAMPLE_DATA")
    if raw:
        path = Path(raw).expanduser().resolve()
        return path if path.is_dir() else None
    checkout = Path(__file__).resolve().parent.parent
    for candidate in (Path.cwd().parent / "shared" / "data", checkout.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None
