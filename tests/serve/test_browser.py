"""The viewer page in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by Selenium.

Skipped only when Chromium is not installed here; CI (.ci/run) installs it first.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from npr.serve import BackgroundServer
from npr.serve.records import trees_of_jsonl
from npr.serve.viewer import create_view_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does this in CI)",
)


@pytest.fixture
def browser(tmp_path):
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for a driver on the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                "--window-size=1400,900", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def wait_for(driver, css, count=1, timeout=60):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, css)) >= count)
    return driver.find_elements(By.CSS_SELECTOR, css)


def test_ask_a_question_and_watch_the_branches_appear(steered, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(steered.url + "/")
    wait_for(browser, "#ask-panel:not([hidden])")
    browser.find_element(By.ID, "question").send_keys("What is 27 + 15?")
    browser.find_element(By.ID, "ask").click()
    branches = wait_for(browser, ".branch", count=3)
    assert len(branches) == 3
    answer = wait_for(browser, ".answer")[0]
    wait_for(browser, "#ask:not([disabled])")
    assert "42" in browser.find_element(By.CSS_SELECTOR, ".answer").text
    texts = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".branch .text")]
    assert texts == ["1: 20 + 10 = 30.", "2: 7 + 5 = 12.", "3: 27 + 15 = 42, which is 30 + 12."]
    assert "ideal speedup" in browser.find_element(By.CSS_SELECTOR, ".stats").text
    assert answer is not None
    shot = tmp_path / "viewer.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_open_saved_results_offline(browser, steered, tmp_path):
    import requests

    from selenium.webdriver.common.by import By

    body = requests.post(steered.url + "/v1/chat/completions",
                         json={"messages": [{"role": "user", "content": "q"}]}, timeout=60).json()  # fmt: skip
    tree_text = body["choices"][0]["message"]["reasoning"] + "\n" + body["choices"][0]["message"]["content"]
    rec = {"benchmark": "toy", "item_id": "1", "sample": 0, "answer": "42", "response": tree_text,
           "grade": {"correct": True}}  # fmt: skip
    items, problems = trees_of_jsonl(json.dumps(rec) + "\nnot json\n")
    with BackgroundServer(create_view_app(items, problems, "results.jsonl")) as url:
        browser.get(url + "/")
        assert len(wait_for(browser, ".branch", count=3)) == 3
        assert "line 2" in browser.find_element(By.ID, "problems").text
        assert browser.find_element(By.ID, "ask-panel").get_attribute("hidden") is not None
        # a file chosen in the page is drawn too
        path = tmp_path / "more.jsonl"
        path.write_text(json.dumps({**rec, "item_id": "2"}) + "\n" + json.dumps({**rec, "item_id": "3"}) + "\n")
        browser.find_element(By.ID, "file").send_keys(str(path))
        wait_for(browser, "#items li", count=2)
        assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#items li")] == [
            "toy · 2 · sample 0", "toy · 3 · sample 0"]
