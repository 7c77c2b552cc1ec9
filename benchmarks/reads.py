"""Every read of the site and the API at full scale, under 8 clients, against gunicorn: p50/p95 per route.

    python benchmarks/reads.py [--database-url postgres://postgres@127.0.0.1:5432/pwc2_bench_reads]
                               [--cache-url redis://127.0.0.1:6379/1] [--clients 8] [--seconds 2]
                               [--workers 2] [--write-rounds 10] [--only TEXT] [--strict]

Loads the full synthetic archive, the demo and the demo benchmarks into the database
unless it holds them (see benchmarks/serving.py), serves it from gunicorn (sync workers,
DEBUG off, throttles lifted, the cache shared in Redis by default) and measures every
row of benchmarks/read_routes.py: each row's sample URLs are real slugs and ids picked
from the database, the biggest first. For each row, every sample URL is requested once
(the cold figure: caches filled), then N client threads request the samples in turn for
`--seconds`. Signed-in rows use the benchmark's own account (a session, or its API token).

After the warm rows, the "after write" rows measure the first reads right after a write:
each round PATCHes the value of a result on a scratch board, then the N clients read the
affected route once, all at the same time; the written board's rows must show the new value.
The scratch board, its metric and its result are made through the API by the same account
before anything is measured (on the first run against a database): making them is a write
of another kind, after which the warm rows fill the caches, as a site's visitors do. The
"after a new result" rows measure that other kind: each round adds a result to the scratch
board, which moves more than a value edit (they are deleted once all are measured).

The baseline is the trivial read /api/v1/areas/<id>/, measured first and again last in the
same run; its p95 over both rounds is the one the ratios divide by. Targets per row: p95 under 50 ms, at most 4x the baseline's p95,
no failure (a status other than 200, or a written value missing). Prints a table and
writes benchmarks/results/reads.json. Exits 0 even when targets fail; --strict exits 1 then.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import serving
from benchmarks.read_routes import BASELINE, ROUTES, Route

OUT = serving.ROOT / "benchmarks" / "results" / "reads.json"
TARGET_P95_MS, TARGET_RATIO = 50.0, 4.0
USERNAME = "reads-benchmark"
SCRATCH_DATASET = "Reads Benchmark Scratch"
SCRATCH_METRIC = "Scratch NME"
SCRATCH_MODEL = "Reads-Scratch-Net"
SCRATCH_TASK = "face-alignment"
AWING = "adaptive-wing-loss-for-robust-face-alignment"
LISTED_SUBMISSIONS = 60  # the benchmark account's submissions: more than a page of the API's list (50)

# Run by `manage.py shell`: real slugs and ids for every row (biggest first, then typical ones at
# fixed places in id order), and the benchmark's account with a fresh password and its token.
PICK = r"""
import json, sys
from pathlib import Path
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from rest_framework.authtoken.models import Token
from leaderboard.models import (Area, Author, Conference, Dataset, Leaderboard, Method, Paper, PaperAuthor,
                                PaperRepository, Proceeding, Repository, Result, ResultTask, Task)
from leaderboard.verification.models import Benchmark, EvaluationRun, Submission

K = 3

