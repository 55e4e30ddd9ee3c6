"""Drive headless Chromium against `lmmiqa serve`'s page through chromedriver's
WebDriver HTTP protocol (standard library only; everything on 127.0.0.1).

    browser.py PAGE_URL SCREENSHOT.png IMAGE...

Loads the page, picks the images through its file input, waits (bounded) until
every row has a score, sorts by score with the header button, saves a
screenshot and prints one JSON object: {"model": text, "rows": [{"name",
"score"}...] in page order after sorting, "sorted_desc": bool}. Exit 77 when
chromium or chromedriver is missing, 1 on any failure (the reason on stderr).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver element key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:400]!r}") from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, js, *args):
        return self.s("POST", "/execute/sync", {"script": js, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]


def wait_for(pred, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds} s waiting for {what}")


def main():
    url, shot, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        print("SKIP: chromium or chromedriver is not installed", file=sys.stderr)
        return 77
    port = free_port()
    log = open(shot + ".chromedriver.log", "w")
    proc = subprocess.Popen([chromedriver, f"--port={port}", "--allowed-ips=127.0.0.1"],
                            stdout=log, stderr=subprocess.STDOUT)
    d = Driver(port)
    try:
        wait_for(lambda: _ready(d), 30, "chromedriver")
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1000,700",
                         "--no-proxy-server", "--user-data-dir=" + shot + ".profile"],
            }}}}
        d.session = d.call("POST", "/session", caps, timeout=90)["sessionId"]
        d.s("POST", "/timeouts", {"script": 30000, "pageLoad": 30000, "implicit": 0})
        d.s("POST", "/url", {"url": url})
        wait_for(lambda: d.script("return document.getElementById('model').textContent"
                                  ".startsWith('Model ')"), 30, "the model line")
        files = d.find("#files")
        d.s("POST", f"/element/{files}/value",
            {"text": "\n".join(os.path.abspath(p) for p in images)})
        n = len(images)
        wait_for(lambda: d.script(
            "return document.getElementById('status').dataset.pending === '0' && "
            "document.querySelectorAll('tr.result[data-score], tr.result[data-error]').length "
            "=== arguments[0]", n), 60, f"{n} scores")
        errors = d.script("return [...document.querySelectorAll('tr.result[data-error]')]"
                          ".map(t => t.dataset.name + ': ' + t.dataset.error)")
        if errors:
            raise RuntimeError("the page shows errors: " + "; ".join(errors))
        d.s("POST", f"/element/{d.find('#sort-score')}/click", {})
        rows = d.script("return [...document.querySelectorAll('#results tbody tr.result')]"
                        ".map(t => ({name: t.dataset.name, score: t.dataset.score}))")
        model = d.script("return document.getElementById('model').textContent")
        png = base64.b64decode(d.s("GET", "/screenshot"))
        with open(shot, "wb") as f:
            f.write(png)
        scores = [float(r["score"]) for r in rows]
        print(json.dumps({"model": model,
                          "rows": [{"name": r["name"], "score": float(r["score"])} for r in rows],
                          "sorted_desc": scores == sorted(scores, reverse=True)}))
        return 0
    except (RuntimeError, OSError, KeyError, TypeError) as e:
        print(f"browser: {e}", file=sys.stderr)
        return 1
    finally:
        if d.session:
            try:
                d.call("DELETE", f"/session/{d.session}", timeout=30)
            except (RuntimeError, OSError):
                pass
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(shot + ".profile", ignore_errors=True)


def _ready(d):
    try:
        return d.call("GET", "/status", timeout=2).get("ready")
    except (RuntimeError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(main())
