"""The admin pages as a person sees them: Chromium at laptop width, light and dark.

The fleet looks like production (tests/django_admin/realistic_fleet.py). Each test saves
screenshots under screenshots/ at the repository root (ignored by git; CI keeps them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from circuit_breaker_django import registry
from circuit_breaker_django.timeline import TIMELINE_PAD, TIMELINE_WIDTH
from tests.django_admin.admin_helpers import change_url
from tests.django_admin.realistic_fleet import RATED, YOUNG, install_realistic_fleet
from tests.services import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LAPTOP = {"width": 1280, "height": 900}
AA_NORMAL_TEXT = 4.5
BREAKERS = "admin:circuit_breaker_django_breaker_changelist"
TRANSITIONS = "admin:circuit_breaker_django_transition_changelist"


@pytest.fixture
def fleet(transactional_db: None) -> Iterator[dict[str, str]]:
    """The fleet, and each breaker's detail URL: read from the database before the browser
    starts, as an ORM query under Playwright's event loop would leave a connection open."""
    install_realistic_fleet()
    yield {name: change_url(name) for name in registry.names()}
    registry.configure(None)


@pytest.fixture
def superuser(
    transactional_db: None, django_user_model: type[AbstractBaseUser]
) -> AbstractBaseUser:
    user: AbstractBaseUser = django_user_model.objects.create_superuser(
        username="oncall", email="oncall@example.com", password=PASSWORD
    )
    return user


