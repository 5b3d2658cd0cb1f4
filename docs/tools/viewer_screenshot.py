"""Take the viewer screenshot of docs/SERVING.md: a toy-world NPR model served by npr serve, one question asked
in headless Chromium (Debian's chromium and chromium-driver).

    .venv/bin/python docs/tools/viewer_screenshot.py --model out/demo/rl/model --out docs/img/viewer.png
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from npr.engine import EngineConfig
from npr.eval.toy import heldout_items
from npr.serve import BackgroundServer, ServeConfig, build, loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a toy-world model folder, e.g. the rl stage of npr demo")
    parser.add_argument("--out", default="docs/img/viewer.png")
    parser.add_argument("--question", type=int, default=0, help="which held-out four-part question to ask")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    question = heldout_items("products", parts=(4,))[args.question].question
    config = ServeConfig(model_name="toy-npr-rl", instruction="answer in parallel blocks")
    app, loop = build(loader(args.model, EngineConfig(kv_budget=4096)), config)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                  "--disable-background-networking", "--window-size=1280,760", f"--user-data-dir={profile}"):  # fmt: skip
            opts.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        try:
            with BackgroundServer(app) as url:
                while loop.state == "loading":
                    time.sleep(0.1)
                driver.get(url + "/")
                WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "ask-panel").is_displayed())
                driver.find_element(By.ID, "question").send_keys(question)
                driver.execute_script("document.getElementById('temperature').value = '0.7'")
                driver.find_element(By.ID, "ask").click()
                WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".answer"))
                WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "ask").is_enabled())
                time.sleep(0.3)
                driver.save_screenshot(args.out)
        finally:
            driver.quit()
    print(args.out)


if __name__ == "__main__":
    main()