def spread(queryset, field="slug", k=K):
    # k values at fixed places of the id order: typical rows, the same on every run
    values = queryset.order_by("id").values_list(field, flat=True)
    n = values.count()
    return [values[(2 * i + 1) * n // (2 * k)] for i in range(k)] if n else []

def biggest(through, key, model, field="slug", k=1):
    ids = [row[key] for row in through.values(key).annotate(n=Count("id")).order_by("-n", key)[:k]]
    by_id = model.objects.in_bulk(ids)
    return [getattr(by_id[i], field) for i in ids]

def dedupe(values):
    return list(dict.fromkeys(values))

sizes = (ResultTask.objects.filter(via_category=False).values("task_id", "result__dataset_id")
         .annotate(n=Count("id")).order_by("-n", "task_id", "result__dataset_id"))
largest = sizes.first()
boards = [Leaderboard.objects.get(task_id=largest["task_id"], dataset_id=largest["result__dataset_id"]).slug]
boards = dedupe(boards + spread(Leaderboard.objects.all()))

papers = [AWING] if Paper.objects.filter(slug=AWING).exists() else []
papers = dedupe(papers + biggest(Result.objects.exclude(paper=None), "paper_id", Paper) + spread(Paper.objects.all()))
tasks = dedupe(biggest(Task.papers.through.objects, "task_id", Task) + spread(Task.objects.all()))
datasets = dedupe(biggest(Result.objects, "dataset_id", Dataset) + spread(Dataset.objects.all()))
methods = dedupe(biggest(Paper.methods.through.objects, "method_id", Method) + spread(Method.objects.all()))
authors = dedupe(biggest(PaperAuthor.objects, "author_id", Author) + spread(Author.objects.all()))
areas = dedupe(biggest(Task.areas.through.objects, "area_id", Area) + spread(Area.objects.all()))
owners = [row["owner"] for row in Repository.objects.exclude(owner="").values("owner").annotate(n=Count("id"))
          .order_by("-n", "owner")[:1]]
owners = dedupe(owners + spread(Repository.objects.exclude(owner=""), "owner"))
repo_ids = biggest(PaperRepository.objects, "repository_id", Repository, "id") + spread(Repository.objects.exclude(owner=""), "id")
repositories = dedupe((r.owner, r.name) for r in (Repository.objects.get(pk=i) for i in repo_ids))
proc_ids = biggest(Paper.objects.exclude(proceeding=None), "proceeding_id", Proceeding, "id") + spread(Proceeding.objects.all(), "id")
proceedings = dedupe((p.conference.slug, p.slug) for p in Proceeding.objects.select_related("conference").filter(pk__in=proc_ids))
conferences = dedupe([c for c, _ in proceedings] + spread(Conference.objects.all()))

def board_parts(slug):
    board = Leaderboard.objects.get(slug=slug)
    metric = board.columns.order_by("position").values_list("metric_id", flat=True).first()
    result = (ResultTask.objects.filter(task_id=board.task_id, result__dataset_id=board.dataset_id, via_category=False)
              .order_by("result_id").values_list("result_id", flat=True).first())
    return metric, result

parts = {slug: board_parts(slug) for slug in boards}

benchmarks = list(Benchmark.objects.order_by("slug").values_list("slug", flat=True))
root = Path(settings.BENCHMARKS_ROOT)
images = []
for benchmark in Benchmark.objects.order_by("slug"):
    face = benchmark.faces.order_by("position").first()
    if face is not None and (root / benchmark.files_dir / face.image).is_file():
        images.append((benchmark.slug, face.image))

user, _ = get_user_model().objects.get_or_create(username=USERNAME)
user.set_password(PASSWORD)
user.save()
token, _ = Token.objects.get_or_create(user=user)
# A finished run with a CED curve on a private submission of this account, for the submission pages.
submission = Submission.objects.filter(owner=user).order_by("id").first()
if submission is None and benchmarks:
    submission = Submission.objects.create(
        owner=user, benchmark=Benchmark.objects.get(slug=benchmarks[0]), kind="predictions",
        artifact="reads-benchmark/none.json", original_filename="predictions.json", sha256="0" * 64, size=0,
        model_name="Reads-Benchmark-Net", private=True)
    curve = {"x": [i / 100 for i in range(101)], "y": [min(1.0, i / 60) for i in range(101)]}
    run = EvaluationRun.objects.create(submission=submission, status="succeeded", queue="cpu", ced=curve,
                                       metrics={"NME": "4.00"})
    submission.current_run = run
    submission.save(update_fields=["current_run"])
# More submissions than a page of the list holds, each with two finished runs and CED curves of the size the
# evaluator writes (1001 points): the lists of submissions are read at the size an active account reaches.
made = Submission.objects.filter(owner=user, model_name__startswith="Reads-Listed-Net").count()
if benchmarks and made < LISTED_SUBMISSIONS:
    curve = {"x": [i / 1000 for i in range(1001)], "y": [min(1.0, i / 600) for i in range(1001)]}
    for i in range(made, LISTED_SUBMISSIONS):
        listed = Submission.objects.create(
            owner=user, benchmark=Benchmark.objects.get(slug=benchmarks[i % len(benchmarks)]), kind="predictions",
            artifact=f"reads-benchmark/listed-{i}.json", original_filename="predictions.json", sha256=f"{i + 1:064x}",
            size=0, model_name=f"Reads-Listed-Net-{i}", private=i % 2 == 0)
        for _ in range(2):
            run = EvaluationRun.objects.create(submission=listed, status="succeeded", queue="cpu", ced=curve,
                                               metrics={"NME": "4.00"}, log="scored 10 faces\n" * 20)
        listed.current_run = run
        listed.save(update_fields=["current_run"])
runs = list(EvaluationRun.objects.filter(submission=submission).exclude(ced=None).values_list("submission_id", "id")[:1])

print(json.dumps({
    "picks": {
        "area": areas, "task": tasks, "board": boards, "dataset": datasets, "paper": papers, "method": methods,
        "author": authors, "owner": owners, "repository": repositories, "conference": conferences,
        "proceeding": proceedings, "metric": [(s, parts[s][0]) for s in boards if parts[s][0]],
        "result": [(s, parts[s][1]) for s in boards if parts[s][1]], "benchmark": benchmarks, "image": images,
        "submission": [submission.pk] if submission else [], "run": runs,
    },
    "largest_board_rows": largest["n"],
    "token": token.key,
    "size": {"papers": Paper.objects.count(), "results": Result.objects.count(),
             "leaderboards": Leaderboard.objects.count(), "authors": Author.objects.count()},
}))
"""


class Client:
    """One HTTP/1.1 connection to the server (reopened when gunicorn's sync worker closes it)."""

    def __init__(self, port: int, headers: dict):
        self.port, self.headers = port, headers
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            return 0, {}, b""
        if response.will_close:
            self.conn.close()
        return response.status, response, content

    def close(self) -> None:
        self.conn.close()


class Session:
    """The benchmark account, signed in on the site (cookies) and with its API token."""

    def __init__(self, port: int, token: str, password: str):
        self.port, self.token = port, token
        self.cookies: dict[str, str] = {}
        client = Client(port, {})
        status, response, _ = client.request("GET", "/accounts/login/")
        self._keep(response)
        form = urlencode({"username": USERNAME, "password": password,
                          "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}).encode()
        status, response, _ = client.request("POST", "/accounts/login/", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self._cookie(),
            "Referer": f"http://127.0.0.1:{port}/accounts/login/"})
        self._keep(response)
        client.close()
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"could not sign the benchmark account in (status {status})")

    def _keep(self, response) -> None:
        for value in response.headers.get_all("Set-Cookie") or []:
            for morsel in SimpleCookie(value).values():
                self.cookies[morsel.key] = morsel.value

    def _cookie(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, auth: str) -> dict:
        if auth == "token":
            return {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if auth == "session":
            return {"Cookie": self._cookie()}
        return {}

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        client = Client(self.port, {**self.headers("token"), "Content-Type": "application/json"})
        status, _, content = client.request(method, path, json.dumps(body).encode() if body is not None else None)
        client.close()
        try:
            return status, json.loads(content or b"null")
        except ValueError:
            return status, {"body": content[:200].decode(errors="replace")}


def _figures(samples: list[float], failures: int, statuses: dict, urls: list[str], auth: str) -> dict:
    return {
        "urls": urls,
        "auth": auth,
        "count": len(samples),
        "failures": failures,
        "failed_statuses": statuses,
        "p50_ms": round(statistics.median(samples), 2) if samples else None,
        "p95_ms": round(serving.percentile(samples, 95), 2) if samples else None,
        "max_ms": round(max(samples), 2) if samples else None,
    }


def _timed(client: Client, path: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    status, _, content = client.request("GET", path)
    return (time.perf_counter() - start) * 1000, status, content


def measure(port: int, urls: list[str], headers: dict, clients: int, seconds: float) -> dict:
    """Each URL once (filling the caches), then `clients` threads cycling through them for `seconds`."""
    cold, lock = [], threading.Lock()
    samples: list[float] = []
    failures, statuses = 0, {}

    def record(ms: float, status: int) -> None:
        nonlocal failures
        with lock:
            if status == 200:
                samples.append(ms)
            else:
                failures += 1
                statuses[str(status)] = statuses.get(str(status), 0) + 1

    def first(url: str) -> None:
        client = Client(port, headers)
        ms, status, _ = _timed(client, url)
        client.close()
        with lock:
            cold.append(ms)
        if status != 200:
            record(ms, status)

    threads = [threading.Thread(target=first, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    end = time.perf_counter() + seconds

    def run(offset: int) -> None:
        client = Client(port, headers)
        index = offset
        while time.perf_counter() < end:
            ms, status, _ = _timed(client, urls[index % len(urls)])
            record(ms, status)
            index += 1
        client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = _figures(samples, failures, statuses, urls, "")
    figures["cold_max_ms"] = round(max(cold), 2) if cold else None
    figures["samples"] = samples  # dropped from the report
    return figures


def scratch_board(session: Session, paper: str) -> tuple[str, int]:
    """The scratch board (created through the API on the first run) and the id of its one result."""
    board = f"{SCRATCH_TASK}-on-{SCRATCH_DATASET.lower().replace(' ', '-')}"
    api = "/api/v1"
    status, _ = session.api("GET", f"{api}/evaluations/{board}/")
    if status == 404:
        status, dataset = session.api("POST", f"{api}/datasets/", {"name": SCRATCH_DATASET, "full_name": None,
                                                                    "url": None})
        if status not in (201, 409):
            raise SystemExit(f"could not create the scratch dataset: {status} {dataset}")
        status, table = session.api("POST", f"{api}/evaluations/", {
            "task": SCRATCH_TASK, "dataset": SCRATCH_DATASET.lower().replace(" ", "-"), "description": "",
            "mirror_url": None})
        if status != 201 or table["id"] != board:
            raise SystemExit(f"could not create the scratch board: {status} {table}")
        status, metric = session.api("POST", f"{api}/evaluations/{board}/metrics/",
                                     {"name": SCRATCH_METRIC, "description": "", "is_loss": True})
        if status != 201:
            raise SystemExit(f"could not add the scratch metric: {status} {metric}")
    status, rows = session.api("GET", f"{api}/evaluations/{board}/results/?items_per_page=500")
    mine = [row for row in rows.get("results", []) if row.get("methodology") == SCRATCH_MODEL]
    if mine:
        return board, mine[0]["id"]
    status, row = session.api("POST", f"{api}/evaluations/{board}/results/", {
        "metrics": {SCRATCH_METRIC: "5.000"}, "methodology": SCRATCH_MODEL, "uses_additional_data": False,
        "paper": paper, "evaluated_on": "2024-01-02", "external_source_url": None})
    if status != 201:
        raise SystemExit(f"could not add the scratch result: {status} {row}")
    return board, row["id"]


def after_write_rows(board: str, picks: dict) -> list[tuple[str, str, bool, bool]]:
    """(label, URL, whether the body must show what was written, whether the write adds a result rather
    than edits a value) for the reads right after a write."""
    paper, biggest = picks["paper"][0], picks["board"][0]
    return [
        ("after write: web leaderboard (written board)", f"/sota/{board}", True, False),
        ("after write: api SotA (written board)", f"/api/v1/evaluations/{board}/sota/", True, False),
        ("after write: api table results (written board)", f"/api/v1/evaluations/{board}/results/", True, False),
        ("after write: web paper (its paper)", f"/paper/{paper}", False, False),
        ("after write: api paper results (its paper)", f"/api/v1/papers/{paper}/results/", False, False),
        ("after write: web task (its task)", f"/task/{SCRATCH_TASK}", False, False),
        ("after write: web leaderboard (biggest board)", f"/sota/{biggest}", False, False),
        ("after write: api SotA (biggest board)", f"/api/v1/evaluations/{biggest}/sota/", False, False),
        ("after write: web home", "/", False, False),
        ("after a new result: web leaderboard (written board)", f"/sota/{board}", True, True),
        ("after a new result: web task (its task)", f"/task/{SCRATCH_TASK}", False, True),
        ("after a new result: web leaderboard (biggest board)", f"/sota/{biggest}", False, True),
        ("after a new result: api SotA (biggest board)", f"/api/v1/evaluations/{biggest}/sota/", False, True),
        ("after a new result: web home", "/", False, True),
    ]


def edit_value(session: Session, board: str, result_id: int, counter: list[int]) -> Callable:
    """A write that edits the scratch result's value: it answers (HTTP status, the text the written board then shows)."""

    def write() -> tuple[int, str]:
        counter[0] += 1
        value = f"{4 + counter[0] % 1000 / 1000:.3f}"
        status, _ = session.api("PATCH", f"/api/v1/evaluations/{board}/results/{result_id}/", {
            "metrics": {SCRATCH_METRIC: value}, "methodology": None, "uses_additional_data": None, "paper": None,
            "evaluated_on": None, "external_source_url": None})
        return status, value

    return write


class NewResults:
    """Writes that add a result to the scratch board (a new row, which moves more than a value edit);
    delete_all() leaves the board as it was. Deleting one moves everything: they are deleted only
    once every round is measured."""

    def __init__(self, session: Session, board: str, counter: list[int]):
        self.session, self.board, self.counter, self.made = session, board, counter, []

    def delete_all(self) -> None:
        while self.made:
            self.session.api("DELETE", f"/api/v1/evaluations/{self.board}/results/{self.made.pop()}/")

    def __call__(self) -> tuple[int, str]:
        self.counter[0] += 1
        model = f"{SCRATCH_MODEL}-{self.counter[0]}"
        status, row = self.session.api("POST", f"/api/v1/evaluations/{self.board}/results/", {
            "metrics": {SCRATCH_METRIC: "6.000"}, "methodology": model, "uses_additional_data": False,
            "paper": None, "evaluated_on": "2024-01-03", "external_source_url": None})
        if status == 201:
            self.made.append(row["id"])
        return status, model


def measure_after_write(port: int, write: Callable, url: str, must_show: bool, clients: int, rounds: int) -> dict:
    """`rounds` times: write(), then `clients` simultaneous first reads of `url` (showing what it wrote)."""
    samples: list[float] = []
    failures, statuses, lock = 0, {}, threading.Lock()
    for _ in range(rounds):
        status, value = write()
        if status not in (200, 201):  # nothing to read after: the round counts as failed reads
            failures += clients
            key = f"write answered {status}"
            statuses[key] = statuses.get(key, 0) + clients
            continue
        barrier = threading.Barrier(clients)

        def read(barrier: threading.Barrier, value: str) -> None:
            nonlocal failures
            client = Client(port, {})
            barrier.wait()
            ms, status, content = _timed(client, url)
            client.close()
            with lock:
                if status == 200 and (not must_show or value.encode() in content):
                    samples.append(ms)
                else:
                    failures += 1
                    key = str(status) if status != 200 else "stale"
                    statuses[key] = statuses.get(key, 0) + 1

        threads = [threading.Thread(target=read, args=(barrier, value)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return _figures(samples, failures, statuses, [url], "anon")


def judge(row: dict, baseline_p95: float) -> None:
    p95 = row["p95_ms"]
    row["ratio_p95"] = round(p95 / baseline_p95, 2) if p95 is not None and baseline_p95 else None
    row["pass"] = bool(p95 is not None and p95 < TARGET_P95_MS and row["ratio_p95"] is not None
                       and row["ratio_p95"] <= TARGET_RATIO and row["failures"] == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "READS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pwc2_bench_reads"))
    parser.add_argument("--cache-url", default=os.environ.get("READS_CACHE_URL", "redis://127.0.0.1:6379/1"),
                        help="CACHE_URL of the server: redis://… shares it between the workers; locmem:// does not")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds of load per route")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-rounds", type=int, default=10, help="writes per after-write row")
    parser.add_argument("--only", default="", help="measure only the rows whose label holds this text")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a route misses a target")
    parser.add_argument("--scale", type=float, default=1.0, help="archive scale when it must be written here")
    parser.add_argument("--archive", type=Path, default=serving.ARCHIVE, help="dump files to import when the database is empty")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.time()

    env = serving.server_env(args.database_url, CACHE_URL=args.cache_url)
    serving.ensure_loaded(env, args.database_url, scale=args.scale, archive=args.archive, demo_benchmarks=True)
    password = secrets.token_urlsafe(24)
    pick = (PICK.replace("USERNAME", repr(USERNAME)).replace("PASSWORD", repr(password)).replace("AWING", repr(AWING))
            .replace("LISTED_SUBMISSIONS", str(LISTED_SUBMISSIONS)))
    picked = json.loads(serving.manage(env, "shell", "-c", pick, capture=True).strip().splitlines()[-1])
    picks = picked["picks"]
    print(f"picked in {time.time() - started:.0f} s: " + ", ".join(f"{k} {len(v)}" for k, v in picks.items()), flush=True)

    serving.manage(env, "collectstatic", "--noinput", "-v0")  # DEBUG off serves hashed names from the manifest
    port = serving.free_port()
    server = serving.start_gunicorn(env, port, args.workers, timeout=300)
    rows: dict[str, dict] = {}
    try:
        session = Session(port, picked["token"], password)

        def run(route: Route) -> dict:
            urls, row_started = route.paths(picks), time.perf_counter()
            if urls:
                figures = measure(port, urls, session.headers(route.auth), args.clients, args.seconds)
            else:  # the database holds nothing this route shows: a failure to report, not a crash
                figures = _figures([], 1, {"nothing to sample in the database": 1}, [], route.auth)
            figures["auth"] = route.auth
            figures["wall_s"] = round(time.perf_counter() - row_started, 1)
            row = rows[route.label] = figures
            print(f"  {route.label:48} p95 {row['p95_ms'] or 0:9.1f} ms  n {row['count']:5d}  "
                  f"failures {row['failures']}", flush=True)
            return row

        after_write = "after" in args.only or not args.only
        if after_write:
            board, result_id = scratch_board(session, picks["paper"][0])
        # Every worker imports and connects lazily: a first round, not counted, warms them all.
        for warm in (BASELINE.paths(picks), ["/about/"]):
            measure(port, warm, {}, args.clients, 1.0)
        baseline = run(BASELINE)
        for route in ROUTES:
            if route is not BASELINE and args.only in route.label:
                run(route)
        if after_write:
            counter = [0]
            edit, added = edit_value(session, board, result_id, counter), NewResults(session, board, counter)
            try:
                for label, url, must_show, new_row in after_write_rows(board, picks):
                    if args.only not in label:
                        continue
                    rows[label] = measure_after_write(port, added if new_row else edit, url, must_show,
                                                      args.clients, args.write_rounds)
                    print(f"  {label:48} p95 {rows[label]['p95_ms'] or 0:9.1f} ms  "
                          f"failures {rows[label]['failures']}", flush=True)
            finally:
                added.delete_all()
        baseline_end = measure(port, BASELINE.paths(picks), {}, args.clients, args.seconds)
    finally:
        serving.stop(server)

    # The baseline's p95 over its start and end rounds together: a shared machine's load drifts.
    both = baseline["samples"] + baseline_end["samples"]
    if not both:
        raise SystemExit(f"the baseline answered no request with 200: {baseline}")
    baseline_p95 = round(serving.percentile(both, 95), 2)
    for row in rows.values():
        row.pop("samples", None)
        judge(row, baseline_p95)
    failing = [label for label, row in rows.items() if not row["pass"] and label != BASELINE.label]

    print(f"\n{'route':50} {'n':>6} {'p50':>8} {'p95':>8} {'max':>8} {'fail':>5} {'xbase':>7}  target")
    for label, row in rows.items():
        print(f"{label:50} {row['count']:6d} {row['p50_ms'] or 0:8.1f} {row['p95_ms'] or 0:8.1f} "
              f"{row['max_ms'] or 0:8.1f} {row['failures']:5d} {row['ratio_p95'] or 0:7.1f}  "
              f"{'ok' if row['pass'] else 'FAIL'}")
    print(f"baseline p95 {baseline_p95} ms ({baseline['p95_ms']} ms at the start, {baseline_end['p95_ms']} ms at the end)")
    print(f"targets: p95 < {TARGET_P95_MS:.0f} ms, <= {TARGET_RATIO:.0f}x the baseline's p95, no failure")
    print(f"{len(rows) - 1 - len(failing)} of {len(rows) - 1} routes meet them"
          + (f"; failing: {', '.join(failing)}" if failing else ""))

    parts = urlsplit(args.database_url)
    report = {
        "database": parts._replace(netloc=parts.hostname or "").geturl(),
        "size": picked["size"],
        "largest_board_rows": picked["largest_board_rows"],
        "cache": args.cache_url.split("://", 1)[0],
        "clients": args.clients, "seconds_per_route": args.seconds, "gunicorn_workers": args.workers,
        "write_rounds": args.write_rounds, "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "duration_s": round(time.time() - started),
        "targets": {"p95_ms_under": TARGET_P95_MS, "ratio_p95_at_most": TARGET_RATIO, "failures": 0},
        "baseline": {"route": BASELINE.label, "p95_ms": baseline_p95, "p95_ms_at_start": baseline["p95_ms"],
                     "p95_ms_at_end": baseline_end["p95_ms"]},
        "failing": failing,
        "routes": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(serving.ROOT) if args.out.is_relative_to(serving.ROOT) else args.out}")
    if args.strict and failing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
