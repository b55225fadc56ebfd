"""A small streaming XML writer for the Noark 5 files (``arkivstruktur.xml`` can be large)."""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence, TextIO, Tuple
from xml.sax.saxutils import escape, quoteattr

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str) -> str:
    """Escapes text for XML; characters XML 1.0 cannot carry are written as ``\\uXXXX``."""
    cleaned = _NOT_XML.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    return escape(cleaned).replace("\r", "&#13;")


class XmlWriter:
    """A small streaming XML writer with two-space indentation (arkivstruktur.xml can be large)."""

    def __init__(self, handle: TextIO) -> None:
        """Starts the document on ``handle`` with the XML declaration."""
        self._handle = handle
        self._depth = 0
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n')

    def open(self, tag: str, attributes: Optional[Sequence[Tuple[str, str]]] = None) -> None:
        """Opens an element (its children follow, one level deeper)."""
        attrs = "".join(f" {name}={quoteattr(_NOT_XML.sub('?', value))}" for name, value in attributes or ())
        self._handle.write(f"{'  ' * self._depth}<{tag}{attrs}>\n")
        self._depth += 1

    def close(self, tag: str) -> None:
        """Closes the element opened last."""
        self._depth -= 1
        self._handle.write(f"{'  ' * self._depth}</{tag}>\n")

    def leaf(self, tag: str, text: Any, attributes: Optional[Sequence[Tuple[str, str]]] = None) -> None:
        """Writes an element with text and no children."""
        attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes or ())
        self._handle.write(f"{'  ' * self._depth}<{tag}{attrs}>{_xml_text(str(text))}</{tag}>\n")


__all__ = ["XmlWriter"]
