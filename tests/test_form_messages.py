"""WTForms' own messages ("This field is required.", "Not a valid choice.") in Hindi.

Flask-WTF took them from the catalogs WTForms ships, which have no Hindi, and
Flask-Babel read the app's wtforms.po for no domain: a form sent empty or with a value
no list offers read in English on Hindi pages, /join included. Every form any page shows
(anonymous, state admin, enroller, block president, returning officer) is posted empty,
with a value no list offers in every field, and with over-long values; no WTForms
message may come back in English, and the Hindi ones must.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po

from backoffice.views import TRANSLATIONS
from tests.views import test_crafted_input as crafted
from tests.views.test_crafted_input import world  # noqa: F401, F811 - the rows pages open on

with open(TRANSLATIONS / "hi" / "LC_MESSAGES" / "wtforms.po", "rb") as _handle:
    _CATALOG = [m for m in read_po(_handle) if m.id]
# Each English message as a pattern: its text up to the first placeholder.
ENGLISH = {re.escape(html.escape(re.split(r"%\(", m.id if isinstance(m.id, str) else m.id[1])[0],
                                 quote=True)): m for m in _CATALOG}
REQUIRED_HI = next(m.string for m in _CATALOG if m.id == "This field is required.")
CHOICE_HI = next(m.string for m in _CATALOG if m.id == "Not a valid choice.")


def _bodies(form, token):
    fields = crafted._baseline(form)
    names = [k for k in fields if k not in crafted.ID_NAMES]
    yield "empty", {"csrf_token": token}
    yield "not offered", {"csrf_token": token, **fields, **dict.fromkeys(names, "zzz-nope")}
    yield "too long", {"csrf_token": token, **fields, **dict.fromkeys(names, "x" * 600)}


@pytest.mark.parametrize("who", [None, "state", "enroller", "bilha", "ro"])
def test_no_form_answers_in_english_on_a_hindi_page(app, browser, staff, world, who):  # noqa: F811
    app.config["JOIN_MIN_SECONDS"] = 0
    user = staff[who] if who else None
    b = browser(user, lang="hi")
    probe = crafted.Probe(app, b, world)
    _args, forms = crafted._discover(app, probe, crafted.routes(app))
    token = b.csrf_token("/login") if user is None else b.csrf_token("/admin/")
    english, hindi, posted = [], set(), 0
    for action, form in forms.values():
        if urlsplit(action).path in ("/logout", "/language", "/status/end"):
            continue
        for label, body in _bodies(form, token):
            if user is not None:
                b.login_as(user)
            response = b.client.post(action, data=body, follow_redirects=True)
            posted += 1
            assert response.status_code < 500, (action, label)
            page = response.get_data(as_text=True)
            english += [(urlsplit(action).path, label, m.id) for pattern, m in ENGLISH.items()
                        if re.search(pattern, page)]
            hindi |= {text for text in (REQUIRED_HI, CHOICE_HI) if text in page}
    assert not english, english[:20]
    assert posted > 3
    assert REQUIRED_HI in hindi, "no form said a field is required, in Hindi"


def test_the_join_form_names_each_mistake_in_hindi_and_in_english(app, browser, units):
    app.config["JOIN_MIN_SECONDS"] = 0
    for lang, required, choice in (("hi", REQUIRED_HI, CHOICE_HI),
                                   ("en", "This field is required.", "Not a valid choice.")):
        b = browser(lang=lang)
        page = b.client.post("/join", data={
            "csrf_token": b.csrf_token("/join"), "gender": "zzz", "block_id": "abc",
            "booth_no": "x" * 20}).get_data(as_text=True)
        assert f'<html lang="{lang}">' in page
        assert required in page and choice in page, lang
