"""In a real browser: the docs page works against the mock, and a page on another origin can
call it (CORS). Headless Debian chromium driven by Playwright; skipped only when chromium is
not installed (``.ci/run`` installs it).

Playwright rather than selenium: its locators wait for what they name and its ``expect``
retries until a bound, so no test sleeps or polls by hand; it drives the browser given by
``executable_path`` and is never asked to download one. Each launch gets a fresh profile.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ecm_mock import AdminClient, Settings, create_app, load_spec
from ecm_mock.serving import BackgroundServer
from ecm_mock.spec import admin_spec_path

pytestmark = pytest.mark.slow

# no network here but the package registries: nothing of chromium's own may try to go out
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE = ".live-responses-table tr.response"  # Swagger UI's answer to "Execute"
RENDERED = 60_000  # ms: the most Swagger UI may take to render the contract (a bound, not a wait)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip(
            "Debian's chromium is not installed: apt-get install -y chromium chromium-driver"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def mock() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(Settings())) as server:
        yield server


def _outside(page: Page, base: str) -> list[str]:
    """Every request the page makes that does not go to ``base``, collected from now on."""
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    return outside


# ------------------------------------------------------------------------------- /docs
def _operation(page: Page, op) -> object:
    block = page.locator(f"#operations-{op.tag}-{op.operation_id}")
    block.locator(".opblock-summary-control").click()
    block.locator(".try-out__btn").click()
    return block


def _execute(block) -> object:
    block.locator("button.execute").click()
    status = block.locator(f"{LIVE} .response-col_status").first
    expect(status).not_to_be_empty()
    return status


def _token_from_the_page(page: Page, spec, base: str) -> str:
    """A token from the page: the login operation's "Try it out" where the contract has a
    POST login (a browser cannot send the vendor's GET with a body), else the page's fetch."""
    login = spec.operation("loginUser")
    posted = [
        op
        for op in spec.operations.values()
        if op.path == login.path and op.method == "POST" and not op.secured
    ]
    if posted:
        block = _operation(page, posted[0])
        block.locator("textarea.body-param__text").fill('{"username":"admin","password":"admin"}')
        expect(_execute(block)).to_have_text("200")
        body = block.locator(f"{LIVE} .response-col_description pre").first
        return json.loads(body.inner_text())["token"]
    return page.evaluate(
        """async url => (await (await fetch(url, {method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({username: "admin", password: "admin"})})).json()).token""",
        base + login.path,
    )


def test_docs_render_every_operation_and_call_the_mock(page, mock):
    spec = load_spec(Settings().spec_path)
    outside = _outside(page, mock.url)
    page.goto(mock.url + "/docs")
    expect(page.locator(".opblock")).to_have_count(len(spec.operations), timeout=RENDERED)

    token = _token_from_the_page(page, spec, mock.url)
    page.locator(".auth-wrapper button.authorize").click()
    page.locator(".modal-ux input").fill(token)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    block = _operation(page, spec.operation("listCampaigns"))
    expect(_execute(block)).to_have_text("200")
    expect(block.locator(".curl-command")).to_contain_text(f"Authorization: Bearer {token}")
    body = block.locator(f"{LIVE} .response-col_description pre").first
    assert len(json.loads(body.inner_text())) == 3  # the shipped fixtures' campaigns
    assert outside == []  # the page and its assets came from the mock alone


def test_the_control_plane_docs_render_its_operations(page, mock):
    admin = load_spec(admin_spec_path(), ecm=False)
    page.goto(mock.url + "/__admin/docs")
    expect(page.locator(".opblock")).to_have_count(len(admin.operations), timeout=RENDERED)
    block = _operation(page, admin.operation("readClock"))
    expect(_execute(block)).to_have_text("200")


# -------------------------------------------------------------------------------- CORS
# the page's script: log in, read with the token, write JSON, and read an error; each call
# with X-Mock-Session, so every one of them needs a preflight
PAGE = """<!doctype html>
<html><body><pre id="result"></pre><script>
(async () => {
  const mock = new URLSearchParams(location.search).get("mock");
  const session = {"X-Mock-Session": "browser"};
  const results = {};
  try {
    let r = await fetch(mock + "/umm/api/login", {method: "POST",
      headers: {...session, "Content-Type": "application/json"},
      body: JSON.stringify({username: "admin", password: "admin"})});
    results.login = r.status;
    const auth = {...session, "Authorization": "Bearer " + (await r.json()).token};
    r = await fetch(mock + "/umm/ecm/campaign/list", {headers: auth});
    results.list = [r.status, (await r.json()).length];
    r = await fetch(mock + "/umm/ecm/callStrategy/save", {method: "POST",
      headers: {...auth, "Content-Type": "application/json"},
      body: JSON.stringify({name: "From a browser"})});
    results.save = [r.status, (await r.json()).name];
    r = await fetch(mock + "/umm/ecm/campaign/list", {headers: session});
    results.refused = [r.status, r.headers.get("WWW-Authenticate"), (await r.json()).status];
  } catch (error) {
    results.error = String(error);
  }
  document.getElementById("result").textContent = JSON.stringify(results);
  document.body.dataset.done = "yes";
})();
</script></body></html>"""


@pytest.fixture
def other_origin() -> Iterator[BackgroundServer]:
    """A second server (another port: another origin) serving the page above."""
    app = Flask("other_origin")
    app.add_url_rule("/", "page", lambda: PAGE)
    with BackgroundServer(app) as server:
        yield server


def _run_page(page: Page, other_origin: BackgroundServer, mock_url: str) -> dict:
    page.goto(f"{other_origin.url}/?mock={mock_url}")
    expect(page.locator("body[data-done=yes]")).to_have_count(1)
    return json.loads(page.locator("#result").inner_text())


@pytest.mark.parametrize("allowed", ["*", "the page's origin"])
def test_a_page_on_another_origin_calls_the_mock(page, other_origin, allowed):
    origins = "*" if allowed == "*" else other_origin.url
    with BackgroundServer(create_app(Settings(cors_origins=origins))) as mock:
        results = _run_page(page, other_origin, mock.url)
        assert results == {
            "login": 200,
            "list": [200, 3],
            "save": [200, "From a browser"],
            "refused": [401, 'Bearer realm="ecm"', 401],  # errors readable, headers exposed
        }
        admin = AdminClient(mock.url)
        names = [s["name"] for s in admin.for_session("browser").state()["strategies"]]
        assert "From a browser" in names
        assert "From a browser" not in [s["name"] for s in admin.state()["strategies"]]
        assert [e["operationId"] for e in admin.journal()] == [
            "loginUserPost",  # the form a browser can send
            "listCampaigns",
            "saveStrategy",
            "listCampaigns",
        ]  # the preflights are not in it


def test_a_page_on_an_origin_not_allowed_is_blocked(page, other_origin):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    settings = Settings(cors_origins="http://localhost:5173")
    with BackgroundServer(create_app(settings)) as mock:
        results = _run_page(page, other_origin, mock.url)
        assert results == {"error": "TypeError: Failed to fetch"}
        assert any("blocked by CORS policy" in line for line in console), console
        assert AdminClient(mock.url).journal() == []  # the login itself was never sent
