"""Checks any journey can run on the pages it visits: nothing left untranslated on a
Hindi page, times only in IST as dd/mm/yyyy HH:MM, and the bytes a page cost.

Text is read the way a person reads the page: visible text, option lists,
button values, titles, placeholders and alt texts. Elements marked
``translate="no"`` (names, codes) or ``lang="en"`` (the "English" switch) are
left out, as are what people typed into fields.

    from tests.browser.page_checks import check_hindi_page, transfer_log
    check_hindi_page(page, names=["Sunita Patel"])   # Playwright page
    hindi_problems(html_text(response.get_data(as_text=True)))   # a test client's page
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: words a Hindi page may show in Latin letters: brand-free abbreviations people
#: use as they are, the language switch, file types
ALLOWED = frozenset({
    "EPIC", "OTP", "SMS", "PDF", "CSV", "XLSX", "ZIP", "ID", "IST", "QR", "English",
    "PCC", "DLT", "TOTP", "OK", "CG", "csv", "xlsx",
})

#: an email, a web address, a membership number (CG + 9 digits), a voter ID (3
#: letters, 7 digits), a unit code (BLK-BILHA), a masked phone: not words to translate
_NOT_WORDS = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"
    r"|https?://\S+"
    r"|\b[A-Z]{2}\d{9}\b"
    r"|\b[A-Z]{3}\d{7}\b"
    r"|\b[A-Z]+(-[A-Z0-9]+)+\b"
    r"|\+91[\d\s•x*X]+")
_WORD = re.compile(r"[A-Za-z]{2,}")

#: times as they must not be shown: in UTC, ISO order, with seconds or microseconds
_BAD_TIMES = [
    (re.compile(r"\bUTC\b|\bGMT\b|[+-]00:00\b"), "a time in UTC"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "a date as yyyy-mm-dd"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b"), "a time with seconds"),
    (re.compile(r"\.\d{6}\b"), "microseconds"),
]


def hindi_problems(text: str, *, allow=(), names=()) -> list[str]:
    """What a Hindi page's text shows that it should not: English words outside
    ``names`` (people's and places' names the page shows as typed), ``allow`` and
    ALLOWED, and times not in IST as dd/mm/yyyy HH:MM."""
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    allowed = ALLOWED | set(allow)
    problems = [f"{label}: {match.group(0)!r}" for pattern, label in _BAD_TIMES
                for match in pattern.finditer(text)]
    words = _WORD.findall(_NOT_WORDS.sub(" ", text))
    problems += [f"untranslated: {word!r}" for word in dict.fromkeys(words)
                 if word not in allowed]
    return problems


def time_problems(text: str) -> list[str]:
    """The time checks alone, for English pages."""
    return [f"{label}: {match.group(0)!r}" for pattern, label in _BAD_TIMES
            for match in pattern.finditer(text)]


# What the browser shows and reads out: visible text nodes, options, button values,
# titles, placeholders, alt and aria labels; not scripts, hidden elements, what was
# typed, nor anything marked translate="no" or lang="en".
_READ_PAGE = """() => {
  const skip = el => el.closest('script,style,noscript,template,[translate=no],[lang=en],' +
                                 '[hidden],[aria-hidden=true]');
  const shown = el => el.closest('select') || el.getClientRects().length > 0;
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (el && !skip(el) && shown(el) && node.textContent.trim()) parts.push(node.textContent);
  }
  for (const el of document.querySelectorAll(
      '[title],[placeholder],[alt],[aria-label],input[type=submit],input[type=button]')) {
    if (skip(el)) continue;
    for (const name of ['title', 'placeholder', 'alt', 'aria-label'])
      if (el.getAttribute(name)) parts.push(el.getAttribute(name));
    if (el.type === 'submit' || el.type === 'button') parts.push(el.value);
  }
  parts.push(document.title);
  return parts.join('\\n');
}"""


def page_text(page) -> str:
    """A Playwright page's text as its reader meets it."""
    return page.evaluate(_READ_PAGE)


def check_hindi_page(page, *, allow=(), names=()) -> None:
    """Fail with every problem of a Playwright page that should be all Hindi."""
    assert page.evaluate("document.documentElement.lang") == "hi", page.url
    problems = hindi_problems(page_text(page), allow=allow, names=names)
    assert not problems, f"{page.url}: {problems}"


class _TextParser(HTMLParser):
    """The same reading of an HTML string, for pages a test client fetched (no CSS:
    elements are taken as shown unless marked hidden)."""

    _SKIP = {"script", "style", "noscript", "template", "textarea"}
    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
             "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is it skipped (itself or above)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        skipped = bool(self.stack and self.stack[-1]) or tag in self._SKIP or (
            attributes.get("translate") == "no" or attributes.get("lang") == "en"
            or "hidden" in attributes or attributes.get("aria-hidden") == "true"
            or "display:none" in (attributes.get("style") or "").replace(" ", "")
            or "d-none" in (attributes.get("class") or "").split()
            or (tag == "input" and attributes.get("type") == "hidden"))
        if not skipped:
            self.parts += [attributes[name] or "" for name in
                           ("title", "placeholder", "alt", "aria-label") if name in attributes]
            if tag == "input" and attributes.get("type") in ("submit", "button"):
                self.parts.append(attributes.get("value") or "")
        if tag not in self._VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag):
        if tag not in self._VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]) and data.strip():
            self.parts.append(data)


def html_text(html: str) -> str:
    """An HTML page's readable text (see _TextParser)."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


class TransferLog:
    """Bytes a page cost on the wire, from the browser's own network log (CDP's
    Network.loadingFinished gives each response's encoded length: headers and
    the body as sent, compressed or not, nothing for what came from the cache)."""

    def __init__(self, page) -> None:
        self.session = page.context.new_cdp_session(page)
        self.session.send("Network.enable")
        self.urls: dict[str, str] = {}
        self.from_cache: set[str] = set()
        self.sizes: dict[str, int] = {}
        self.session.on("Network.requestWillBeSent",
                        lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]))
        self.session.on("Network.requestServedFromCache",
                        lambda e: self.from_cache.add(e["requestId"]))
        self.session.on("Network.responseReceived", self._response)
        self.session.on("Network.loadingFinished", self._finished)

    def _response(self, event) -> None:
        if event["response"].get("fromDiskCache") or event["response"].get("fromMemoryCache"):
            self.from_cache.add(event["requestId"])

    def _finished(self, event) -> None:
        self.sizes[event["requestId"]] = int(event.get("encodedDataLength") or 0)

    def reset(self) -> None:
        self.urls.clear()
        self.from_cache.clear()
        self.sizes.clear()

    def _fetched(self) -> dict[str, int]:
        """Requests sent since the last reset (a late report of an earlier page's is
        not one of them) and not answered from the cache: their bytes."""
        return {key: size for key, size in self.sizes.items()
                if key in self.urls and key not in self.from_cache}

    def total(self) -> int:
        """Bytes fetched over the network since the last reset (cache hits count 0)."""
        return sum(self._fetched().values())

    def requests(self) -> list[tuple[str, int]]:
        """(url, bytes) of what went over the network, for a failure's message."""
        return [(self.urls[key], size) for key, size in self._fetched().items()]

    def throttle(self, *, kbps: int = 400, latency_ms: int = 400) -> None:
        """A slow mobile network (the issue's 400 kbps link; Chrome's "slow 3G")."""
        self.session.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms,
            "downloadThroughput": kbps * 1000 / 8, "uploadThroughput": kbps * 1000 / 8})
