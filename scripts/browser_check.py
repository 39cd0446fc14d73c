"""Checks the dashboard as a person sees it, in real headless Chromium.

Usage: scripts/browser-check BASE_URL TOKEN SCREENSHOT_PATH

1. over HTTP: a token in the address (`/?token=`) sets nothing and is sent on to the form
   without it; the page answers 401 with the sign-in form and the API refuses (401) a
   request without credentials or with a wrong token; a wrong token posted to the form
   gets 401 and no cookie; the right one a 303 and a `__Host-` session cookie that is
   Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain;
2. the API's JSON, fetched with the header token, is the truth;
3. Chromium (driven over the DevTools protocol on a pipe) opens the page, types the token
   into the form and signs in; the cookie it then holds must be the session cookie, with
   those attributes (so Chromium accepted a Secure cookie from this origin, plain
   http://127.0.0.1 locally); every `data-figure` element and every chart bar must show
   what the JSON says; a screenshot at a phone's width is kept; then it signs out and must
   be shown the form again, with no cookie left.
Exits 1 with the list of mismatches if anything differs. Never prints the token.
"""

import base64
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time
import tempfile
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urljoin

CHROMIUM = "/usr/bin/chromium"
# No sandbox: containers lack the user namespaces it needs. No GPU, QUIC, sync, updates or
# background fetches: a test machine has no GPU and often no network beyond loopback, and
# those only add delays and log noise.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
    # The DevTools protocol on file descriptors 3 (to Chromium) and 4 (from it): no port.
    "--remote-debugging-pipe",
]
CHROMIUM_TIMEOUT_S = 60
# The first request through `cargo lambda watch` on a cold machine waits for the build.
HTTP_TIMEOUT_S = 300
SESSION_COOKIE = "__Host-dialtone_session"
PHONE_WIDTH, PHONE_HEIGHT = 412, 2400
MISSING_TEXT = "\u2014"  # what the page shows for null or missing: an em dash
MIN_FIGURES = 8
HOURS = 24
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Elements that never have an end tag: they must not be kept open on the parser's stack.
VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}


class CheckFailed(Exception):
    pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hands a 3xx back as it is (as an HTTPError), so its headers can be checked."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def http_get(url, headers=None, form=None):
    """GET (or, with a form, POST it) without following redirects; returns (status,
    headers, body) for any status."""
    opener = urllib.request.build_opener(NoRedirect)
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
    except urllib.error.URLError as error:
        raise CheckFailed(f"cannot reach the dashboard: {error.reason}") from None


def token_link(base, token):
    return f"{base}/?token={quote(token, safe='')}"


def expect_status(what, status, want):
    if status != want:
        raise CheckFailed(f"{what}: got HTTP {status}, expected {want}")


def session_cookies(headers):
    return [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(f"{SESSION_COOKIE}=")]


def check_token_link(base, token):
    """The old link: sent on to the page (and so the form) without the token, nothing set."""
    status, headers, _ = http_get(token_link(base, token))
    expect_status("token in the address", status, 303)
    location = headers.get("Location")
    if location is None or urljoin(f"{base}/", location) != f"{base}/":
        raise CheckFailed(f"token in the address: Location {location!r} does not lead back to the page")
    if headers.get_all("Set-Cookie"):
        raise CheckFailed("token in the address: a cookie was set")


def cookie_attributes(cookie):
    parts = [part.strip() for part in cookie.split(";")[1:]]
    return {part.split("=")[0].lower(): part.partition("=")[2] for part in parts}


