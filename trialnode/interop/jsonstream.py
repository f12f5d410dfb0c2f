"""Reading the records of a JSON array (or of an API page) of any size, in bounded memory.

A registry's bulk file may be a JSON array of hundreds of megabytes, and a hostile
file may nest arrays a hundred thousand levels deep or hold a number of a million
digits. The text is read in blocks; each element of the array is decoded on its own
by the standard library's C decoder (whose recursion limit bounds the depth, and whose
integer conversion refuses absurdly long numbers), and no element may be larger than
``MAX_RECORD_CHARS``. An element that cannot be decoded is reported with its position
and reason and skipped: a string- and bracket-aware scan, which keeps only a block of
text at a time, finds where it ends, so the elements after it are read as usual.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.utils.translation import gettext as _

BLOCK = 1 << 20
MAX_RECORD_CHARS = 16 * 1024 * 1024
"""No registry record comes near this; a larger element is skipped without being decoded."""
MAX_SMALL_VALUE = 1 << 20
"""A value beside the records of an API page (a page token, a count)."""

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Possessive, so that a string of millions of characters or escapes needs no
# backtracking state (a plain repeated group keeps one entry per character).
_STRING_BODY = re.compile(r'(?:[^"\\]++|\\.)*+', re.S)
_NEXT_TOKEN = re.compile(r'["\[\]{}]')
_SCALAR = re.compile(r"[^,\]\}\s]*")


def _run_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern`` (which matches the empty string too) from ``pos`` ends."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


def element_name(name: str, number: int) -> str:
    """Where the ``number``-th element of an array in ``name`` is, for a reader."""
    return _("%(name)s element %(number)d") % {"name": name, "number": number}


@dataclass(frozen=True)
class BadElement:
    """An element that was skipped: where it was and why."""

    where: str
    reason: str
    truncated: bool = False
    """The file ends inside the element: nothing after it can be read."""


def _scan(buffer: str, pos: int, depth: int, in_string: bool) -> tuple[int | None, int, int, bool]:
    """Scan a string, object or array from ``pos`` in the given state.

    Returns where the value ends (None when the buffer ends first), how far the scan
    got, and the state to go on from there with more text.
    """
    size = len(buffer)
    while True:
        if in_string:
            pos = _run_end(_STRING_BODY, buffer, pos)
            if pos < size and buffer[pos] == '"':
                pos += 1
                in_string = False
                if depth == 0:
                    return pos, pos, 0, False
                continue
            return None, pos, depth, True  # the string goes on (or an escape is cut)
        match = _NEXT_TOKEN.search(buffer, pos)
        if match is None:
            return None, size, depth, False
        token, pos = match.group(), match.end()
        if token == '"':
            in_string = True
        elif token in "[{":
            depth += 1
        else:
            depth -= 1
            if depth <= 0:
                return pos, pos, 0, False


class _Text:
    """The stream decoded to text block by block; text before ``pos`` may be dropped."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.dropped = 0

    @property
    def offset(self) -> int:
        return self.dropped + self.pos

    def more(self) -> bool:
        """Read another block; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.stream.read(BLOCK)
        if self.pos > BLOCK:
            self.dropped += self.pos
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        if not chunk:
            self.buffer += self.decoder.decode(b"", final=True)
            self.eof = True
            return False
        self.buffer += self.decoder.decode(chunk)
        return True

    def next_char(self) -> str:
        """The next character after whitespace ('' at the end of the stream)."""
        while True:
            self.pos = _run_end(_WHITESPACE, self.buffer, self.pos)
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""

    def expect(self, characters: str) -> str:
        char = self.next_char()
        if not char or char not in characters:
            raise SyntaxError(
                f"expected {' or '.join(characters)} at character {self.offset}, "
                f"found {char or 'the end of the file'!r}"
            )
        self.pos += 1
        return char

    def complete_end(self) -> int | None:
        """Where the value at ``pos`` ends, if it ends within the text read so far."""
        first = self.buffer[self.pos]
        if first in '"[{':
            return _scan(self.buffer, self.pos, 0, False)[0]
        end = _run_end(_SCALAR, self.buffer, self.pos)
        return end if end < len(self.buffer) or self.eof else None

    def skip_value(self) -> bool:
        """Move past the value at ``pos``, however long, keeping a block of text at a time;
        False when the stream ends first."""
        first = self.next_char()
        if not first:
            return False
        if first not in '"[{':
            while (end := self.complete_end()) is None:
                if not self.more():
                    return False
            self.pos = end
            return True
        depth, in_string = 0, False
        while True:
            end, reached, depth, in_string = _scan(self.buffer, self.pos, depth, in_string)
            self.pos = reached
            if end is not None:
                return True
            if not self.more():
                return False


class JsonElements:
    """The elements of a JSON array in a stream, or of the ``studies`` array of an API page."""

    def __init__(
        self,
        stream: IO[bytes],
        name: str,
        *,
        not_a_page: str | None = None,
    ) -> None:
        self.text = _Text(stream)
        self.name = name
        self.not_a_page = not_a_page or _('a JSON object without a "studies" array')
        self.number = 0

    def __iter__(self) -> Iterator[Any | BadElement]:
        try:
            first = self.text.next_char()
            if first == "[":
                self.text.pos += 1
                yield from self._array()
            elif first == "{":
                yield from self._page()
            else:
                yield BadElement(self.name, _("not a JSON array or API page"))
        except SyntaxError as exc:
            where = (
                _("%(name)s after element %(number)d") % {"name": self.name, "number": self.number}
                if self.number
                else self.name
            )
            yield BadElement(where, _("malformed JSON: %(error)s") % {"error": exc})

    def _where(self) -> str:
        if not self.number:
            return self.name
        return element_name(self.name, self.number)

    def _truncated(self) -> BadElement:
        return BadElement(
            self._where(), _("the file ends inside this element (truncated)"), truncated=True
        )

    def _page(self) -> Iterator[Any | BadElement]:
        """``{"studies": [...], "nextPageToken": ...}``: the elements of ``studies``."""
        text = self.text
        text.expect("{")
        if text.next_char() == "}":
            text.pos += 1
            yield BadElement(self.name, self.not_a_page)
            return
        found = False
        while True:
            key = self._small_value()
            text.expect(":")
            if key == "studies" and text.next_char() == "[":
                text.pos += 1
                found = True
                yield from self._array()
            elif not text.skip_value():
                raise SyntaxError("the file ends inside a value")
            if text.expect(",}") == "}":
                break
        if not found:
            yield BadElement(self.name, self.not_a_page)

    def _small_value(self) -> Any:
        text = self.text
        text.next_char()
        while (end := text.complete_end()) is None:
            if len(text.buffer) - text.pos > MAX_SMALL_VALUE or not text.more():
                raise SyntaxError(f"an unreadable value at character {text.offset}")
        if end - text.pos > MAX_SMALL_VALUE:
            raise SyntaxError(f"a value of over 1 MB at character {text.offset}")
        try:
            value, text.pos = _DECODER.raw_decode(text.buffer, text.pos)
        except (ValueError, RecursionError) as exc:
            raise SyntaxError(str(exc)[:200]) from None
        return value

    def _array(self) -> Iterator[Any | BadElement]:
        text = self.text
        if text.next_char() == "]":
            text.pos += 1
            return
        while True:
            self.number += 1
            element = self._element()
            yield element
            if isinstance(element, BadElement) and element.truncated:
                return
            if text.expect(",]") == "]":
                return

    def _element(self) -> Any:
        text = self.text
        if not text.next_char():
            return self._truncated()
        while True:
            try:
                value, end = _DECODER.raw_decode(text.buffer, text.pos)
            except json.JSONDecodeError as exc:
                if text.complete_end() is not None:
                    return self._skip(_("malformed JSON (%(error)s)") % {"error": exc.msg})
                if len(text.buffer) - text.pos > MAX_RECORD_CHARS:
                    return self._skip(_("larger than any registry record"))
                if not text.more():
                    return self._truncated()
                continue
            except RecursionError:
                return self._skip(_("nested too deeply"))
            except ValueError as exc:
                if "digits" in str(exc):
                    return self._skip(_("a number with too many digits"))
                return self._skip(_("unreadable value (%(error)s)") % {"error": str(exc)[:100]})
            if end == len(text.buffer) and not text.eof and text.more():
                continue  # a number may go on in the next block
            if end - text.pos > MAX_RECORD_CHARS:
                text.pos = end
                return BadElement(self._where(), _("larger than any registry record"))
            text.pos = end
            return value

    def _skip(self, reason: str) -> BadElement:
        if not self.text.skip_value():
            return self._truncated()
        return BadElement(self._where(), reason)
