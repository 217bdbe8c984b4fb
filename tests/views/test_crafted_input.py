"""Crafted input on every route: never a 5xx, on SQLite and PostgreSQL.

The routes come from the app's url_map, so a new page is probed without a
change here. Each GET page is fetched once, as a state admin and as an
enroller, with a recording request that notes which query arguments the page
reads; its forms are parsed for the fields they post. Then every crafted value
goes to every argument and field a page reads: NUL bytes (PostgreSQL refuses
them in text), undecodable percent-encodings, 100 kB values, control and
direction characters, digits in other scripts, impossible dates and numbers,
values no select offers, duplicated fields, JSON and odd content types, no
CSRF token, and Flask-Admin's list arguments (sort, page, search, filters).
Malformed record ids (``?id=abc``) are tests/views/test_scope_matrix.py's, and
file uploads the upload tests'. Crafted parts of a path (/card/<token>.<kind>,
/r/<code>, /check/rolls/<roll_id>.bin, ...), HEAD, OPTIONS and methods a route
does not take go to every route too. The request count is printed (pytest -s).
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

from backoffice.extensions import db
from backoffice.models import AuditEvent, ImportBatch, RoleAssignment, Roll
from backoffice.services import imports
from backoffice.services import rolls as roll_service
from tests import factories
from tests.services.test_imports import GOOD, csv_bytes

# name: the value as it goes on the wire (already percent-encoded)
ENCODED = {"bad-utf8": "%ff%fe", "surrogate": "%ed%a0%80", "overlong": "%c0%af"}
TEXT = {
    "nul": "ab\x00cd",
    "control": "a\x01\x08\x1b[31m\x7fb",
    "rtl": "\u202e\u200f१२३\u200b",
    "devanagari-digits": "१२३",
    "arabic-digits": "١٢٣",
    "huge-number": "1e9999",
    "huge-int": "9" * 40,
    "negative": "-1",
    "bad-date": "2026-13-45",
    "no-such-day": "31/02/2026",
    "year-9999": "9999-12-31",
    "year-1": "0001-01-01",
    "like-wildcards": "%_\\",
    "not-offered": "zzz-not-offered",
    "long": "x" * 100_000,
}
# Refused whatever the field: sent to all of a page's arguments or fields at once.
GUARD_VALUES = ("nul", "control", "bad-utf8", "long")
# Wrong for the field's type: sent to each argument in turn.
ARG_VALUES = ("rtl", "devanagari-digits", "arabic-digits", "huge-number", "huge-int", "negative",
              "bad-date", "no-such-day", "year-9999", "year-1", "like-wildcards", "not-offered")
# Record ids, malformed, are test_scope_matrix.py's: they keep their valid value here.
ID_NAMES = {"id", "rowid", "ids", "list_form_pk", "unit_id", "zone_id", "block_id", "parent_id",
            "roll_id", "claim", "seq", "enroller", "user", "unit"}
FLASK_ADMIN_LIST_ARGS = {
    "sort": ["abc", "-1", "999"], "desc": ["x"], "page": ["abc", "9" * 30, "-5"],
    "page_size": ["abc", "9" * 30], "search": ["%_\\%", "'\""],
    "flt0_99": ["x"], "flt99_0": ["x"], "flt0_abc": ["x"], "fltx_0": ["x"], "flt_": ["x"],
}
LIST_ARGS = {*FLASK_ADMIN_LIST_ARGS, "url"}
FILTER_GARBAGE = ["2026-13-45 to 2026-01-01", "zzz-not-offered", "9" * 40, "१२"]
# Each field of each form in turn gets these, the others keeping a valid value ...
FIELD_VALUES = ("huge-int", "year-9999", "not-offered")
TYPE_VALUES = {"text": ("no-such-day", "year-1", "arabic-digits"), "select": ("negative",),
               "number": ("huge-number", "arabic-digits"), "date": ("no-such-day", "year-1")}
# All of a form's fields at once get these (and the guard's values).
EVERY_FIELD_VALUES = ("rtl", "arabic-digits", "huge-number", "negative", "like-wildcards")
# ... starting from what the page offers, and these where it offers nothing.
VALID = {
    "full_name": "Probe Person", "relative_name": "Probe Parent", "date_of_birth": "1990-01-01",
    "mobile": "9812345670", "address": "Probe address", "booth_no": "4",
    "reason": "A probe reason", "receipt_books": "101-105", "title": "Probe roll",
    "cut_off": "2026-11-15", "claims_until": (date.today() + timedelta(days=5)).isoformat(),
    "target": "1000", "membership_no": "1", "email": "probe@example.test",
    "password": "a long enough password 1", "current": "not the password",
    "new": "a long enough password 2", "confirm": "a long enough password 2",
    "code": "123456", "name_en": "Probe unit", "name_hi": "प्रोब", "code_": "PRB",
}
# The names the POST routes without a form on any page read (actions, ajax, webhooks).
POST_NAMES = ("action", "step", "lang", "next", "url", "code",
              "resend", "MessageSid", "MessageStatus", "ErrorCode", "name", "value")
CSRF_EXEMPT = {"/sms/status"}
OFF_SITE = ("//evil.example/", "https://evil.example/", "/\\evil.example", "\t//evil.example",
            "/\t/evil.example", "javascript:alert(1)")
SKIPPED_ENDPOINTS = {"static", "admin.static"}


def wire(name: str) -> str:
    return ENCODED[name] if name in ENCODED else quote(TEXT[name], safe="")


def encode(pairs) -> str:
    """A query string or form body from (name, already-encoded value) pairs."""
    return "&".join(f"{quote(k, safe='')}={v}" for k, v in pairs)


class Recording(ImmutableMultiDict):
    """Query arguments that note every name a view reads."""

    seen: set

    def _note(self, key):
        self.seen.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


def record_args(app, seen: set) -> None:
    base = app.request_class

    class RecordingRequest(base):
        @property
        def args(self):
            if "_recorded" not in self.__dict__:
                recorded = Recording(base.args.fget(self))
                recorded.seen = seen
                self.__dict__["_recorded"] = recorded
            return self.__dict__["_recorded"]

    app.request_class = RecordingRequest


class Forms(HTMLParser):
    """The forms on a page: action, method and their fields' names and first values."""

    def __init__(self):
        super().__init__()
        self.forms, self._select = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method":
                               (a.get("method") or "get").lower(), "fields": {}, "types": {}})
        elif self.forms and tag in ("input", "select", "textarea", "button") and a.get("name"):
            fields = self.forms[-1]["fields"]
            kind = a.get("type", tag)
            if kind in ("checkbox", "radio") and a["name"] in fields:
                return
            value = a.get("value") or ("y" if kind == "checkbox" else "")
            fields.setdefault(a["name"], value)
            self.forms[-1]["types"].setdefault(a["name"], kind)
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._select and self.forms:
            fields = self.forms[-1]["fields"]
            if not fields.get(self._select) and a.get("value"):
                fields[self._select] = a["value"]


