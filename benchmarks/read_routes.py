"""Every read route of the site and the API, with the sample URLs `make bench-reads` measures.

Each row builds its URLs from `picks`: real slugs and ids chosen from the database
(the biggest first, then typical ones; see PICK in benchmarks/reads.py). The same rows,
given EXAMPLE_PICKS, tell tests/test_bench_routes.py which URL patterns the benchmark
reaches: resolving every sample URL must hit every pattern of leaderboard.urls that is
not in EXCLUDED. So a new route fails that test until a row measures it here (or it is
excluded with a reason). Loads without Django.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

API = "/api/v1"
PAGE_40 = "page=40"
API_PAGE_40 = "page=40&items_per_page=50"
# Broad (most of the archive matches), broad, selective, misspelt, and a dataset's name (PostgreSQL
# planned its count estimate in parallel, which once answered 500).
SEARCHES = ("deep learning model", "transformer", "adaptive wing", "face aligment", "wflw")


@dataclass(frozen=True)
class Route:
    label: str
    paths: Callable[[dict], list[str]]
    auth: str = "anon"  # "anon", "token" (the benchmark account's API token) or "session" (signed in)


def _each(key: str, template: str) -> Callable[[dict], list[str]]:
    """One URL per picked value of `key` (a tuple fills several places)."""
    return lambda picks: [template.format(*(v if isinstance(v, list | tuple) else [v])) for v in picks[key]]


def _fixed(*urls: str) -> Callable[[dict], list[str]]:
    return lambda picks: list(urls)


def _q(words: str) -> str:
    return words.replace(" ", "+")


BASELINE = Route("baseline: api area detail", _each("area", API + "/areas/{}/"))

ROUTES: list[Route] = [
    BASELINE,
    # --- web pages ---------------------------------------------------------------------------
    Route("web: home", _fixed("/")),
    Route("web: about", _fixed("/about/")),
    Route("healthz", _fixed("/healthz")),
    Route("web: task index (/tasks/, /sota/)", _fixed("/tasks/", "/sota/")),
    Route("web: task", lambda p: [f"/task/{s}" for s in p["task"]] + [f"/task/{p['task'][-1]}/"]),
    Route("web: task, papers page 40", lambda p: [f"/task/{p['task'][0]}?{PAGE_40}"]),
    Route("web: leaderboard", lambda p: [f"/sota/{s}" for s in p["board"]] + [f"/sota/{p['board'][-1]}/"]),
    Route("web: leaderboard CSV", _each("board", "/sota/{}.csv")),
    Route("web: leaderboard JSON", _each("board", "/sota/{}.json")),
    Route("web: dataset list", _fixed("/datasets/")),
    Route("web: dataset list page 40", _fixed(f"/datasets/?{PAGE_40}")),
    Route("web: dataset", lambda p: [f"/dataset/{s}" for s in p["dataset"]] + [f"/dataset/{p['dataset'][-1]}/"]),
    Route("web: paper list", _fixed("/papers/")),
    Route("web: paper list page 40", _fixed(f"/papers/?{PAGE_40}")),
    Route("web: paper", lambda p: [f"/paper/{s}" for s in p["paper"]] + [f"/paper/{p['paper'][-1]}/"]),
    Route("web: method list", _fixed("/methods/")),
    Route("web: method list page 40", _fixed(f"/methods/?{PAGE_40}")),
    Route("web: method", lambda p: [f"/method/{s}" for s in p["method"]] + [f"/method/{p['method'][-1]}/"]),
    Route("web: author", lambda p: [f"/author/{s}" for s in p["author"]] + [f"/author/{p['author'][-1]}/"]),
    *[Route(f"web search: {words}", _fixed(f"/search/?q={_q(words)}")) for words in SEARCHES],
    Route("web: sign-up form", _fixed("/accounts/signup/")),
    Route("web: sign-in form", _fixed("/accounts/login/")),
    Route("admin: sign-in form", _fixed("/admin/login/")),
    Route("web: profile (signed in)", _fixed("/accounts/profile/"), auth="session"),
    Route("web: submit form (signed in)", _fixed("/submit/"), auth="session"),
    Route("web: submission (signed in)", _each("submission", "/submissions/{}/"), auth="session"),
    Route("web: run CED plot (signed in)", _each("run", "/submissions/{}/runs/{}/ced.svg"), auth="session"),
    Route("web: benchmark list", _fixed("/benchmarks/")),
    Route("web: benchmark", _each("benchmark", "/benchmarks/{}/")),
    Route("web: benchmark image", _each("image", "/benchmarks/{}/images/{}")),
    Route("web: benchmark faces file", _each("benchmark", "/benchmarks/{}/faces.json")),
    Route("web: benchmark sample predictions", _each("benchmark", "/benchmarks/{}/sample-predictions.json")),
    Route("web: benchmark landmark order", _each("benchmark", "/benchmarks/{}/landmarks.svg")),
    # --- API ---------------------------------------------------------------------------------
    Route("api: root", _fixed(API + "/")),
    Route("api: schema", _fixed(API + "/schema/")),
    Route("api: docs", _fixed(API + "/docs/")),
    *[Route(f"api search: {words}", _fixed(f"{API}/search/?q={_q(words)}")) for words in SEARCHES],
    Route("api: repositories", _fixed(API + "/repositories/")),
    Route("api: repositories page 40", _fixed(f"{API}/repositories/?{API_PAGE_40}")),
    Route("api: repositories of an owner",
          lambda p: [f"{API}/repositories/{o}" for o in p["owner"]] + [f"{API}/repositories/{p['owner'][-1]}/"]),
    Route("api: repository", _each("repository", API + "/repositories/{}/{}/")),
    Route("api: repository papers", _each("repository", API + "/repositories/{}/{}/papers/")),
    Route("api: conferences", _fixed(API + "/conferences/")),
    Route("api: conference", _each("conference", API + "/conferences/{}/")),
    Route("api: proceedings", _each("conference", API + "/conferences/{}/proceedings/")),
    Route("api: proceeding", _each("proceeding", API + "/conferences/{}/proceedings/{}/")),
    Route("api: proceeding papers", _each("proceeding", API + "/conferences/{}/proceedings/{}/papers/")),
    Route("api: table metrics", _each("board", API + "/evaluations/{}/metrics/")),
    Route("api: table metric", _each("metric", API + "/evaluations/{}/metrics/{}/")),
    Route("api: table results", _each("board", API + "/evaluations/{}/results/")),
    Route("api: table result", _each("result", API + "/evaluations/{}/results/{}/")),
    Route("api: paper claims (signed in)", _each("paper", API + "/papers/{}/claims/"), auth="token"),
    Route("api: papers", _fixed(API + "/papers/?items_per_page=50")),
    Route("api: papers page 40", _fixed(f"{API}/papers/?{API_PAGE_40}")),
    Route("api: paper", _each("paper", API + "/papers/{}/")),
    *[Route(f"api: paper {part}", _each("paper", API + f"/papers/{{}}/{part}/"))
      for part in ("datasets", "methods", "repositories", "results", "tasks")],
    Route("api: authors", _fixed(API + "/authors/")),
    Route("api: authors page 40", _fixed(f"{API}/authors/?{API_PAGE_40}")),
    Route("api: author", _each("author", API + "/authors/{}/")),
    Route("api: author papers", _each("author", API + "/authors/{}/papers/")),
    Route("api: areas", _fixed(API + "/areas/")),
    Route("api: area", _each("area", API + "/areas/{}/")),
    Route("api: area tasks", _each("area", API + "/areas/{}/tasks/")),
    Route("api: methods", _fixed(API + "/methods/")),
    Route("api: methods page 40", _fixed(f"{API}/methods/?{API_PAGE_40}")),
    Route("api: method", _each("method", API + "/methods/{}/")),
    Route("api: tasks", _fixed(API + "/tasks/")),
    Route("api: tasks page 40", _fixed(f"{API}/tasks/?{API_PAGE_40}")),
    Route("api: task", _each("task", API + "/tasks/{}/")),
    *[Route(f"api: task {part}", _each("task", API + f"/tasks/{{}}/{part}/"))
      for part in ("children", "evaluations", "papers", "parents")],
    Route("api: datasets", _fixed(API + "/datasets/")),
    Route("api: datasets page 40", _fixed(f"{API}/datasets/?{API_PAGE_40}")),
    Route("api: dataset", _each("dataset", API + "/datasets/{}/")),
    Route("api: dataset evaluations", _each("dataset", API + "/datasets/{}/evaluations/")),
    Route("api: evaluations", _fixed(API + "/evaluations/")),
    Route("api: evaluations page 40", _fixed(f"{API}/evaluations/?{API_PAGE_40}")),
    Route("api: evaluation", _each("board", API + "/evaluations/{}/")),
    Route("api: evaluation export CSV", _each("board", API + "/evaluations/{}/export.csv/")),
    Route("api: evaluation export JSON", _each("board", API + "/evaluations/{}/export.json/")),
    Route("api: evaluation SotA", _each("board", API + "/evaluations/{}/sota/")),
    Route("api: benchmarks", _fixed(API + "/benchmarks/")),
    Route("api: benchmark", _each("benchmark", API + "/benchmarks/{}/")),
    Route("api: benchmark faces", _each("benchmark", API + "/benchmarks/{}/faces/")),
    Route("api: submissions (signed in)", _fixed(API + "/submissions/", API + "/submissions/?mine=1"), auth="token"),
    Route("api: submission (signed in)", _each("submission", API + "/submissions/{}/"), auth="token"),
]

_POST_ONLY = "POST only: a write, no read to measure (its reads are measured after a write)"
# URL patterns (as Django's ResolverMatch.route spells them) the benchmark does not read, and why.
EXCLUDED: dict[str, str] = {
    "paper/<slug:slug>/claim/": _POST_ONLY,
    "accounts/logout/": _POST_ONLY,
    "accounts/token/": _POST_ONLY,
    "accounts/token/revoke/": _POST_ONLY,
    "submissions/<int:pk>/cancel/": _POST_ONLY,
    "submissions/<int:pk>/rerun/": _POST_ONLY,
    "api/v1/benchmarks/(?P<slug>[^/]+)/rerun/$": _POST_ONLY,
    "api/v1/submissions/(?P<pk>[^/.]+)/cancel/$": _POST_ONLY,
    "api/v1/submissions/(?P<pk>[^/.]+)/rerun/$": _POST_ONLY,
    "api/v1/papers/(?P<paper_id>[^/]+)/claims/(?P<claim_id>[0-9]+)/approve/$": _POST_ONLY,
    "api/v1/papers/(?P<paper_id>[^/]+)/claims/(?P<claim_id>[0-9]+)/reject/$": _POST_ONLY,
    "api/v1/rpc/evaluation-synchronize/": _POST_ONLY,
}
# Whole URL prefixes left out. The admin's sign-in page is public and is measured above.
EXCLUDED_PREFIXES: dict[str, str] = {
    "admin/": "Django's admin: staff-only editing screens, not a read of the public site or API",
    "internal/": "the remote workers' endpoints: a claimed run's writes and its checkpoint download, "
    "each needing a worker token and the run's own token",
}

# Values of the shape reads.py picks, for resolving the rows' URLs without a database.
EXAMPLE_PICKS: dict = {
    "area": ["computer-vision", "natural-language-processing"],
    "task": ["face-alignment", "image-classification"],
    "board": ["face-alignment-on-wflw", "face-alignment-on-300w"],
    "dataset": ["wflw", "300w"],
    "paper": ["adaptive-wing-loss-for-robust-face-alignment", "another-paper"],
    "method": ["adam", "resnet"],
    "author": ["xinyao-wang", "another-author"],
    "owner": ["protossw512", "facebookresearch"],
    "repository": [("protossw512", "AdaptiveWingLoss"), ("facebookresearch", "detectron2")],
    "conference": ["cvpr", "iccv"],
    "proceeding": [("iccv", "iccv-2019"), ("cvpr", "cvpr-2020")],
    "metric": [("face-alignment-on-wflw", 1), ("face-alignment-on-300w", 2)],
    "result": [("face-alignment-on-wflw", 1), ("face-alignment-on-300w", 2)],
    "benchmark": ["wflw-demo", "300w-demo"],
    "image": [("wflw-demo", "images/face-1.jpg")],
    "submission": [1],
    "run": [(1, 2)],
}
