"""An e-mail's HTML as the inbox may show it (sanitized by nh3) and as plain text.

Only formatting, lists, tables and links survive; remote images are tracking pixels, kept only
in the version an agent asks for (``remote_images``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Remote images are tracking pixels: only images carried in the mail itself (cid:) stay.
    if tag == "img" and attribute == "src":
        return value if value.lower().startswith("cid:") else None
    if tag == "a" and attribute == "href" and value.lower().startswith("cid:"):
        return None
    return value


def _keep_remote_images(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and value.lower().startswith("https://"):
        return value
    return _filter_attribute(tag, attribute, value)


def sanitize_html(html: str, remote_images: bool = False) -> str:
    """HTML safe to show in the inbox: formatting, lists, tables and links only.

    ``remote_images`` keeps images loaded over https (an agent asked to see them: the sender
    then learns that the message was read).
    """
    cleaned: str = nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title"},
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_remote_images if remote_images else _filter_attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        url_relative="deny",  # a relative link in a mail points nowhere we know
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned.strip()


_PARAGRAPHS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "table", "pre", "hr",
}  # fmt: skip
_LINES = {
    "div", "tr", "dt", "dd", "address", "article", "aside", "footer", "header", "section", "form",
    "caption", "center",
}  # fmt: skip
_HIDDEN = {"script", "style", "head", "title", "template"}
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML document, with line breaks where blocks are."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._newlines = 0  # how many newlines the output currently ends with
        self._hidden = 0
        self._pre = 0

    def _break(self, count: int) -> None:
        if self._newlines < count:
            self.out.append("\n" * (count - self._newlines))
            self._newlines = count

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":  # an unclosed <head> must not hide the whole message
            self._hidden = 0
        elif tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.out.append("\n")
            self._newlines += 1
        elif tag == "li":
            self._break(1)
            self.out.append("- ")
            self._newlines = 0
        elif tag in ("td", "th") and not self._newlines:
            self.out.append("\t")
        self._block(tag)
        if tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        self._block(tag)
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def _block(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES:
            self._break(1)

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # The stdlib raises AssertionError on a malformed "<![...": skip it like a comment.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if not self._pre:
            data = _SPACES.sub(" ", data)
            if self._newlines:  # no blanks at the start of a line
                data = data.lstrip(" ")
        if data:
            self.out.append(data)
            content = data.rstrip("\n")
            self._newlines = len(data) - len(content) + (0 if content else self._newlines)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: scripts and styles dropped, entities decoded."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