@pytest.fixture
def world(app, browser, staff, units):
    """One row of every kind a page may be opened on, in the state admin's scope."""
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        member = factories.member(units["BLK-BILHA"], status="phone_verified")
        factories.approved(units["BLK-BILHA"], booth_no="7")
        roll = roll_service.create(staff["state"], units["DIST-BILASPUR"], date(2026, 11, 15),
                                   "Probe roll")
        db.session.flush()
        roll_service.freeze(staff["state"], roll.id)
        roll_service.publish(staff["state"], roll.id, date.today() + timedelta(days=5))
        batch = imports.upload(staff["state"], units["DIST-BILASPUR"], csv_bytes([GOOD]),
                               "forms.csv", "101-105")
        db.session.commit()
        event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()))
        ids = {"members": member.id, "queue": member.id, "rolls": roll.id,
               "imports": batch.id, "audit": event.seq, "units": units["BLK-BILHA"].id,
               "staff": staff["enroller"].id, "roles": db.session.scalar(
                   select(RoleAssignment.id).where(
                       RoleAssignment.user_id == staff["enroller"].id))}
    assert db.session.get(Roll, roll.id).status == "preliminary"
    assert db.session.get(ImportBatch, batch.id)
    return ids


def routes(app) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint not in SKIPPED_ENDPOINTS]


def url_of(rule, ids) -> str:
    path = rule.rule.replace("<export_type>", "csv").replace("<kind>", "png")
    # Any other part of a path (a card's token, a recruiter's code, an id) gets a value
    # of its converter's kind; the probes then craft the query string and the form.
    path = re.sub(r"<int:[^>]+>", "1", path)
    path = re.sub(r"<[^>]+>", "Ab12Cd34", path)
    blueprint = rule.endpoint.partition(".")[0]
    if blueprint in ids and not path.endswith(f"/{blueprint}/"):
        path += f"?id={ids[blueprint]}"
    return path


