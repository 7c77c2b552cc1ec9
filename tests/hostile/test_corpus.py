"""The hostile-input corpus (issue #15): every case is one request to a real server process.

The site runs under gunicorn in its own process, on this run's test database, with the
demo knowledge base, the WFLW demo benchmark and a user with a token. Each case asserts
only what any hostile request must get: no 5xx, a JSON body with an "error" for an
/api/ refusal, a non-empty page otherwise.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from benchmarks.api import free_port, stop

# The server process reads the data `world` commits once for the module, so no test may hold a
# transaction (SQLite would lock the server out) or flush the database after itself: transactional
# tests whose flush covers only an app without models do neither, and still set the test database up.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.django_db(transaction=True, available_apps=["django.contrib.staticfiles"])]

ROOT = Path(__file__).resolve().parents[2]
BOARD = "face-alignment-on-wflw"
PAPER = "adaptive-wing-loss-for-robust-face-alignment"
BENCHMARK = "wflw-demo"
USERNAME, PASSWORD = "mallory", "a-long-passphrase-for-mallory"
MAX_UPLOAD = 1024 * 1024  # the server's MAX_UPLOAD_BYTES


@dataclass
class Case:
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    # "none", "token", "session" (cookies and CSRF token of the signed-in user), "csrf" (of an anonymous
    # visitor) or a raw Authorization header
    auth: str = "none"
    headers: dict = field(default_factory=dict)
    multipart: dict | None = None  # fields; a bytes value is sent as a file


@dataclass
class Server:
    host: str
    port: int
    token: str = ""
    cookies: dict = field(default_factory=dict)
    anonymous_csrf: str = ""


# --- payloads -------------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def checkpoint_files() -> dict[str, bytes]:
    from tests.evaluator.test_weights import architecture_bombs

    files = dict(architecture_bombs())
    files["random bytes"] = bytes(range(256)) * 8
    files["JSON as a checkpoint"] = b'{"state_dict": {"conv1.conv.weight": [[1.0]]}}'
    files["bad safetensors header"] = (64).to_bytes(8, "little") + b'{"conv1.conv.weight": {"dtype": "F32",' + b" " * 27
    files["header length past the end"] = (2**62).to_bytes(8, "little") + b"{}"
    files["empty file"] = b""
    return files


def prediction_files(face_ids: list[str]) -> dict[str, tuple[str, bytes]]:
    rng = random.Random(15)
    points = [[[rng.uniform(0, 256), rng.uniform(0, 256)] for _ in range(98)] for _ in face_ids]
    members = [f"{json.dumps(fid)}: {json.dumps(p)}" for fid, p in zip(face_ids, points)]
    rows = [",".join([fid, *(repr(v) for xy in p for v in xy)]) for fid, p in zip(face_ids, points)]
    good = "{" + ", ".join(members) + "}"
    return {
        "JSON 1000 levels deep": ("pred.json", nested(1000)),
        "JSON 5000 levels deep": ("pred.json", nested(5000)),
        "a number of 5000 digits": ("pred.json", good.replace("[[", "[[" + "9" * 5000 + ", ", 1).encode()),
        "a CSV field of 200000 characters": ("pred.csv", "\n".join([rows[0], rows[1].replace(",", "," + "7" * 200_000, 1),
                                                                    *rows[2:]]).encode()),
        "a JSON face id given twice": ("pred.json", ("{" + ", ".join([*members, members[0]]) + "}").encode()),
        "a CSV face id given twice": ("pred.csv", "\n".join([*rows, rows[0]]).encode()),
        "NaN coordinates": ("pred.json", good.replace("[[", "[[NaN, NaN], [", 1).encode()),
        "Infinity coordinates": ("pred.json", json.dumps({fid: [[1e999, 0]] * 98 for fid in face_ids}).encode()),
        "strings for coordinates": ("pred.json", json.dumps({fid: [["x", "y"]] * 98 for fid in face_ids}).encode()),
        "no faces": ("pred.json", b"{}"),
        "unknown face ids": ("pred.json", json.dumps({f"../{i}": [[0, 0]] * 98 for i in range(3)}).encode()),
        "a NUL in a face id": ("pred.json", good.replace('"', '"\\u0000', 1).encode()),
        "invalid UTF-8": ("pred.json", b'{"\xff\xfe": [[0, 0]]}'),
        "a CSV with NUL bytes": ("pred.csv", b"\x00" * 4096),
        "a CSV of one column": ("pred.csv", "\n".join(face_ids).encode()),
        "a binary file named .json": ("pred.json", bytes(range(256)) * 16),
        "a file with no extension": ("predictions", good.encode()),
        "a file named ../../etc/passwd": ("../../etc/passwd", good.encode()),
    }


# --- the corpus -----------------------------------------------------------------------------

WRITES = ["/api/v1/tasks/", "/api/v1/datasets/", "/api/v1/evaluations/", f"/api/v1/evaluations/{BOARD}/metrics/",
          f"/api/v1/evaluations/{BOARD}/results/", "/api/v1/rpc/evaluation-synchronize/"]

LISTS = ["/api/v1/papers/", "/api/v1/tasks/", "/api/v1/datasets/", "/api/v1/evaluations/", "/api/v1/methods/",
         "/api/v1/authors/", "/api/v1/conferences/", "/api/v1/areas/", "/api/v1/benchmarks/",
         f"/api/v1/evaluations/{BOARD}/results/", "/api/v1/search/"]

BAD_PARAMETERS = ["page=-1", "page=abc", "page=0", "page=99999999999999999999", f"items_per_page={10**9}",
                  "items_per_page=-5", "items_per_page=abc", "ordering=bogus", "ordering=-__class__", "q=%00",
                  "q=" + "a" * 3000]

PAGES = ["/", "/tasks/", "/sota/", "/datasets/", "/papers/", "/methods/", f"/sota/{BOARD}", f"/paper/{PAPER}",
         "/search/", "/benchmarks/", "/accounts/login/", "/about/", f"/benchmarks/{BENCHMARK}/",
         f"/benchmarks/{BENCHMARK}/faces.json", f"/benchmarks/{BENCHMARK}/sample-predictions.json",
         f"/benchmarks/{BENCHMARK}/landmarks.svg", "/submit/", "/accounts/signup/"]

PAGE_VALUES = ["%00", "%01%1f%7f", "-1", "abc", "9" * 400, "%ff%fe", "%3Cscript%3E", "..%2F..%2Fetc%2Fpasswd"]

UNKNOWN = ["/sota/no-such-board", "/paper/no-such-paper", "/task/no-such-task", "/method/no-such-method",
           "/dataset/no-such-dataset", "/author/no-such-author", "/benchmarks/no-such-benchmark/",
           "/benchmarks/no-such-benchmark/faces.json", "/benchmarks/no-such-benchmark/sample-predictions.json",
           "/benchmarks/no-such-benchmark/landmarks.svg",
           "/api/v1/tasks/no-such-task/", "/api/v1/papers/no-such-paper/", "/api/v1/evaluations/no-such-board/",
           "/api/v1/benchmarks/no-such-benchmark/", "/api/v1/submissions/999999/", "/submissions/999999/",
           "/api/v1/evaluations/no-such-board/results/", "/api/v1/evaluations/no-such-board/metrics/",
           "/api/v1/repositories/nobody/nothing/", "/api/v1/conferences/none/proceedings/"]

TRAVERSALS = ["../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/settings.py", "/etc/passwd",
              "images/../../manifest.json", "a%00.png", "....//....//etc/passwd", "%252e%252e%252fetc"]

HOSTILE_STRINGS = {
    "NUL": "face\x00alignment",
    "control characters": "\x01\x02\x1b[31m\x7f",
    "overlong 100000": "x" * 100_000,
    "lone surrogate escape": "\\ud800",
    "RTL override": "\u202eevil\u202c",
    "SQL quote": "x'; DROP TABLE leaderboard_task; --",
    "HTML": "<script>alert(1)</script>",
    "emoji": "\U0001f600" * 1000,
}


def generated_bodies(seed: int = 15, count: int = 24) -> list[tuple[str, bytes]]:
    """Deterministic random JSON bodies: odd types, odd keys, odd nesting."""
    rng = random.Random(seed)
    atoms = [None, True, False, 0, -1, 2**64, 1e308, -0.0, "", "\x00", "x" * 3000, "\u202e", [], {}]
    keys = ["name", "slug", "metrics", "results", "model_name", "evaluations", "task", "dataset", "paper",
            "description", "id", "__proto__", "", "\x00"]

    def value(depth: int):
        roll = rng.random()
        if depth > 6 or roll < 0.5:
            return rng.choice(atoms)
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}

    bodies = []
    for i in range(count):
        path = WRITES[i % len(WRITES)]
        body = {rng.choice(keys): value(0) for _ in range(rng.randint(1, 6))}
        bodies.append((path, json.dumps(body).encode()))
    return bodies


def corpus() -> list:
    params = []

    def add(case_id: str, case: Case):
        params.append(pytest.param(case, id=case_id))

    # Bad query parameters on every list.
    for path in LISTS:
        for query in BAD_PARAMETERS:
            add(f"GET {path}?{query[:40]}", Case("GET", f"{path}?{query}"))
    for query in ["metric=unknown", "metric=%00", "ordering=bogus", "uses_additional_data=maybe"]:
        add(f"GET board page ?{query}", Case("GET", f"/sota/{BOARD}?{query}"))
        add(f"GET board CSV ?{query}", Case("GET", f"/sota/{BOARD}.csv?{query}"))
        add(f"GET API CSV export ?{query}", Case("GET", f"/api/v1/evaluations/{BOARD}/export.csv/?{query}"))
    # Hostile values on the pages' query strings.
    for path in PAGES:
        for value in PAGE_VALUES:
            add(f"GET {path} ?q,page={value[:20]}", Case("GET", f"{path}?q={value}&page={value}"))
    # Hostile benchmarks and return pages for the sign-in explanation and sign-up.
    for value in PAGE_VALUES:
        add(f"GET /submit/ ?benchmark={value[:20]}", Case("GET", f"/submit/?benchmark={value}"))
        add(f"GET /accounts/signup/ ?next={value[:20]}", Case("GET", f"/accounts/signup/?next={value}"))
    # Unknown slugs, path traversal.
    for path in UNKNOWN:
        add(f"GET {path}", Case("GET", path))
        for name, value in {"NUL": "%00", "controls": "%01%1b%7f", "invalid UTF-8": "%ff%fe"}.items():
            if "no-such-" in path:
                    add(f"GET {path} with {name}", Case("GET", path.replace("no-such-", f"no{value}such-")))
    for path in TRAVERSALS:
        add(f"GET benchmark image {path}", Case("GET", f"/benchmarks/{BENCHMARK}/images/{path}"))
    # Tokens.
    for name, header in {"unknown token": "Token not-a-real-token", "empty token": "Token ",
                         "token with spaces": "Token a b c", "bearer": "Bearer xyz", "basic garbage": "Basic %%%",
                         "token with NUL": "Token abc\x00def", "token 4000 long": "Token " + "a" * 4000}.items():
        add(f"GET tasks with {name}", Case("GET", "/api/v1/tasks/", auth=header))
        add(f"POST tasks with {name}", Case("POST", "/api/v1/tasks/", b'{"name": "x"}', "application/json", auth=header))
    # Nested and oversized bodies on every write endpoint.
    for path in WRITES:
        add(f"POST {path} nested 5000", Case("POST", path, b'{"name": ' + nested(5000) + b"}", "application/json",
                                             auth="token"))
        add(f"POST {path} nested 1000", Case("POST", path, b'{"name": ' + nested(1000) + b"}", "application/json",
                                             auth="token"))
        add(f"POST {path} not JSON", Case("POST", path, b"{not json", "application/json", auth="token"))
        add(f"POST {path} as text/plain", Case("POST", path, b'{"name": "x"}', "text/plain", auth="token"))
        add(f"POST {path} as XML", Case("POST", path, b"<name>x</name>", "application/xml", auth="token"))
        add(f"POST {path} JSON array", Case("POST", path, b"[1, 2, 3]", "application/json", auth="token"))
    add("POST tasks 11 MB JSON", Case("POST", "/api/v1/tasks/", json.dumps({"name": "x" * 11 * 2**20}).encode(),
                                      "application/json", auth="token"))
    add("POST tasks anonymous", Case("POST", "/api/v1/tasks/", b'{"name": "x"}', "application/json"))
    for name, text in HOSTILE_STRINGS.items():
        body = json.dumps({"name": text, "description": text}).encode()
        add(f"POST tasks name {name}", Case("POST", "/api/v1/tasks/", body, "application/json", auth="token"))
        add(f"GET API search {name}", Case("GET", "/api/v1/search/?" + urlencode({"q": text[:300]})))
        add(f"GET site search {name}", Case("GET", "/search/?" + urlencode({"q": text[:300]})))
    for i, (path, body) in enumerate(generated_bodies()):
        add(f"POST {path} generated body {i}", Case("POST", path, body, "application/json", auth="token"))
    # Methods not allowed.
    for method, path in [("DELETE", "/api/v1/papers/"), ("PUT", "/api/v1/search/"), ("PATCH", "/api/v1/areas/"),
                         ("DELETE", f"/api/v1/papers/{PAPER}/"), ("PUT", "/api/v1/benchmarks/"),
                         ("DELETE", "/search/"), ("PUT", "/"), ("PATCH", f"/sota/{BOARD}"), ("TRACE", "/api/v1/tasks/"),
                         ("FOO", "/api/v1/tasks/")]:
        add(f"{method} {path}", Case(method, path, auth="token"))
    # Sign-in with wrong passwords and odd names.
    for i, (username, password) in enumerate([(USERNAME, "wrong"), (USERNAME, ""), ("nobody", "x"),
                                              ("x" * 10_000, "y" * 10_000), ("a\x00b", "p\x00w"),
                                              (USERNAME, "\U0001f600" * 500)]):
        add(f"POST login wrong {i}", Case("POST", "/accounts/login/", urlencode({"username": username,
                                                                                  "password": password}).encode(),
                                          "application/x-www-form-urlencoded", auth="csrf"))
    return params


def upload_corpus() -> list:
    """Uploads need the benchmark's face ids, so they are built from names and resolved at run time."""
    params = []
    for name in ["3000 stacks", "width 100000", "hourglass depth 500 (pickle)", "random bytes", "JSON as a checkpoint",
                 "bad safetensors header", "header length past the end", "empty file"]:
        for where in ("api", "form"):
            params.append(pytest.param(where, "checkpoint", name, id=f"{where} checkpoint {name}"))
    for name in ["JSON 1000 levels deep", "JSON 5000 levels deep", "a number of 5000 digits",
                 "a CSV field of 200000 characters", "a JSON face id given twice", "a CSV face id given twice",
                 "NaN coordinates", "Infinity coordinates", "strings for coordinates", "no faces", "unknown face ids",
                 "a NUL in a face id", "invalid UTF-8", "a CSV with NUL bytes", "a CSV of one column",
                 "a binary file named .json", "a file with no extension", "a file named ../../etc/passwd"]:
        for where in ("api", "form"):
            params.append(pytest.param(where, "predictions", name, id=f"{where} predictions {name}"))
    for where in ("api", "form"):
        params.append(pytest.param(where, "predictions", "over MAX_UPLOAD_BYTES", id=f"{where} over MAX_UPLOAD_BYTES"))
        params.append(pytest.param(where, "no such kind", "random bytes", id=f"{where} unknown kind"))
        params.append(pytest.param(where, "predictions", "unknown benchmark", id=f"{where} unknown benchmark"))
        params.append(pytest.param(where, "predictions", "no file", id=f"{where} no file"))
    return params


