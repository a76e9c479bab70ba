"""A real browser for the Universal Login stories: headless Chromium driven by Selenium (test code, not Gangway).

The `chromium` fixture gives a fresh `selenium.webdriver.Chrome` per test: headless, its own profile directory,
1280x900, and the Debian `chromium` + `chromium-driver` packages named explicitly, so selenium-manager never
tries to download a browser or a driver (CI machines reach apt and PyPI only). Without them the fixture FAILS
(scripts/bootstrap.sh installs both; a skipped browser test would hide a broken CI).

Tests use it with `from browser import chromium  # noqa: F401` (a fixture imported into the test module).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

BROWSER_NAMES = ("chromium", "chromium-browser")
WINDOW = (1280, 900)
# How long a test waits for a page to reach the state it expects.
WAIT = 15


def chromium_binary() -> str | None:
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def chrome_options(profile: Path):
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = chromium_binary()
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
        "--password-store=basic", "--use-mock-keychain", "--lang=en-US",
    ):
        options.add_argument(arg)
    return options


@pytest.fixture
def chromium(tmp_path):
    browser, driver_path = chromium_binary(), shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.fail(
            "the browser tests need Chromium and its driver on PATH (found chromium="
            f"{browser!r}, chromedriver={driver_path!r}): `apt-get install chromium chromium-driver` "
            "(scripts/bootstrap.sh does)", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    driver = webdriver.Chrome(
        service=Service(executable_path=driver_path, log_output=str(tmp_path / "chromedriver.log")),
        options=chrome_options(profile))
    try:
        driver.set_window_size(*WINDOW)
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout: float = WAIT, message: str = ""):
    """WebDriverWait(...).until(condition), with the page's URL and text in the failure message."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        try:
            body = driver.find_element("tag name", "body").text[:2000]
        except Exception:  # noqa: BLE001 - the page may be an error page without a body
            body = driver.page_source[:2000]
        raise AssertionError(f"{message or 'page did not reach the expected state'}\nURL: {driver.current_url}\n{body}")