class Probe:
    def __init__(self, app, b, ids):
        self.app, self.b, self.ids = app, b, ids
        self.count, self.failures = 0, []

    def send(self, method, url, *, body=None, content_type=None, headers=None, label=""):
        kwargs = {"headers": headers or {}}
        if body is not None:
            kwargs["data"] = body
            kwargs["content_type"] = content_type or "application/x-www-form-urlencoded"
        path, _, query = url.partition("?")
        self.count += 1
        try:
            response = self.b.client.open(path, method=method, query_string=query or None,
                                          **kwargs)
        except Exception as error:  # noqa: BLE001 - the server would answer 500
            self.failures.append((500, method, url[:160], label[:80], repr(error)[:200]))
            return None
        if response.status_code >= 500:
            self.failures.append((response.status_code, method, url[:160], label[:80]))
        raw = response.headers.get("Location", "")
        location = urlsplit(raw)
        if (location.netloc not in ("", "localhost") or location.scheme not in ("", "http")
                or re.match(r"\s*[/\\]\s*[/\\]", raw)):  # //host, /\host: off-site too
            self.failures.append(("redirect", method, url[:160], label[:80], raw[:80]))
        return response


def _discover(app, probe: Probe, rules):
    """Per GET url: the query args it read; per POST path: the distinct forms posting there."""
    seen_args, forms = {}, {}
    for rule in rules:
        url = url_of(rule, probe.ids)
        if "GET" not in rule.methods:
            continue
        seen: set = set()
        record_args(app, seen)
        try:
            response = probe.send("GET", url, label="plain")
        finally:
            app.request_class = app.request_class.__mro__[1]
        seen_args[url] = seen - ID_NAMES
        if response is None or response.status_code != 200 or "html" not in response.content_type:
            continue
        parser = Forms()
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = html.unescape(form["action"]) or url
            if form["method"] == "post" and "file" not in form["types"].values():  # uploads:
                path = urlsplit(action).path               # test_uploads.py
                names = frozenset(form["fields"]) - {"_add_another", "_continue_editing"}
                forms.setdefault((_shape(path), names), (action, form))
    return seen_args, forms


def _shape(path: str) -> str:
    """/admin/members/edit/ and /admin/queue/edit/ run the same code: probe one; so do
    every view's ajax/lookup/ (Flask-Admin's own)."""
    path = re.sub(r"^/admin/\w+/ajax/lookup/", "/admin/*/ajax/lookup/", path)
    return re.sub(r"^/admin/(members|queue)/", "/admin/members/", path)


def _probe_args(probe: Probe, seen_args):
    done = set()
    for url, names in seen_args.items():
        join = "&" if "?" in url else "?"
        for name in sorted(names):
            if (_shape(urlsplit(url).path), name) in done or name in LIST_ARGS:
                continue  # Flask-Admin's own: _probe_lists, and ?url= below
            done.add((_shape(urlsplit(url).path), name))
            for value in ARG_VALUES:
                probe.send("GET", f"{url}{join}{encode([(name, wire(value))])}",
                           label=f"{name}={value}")
        for value in GUARD_VALUES:
            probe.send("GET", url + join + encode([(n, wire(value)) for n in names | {"url"}]),
                       label=f"every arg {value}")
    for target in OFF_SITE:  # Probe.send checks every Location header
        for url in ("/login", "/admin/members/new/", "/admin/members/edit/"):
            query = encode([("next", quote(target, safe="")), ("url", quote(target, safe=""))])
            probe.send("GET", f"{url}?{query}", label=f"redirect {target}")


def _probe_lists(probe: Probe, seen_args):
    for url in seen_args:
        if not re.fullmatch(r"/admin/\w+/", url):
            continue
        response = probe.send("GET", url, label="list")
        page = response.get_data(as_text=True) if response is not None else ""
        if "filter-groups-data" not in page and 'name="search"' not in page:
            continue
        for name, values in FLASK_ADMIN_LIST_ARGS.items():
            for value in values:
                probe.send("GET", f"{url}?{encode([(name, quote(value, safe=''))])}",
                           label=f"{name}={value}")
        groups = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
        offered = [(flt["index"], flt["options"]) for group in
                   json.loads(html.unescape(groups.group(1))).values()
                   for flt in group] if groups else []
        for index, options in offered:
            # ... and the first value it offers: a type error on PostgreSQL, too
            for value in [*FILTER_GARBAGE, *(str(option) for option, _ in (options or [])[:1])]:
                probe.send("GET", f"{url}?{encode([(f'flt0_{index}', quote(value, safe=''))])}",
                           label=f"filter {index}={value}")


