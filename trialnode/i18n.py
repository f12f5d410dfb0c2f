"""Compile the committed ``.po`` translation files to ``.mo`` (pure Python, no gettext needed).

The project's catalogue is ``trialnode/locale``; an app may keep its own messages in
``trialnode/<app>/locale`` (Django finds the catalogues of installed apps itself).
"""

from __future__ import annotations

from pathlib import Path

import polib

PACKAGE_DIR = Path(__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"


def catalogues(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every ``.po`` file of the project and its apps."""
    return sorted(
        [
            *package_dir.glob("locale/*/LC_MESSAGES/*.po"),
            *package_dir.glob("*/locale/*/LC_MESSAGES/*.po"),
        ]
    )


def compile_messages(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older; returns what was written."""
    written = []
    for po_path in catalogues(package_dir):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalogue = polib.pofile(str(po_path))
        bad = [entry.msgid for entry in catalogue if entry.msgstr and not _same_placeholders(entry)]
        if bad:
            raise ValueError(f"{po_path}: placeholders differ in {bad[:3]}")
        catalogue.save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


def _same_placeholders(entry: polib.POEntry) -> bool:
    import re

    pattern = re.compile(r"%\((\w+)\)[sd]|\{\{\s*(\w+)\s*\}\}")
    return sorted(pattern.findall(entry.msgid)) == sorted(pattern.findall(entry.msgstr))
