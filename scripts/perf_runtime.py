"""A minimal Lambda Runtime API on loopback, for scripts/perf (Python 3 standard library only).

  perf_runtime.py init NAME BINARY ENV_FILE RUNS
      Starts BINARY RUNS times, one after the other, with AWS_LAMBDA_RUNTIME_API pointing
      here; for each, the time from just before exec to the arrival of its first
      `GET /2018-06-01/runtime/invocation/next` (monotonic clock), then kills it. Init
      includes reading the function's secret from AWS_ENDPOINT_URL (the local stack, named
      in ENV_FILE), as a cold start in AWS reads it from Secrets Manager.

  perf_runtime.py rss NAME BINARY ENV_FILE INVOCATIONS
      Serves INVOCATIONS API Gateway v2 heartbeat events (each with a timestamp of its own,
      statuses cycling through OK, WARNING, CRITICAL) to one process of BINARY, waits for
      every response, then reads VmHWM and VmRSS from /proc/<pid>/status and kills it.

Each prints one JSON object on stdout; progress goes to stderr. ENV_FILE holds KEY=VALUE
lines (a value may be single-quoted), AWS_ENDPOINT_URL among them.
"""

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT = "/2018-06-01/runtime/invocation/next"
INVOCATION = "/2018-06-01/runtime/invocation/"
INIT_ERROR = "/2018-06-01/runtime/init/error"


def log(message):
    print(f"perf: {message}", file=sys.stderr, flush=True)


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            env[key] = value
    return env


def percentile(values, p):
    """Nearest rank."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


class Runtime:
    """State shared with the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.first_next = threading.Event()
        self.first_next_ns = None
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.errors = []
        self.hold = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    runtime = None  # set on the class by serve()

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, payload=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        arrived = time.monotonic_ns()
        rt = self.runtime
        if self.path != NEXT:
            self.reply(404)
            return
        with rt.lock:
            if rt.first_next_ns is None:
                rt.first_next_ns = arrived
        rt.first_next.set()
        try:
            event = rt.events.get(timeout=120)
        except queue.Empty:
            event = None
        if event is None:
            # init mode (or the end): the process is killed while it waits here.
            rt.hold.wait(timeout=10)
            self.close_connection = True
            return
        request_id = str(uuid.uuid4())
        deadline = int(time.time() * 1000) + 30_000
        self.reply(
            200,
            event,
            [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:ap-south-1:123456789012:function:perf",
                ),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ],
        )

    def do_POST(self):
        rt = self.runtime
        payload = self.body()
        if self.path.startswith(INVOCATION) and self.path.endswith("/response"):
            rt.responses.put(("response", payload))
        elif self.path.startswith(INVOCATION) and self.path.endswith("/error"):
            rt.responses.put(("error", payload))
        elif self.path == INIT_ERROR:
            rt.errors.append(payload.decode("utf-8", "replace"))
            rt.first_next.set()
        self.reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


def serve():
    runtime = Runtime()
    handler = type("BoundHandler", (Handler,), {"runtime": runtime})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, runtime


def lambda_env(name, env_file, runtime_port, endpoint):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
    env.update(read_env(env_file))
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "perf",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "RUST_LOG": env.get("RUST_LOG", "warn"),
        }
    )
    env.setdefault("AWS_REGION", "ap-south-1")
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_" "SECRET_ACCESS_KEY", "testing")
    return env


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def init(name, binary, env_file, runs):
    times_ms = []
    for i in range(runs):
        server, rt = serve()
        env = lambda_env(name, env_file, server.server_address[1], read_env(env_file)["AWS_ENDPOINT_URL"])
        start = time.monotonic_ns()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        arrived = rt.first_next.wait(timeout=30)
        stop(proc)
        rt.hold.set()
        server.shutdown()
        server.server_close()
        if not arrived or rt.first_next_ns is None:
            err = proc.stderr.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"{name}: no /next within 30 s (init errors: {rt.errors}); stderr: {err}")
        proc.stderr.close()
        times_ms.append((rt.first_next_ns - start) / 1e6)
        log(f"init {name} run {i + 1}/{runs}: {times_ms[-1]:.2f} ms")
    json.dump(
        {
            "name": name,
            "runs": len(times_ms),
            "p50_ms": round(percentile(times_ms, 50), 2),
            "p95_ms": round(percentile(times_ms, 95), 2),
            "min_ms": round(min(times_ms), 2),
            "max_ms": round(max(times_ms), 2),
        },
        sys.stdout,
    )
    print()


def heartbeat_events(template_dir, count):
    """API Gateway v2 heartbeats, one a minute, each new; statuses cycle so alerts are raised."""
    cycle = ["heartbeat-ok", "heartbeat-ok", "heartbeat-warning", "heartbeat-warning", "heartbeat-critical", "heartbeat-ok"]
    templates = {}
    for name in set(cycle):
        with open(os.path.join(template_dir, f"{name}.json"), encoding="utf-8") as f:
            templates[name] = json.load(f)
    base = int(time.time()) - count * 60 - 3600
    for i in range(count):
        event = json.loads(json.dumps(templates[cycle[i % len(cycle)]]))
        body = json.loads(event["body"])
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i * 60))
        body["timestamp"] = at
        event["body"] = json.dumps(body)
        context = event["requestContext"]
        context["requestId"] = f"perf-{i:06d}"
        context["timeEpoch"] = (base + i * 60) * 1000
        yield json.dumps(event).encode()


def rss(name, binary, env_file, invocations):
    server, rt = serve()
    env = lambda_env(name, env_file, server.server_address[1], read_env(env_file)["AWS_ENDPOINT_URL"])
    template_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_tail = collections.deque(maxlen=50)
    threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True).start()
    statuses = {}
    errors = 0
    started = time.monotonic()
    try:
        for i, event in enumerate(heartbeat_events(template_dir, invocations)):
            rt.events.put(event)
            try:
                kind, payload = rt.responses.get(timeout=60)
            except queue.Empty:
                raise SystemExit(f"{name}: no response to invocation {i}; stderr: {b''.join(stderr_tail)[-2000:]!r}")
            if kind == "error":
                errors += 1
                status = "error"
            else:
                try:
                    status = str(json.loads(payload).get("statusCode"))
                except (ValueError, AttributeError):
                    status = "unreadable"
            statuses[status] = statuses.get(status, 0) + 1
            if (i + 1) % 100 == 0:
                log(f"rss {name}: {i + 1}/{invocations} invocations, {time.monotonic() - started:.1f} s")
        # The next /next has arrived once the last response is in: the process is idle.
        time.sleep(0.2)
        fields = {}
        with open(f"/proc/{proc.pid}/status", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    finally:
        stop(proc)
        rt.hold.set()
        server.shutdown()
        server.server_close()
    kb = lambda field: int(fields[field].split()[0])  # noqa: E731
    json.dump(
        {
            "name": name,
            "invocations": invocations,
            "statuses": statuses,
            "errors": errors,
            "vmhwm_kb": kb("VmHWM"),
            "vmrss_kb": kb("VmRSS"),
            "seconds": round(time.monotonic() - started, 1),
        },
        sys.stdout,
    )
    print()


def main(argv):
    if len(argv) != 6 or argv[1] not in ("init", "rss"):
        raise SystemExit(__doc__)
    mode, name, binary, env_file, n = argv[1], argv[2], argv[3], argv[4], int(argv[5])
    (init if mode == "init" else rss)(name, binary, env_file, n)


if __name__ == "__main__":
    main(sys.argv)