def _baseline(form) -> dict:
    """The form as a person would fill it in: what the page offers, plus VALID."""
    return {name: VALID.get(name, value) if not value or name in VALID else value
            for name, value in form["fields"].items() if name != "csrf_token"}


def _probe_forms(probe: Probe, forms, token, user):
    base = [("csrf_token", quote(token, safe=""))]
    for action, form in sorted(forms.values(), key=lambda f: "/logout" in f[0]):
        if user is not None:
            probe.b.login_as(user)  # a probe may have changed who is logged in
        fields = {k: quote(str(v), safe="") for k, v in _baseline(form).items()}
        for name in set(fields) - ID_NAMES:
            kind = form["types"][name]
            for value in FIELD_VALUES + TYPE_VALUES.get(kind, ()):
                body = encode(base + [(k, wire(value) if k == name else v)
                                      for k, v in fields.items()])
                probe.send("POST", action, body=body, label=f"{name}={value}")
        for value in (*GUARD_VALUES, *ENCODED, *EVERY_FIELD_VALUES):
            body = encode(base + [(k, v if k in ID_NAMES else wire(value))
                                  for k, v in fields.items()])
            probe.send("POST", action, body=body, label=f"every field {value}")
        body = encode(base + list(fields.items()) + [(k, wire("not-offered")) for k in fields])
        probe.send("POST", action, body=body, label="every field twice")
        for target in OFF_SITE:  # where to go next: only ever a path on this site
            query = encode([("url", quote(target, safe=""))])
            body = encode(base + list(fields.items()) + [("next", quote(target, safe=""))])
            probe.send("POST", f"{action}{'&' if '?' in action else '?'}{query}", body=body,
                       label=f"off-site {target}")
        _probe_bodies(probe, action, fields, base)


def _probe_bodies(probe: Probe, action, fields, base):
    response = probe.send("POST", action, body=encode(list(fields.items())),
                          label="no CSRF token")
    if response is not None and action not in CSRF_EXEMPT:
        assert response.status_code == 400, (action, response.status_code)
    probe.send("POST", action, body=json.dumps({k: "x" for k in fields}),
               content_type="application/json", label="JSON body")
    probe.send("POST", action, body=encode(base + list(fields.items())),
               content_type="text/plain", label="text/plain")
    probe.send("POST", action, body=b"--x\r\nbroken", content_type="multipart/form-data",
               label="multipart without boundary")
    probe.send("POST", action, body=b"--x\r\nbroken",
               content_type="multipart/form-data; boundary=x", label="broken multipart")


def _probe_posts_without_forms(probe: Probe, rules, forms, token):
    """POST routes no page showed a form for (ajax, webhooks, a step the data did not
    offer): crafted bodies with the names such routes read."""
    base = [("csrf_token", quote(token, safe=""))]
    shown = {_shape(urlsplit(action).path) for action, _form in forms.values()}
    for rule in rules:
        if "POST" not in rule.methods or _shape(rule.rule) in shown or rule.rule == "/logout":
            continue
        url = url_of(rule, probe.ids)
        for value in (*GUARD_VALUES, "huge-number", "not-offered", "year-9999"):
            probe.send("POST", url, body=encode(base + [(n, wire(value)) for n in POST_NAMES]),
                       label=f"all={value}")
        _probe_bodies(probe, url, dict.fromkeys(POST_NAMES, "x"), base)


HEADERS = {
    "Accept-Language": ["\x00", "x" * 10_000, "hi;q=abc, en;q=1e999", ";;;,,,q=", "१२"],
    "X-Request-ID": ["\x00", "x" * 10_000, "\u202e"],
    "X-Forwarded-For": ["\x00", "not-an-ip", "1.2.3.4, " * 500],
    "Referer": ["\x00", "javascript:alert(1)"],
    "User-Agent": ["\x00", "x" * 10_000],
    "Cookie": ["lang=\x00", "lang=" + "x" * 4000, "session=garbage", "session=.eJw\x00",
               "lang=%ff%fe", "session=" + "A" * 4000],
    "Host": ["evil.example", "[::1", "x" * 300],
    "If-None-Match": ["\x00", '"x"' * 2000, "W/"],
    "If-Modified-Since": ["garbage", "Mon, 99 Foo 99999 99:99:99 GMT"],
    "If-Match": ["garbage"],
    "Range": ["bytes=999999999-", "bytes=5-1", "bytes=" + "1-2," * 2000,
              "bytes=99999999999999999999999-"],
}


