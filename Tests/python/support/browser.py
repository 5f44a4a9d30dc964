"""Headless Chromium (Debian `chromium` + `chromium-driver`) and the chat page's elements.

Environment: CHROMIUM, CHROMEDRIVER (default /usr/bin/chromium, /usr/bin/chromedriver).
"""
import os

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WAIT = 10  # seconds: upper bound for anything the page should show


def chromium(*args, browser_log=False):
    """A fresh headless Chromium (its own profile) with extra command-line `args`; with `browser_log`,
    it keeps the page's console log (driver.get_log("browser"))."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", *args):
        options.add_argument(arg)
    if browser_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_chat_page(url, width=1280, height=800, extra_args=()):
    """A fresh headless Chromium (own profile, browser log kept) at the chat page of `url`, connected."""
    driver = chromium(f"--window-size={width},{height}", "--lang=en-US", "--force-color-profile=srgb", *extra_args,
                      browser_log=True)
    try:
        driver.get(url + "/")
        wait_until(driver, lambda d: d.find_element(By.ID, "conn-state").get_attribute("data-state") == "connected",
                   "page never connected")
    except BaseException:
        driver.quit()
        raise
    return driver


def quit_checking_errors(drivers):
    """Quits each browser; fails when a page logged a JavaScript error (a page that throws is broken
    even if it looks fine)."""
    for d in drivers:
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
        d.quit()
        assert not errors, f"JavaScript errors in the page: {errors}"


def wait_until(driver, condition, message, timeout=WAIT):
    def safe(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(safe, message)


def by_id(driver, element_id):
    return driver.find_element(By.ID, element_id)


def set_value(driver, element_id, text):
    field = by_id(driver, element_id)
    field.clear()
    field.send_keys(text)


def shown(driver, element_id):
    return by_id(driver, element_id).is_displayed()


def messages(driver):
    """(sender, text) of every chat message the user sees, in order."""
    out = []
    for li in driver.find_elements(By.CSS_SELECTOR, "#messages .msg"):
        # A grouped message's name is hidden (it continues its sender's run): its text still says who.
        out.append((li.find_element(By.CSS_SELECTOR, ".msg-name").get_attribute("textContent"),
                    li.find_element(By.CSS_SELECTOR, ".msg-text").text))
    return out


def members(driver):
    return sorted(m.text for m in driver.find_elements(By.CSS_SELECTOR, "#members .member-name"))

