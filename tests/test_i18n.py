"""Hindi and English: the login page, the admin index, the switch that remembers."""

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from backoffice.views import TRANSLATIONS


def test_login_page_is_hindi_by_default_and_english_on_request(app, browser):
    page = browser(lang=None).get("/login").get_data(as_text=True)
    assert '<html lang="hi">' in page
    assert "लॉग इन करें" in page and "पासवर्ड" in page
    english = browser(lang="en").get("/login")
    assert "Log in to the membership backoffice" in english.get_data(as_text=True)


def test_a_phone_set_to_english_still_gets_hindi_until_the_person_chooses(app, browser):
    """Most Android phones in India send en-IN whatever their owner reads."""
    for header in ("en-IN,en-GB;q=0.9,en-US;q=0.8,en;q=0.7", "en-US", "en"):
        page = browser(lang=None).get("/join", headers={"Accept-Language": header})
        assert '<html lang="hi">' in page.get_data(as_text=True), header
    b = browser(lang=None)
    token = b.csrf_token("/join")
    b.client.post("/language", data={"lang": "en", "next": "/join", "csrf_token": token})
    page = b.get("/join", headers={"Accept-Language": "hi-IN"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Become a member" in page


def test_admin_index_renders_in_hindi_and_english(app, browser, staff):
    hindi = browser(staff["district"], lang="hi").get("/admin/").get_data(as_text=True)
    assert '<html lang="hi">' in hindi
    assert "डैशबोर्ड" in hindi and "सदस्य" in hindi and "लॉग आउट" in hindi
    assert "ज़िला अध्यक्ष" in hindi and "बिलासपुर" in hindi
    english = browser(staff["district"], lang="en").get("/admin/").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Dashboard" in english and "District president" in english and "Bilaspur" in english


def test_flask_admin_own_strings_come_in_hindi(app, browser, staff):
    page = browser(staff["state"], lang="hi").get("/admin/members/").get_data(as_text=True)
    assert "सूची" in page  # Flask-Admin's "List" tab, from the catalog the project ships
    assert "खोजें" in page or "खोज" in page


def test_language_switch_is_remembered_for_the_account(app, browser, staff):
    b = browser(staff["bilha"], lang=None)
    token = b.csrf_token("/admin/")
    response = b.client.post("/language", data={"lang": "en", "next": "/admin/members/",
                                                "csrf_token": token})
    assert response.headers["Location"] == "/admin/members/"
    assert "Members" in b.get("/admin/").get_data(as_text=True)
    from backoffice.extensions import db

    db.session.refresh(staff["bilha"])
    assert staff["bilha"].preferred_locale == "en"
    # A new browser for the same account starts in English too.
    assert '<html lang="en">' in browser(staff["bilha"], lang=None).get(
        "/admin/").get_data(as_text=True)


def test_language_switch_ignores_unknown_languages_and_foreign_next(app, browser):
    b = browser(lang=None)
    token = b.csrf_token()
    response = b.client.post("/language", data={"lang": "fr", "next": "https://evil.example/",
                                                "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_indian_number_grouping_in_both_languages(app):
    from backoffice.i18n import indian_number

    for lang in ("hi", "en"):
        with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
            assert indian_number(1000000) == "10,00,000"


def test_every_catalog_is_complete_and_compiled(app):
    """No English left in the Hindi catalogs, and each .mo matches its .po."""
    for domain in ("messages", "admin", "wtforms"):
        folder = TRANSLATIONS / "hi" / "LC_MESSAGES"
        with open(folder / f"{domain}.po", "rb") as handle:
            po = read_po(handle)
        with open(folder / f"{domain}.mo", "rb") as handle:
            mo = read_mo(handle)
        missing = [m.id for m in po if m.id and not all(_forms(m.string))]
        assert not missing, f"{domain}: untranslated {missing[:5]}"
        assert {_key(m.id): _forms(m.string) for m in po if m.id} == {
            _key(m.id): _forms(m.string) for m in mo if m.id}, f"{domain}.mo is stale"


def _key(msgid):
    return msgid if isinstance(msgid, str) else tuple(msgid)


def _forms(string):
    return (string,) if isinstance(string, str) else tuple(string)


def test_catalog_has_every_string_the_code_uses(app):
    """`make translations` was run: the template lists every msgid in the code."""
    keywords = DEFAULT_KEYWORDS | {"_l": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    used = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(TRANSLATIONS.parent, method_map, keywords=keywords)
    }
    with open(TRANSLATIONS / "hi" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        translated = {_key(m.id)[0] if not isinstance(m.id, str) else m.id
                      for m in read_po(handle) if m.id and all(_forms(m.string))}
    assert not used - translated, f"run `make translations`: {sorted(used - translated)[:10]}"
