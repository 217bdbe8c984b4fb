"""Search-as-you-type lookups (/admin/<view>/ajax/lookup/): any offset, limit or query.

The lookups come from the admin's views, so a new one is probed without a change here.
Flask-Admin reads ?offset= and ?limit= as any whole number: an offset past 2**63 went
into the query as it was, a 500 on PostgreSQL (bigint out of range) and on SQLite.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from backoffice.views.base import ScopedModelView
from backoffice.views.roles import _ScopedLoader

NUMBERS = ("0", "-1", "-9223372036854775809", "2147483648", "9223372036854775807",
           "9223372036854775808", "9" * 25, "1e3", "१२", "abc", "")
QUERIES = ("", "a", "%", "_", "\\", "'", "बिल्हा", "9" * 200)


def _lookups(app) -> list[tuple[str, str]]:
    """(view endpoint, lookup name) for every ajax lookup of every scoped view."""
    admin = app.extensions["admin"][0]
    return [(view.endpoint, name) for view in admin._views
            if isinstance(view, ScopedModelView)
            for name in (getattr(view, "_form_ajax_refs", None) or {})]


@pytest.mark.parametrize("who", ["state", "district", "bilha"])
def test_no_offset_limit_or_query_gets_a_5xx(app, browser, staff, who):
    b = browser(staff[who])
    lookups = _lookups(app)
    assert lookups
    failures = []
    for view, name in lookups:
        url = f"/admin/{view}/ajax/lookup/?name={name}"
        if b.get(f"{url}&query=").status_code != 200:
            continue  # not this role's view
        for arg in ("offset", "limit"):
            for value in NUMBERS:
                for query in ("", "a"):
                    response = b.get(f"{url}&query={query}&{arg}={quote(value)}")
                    if response.status_code >= 500 or not isinstance(response.get_json(), list):
                        failures.append((view, name, arg, value, response.status_code))
        for query in QUERIES:
            response = b.get(f"{url}&query={quote(query)}&offset=9223372036854775808")
            if response.status_code >= 500:
                failures.append((view, name, "query", query, response.status_code))
    assert not failures, failures


def test_a_far_offset_is_an_empty_page_and_a_near_one_still_pages(app, browser, staff):
    b = browser(staff["state"])
    url = "/admin/roles/ajax/lookup/?name=unit&query="
    first, second = b.get(f"{url}&offset=0").get_json(), b.get(f"{url}&offset=1").get_json()
    assert len(first) > 1 and first[1:] == second[:len(first) - 1]
    assert len(b.get(f"{url}&limit=1000").get_json()) == _ScopedLoader.LIMIT
    assert b.get(f"{url}&offset={10**30}").get_json() == []