def _probe_headers(probe: Probe, urls):
    for url in urls:
        for header, values in HEADERS.items():
            for value in values:
                probe.send("GET", url, headers={header: value}, label=f"{header}: {value[:20]}")


def _run(app, browser, user, ids, capsys, label, *, everything=True):
    """Everything for a state admin and nobody; for an enroller, the forms and lists
    (their own paths through the same views), not the arguments again."""
    app.config["JOIN_MIN_SECONDS"] = 0  # /join forms reach the service at once
    b = browser(user)
    probe = Probe(app, b, ids)
    rules = routes(app)
    seen_args, forms = _discover(app, probe, rules)
    token = b.csrf_token("/login") if user is None else b.csrf_token("/admin/")
    if everything:
        _probe_args(probe, seen_args)
    _probe_lists(probe, seen_args)
    _probe_forms(probe, forms, token, user)
    if everything:
        if user is not None:
            b.login_as(user)
        _probe_posts_without_forms(probe, rules, forms, token)
        _probe_headers(probe, ["/login", "/admin/", "/admin/members/", "/join", "/status",
                               "/check", "/check/rolls.json", "/check/revoked.json",
                               f"/check/rolls/{ids['rolls']}.bin", "/r/abcdefgh"])
    with capsys.disabled():
        print(f"\ncrafted input as {label}: {probe.count} requests, "
              f"{len(probe.failures)} 5xx")
    assert not probe.failures, "\n".join(map(str, probe.failures[:60]))


@pytest.mark.slow
def test_no_crafted_input_gets_a_5xx_as_state_admin(app, browser, staff, world, capsys):
    _run(app, browser, staff["state"], world, capsys, "state admin")


@pytest.mark.slow
def test_no_crafted_input_gets_a_5xx_as_enroller(app, browser, staff, world, capsys):
    _run(app, browser, staff["enroller"], world, capsys, "enroller", everything=False)


@pytest.mark.slow
def test_no_crafted_input_gets_a_5xx_anonymously(app, browser, staff, world, capsys):
    _run(app, browser, None, world, capsys, "anonymous")


def _filter_index(page: str, label: str) -> int:
    groups = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
    return json.loads(html.unescape(groups.group(1)))[label][0]["index"]