# --- the server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo data, committed, in this run's test database; removed again afterwards."""
    from django.core.management import call_command
    from django.test import override_settings

    root = tmp_path_factory.mktemp("hostile")
    with override_settings(MEDIA_ROOT=root / "media", BENCHMARKS_ROOT=root / "benchmarks"), django_db_blocker.unblock():
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        from tests.verification.conftest import database_url, install_demo, truth

        benchmark = install_demo(BENCHMARK)
        face_ids = [str(fid) for fid in truth(benchmark).face_ids]
        user = User.objects.create_user(USERNAME, password=PASSWORD)
        token = Token.objects.create(user=user).key
        try:
            yield {"root": root, "token": token, "face_ids": face_ids, "database_url": database_url()}
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def server(world):
    root, port = world["root"], free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERIFICATION_", "API_THROTTLE_"))}
    env.update(DATABASE_URL=world["database_url"], VAR_DIR=str(root / "var"), MEDIA_ROOT=str(root / "media"),
               BENCHMARKS_ROOT=str(root / "benchmarks"), MAX_UPLOAD_BYTES=str(MAX_UPLOAD),
               VERIFICATION_CPU_QUEUE=f"cpu-{uuid.uuid4().hex[:8]}", VERIFICATION_GPU_QUEUE=f"gpu-{uuid.uuid4().hex[:8]}",
               DJANGO_SETTINGS_MODULE="leaderboard.settings", PYTHONUNBUFFERED="1")
    log_path = root / "gunicorn.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "leaderboard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--threads", "4", "--timeout", "120", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the server did not start:\n" + log_path.read_text()) from None
                time.sleep(0.2)
        running = Server("127.0.0.1", port, token=world["token"])
        sign_in(running)
        yield running
    finally:
        if process.poll() is None:
            stop(process)
        errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
        print(f"server log: {log_path} ({len(errors)} tracebacks)")


