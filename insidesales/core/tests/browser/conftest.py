"""Fixtures for the end-to-end browser tests: Debian's Chromium driven by Playwright against `live_server`.

One browser for all of them, a fresh context (cookies, storage) per test. The live server is pytest-django's
threaded WSGI server on the test database, so every browser test needs transactional database access:
rows written here must be committed for the server thread to see them, on SQLite and PostgreSQL alike.
Each page a test opened is screenshotted when the test ends, into a temporary directory (never the repo).

The browser is package-scoped, not session-scoped, on purpose: while Playwright's sync API is up, the main
thread counts as running an asyncio loop, which breaks `async_to_sync` (and so async views under the test
client) in any test that runs later. All browser tests are transactional, so pytest-django keeps them
together and the package fixture still starts one browser per run.

Run only these: `pytest -m browser`; all but these: `pytest -m "not browser"`. CHROMIUM_PATH picks the
browser binary (default /usr/bin/chromium), INSIDESALES_SCREENSHOT_DIR where screenshots go.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from insidesales.core.testing.databases import url_of_test_database
from insidesales.core.tests.browser.browsing import BrowserWorld, build_browser_world

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
ALLOW_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
SCREENSHOT_DIR = pytest.StashKey[Path]()


# --- browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (CHROMIUM_PATH overrides). Missing is a failure: a skip would hide it."""
    path = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {path!r}. The browser tests need it: install Debian's package "
            "(`apt-get install chromium`) or point CHROMIUM_PATH at a Chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    # Playwright's sync API keeps an asyncio loop "running" in the main thread (in a greenlet) while it is
    # up, and Django would then refuse every ORM call the tests make. Those calls are plain synchronous
    # code, so the guard is lifted, for these tests only.
    previous = os.environ.get(ALLOW_ASYNC_UNSAFE)
    os.environ.setdefault(ALLOW_ASYNC_UNSAFE, "true")
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if previous is None:
            os.environ.pop(ALLOW_ASYNC_UNSAFE, None)


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright, chromium_path: str) -> Iterator[Browser]:
    try:
        instance = playwright_driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken install must fail loudly, with the reason
        pytest.fail(f"Chromium at {chromium_path!r} did not start: {exc}", pytrace=False)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: INSIDESALES_SCREENSHOT_DIR if set, else pytest's temporary directory."""
    configured = os.environ.get("INSIDESALES_SCREENSHOT_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots", numbered=False)
    path.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[SCREENSHOT_DIR] = path
    return path


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    path = config.stash.get(SCREENSHOT_DIR, None)
    if path is not None:
        terminalreporter.write_line(f"browser test screenshots: {path}")


@dataclass
class PageProblems:
    """What went wrong in the browser behind the test's back: script errors, assets that did not load."""

    script_errors: list[str] = field(default_factory=list)
    failed_assets: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        page.on("console", self._console)
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request_failed(self, request) -> None:
        # A navigation (e.g. a form submitted) cancels what the old page was still loading: Chromium
        # reports ERR_ABORTED for that. A missing asset is an HTTP error status, caught in `_response`.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed_assets.append(f"{request.url}: {request.failure}")

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx/5xx document as a console error; those are asserted by the tests themselves.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.script_errors.append(message.text)

    def _response(self, response) -> None:
        if response.request.resource_type in ("stylesheet", "script", "image", "font") and response.status >= 400:
            self.failed_assets.append(f"{response.url}: HTTP {response.status}")


@pytest.fixture
def open_page(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_server,
    transactional_db,
    screenshot_dir: Path,
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context (its own cookies): call once per person in the test.

    The label names the page's screenshot; when the test ends, it fails if a page had a script error or
    a stylesheet, script or image that did not load.
    """
    contexts: list[BrowserContext] = []
    pages: list[tuple[str, Page]] = []
    problems = PageProblems()

    def make(label: str = "") -> Page:
        context = browser.new_context(
            base_url=live_server.url, locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 800}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        pages.append((label or str(len(pages) + 1), page))
        return page

    yield make

    name = _file_name(request)
    for label, page in pages:
        suffix = f"-{label}" if len(pages) > 1 else ""
        try:
            page.screenshot(path=str(screenshot_dir / f"{name}{suffix}.png"), full_page=True)
        except Exception:  # a crashed page must not hide the test's own failure
            pass
    for context in contexts:
        context.close()
    assert not problems.script_errors, f"JavaScript errors in the browser: {problems.script_errors}"
    assert not problems.failed_assets, f"Assets that did not load: {problems.failed_assets}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest, screenshot_dir: Path) -> Callable[[Page, str], None]:
    """Save a screenshot of a moment the test passes through (the end state is saved anyway)."""

    def save(page: Page, label: str) -> None:
        page.screenshot(path=str(screenshot_dir / f"{_file_name(request)}-{label}.png"), full_page=True)

    return save


def _file_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A page in a fresh browser context, for tests with one person."""
    return open_page()


@pytest.fixture
def browser_world(transactional_db) -> BrowserWorld:
    """A Russian-region organization with one member of every role (see browsing.py)."""
    return build_browser_world()


@pytest.fixture
def asgi_server(transactional_db, tmp_path):
    """`insidesales serve` (uvicorn, ASGI) on a free port, on the test database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": url_of_test_database(),
        "INSIDESALES_DATA_DIR": str(tmp_path),
        "DATABASE_POOL": "0",
    }
    # INSIDESALES_TESTING stays: the same settings as the tests (fast password hashing, no collections).
    process = subprocess.Popen(
        [sys.executable, "-m", "insidesales.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/login/", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the server did not start: {process.stderr.read().decode()[-2000:]}") from None
            time.sleep(0.2)
    yield url
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