def check_sign_in_over_http(base, token):
    """The form's own request (a POST of `token`), as a browser sends it."""
    same_origin = {"Origin": "/".join(base.split("/")[:3]), "Sec-Fetch-Site": "same-origin"}
    status, headers, body = http_get(f"{base}/signin", same_origin, {"token": f"wrong-{token}"})
    expect_status("sign-in with a wrong token", status, 401)
    if headers.get_all("Set-Cookie"):
        raise CheckFailed("sign-in with a wrong token: a cookie was set")
    if b'action="signin"' not in body:
        raise CheckFailed("sign-in with a wrong token: the form is not shown again")
    status, headers, _ = http_get(f"{base}/signin", {**same_origin, "Sec-Fetch-Site": "cross-site"},
                                  {"token": token})
    expect_status("sign-in posted from another site", status, 403)
    status, headers, _ = http_get(f"{base}/signin", same_origin, {"token": token})
    expect_status("sign-in", status, 303)
    location = headers.get("Location")
    if location is None or urljoin(f"{base}/signin", location) != f"{base}/":
        raise CheckFailed(f"sign-in: Location {location!r} does not lead to the page")
    cookies = session_cookies(headers)
    if not cookies:
        raise CheckFailed(f"sign-in: no {SESSION_COOKIE} cookie is set")
    attributes = cookie_attributes(cookies[0])
    wanted = {"path": "/", "secure": "", "httponly": "", "samesite": "Lax"}
    wrong = [f"{k}={attributes.get(k)!r}" for k, v in wanted.items() if attributes.get(k) != v]
    if wrong or "domain" in attributes or not attributes.get("max-age", "").isdigit():
        raise CheckFailed(f"sign-in: the session cookie's attributes are wrong: {sorted(attributes)} {wrong}")


def check_refusals(base, token):
    status, _, body = http_get(f"{base}/")
    expect_status("page without a cookie", status, 401)
    if b'action="signin"' not in body:
        raise CheckFailed("page without a cookie: it is not the sign-in form")
    status, _, _ = http_get(f"{base}/api/dashboard")
    expect_status("API without a token", status, 401)
    status, _, _ = http_get(f"{base}/api/dashboard", {"X-Dashboard-Token": f"wrong-{token}"})
    expect_status("API with a wrong token", status, 401)


def fetch_dashboard_json(base, token):
    status, _, body = http_get(f"{base}/api/dashboard", {"X-Dashboard-Token": token})
    expect_status("API with the token", status, 200)
    try:
        return json.loads(body)
    except ValueError as error:
        raise CheckFailed(f"API: the body is not JSON ({error})") from None


class Browser:
    """Headless Chromium in a fresh profile, driven over the DevTools protocol on a pipe
    (JSON messages ended by a NUL byte). Its own process group, so that it is ended with
    all its children whatever happens."""

    def __init__(self, profile):
        to_chromium_r, self.to_chromium = os.pipe()
        self.from_chromium, from_chromium_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4. The pipes' own ends
        # may already be 3 or 4 (and are closed on exec): move them above 10 first, then
        # dup2 makes inheritable copies. close_fds would close 3 and 4 too.
        def wire():
            reads, writes = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chromium_r, from_chromium_w))
            os.dup2(reads, 3)
            os.dup2(writes, 4)
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True, preexec_fn=wire, close_fds=False)
        os.close(to_chromium_r)
        os.close(from_chromium_w)
        self.next_id = 0
        self.buffer = b""
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Network.enable", session=True)

    def close(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        os.close(self.to_chromium)
        os.close(self.from_chromium)

    def read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_chromium], [], [], left)[0]:
                raise CheckFailed(f"chromium did not answer within {CHROMIUM_TIMEOUT_S} s")
            chunk = os.read(self.from_chromium, 1 << 16)
            if not chunk:
                log = "\n".join(l for l in self.process.stderr.read().splitlines() if "dbus" not in l)
                raise CheckFailed(f"chromium exited:\n{log[-2000:]}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_chromium, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
        while True:
            reply = self.read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CheckFailed(f"chromium: {method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for_load(self):
        deadline = time.monotonic() + CHROMIUM_TIMEOUT_S
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == "Page.loadEventFired":
                    del self.events[: i + 1]
                    return
            self.events.append(self.read_message(deadline))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session=True)
        if "exceptionDetails" in result:
            raise CheckFailed(f"chromium: the page's script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def navigate(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for_load()

    def submit(self, form_selector):
        """Clicks the form's button, as a person does, and waits for the next page."""
        self.events.clear()
        self.evaluate(f"document.querySelector({json.dumps(form_selector + ' button')}).click()")
        self.wait_for_load()

    def dom(self):
        return self.evaluate("document.documentElement.outerHTML")

    def cookies(self):
        return self.call("Network.getCookies", session=True).get("cookies", [])

    def screenshot(self, path):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 1, "mobile": True},
                  session=True)
        shot = self.call("Page.captureScreenshot", {"format": "png"}, session=True)
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))


