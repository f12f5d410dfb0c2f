"""A study's long texts as their writer meant them to be read.

ClinicalTrials.gov writes a record's summary and eligibility criteria in Markdown
(CommonMark): criteria as lists ("* Age 18 or over"), and the characters Markdown reads as
markup escaped with a backslash ("\\[IHS\\]", "\\<3 years"). Shown as typed, a reader sees
the backslashes and the asterisks; rendered, the lists are lists, also to a screen reader.
Texts entered in trialnode, and those of other registries, are plain text.

The rendering is for reading only: no raw HTML (escaped), no images or links (a record
does not load or send the reader elsewhere), no headings (the page's own outline stays
whole), no code blocks (registries indent sub-items with spaces), and nothing of the text
is left out.
"""

from __future__ import annotations

import re

from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

from trialnode.studies.models import Source, Study

# The fields each registry writes in Markdown.
MARKDOWN_FIELDS: dict[str, frozenset[str]] = {
    Source.CTGOV: frozenset({"summary_en", "eligibility_criteria"})
}

# markdown-it leaves out whatever is nested deeper than ``maxNesting`` levels. A list
# takes two (the list and its item) and a paragraph one, so a text nested at most
# ``DEEPEST`` deep (see ``_nesting``) stays below it; a deeper one is shown as typed.
MAX_NESTING = 20
DEEPEST = 8

# Off, besides raw HTML: the rules that would load or link elsewhere, break the page's
# outline, or take text away (a reference definition is not shown, a fence's info string
# neither).
_markdown = MarkdownIt(
    "commonmark",
    {"html": False, "breaks": True, "xhtmlOut": False, "maxNesting": MAX_NESTING},
).disable(["image", "link", "autolink", "heading", "lheading", "code", "fence", "reference"])


def is_markdown(study: Study, field: str) -> bool:
    return field in MARKDOWN_FIELDS.get(study.source, frozenset())


def text_html(study: Study, field: str) -> SafeString:
    """The study's text ``field`` as HTML blocks: rendered when its registry writes it in
    Markdown, else paragraphs of the text as typed."""
    text = getattr(study, field) or ""
    if is_markdown(study, field) and _nesting(text) <= DEEPEST:
        # Safe: markdown-it escapes the text, and raw HTML is off.
        return mark_safe(_markdown.render(text))
    return mark_safe(linebreaks(text, autoescape=True))


def _nesting(text: str) -> int:
    """How deep the deepest line of ``text`` is nested, counted generously: two columns
    of indentation, a quote mark and a list marker each count one. A line in a list in
    a list is indented at least two columns more than its parent item's marker, so this
    never counts fewer list and quote levels than markdown-it reads."""
    deepest = 0
    for run in _LEADING.findall(text.expandtabs(4)):
        depth = 0
        for part in _PART.findall(run):
            depth += len(part) // 2 if part[0] == " " else 1
        deepest = max(deepest, depth)
    return deepest


_LEADING = re.compile(r"^(?: +|>|[*+-](?= )|\d{1,9}[.)](?= ))*", re.MULTILINE)
_PART = re.compile(r" +|>|[*+-]|\d{1,9}[.)]")
