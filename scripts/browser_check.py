"""Checks the dashboard as a person sees it, in real headless Chromium.

Usage: scripts/browser-check BASE_URL TOKEN SCREENSHOT_PATH

1. the token link answers 303 to the page with an HttpOnly session cookie; the page and the
   API refuse (401) a request without credentials or with a wrong token;
2. the API's JSON, fetched with the header token, is the truth;
3. Chromium opens the token link (it follows the redirect and keeps the cookie itself), its
   DOM is dumped, and every `data-figure` element and every chart bar must show what the
   JSON says; a screenshot at a phone's width is kept.
Exits 1 with the list of mismatches if anything differs. Never prints the token.
"""

import json
import os
import signal
import subprocess
import sys
import time
import tempfile
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import quote, urljoin

CHROMIUM = "/usr/bin/chromium"
# No sandbox: containers lack the user namespaces it needs. No GPU, QUIC, sync, updates or
# background fetches: a test machine has no GPU and often no network beyond loopback, and
# those only add delays and log noise.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
    # Lets the page's scripts and timers run before the dump or the shot; it must stay
    # below the page's 60 s meta refresh, or the browser would load the page again.
    "--virtual-time-budget=5000",
]
CHROMIUM_TIMEOUT_S = 60
# The first request through `cargo lambda watch` on a cold machine waits for the build.
HTTP_TIMEOUT_S = 300
SESSION_COOKIE = "dialtone_session"
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


def http_get(url, headers=None):
    """GET without following redirects; returns (status, headers, body) for any status."""
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
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


def check_token_link(base, token):
    status, headers, _ = http_get(token_link(base, token))
    expect_status("token link", status, 303)
    location = headers.get("Location")
    if location is None or urljoin(f"{base}/", location) != f"{base}/":
        raise CheckFailed(f"token link: Location {location!r} does not lead back to the page")
    cookies = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith(f"{SESSION_COOKIE}=")]
    if not cookies:
        raise CheckFailed(f"token link: no {SESSION_COOKIE} cookie is set")
    attributes = {part.strip().split("=")[0].lower() for part in cookies[0].split(";")[1:]}
    if "httponly" not in attributes:
        raise CheckFailed(f"token link: the {SESSION_COOKIE} cookie is not HttpOnly")


def check_refusals(base, token):
    status, _, _ = http_get(f"{base}/")
    expect_status("page without a cookie", status, 401)
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


def run_chromium(args):
    """One headless Chromium run in a fresh profile; returns its stdout.

    Its own process group, so that a run past the timeout is ended with all its children.
    """
    with tempfile.TemporaryDirectory(prefix="browser-check-") as profile:
        command = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise CheckFailed(f"chromium did not finish within {CHROMIUM_TIMEOUT_S} s") from None
    if process.returncode != 0:
        # Without a system bus (containers) Chromium logs dbus errors on every run: noise.
        lines = [line for line in stderr.splitlines() if "dbus" not in line]
        log = "\n".join(lines[-20:])
        raise CheckFailed(f"chromium exited with {process.returncode}:\n{log}")
    return stdout


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
        # back after the redirect, and shows the 401 page.
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


def load_dom(link):
    for attempt in range(1, LOADS + 1):
        dom = run_chromium(["--dump-dom", link])
        if EMULATOR_500 not in dom or attempt == LOADS:
            return dom
        print(f"browser-check: load {attempt} of {LOADS} got the emulator's 500; loading again in 5 s",
              file=sys.stderr)
        time.sleep(5)
    return dom


def main(argv):
    if len(argv) != 4 or not argv[2]:
        print("usage: scripts/browser-check BASE_URL TOKEN SCREENSHOT_PATH", file=sys.stderr)
        return 2
    base, token, screenshot = argv[1].rstrip("/"), argv[2], os.path.abspath(argv[3])
    try:
        check_token_link(base, token)
        check_refusals(base, token)
        document = fetch_dashboard_json(base, token)
        link = token_link(base, token)
        # Two one-shot runs, each in a fresh profile, so each starts from the token link.
        dom = load_dom(link)
        figures, bars = check_page(dom, document)
        prepare_screenshot_path(screenshot)
        run_chromium([f"--screenshot={screenshot}", "--window-size=412,2400", link])
        size = check_screenshot(screenshot)
    except CheckFailed as failure:
        # Whatever a message quotes (a header, Chromium's log, the page) keeps the token out.
        print(f"browser-check: FAIL: {str(failure).replace(token, '***')}", file=sys.stderr)
        return 1
    report(document, figures, bars, screenshot, size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