def raw_request(server: Server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        if body:
            try:
                connection.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may refuse an oversized body before reading it all
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def merge_cookies(server: Server, headers: dict) -> None:
    for name, value in headers.items():
        if name.lower() == "set-cookie":
            for morsel in SimpleCookie(value).values():
                server.cookies[morsel.key] = morsel.value


def cookie_header(server: Server) -> str:
    return "; ".join(f"{k}={v}" for k, v in server.cookies.items())


def sign_in(server: Server) -> None:
    status, headers, _ = raw_request(server, "GET", "/accounts/login/")
    assert status == 200
    merge_cookies(server, headers)
    server.anonymous_csrf = server.cookies["csrftoken"]
    body = urlencode({"username": USERNAME, "password": PASSWORD,
                      "csrfmiddlewaretoken": server.cookies["csrftoken"]}).encode()
    status, headers, _ = raw_request(server, "POST", "/accounts/login/", body, session_headers(
        server, "application/x-www-form-urlencoded"))
    assert status == 302, status
    merge_cookies(server, headers)
    assert "sessionid" in server.cookies


def session_headers(server: Server, content_type: str | None = None) -> dict:
    headers = {"Cookie": cookie_header(server), "X-CSRFToken": server.cookies.get("csrftoken", ""),
               "Referer": f"http://{server.host}:{server.port}/", "Host": f"{server.host}:{server.port}"}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def multipart(fields: dict) -> tuple[bytes, str]:
    boundary = "----hostile" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, data = value
            head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n")
            parts.append(head.encode() + data + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send(server: Server, case: Case):
    headers = {"Host": f"{server.host}:{server.port}", "Accept": "*/*", **case.headers}
    if case.auth == "token":
        headers["Authorization"] = f"Token {server.token}"
    elif case.auth == "session":
        headers.update(session_headers(server))
    elif case.auth == "csrf":
        headers.update({"Cookie": f"csrftoken={server.anonymous_csrf}", "X-CSRFToken": server.anonymous_csrf})
    elif case.auth != "none":
        headers["Authorization"] = case.auth.replace("\x00", "%00")
    body = case.body
    if case.multipart is not None:
        body, content_type = multipart(case.multipart)
        headers["Content-Type"] = content_type
    elif case.content_type:
        headers["Content-Type"] = case.content_type
    return raw_request(server, case.method, quote(case.path, safe="/?&=%:@+,;~-._!$'()*"), body, headers)


def check(path: str, status: int, headers: dict, content: bytes) -> None:
    assert status < 500, content[-3000:].decode(errors="replace")
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if path.startswith("/api/") and status >= 400 and not path.split("?")[0].endswith(".csv/"):
        assert content_type.startswith("application/json"), (status, content_type, content[:300])
        assert json.loads(content).get("error"), content[:300]
    elif not path.startswith("/api/") and not 300 <= status < 400:
        assert content.strip(), status


@pytest.mark.parametrize("case", corpus())
def test_a_hostile_request_is_never_a_5xx(server, case):
    status, headers, content = send(server, case)
    check(case.path, status, headers, content)


@pytest.mark.parametrize(("where", "kind", "name"), upload_corpus())
def test_a_hostile_upload_is_never_a_5xx(server, world, where, kind, name):
    if kind == "checkpoint" or name == "random bytes":
        filename, data = "fan.safetensors", checkpoint_files()[name]
    elif name == "over MAX_UPLOAD_BYTES":
        filename, data = "pred.json", b"[" + b"0," * (MAX_UPLOAD // 2 + 1024) + b"0]"
    elif name in ("unknown benchmark", "no file"):
        filename, data = prediction_files(world["face_ids"])["no faces"]
    else:
        filename, data = prediction_files(world["face_ids"])[name]
    fields = {"benchmark": "no-such-benchmark" if name == "unknown benchmark" else BENCHMARK, "kind": kind,
              "model_name": "Hostile\x00Net" if name == "a NUL in a face id" else "HostileNet"}
    if name != "no file":
        fields["file"] = (filename, data)
    if where == "api":
        case = Case("POST", "/api/v1/submissions/", multipart=fields, auth="token")
    else:
        fields["csrfmiddlewaretoken"] = server.cookies["csrftoken"]
        case = Case("POST", "/submit/", multipart=fields, auth="session")
    status, headers, content = send(server, case)
    check(case.path, status, headers, content)
    assert status >= 400, (status, content[:500])
