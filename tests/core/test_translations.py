"""Every message of the code has its Swedish translation, in the project's catalogue or
in its app's own (``trialnode/<app>/locale``)."""

from __future__ import annotations

import contextlib
import shutil

import polib
import pytest
from django.core.management import call_command

from trialnode.i18n import PACKAGE_DIR, catalogues


def _untranslated(po_path) -> list[str]:
    catalogue = polib.pofile(str(po_path))
    return [e.msgid for e in catalogue.untranslated_entries()] + [
        e.msgid for e in catalogue.fuzzy_entries()
    ]


def test_the_swedish_catalogues_have_no_untranslated_or_fuzzy_message():
    swedish = [path for path in catalogues() if path.parts[-3] == "sv"]
    assert len(swedish) >= 2  # the project's and at least one app's
    problems = {str(path.relative_to(PACKAGE_DIR)): _untranslated(path) for path in swedish}
    assert {path: ids for path, ids in problems.items() if ids} == {}


def test_every_message_of_the_code_is_translated_to_swedish(tmp_path, settings):
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.fail("GNU gettext is missing (apt-get install gettext): messages cannot be read")
    copy = tmp_path / "trialnode"
    shutil.copytree(
        PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("static", "__pycache__", "*.mo")
    )
    # Django's makemessages reads the code of the copy and merges it into the copy's
    # catalogues; a message missing from them comes out untranslated.
    settings.LOCALE_PATHS = [copy / "locale"]
    with contextlib.chdir(tmp_path):
        call_command("makemessages", locale=["sv"], no_obsolete=True, no_location=True, verbosity=0)
    problems = {
        str(path.relative_to(copy)): _untranslated(path)
        for path in catalogues(copy)
        if path.parts[-3] == "sv"
    }
    assert {path: ids for path, ids in problems.items() if ids} == {}