def test_a_filter_value_the_list_does_not_offer_is_refused_with_a_message(
        app, browser, staff, units):
    """Not a type error in the query (a 500 on PostgreSQL), nor another unit's block."""
    with app.test_request_context():
        factories.member(units["BLK-BILHA"], full_name="Filtered In", status="phone_verified")
    b = browser(staff["bilha"])
    index = _filter_index(b.get("/admin/members/").get_data(as_text=True), "Block")
    for value in ("abc", "9" * 40, "१", str(units["BLK-MASTURI"].id)):
        response = b.get(f"/admin/members/?flt0_{index}={quote(value)}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, value
        assert "Invalid Filter Value" in page and "Filtered In" in page, value
    page = b.get(f"/admin/members/?flt0_{index}={units['BLK-BILHA'].id}").get_data(as_text=True)
    assert "Invalid Filter Value" not in page and "Filtered In" in page


def test_a_code_already_in_use_gets_a_message_not_a_500(app, browser, staff, units):
    b = browser(staff["state"])
    token = b.csrf_token("/admin/units/new/")
    for url, code in (("/admin/units/new/", "BLK-BILHA"),
                      (f"/admin/units/edit/?id={units['BLK-KOTA'].id}", "BLK-MASTURI")):
        response = b.client.post(url, data={
            "csrf_token": token, "code": code, "name_en": "Copy", "name_hi": "प्रति",
            "level": "block", "parent_id": units["DIST-BILASPUR"].id})
        assert response.status_code == 200, url
        assert "already" in response.get_data(as_text=True), url


def test_a_roll_date_far_off_is_refused_with_a_message(app, browser, staff, units):
    """A cut-off of 9999-12-31 was saved, and then every freeze of that roll was a 500."""
    with app.test_request_context():
        factories.approved(units["BLK-BILHA"])
    b = browser(staff["state"])
    token = b.csrf_token("/admin/rolls/new/")
    for cut_off in ("9999-12-31", "0001-01-01"):
        page = b.client.post("/admin/rolls/new/", data={
            "csrf_token": token, "unit_id": units["DIST-BILASPUR"].id, "title": "Far",
            "cut_off": cut_off}, follow_redirects=True).get_data(as_text=True)
        assert "Choose a cut-off date" in page, cut_off
    assert db.session.scalar(select(Roll).where(Roll.title == "Far")) is None
    with app.test_request_context():
        roll = roll_service.create(staff["state"], units["DIST-BILASPUR"], date(2026, 11, 15),
                                   "Near")
        roll_service.freeze(staff["state"], roll.id)
        db.session.commit()
    response = b.client.post(f"/admin/rolls/step/?id={roll.id}", data={
        "csrf_token": token, "action": "publish", "claims_until": "9999-12-31"},
        follow_redirects=True)
    assert "within a year" in response.get_data(as_text=True)
    assert db.session.get(Roll, roll.id).status == "frozen"


# Crafted parts of a path (a card link's token, a recruiter's code, a roll's or a
# member's id, a file's kind), already percent-encoded, put in each of a route's parts
# in turn; the other parts keep url_of's value.
PATH_VALUES = ("ab%00cd", "%ff%fe", "%c0%af", "%ed%a0%80", quote("a\x01\x1b[31m", safe=""),
               "x" * 5_000, "9" * 40, "2147483648", "9223372036854775808", "-1", "0",
               quote("١٢", safe=""), quote("१२", safe=""), "1e9999", "..", "a.b.c",
               quote("\u202e", safe=""), "%25%5F%5C")
WRONG_METHODS = ("PUT", "DELETE", "PATCH")


def _path_with(rule, name: str, value: str) -> str:
    """The rule's path with ``value`` for the part ``name``, url_of's values elsewhere."""
    path = re.sub(rf"<(?:[^:>]+:)?{name}>", value, rule.rule)
    path = path.replace("<export_type>", "csv")
    path = re.sub(r"<int:[^>]+>", "1", path)
    return re.sub(r"<[^>]+>", "Ab12Cd34", path)


def _language_of(b, url) -> str:
    found = re.search(r'<html lang="?(\w+)', b.get(url).get_data(as_text=True))
    return found.group(1) if found else "?"


@pytest.mark.slow
@pytest.mark.parametrize("who", ["anonymous", "state admin"])
def test_crafted_paths_and_methods_get_a_4xx_page_in_the_users_language(
        app, browser, staff, world, capsys, who):
    """Every route with parts in its path (/card/<token>.<kind>, /r/<code>,
    /check/rolls/<roll_id>.bin, /members/<member_id>/card.<kind>, the admin's
    /<export_type>) gets crafted parts, and every route HEAD, OPTIONS and methods it
    does not take: a 4xx page in the user's language or the normal answer, never a 5xx."""
    b = browser(None if who == "anonymous" else staff["state"], lang="hi")
    language = _language_of(b, "/status" if who == "anonymous" else "/admin/")
    assert language == "hi"
    probe = Probe(app, b, world)
    wrong_pages = []

    def send(method, url, label):
        response = probe.send(method, url, label=label)
        if response is None or method != "GET" or not 400 <= response.status_code < 500:
            return response
        if f'<html lang="{language}"' not in response.get_data(as_text=True):
            wrong_pages.append((response.status_code, url[:120], label))
        return response

    for rule in routes(app):
        for name in rule.arguments:
            for value in PATH_VALUES:
                for method in ("GET", "HEAD"):
                    send(method, _path_with(rule, name, value), f"<{name}>")
        url = url_of(rule, world)
        for method in ("HEAD", "OPTIONS", *WRONG_METHODS):
            response = send(method, url, method)
            if method in WRONG_METHODS and response is not None:
                assert response.status_code in (302, 401, 403, 404, 405), (method, url)
        if "GET" not in rule.methods and url != "/logout":
            response = send("GET", url, "GET on a POST route")
            assert response is None or response.status_code in (302, 404, 405), url
    with capsys.disabled():
        print(f"\ncrafted paths and methods as {who}: {probe.count} requests, "
              f"{len(probe.failures)} 5xx, {len(wrong_pages)} pages not in {language}")
    assert not probe.failures, "\n".join(map(str, probe.failures[:60]))
    assert not wrong_pages, "\n".join(map(str, wrong_pages[:60]))
