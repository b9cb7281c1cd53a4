"""Two headless Chromium windows open the demo page in one room and must see and hear each other.

  demo_browser.py PAGE_URL SCREENSHOT_PATH

Each window joins (camera and microphone are Chromium's fake devices), publishes over WHIP and
plays the other over WHEP. Passes when, within 15 s of both joining, each window's remote video
reports framesDecoded > 30 and its remote audio packetsReceived > 0. Saves a screenshot of the
first window, then both leave. Prints one JSON object, with the protocol ("udp"/"tcp") of each
peer connection's selected ICE pair and each publisher's send-side bandwidth estimate.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

URL, SCREENSHOT = sys.argv[1], sys.argv[2]
results = {"errors": []}
FLAGS = ["--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         "--window-size=1280,760", "--disable-dev-shm-usage"]


def browser():
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def join(driver, name):
    driver.get(URL)
    driver.execute_script(
        "document.getElementById('room').value = 'browser-test';"
        "document.getElementById('name').value = arguments[0];"
        "document.getElementById('join').requestSubmit();", name)


def stats(driver):
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; window.erizoDemo.stats().then(done, (e) => done([]));")


drivers = []
try:
    drivers = [browser(), browser()]
    results["page_title"] = (drivers[0].get(URL) or drivers[0].title)
    join(drivers[0], "alice")
    join(drivers[1], "bob")
    joined = time.monotonic()
    seen = [[], []]
    while time.monotonic() - joined < 15:
        seen = [stats(driver) for driver in drivers]
        if all(len(s) == 1 and s[0]["framesDecoded"] > 30 and s[0]["audioPacketsReceived"] > 0 for s in seen):
            break
        time.sleep(0.5)
    results["seconds_to_media"] = round(time.monotonic() - joined, 1)
    results["remote_stats"] = seen
    results["statuses"] = [d.execute_script("return document.getElementById('status').textContent") for d in drivers]
    # Chromium's send-side estimate grows past its 300 kbps start only on transport-cc feedback.
    deadline = time.monotonic() + 15
    while True:
        publishing = [driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.erizoDemo.publishStats().then(done, (e) => done({error: String(e)}));") for driver in drivers]
        estimates = [(entry or {}).get("availableOutgoingBitrate") or 0 for entry in publishing]
        if all(estimate > 1_000_000 for estimate in estimates) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    results["publish_protocols"] = [(entry or {}).get("protocol") for entry in publishing]
    results["publish_estimates"] = estimates
    time.sleep(1.0)  # a settled frame for the picture
    drivers[0].save_screenshot(SCREENSHOT)
    results["screenshot"] = SCREENSHOT
    # Leaving: the other window's tile goes away once the publisher is gone.
    drivers[1].execute_script("document.getElementById('leave').click()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stats(drivers[0]):
        time.sleep(0.5)
    results["remote_after_leave"] = len(stats(drivers[0]))
except Exception as error:
    results["errors"].append(repr(error))
finally:
    for driver in drivers:
        try:
            driver.quit()
        except Exception:
            pass
print(json.dumps(results))