@pytest.fixture
def browser(
    fleet: dict[str, str], superuser: AbstractBaseUser, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Chromium, started after the data is in place: under Playwright's event loop the
    transition listener would store rows in the background, racing the fixture."""
    sync_api = playwright_or_skip()
    # Playwright's sync API runs an event loop in this thread; the ORM must still work here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def admin_page(
    browser: Any, live_server: LiveServer, scheme: str = "light", theme: str = "auto"
) -> Any:
    """A logged-in page with the OS colour scheme ``scheme`` and the admin's theme toggle
    pressed until it reads ``theme`` ("auto" follows the OS)."""
    page = browser.new_page(viewport=LAPTOP, color_scheme=scheme)
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "oncall")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    page.wait_for_selector("#site-name")
    for _ in range(3):
        if page.evaluate("document.documentElement.dataset.theme") == theme:
            break
        page.click("button.theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    return page


def save_screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


OVERFLOW = """() => {
  const box = document.querySelector('#result_list').closest('.results');
  const page = document.scrollingElement;
  return {box: [box.scrollWidth, box.clientWidth], page: [page.scrollWidth, page.clientWidth]};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_both_lists_fit_a_1280_px_screen_beside_the_navigation_sidebar(
    browser: Any, live_server: LiveServer, scheme: str
) -> None:
    page = admin_page(browser, live_server, scheme)

    for url_name, screenshot in [(BREAKERS, "breaker-list"), (TRANSITIONS, "transition-list")]:
        page.goto(live_server.url + reverse(url_name))
        assert page.locator("#nav-sidebar").is_visible()
        assert page.locator("#changelist-filter").is_visible()
        save_screenshot(page, f"{screenshot}-{scheme}.png")
        sizes = page.evaluate(OVERFLOW)
        box_scroll, box_width = sizes["box"]
        page_scroll, page_width = sizes["page"]
        assert box_scroll <= box_width, (url_name, sizes)
        assert page_scroll <= page_width, (url_name, sizes)


def test_a_long_exception_name_ends_in_an_ellipsis_and_short_ones_are_whole(
    browser: Any, live_server: LiveServer
) -> None:
    page = admin_page(browser, live_server)
    page.goto(live_server.url + reverse(BREAKERS))

    def failure_cell(name: str) -> Any:
        return page.locator("#result_list tbody tr", has_text=name).locator(".cb-truncate")

    long_name = failure_cell("payment_gateway")
    assert long_name.evaluate("el => el.scrollWidth > el.clientWidth")  # cut, ends in "…"
    assert long_name.evaluate("el => getComputedStyle(el).textOverflow") == "ellipsis"
    assert long_name.get_attribute("title") == (
        "PaymentProviderGatewayTimeoutUpstreamUnavailableError: "
        "payment_gateway: upstream answered 503 Service Unavailable after 2.0 s"
    )
    # HTTPError beside a Forced-open badge, the widest of the state column, stays whole.
    beside_forced_open = failure_cell("orders_db")
    assert beside_forced_open.inner_text() == "HTTPError"
    assert beside_forced_open.evaluate("el => el.scrollWidth <= el.clientWidth")
    sparkline = page.locator("#result_list tbody tr", has_text="warehouse_reporting_db").locator(
        "svg.cb-sparkline"
    )
    box = page.locator("#result_list").evaluate(
        "el => el.closest('.results').getBoundingClientRect().right"
    )
    spark_box = sparkline.bounding_box()
    assert spark_box is not None and spark_box["x"] + spark_box["width"] <= box


CONTRAST = """(root) => {
  const parse = (colour) => {
    const parts = colour.match(/rgba?\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean);
    const [r, g, b, a] = parts.map(Number);
    return {r, g, b, a: parts.length > 3 ? a : 1};
  };
  const luminance = ({r, g, b}) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const pageBackground = (el) => {  // the first opaque background behind the element
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const bandColour = (text) => {  // a band label sits on its plate, over its band
    const plate = text.previousElementSibling;
    if (!plate || !plate.matches('rect.cb-label-plate')) throw new Error('a label without a plate');
    return parse(getComputedStyle(plate).fill);
  };
  const measured = [];
  const measure = (el, text, colour) => {
    const svg = el instanceof SVGElement;
    const fg = parse(colour);
    const bg = svg && el.closest('g.cb-segment') ? bandColour(el) : pageBackground(el);
    measured.push({text, fg: [fg.r, fg.g, fg.b, fg.a], bg: [bg.r, bg.g, bg.b],
                   ratio: Math.round(ratio(fg, bg) * 100) / 100});
  };
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('title, style, script')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const text = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join('').trim();
    if (text) measure(el, text, el instanceof SVGElement ? style.fill : style.color);
    const before = getComputedStyle(el, '::before');
    if (!['none', 'normal'].includes(before.content)) measure(el, before.content, before.color);
  }
  return measured;
}"""
THEMES = [("light", "auto"), ("dark", "auto"), ("light", "dark"), ("dark", "light")]


@pytest.mark.parametrize(("scheme", "theme"), THEMES)
def test_every_timeline_and_list_text_meets_wcag_aa_contrast_in_each_theme(
    browser: Any, live_server: LiveServer, fleet: dict[str, str], scheme: str, theme: str
) -> None:
    page = admin_page(browser, live_server, scheme, theme)
    dark = theme == "dark" or (theme == "auto" and scheme == "dark")
    # recommendations: first seen 3 hours ago, open for the last 2 (its default range is
    # "since first seen"); in 24 hours, the time before it existed says so.
    for query in ("", "?timeline=24h"):
        page.goto(live_server.url + fleet[YOUNG] + query)
        body = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert body == ("rgb(18, 18, 18)" if dark else "rgb(255, 255, 255)")
        if theme == "auto" and not query:
            save_screenshot(page, f"breaker-detail-{scheme}.png")

        texts = page.locator("#breaker-timeline").evaluate(CONTRAST)

        words = [entry["text"] for entry in texts]
        assert {"State over time", "1 hour", "24 hours", "7 days", "now"} <= set(words)
        assert {"Closed", "Open", "Half-open", "Forced open", "Disabled"} <= set(words)
        assert words.count("Open") == 2  # the legend's, and the label on the open band
        assert ("not yet seen" in words) == (query != "")
        too_faint = [entry for entry in texts if entry["ratio"] < AA_NORMAL_TEXT]
        assert not too_faint, too_faint

    # The list's badges, marks and second lines follow the theme too.
    page.goto(live_server.url + reverse(BREAKERS))
    texts = page.locator("#result_list").evaluate(CONTRAST)
    assert {"Forced open", "critical", "fixed 1/3", "profile api"} <= {e["text"] for e in texts}
    too_faint = [entry for entry in texts if entry["ratio"] < AA_NORMAL_TEXT]
    assert not too_faint, too_faint


def test_the_default_range_shows_the_latest_outage_whole_and_wide(
    browser: Any, live_server: LiveServer, fleet: dict[str, str]
) -> None:
    page = admin_page(browser, live_server)
    # search_service: running for 3 days, a short outage 20 hours ago, out of service
    # for the last 2 (opened, now past its retry deadline).
    page.goto(live_server.url + fleet["search_service"])
    plot = page.locator("svg.cb-timeline").bounding_box()
    assert plot is not None
    plot_width = plot["width"] * (TIMELINE_WIDTH - 2 * TIMELINE_PAD) / TIMELINE_WIDTH

    def latest_outage_width() -> float:
        bands = "svg.cb-timeline g.cb-segment:not([data-state=closed])"
        band = page.locator(f"{bands} rect:not(.cb-label-plate)").last
        box = band.bounding_box()
        assert box is not None
        return float(box["width"])

    assert page.locator(".cb-ranges strong").inner_text() == "24 hours"
    widths = {"24 hours": latest_outage_width()}
    for link in ("7 days", "Since first seen", "1 hour"):
        page.click(f".cb-ranges a:text-is('{link}')")
        assert page.locator(".cb-ranges strong").inner_text() == link
        widths[link] = latest_outage_width()

    assert page.url.endswith("?timeline=1h#breaker-timeline")
    label = page.locator("svg.cb-timeline").get_attribute("aria-label") or ""
    assert label.startswith("Circuit breaker search_service, last hour: ")
    assert widths["7 days"] < 10 < widths["Since first seen"] < widths["24 hours"]
    assert widths["24 hours"] == pytest.approx(plot_width / 12, abs=1)  # 2 h of 24
    assert widths["1 hour"] == pytest.approx(plot_width, abs=1)


MODULE_LOOK = """(module) => {
  const look = (el) => {
    const style = getComputedStyle(el);
    return [style.backgroundColor, style.color, style.fontSize, style.fontWeight];
  };
  const parts = (m) => ['h2', 'th[scope=row]', 'td'].map((s) => look(m.querySelector(s)));
  return {
    own: parts(module),
    status: parts(document.querySelector('#breaker-status')),
    fits: module.scrollWidth <= module.clientWidth,
  };
}"""


@pytest.mark.parametrize(("scheme", "theme"), THEMES)
def test_the_rate_window_looks_like_the_admins_own_modules_in_each_theme(
    browser: Any, live_server: LiveServer, fleet: dict[str, str], scheme: str, theme: str
) -> None:
    page = admin_page(browser, live_server, scheme, theme)
    page.goto(live_server.url + fleet[RATED])
    window = page.locator("#breaker-window")
    assert window.is_visible()
    if theme == "auto":
        window.scroll_into_view_if_needed()
        save_screenshot(page, f"breaker-rate-window-{scheme}.png")

    look = window.evaluate(MODULE_LOOK)
    texts = window.evaluate(CONTRAST)

    assert look["own"] == look["status"]  # caption, headers and cells styled as its sibling
    assert look["fits"]
    words = {entry["text"] for entry in texts}
    assert {"Rate window", "Failure rate", "10%", "Slow-call rate", "5%"} <= words
    too_faint = [entry for entry in texts if entry["ratio"] < AA_NORMAL_TEXT]
    assert not too_faint, too_faint
