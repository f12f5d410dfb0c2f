"""Compile the committed ``.po`` translation files to ``.mo`` (pure Python, no gettext needed)."""

from __future__ import annotations

from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def compile_messages(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``.po`` whose ``.mo`` is missing or older; returns what was written."""
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
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