class DashboardParser(HTMLParser):
    """Collects the text of every `data-figure` element and the chart's bars.

    A figure's text is that of all its descendants, as the DOM's textContent; nesting is
    followed with a stack of open elements, each holding the figures it belongs to.
    """

    def __init__(self):
        super().__init__()
        self.figures = []  # [pointer, text parts], in document order
        self.bars = []  # (data-hour, data-count) as written
        self.stack = []  # (tag, figure or None) for each open element

    def handle_starttag(self, tag, attrs):
        self.open_element(tag, dict(attrs), keep_open=tag not in VOID_ELEMENTS)

    def handle_startendtag(self, tag, attrs):
        # `<rect ... />` in inline SVG: no content, nothing to keep open.
        self.open_element(tag, dict(attrs), keep_open=False)

    def open_element(self, tag, attrs, keep_open):
        figure = None
        if "data-figure" in attrs:
            figure = [attrs["data-figure"] or "", []]
            self.figures.append(figure)
        if tag == "rect" and "data-hour" in attrs:
            self.bars.append((attrs["data-hour"], attrs.get("data-count")))
        if keep_open:
            self.stack.append((tag, figure))

    def handle_endtag(self, tag):
        # Close up to the innermost open element of that name; a stray end tag is ignored.
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        for _, figure in self.stack:
            if figure is not None:
                figure[1].append(data)


def resolve_pointer(document, pointer):
    """RFC 6901: returns the value at pointer, or None when it leads nowhere."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return None
    value = document
    for key in pointer[1:].split("/"):
        key = key.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def render(value):
    """The text the contract says the page shows for a JSON value; None if it says nothing."""
    if value is None:
        return MISSING_TEXT
    if isinstance(value, str):
        return value
    # bool is an int in Python, but true/false have no rendering in the contract.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def figure_mismatches(figures, document):
    mismatches = []
    for pointer, parts in figures:
        shown = "".join(parts).strip()
        value = resolve_pointer(document, pointer)
        expected = render(value)
        if expected is None:
            mismatches.append(f"{pointer}: shown {shown!r}, but the API's {json.dumps(value)} has no rendering in the contract")
        elif shown != expected:
            mismatches.append(f"{pointer}: shown {shown!r}, expected {expected!r}")
    return mismatches


def bar_mismatches(bars, document):
    hourly = resolve_pointer(document, "/metrics/hourlyDistribution")
    if not isinstance(hourly, list) or len(hourly) != HOURS:
        return [f"/metrics/hourlyDistribution: the API gives {json.dumps(hourly)}, not {HOURS} counts"]
    mismatches = []
    hours = [hour for hour, _ in bars]
    for hour in range(HOURS):
        found = hours.count(str(hour))
        if found != 1:
            mismatches.append(f"chart: {found} bars for hour {hour}, expected 1")
    for hour, count in bars:
        if not hour.isdigit() or int(hour) >= HOURS:
            mismatches.append(f"chart: a bar for hour {hour!r}, which is not 0..{HOURS - 1}")
            continue
        expected = render(hourly[int(hour)])
        if count != expected:
            mismatches.append(f"/metrics/hourlyDistribution/{hour}: bar shows {count!r}, expected {expected!r}")
    return mismatches


def check_page(dom, document):
    parser = DashboardParser()
    parser.feed(dom)
    parser.close()
    pointers = [pointer for pointer, _ in parser.figures]
    if "/metrics/totalCalls" not in pointers:
        # The browser did not get the dashboard: most likely it did not send the cookie
        # back after the redirect, and shows the sign-in form.
        head = " ".join(dom.split())[:300]
        raise CheckFailed(f"the browser did not show the dashboard (no /metrics/totalCalls figure); its page begins: {head}")
    mismatches = figure_mismatches(parser.figures, document) + bar_mismatches(parser.bars, document)
    if len(parser.figures) < MIN_FIGURES:
        mismatches.append(f"only {len(parser.figures)} data-figure elements, expected at least {MIN_FIGURES}")
    if mismatches:
        raise CheckFailed("the page differs from the API:\n  " + "\n  ".join(mismatches))
    return len(parser.figures), len(parser.bars)


def prepare_screenshot_path(path):
    """Chromium exits 0 even when it cannot write the shot: give it the folder, and remove
    an older shot so that one cannot pass for this run's."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.remove(path)


def check_screenshot(path):
    try:
        with open(path, "rb") as file:
            head = file.read(len(PNG_MAGIC))
        size = os.path.getsize(path)
    except OSError as error:
        raise CheckFailed(f"screenshot: {error}") from None
    if head != PNG_MAGIC or size <= len(PNG_MAGIC):
        raise CheckFailed(f"screenshot: {path} is not a PNG")
    return size


