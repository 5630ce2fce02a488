"""A real browser (Debian's headless Chromium, driven by Playwright) resets an open breaker."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from circuit_breaker_django import registry
from tests.django_admin.admin_helpers import trip
from tests.services import CHROMIUM, CHROMIUM_ARGS, playwright_or_skip

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def superuser(
    transactional_db: None, django_user_model: type[AbstractBaseUser]
) -> AbstractBaseUser:
    user: AbstractBaseUser = django_user_model.objects.create_superuser(
        username="oncall", email="oncall@example.com", password=PASSWORD
    )
    return user


def test_superuser_resets_an_open_breaker_through_the_admin(
    live_server: LiveServer,
    superuser: AbstractBaseUser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sync_api = playwright_or_skip()
    # Playwright's sync API runs an event loop in this thread; the ORM must still work here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect = sync_api.expect
    trip("external_api")
    list_url = live_server.url + reverse("admin:circuit_breaker_django_breaker_changelist")
    screenshot = tmp_path / "breakers-after-reset.png"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.set_default_timeout(15_000)
            page.goto(list_url)  # the admin sends us to its login page first
            page.fill("#id_username", "oncall")
            page.fill("#id_password", PASSWORD)
            page.click("#login-form input[type=submit]")
            expect(page.locator("#content h1")).to_have_text("Circuit breakers")

            row = page.locator("#result_list tbody tr", has_text="external_api")
            expect(row.locator(".cb-badge")).to_have_text("✖ Open")
            row.locator("input.action-select").check()
            page.select_option("select[name=action]", "reset_breakers")
            page.click("button[name=index]")

            expect(page.locator("#content h1")).to_have_text("Reset: are you sure?")
            expect(page.locator("#content-main table")).to_contain_text("external_api")
            page.click("input[type=submit][value='Yes, reset']")

            expect(page.locator(".messagelist")).to_contain_text(
                "Reset: 1 circuit breaker (external_api)."
            )
            expect(row.locator(".cb-badge")).to_have_text("✔ Closed")
            page.screenshot(path=str(screenshot), full_page=True)

            row.locator("th a", has_text="external_api").click()
            page.click("a.historylink")
            history = page.locator("#change-history tbody tr")
            expect(history).to_have_count(1)
            expect(history).to_contain_text("oncall")
            expect(history).to_contain_text("Reset: state Open → Closed.")
        finally:
            browser.close()

    assert registry.get("external_api").state.value == "closed"
    png = screenshot.read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 10_000
