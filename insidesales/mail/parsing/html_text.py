"""HTML mail as readable plain text, with the standard library's parser (no script, style or markup kept)."""

from __future__ import annotations

from html.parser import HTMLParser

BLOCKS = frozenset(
    {"p", "div", "br", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "hr", "pre"}
)
HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
MAX_CHARS = 1_000_000


class _TextCollector(HTMLParser):
    """Collects the text of an HTML document: blocks and line breaks become new lines, list items "- "."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in ("br", "hr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of `html`, lines trimmed and runs of blank lines collapsed to one."""
    collector = _TextCollector()
    try:
        collector.feed((html or "")[:MAX_CHARS])
        collector.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; anything it still rejects leaves what was read
        pass
    lines = [" ".join(line.split()) for line in "".join(collector.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