def report(document, figures, bars, screenshot, size):
    def show(pointer):
        return render(resolve_pointer(document, pointer))

    print(f"browser-check: ok: {figures} figures and {bars} chart bars match the API")
    print(f"  total calls {show('/metrics/totalCalls')}, answer rate {show('/metrics/answerRate')}, "
          f"peak hour {show('/metrics/peakHour')}, health {show('/health/status')}")
    print(f"  screenshot: {screenshot} ({size} bytes)")


# cargo lambda's own answer when it could not run the function (restarting it after a
# rebuild, say), not the dashboard's: seen on a just-started emulator in CI, one load in a
# few dozen runs. A real failure of the function repeats on every load.
EMULATOR_500 = "https://httpstatuses.com/500"
LOADS = 3


def load(browser, url):
    for attempt in range(1, LOADS + 1):
        browser.navigate(url)
        dom = browser.dom()
        if EMULATOR_500 not in dom or attempt == LOADS:
            return dom
        print(f"browser-check: load {attempt} of {LOADS} got the emulator's 500; loading again in 5 s",
              file=sys.stderr)
        time.sleep(5)
    return dom


def check_browser_cookie(cookies):
    """What Chromium itself holds after signing in: the one session cookie, as sent."""
    ours = [c for c in cookies if c.get("name") == SESSION_COOKIE]
    if len(ours) != 1:
        names = sorted(c.get("name") for c in cookies)
        raise CheckFailed(f"chromium holds no {SESSION_COOKIE} cookie after signing in (it holds {names}); "
                          "was the Secure cookie refused on this origin?")
    cookie = ours[0]
    wanted = {"path": "/", "secure": True, "httpOnly": True, "sameSite": "Lax"}
    wrong = {k: cookie.get(k) for k, v in wanted.items() if cookie.get(k) != v}
    if wrong or cookie.get("session", True) or cookie.get("expires", 0) <= time.time():
        raise CheckFailed(f"chromium's session cookie: wrong attributes {wrong}, or no expiry")


def sign_in_and_check(base, token, document, screenshot):
    with tempfile.TemporaryDirectory(prefix="browser-check-") as profile:
        browser = Browser(profile)
        try:
            dom = load(browser, f"{base}/")
            if 'action="signin"' not in dom:
                raise CheckFailed("chromium: the page without a session is not the sign-in form")
            # Types the token, as a person does: it travels in the form's body only.
            browser.evaluate("document.querySelector('#token').focus()")
            browser.call("Input.insertText", {"text": token}, session=True)
            browser.submit("form[action=signin]")
            url = browser.evaluate("location.href")
            if url != f"{base}/":
                raise CheckFailed(f"chromium: after signing in the address is {url!r}, not the page's")
            check_browser_cookie(browser.cookies())
            figures, bars = check_page(browser.dom(), document)
            prepare_screenshot_path(screenshot)
            browser.screenshot(screenshot)
            browser.navigate(f"{base}/")
            browser.submit("form[action=signout]")
            if 'action="signin"' not in browser.dom():
                raise CheckFailed("chromium: after signing out the page is not the sign-in form")
            if any(c.get("name") == SESSION_COOKIE for c in browser.cookies()):
                raise CheckFailed("chromium: the session cookie is still there after signing out")
            return figures, bars
        finally:
            browser.close()


def main(argv):
    if len(argv) != 4 or not argv[2]:
        print("usage: scripts/browser-check BASE_URL TOKEN SCREENSHOT_PATH", file=sys.stderr)
        return 2
    base, token, screenshot = argv[1].rstrip("/"), argv[2], os.path.abspath(argv[3])
    try:
        check_token_link(base, token)
        check_refusals(base, token)
        check_sign_in_over_http(base, token)
        document = fetch_dashboard_json(base, token)
        figures, bars = sign_in_and_check(base, token, document, screenshot)
        size = check_screenshot(screenshot)
    except CheckFailed as failure:
        # Whatever a message quotes (a header, Chromium's log, the page) keeps the token out.
        print(f"browser-check: FAIL: {str(failure).replace(token, '***')}", file=sys.stderr)
        return 1
    report(document, figures, bars, screenshot, size)
    print("  signed in through the form, signed out again; a token in the address sets nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
