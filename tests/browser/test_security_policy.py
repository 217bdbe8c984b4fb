"""Flask-Admin's interactive parts under the Content-Security-Policy: filters, the
"With selected" actions, a row's delete confirmation, the pager, with no inline
handler left to refuse (static/js/admin-csp.js). page_for fails a test on any CSP
violation; the first test shows that watch does catch one."""

import pytest

from tests.browser.conftest import SKIPS, watch_security_policy

pytestmark = [
    *SKIPS,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PRESIDENT = "block.bilha@demo.sadasya.in"
DISTRICT = "district.bilaspur@demo.sadasya.in"


def _wait_for(page, problems: list[str], at_least: int) -> None:
    for _ in range(50):  # reports arrive through the binding, a moment after the event
        if len(problems) >= at_least:
            return
        page.wait_for_timeout(100)


def test_the_watch_catches_an_inline_script_and_an_inline_handler(live, chromium):
    _app, base = live
    context = chromium.new_context()
    problems: list[str] = []
    watch_security_policy(context, problems)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.appendChild(script);
        const button = document.createElement("button");
        button.id = "inline-handler";
        button.setAttribute("onclick", "window.handlerRan = true");
        document.body.appendChild(button);
    }""")
    page.click("#inline-handler")
    _wait_for(page, problems, 2)
    ran = page.evaluate("() => [window.inlineRan === true, window.handlerRan === true]")
    context.close()
    assert ran == [False, False]  # refused by the policy
    assert len([p for p in problems if p.startswith("CSP violation")]) >= 2, problems
    assert any("script-src" in p for p in problems), problems


def test_filters_and_the_pager_work_without_inline_handlers(page_for):
    page = page_for(DISTRICT)
    page.goto(page.url + "members/")
    list_url = page.url
    page.locator("a.dropdown-toggle:has-text('Add Filter')").click()
    page.locator("a.dropdown-item.filter").first.click()
    assert page.locator("table.filters tr").count() == 1  # the filter's row was added
    assert page.url == list_url
    current = page.locator(".pagination .page-item.active a")
    if current.count():
        current.first.click()  # href="javascript:void(0)": nothing happens, nothing refused
        assert page.url == list_url


def test_a_row_delete_asks_first_and_nothing_goes_when_declined(page_for):
    page = page_for(DISTRICT)
    page.goto(page.url + "roles/")
    rows = page.locator("form[data-confirm] button").count()
    assert rows, "the district head sees roles they may remove"
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("form[data-confirm] button").first.click()
    page.wait_for_load_state()
    assert asked and "delete" in asked[0]
    assert page.locator("form[data-confirm] button").count() == rows


def test_an_action_on_selected_rows_runs(page_for):
    page = page_for(PRESIDENT)
    page.goto(page.url + "queue/")
    page.locator("input.action-checkbox").first.check()
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("a.dropdown-toggle:has-text('With selected')").first.click()
    page.locator("a[data-model-action=approve]").click()
    page.wait_for_load_state()
    # the action's form was posted: done at once, or on to the decision's own page
    assert "Approve done" in page.content() or "/decide/" in page.url, page.url


def test_the_polling_script_reloads_while_a_file_is_being_prepared(page_for):
    """static/js/poll.js, which replaced the pages' inline scripts: a page with a row
    still running reloads itself; one with none does not."""
    page = page_for(DISTRICT)
    base = page.url.split("/admin")[0]

    def load_poll_script(state: str) -> None:
        page.evaluate("""(state) => {
            const table = document.createElement("table");
            table.id = "files";
            table.dataset.reloadWhile = "#files tr[data-state=running]";
            table.dataset.pollMs = "200";
            table.innerHTML = `<tr data-state="${state}"><td>file</td></tr>`;
            document.body.appendChild(table);
            window.notReloaded = true;
            const script = document.createElement("script");
            script.src = "/static/js/poll.js";
            document.body.appendChild(script);
        }""", state)

    page.goto(f"{base}/admin/members/exports/")
    load_poll_script("running")
    page.wait_for_function("() => window.notReloaded === undefined")  # reloaded
    load_poll_script("done")
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.notReloaded") is True


def test_the_polling_script_shows_an_imports_progress_then_reloads(page_for):
    """poll.js on an import's page: rows read as they grow, a reload once the check ends."""
    page = page_for(DISTRICT)
    # The progress answers come from a stand-in for fetch in the page, not from a
    # route: a route can miss a request the page makes (it then reached the server
    # as a 404), and this test is about the script, not the network.
    page.evaluate("""() => {
        const box = document.createElement("div");
        box.dataset.progressUrl = "/progress-for-the-test";
        box.dataset.status = "checking";
        box.dataset.busy = "checking committing";
        box.dataset.pollMs = "200";
        box.innerHTML = '<span id="rows" data-progress-processed>0</span>';
        document.body.appendChild(box);
        window.notReloaded = true;
        window.progressAsked = [];
        window.fetch = (url, options) => {
            window.progressAsked.push(url);
            const answer = window.progressDone ?
                {status: "checked", processed: 200000} :
                {status: "checking", processed: 123456};
            return Promise.resolve(new Response(JSON.stringify(answer),
                {status: 200, headers: {"Content-Type": "application/json"}}));
        };
        const script = document.createElement("script");
        script.src = "/static/js/poll.js";
        document.body.appendChild(script);
    }""")
    page.wait_for_function("() => document.getElementById('rows').textContent === '1,23,456'")
    assert page.evaluate("() => window.notReloaded") is True  # still checking: no reload
    assert page.evaluate("() => window.progressAsked[0]") == "/progress-for-the-test"
    page.evaluate("() => { window.progressDone = true; }")
    page.wait_for_function("() => window.notReloaded === undefined")  # reloaded when done
