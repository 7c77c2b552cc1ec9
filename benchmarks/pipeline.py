"""Upload-to-verified latency and throughput of the verification pipeline.

Generates a synthetic WFLW-format benchmark of 2,500 faces, starts one Celery
worker, and measures:
- the baseline: parsing and scoring the 2,500-face predictions file directly
  with the evaluator, in this process;
- upload-to-verified latency (POST /api/v1/submissions/ until the run has
  succeeded and its result is on the leaderboard), one submission at a time,
  p50/p95, and the overhead per submission over the baseline;
- throughput with 50 submissions queued at once.

Uses CELERY_BROKER_URL (Redis when set, as the figures in the README were
measured) and a throw-away database (DATABASE_URL or an SQLite file).
Writes benchmarks/results/pipeline.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACES, SEQUENTIAL, QUEUED = 2500, int(os.environ.get("PIPELINE_RUNS", "20")), 50


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pipeline-"))
    os.environ.update(
        VAR_DIR=str(work), MEDIA_ROOT=str(work / "media"), BENCHMARKS_ROOT=str(work / "benchmarks"),
        VERIFICATION_CPU_QUEUE="bench-cpu", VERIFICATION_GPU_QUEUE="bench-gpu",
        DJANGO_SETTINGS_MODULE="leaderboard.settings",
    )
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("API_THROTTLE_SUBMISSIONS", "100000/hour")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    benchmark = install(work)
    worker = start_worker(work)
    try:
        figures = measure(benchmark)
    finally:
        worker.terminate()
        worker.wait(30)
    report(figures)


def install(work: Path):
    import numpy as np

    from leaderboard.verification.demo import DEMO_DIR
    from leaderboard.verification.services import install_benchmark

    rng = np.random.default_rng(0)
    folder = work / "wflw-synthetic"
    (folder / "WFLW_images" / "0--Demo").mkdir(parents=True)
    image = "0--Demo/face.jpg"
    (folder / "WFLW_images" / image).write_bytes((DEMO_DIR / "wflw" / "7_Cheering_Cheering_7_16.jpg").read_bytes())
    lines = []
    for _ in range(FACES):
        x0, y0 = rng.uniform(50, 800, 2)
        points = np.stack([x0 + rng.uniform(0, 100, 98), y0 + rng.uniform(0, 100, 98)], axis=1)
        coords = " ".join(f"{v:.3f}" for v in points.ravel())
        flags = " ".join(str(v) for v in rng.integers(0, 2, 6))
        lines.append(f"{coords} {x0:.0f} {y0:.0f} {x0 + 100:.0f} {y0 + 100:.0f} {flags} {image}")
    (folder / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    return install_benchmark("wflw", folder, "wflw-synthetic", daily_submission_limit=10_000)


def start_worker(work: Path) -> subprocess.Popen:
    log = open(work / "worker.log", "w")  # noqa: SIM115 - the worker writes it until it stops
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", "bench-cpu,bench-gpu",
         "--pool", "solo", "-n", "bench@%h", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
    )
    time.sleep(1)
    return process


def measure(benchmark) -> dict:
    import numpy as np
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from evaluator.predictions import parse_predictions
    from evaluator.scoring import score
    from leaderboard.verification.models import EvaluationRun
    from leaderboard.verification.services import ground_truth

    truth = ground_truth(benchmark)
    pred = truth.landmarks + np.random.default_rng(1).normal(0, 2, truth.landmarks.shape)
    data = json.dumps({fid: p.tolist() for fid, p in zip(truth.face_ids, pred)}).encode()

    baseline = []
    for _ in range(5):
        start = time.perf_counter()
        score(parse_predictions(data, "pred.json", truth), truth, "inter_ocular")
        baseline.append(time.perf_counter() - start)
    direct = statistics.median(baseline)

    user = User.objects.create_user("bench", is_staff=True)
    client = APIClient()
    client.force_authenticate(user)

    def submit(i: int) -> int:
        # A distinct file each time (trailing spaces): the service links a repeated upload to
        # its first submission instead of evaluating it again.
        response = client.post("/api/v1/submissions/", {
            "benchmark": benchmark.slug, "kind": "predictions", "model_name": f"Bench{i}",
            "file": SimpleUploadedFile("pred.json", data + b" " * (i + 2))}, format="multipart")
        assert response.status_code == 201, response.content
        return response.json()["run"]["id"]

    def wait(run_ids: list[int], timeout: float = 600) -> None:
        """Poll every 5 ms with one query; the run's own finish time is recorded too (see `finished`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = list(EvaluationRun.objects.filter(pk__in=run_ids).values_list("status", flat=True))
            if "failed" in statuses or "cancelled" in statuses:
                raise RuntimeError("a run failed")
            if statuses.count("succeeded") == len(run_ids):
                return
            time.sleep(0.005)
        raise TimeoutError("runs did not finish")

    def finished(run_id: int) -> float:
        return EvaluationRun.objects.get(pk=run_id).finished_at.timestamp()

    wait([submit(-1)])  # warm the worker (imports, ground-truth cache)
    latencies, recorded, uploads = [], [], []
    for i in range(SEQUENTIAL):
        start, wall = time.perf_counter(), time.time()
        run_id = submit(i)
        uploads.append(time.perf_counter() - start)
        wait([run_id])
        latencies.append(time.perf_counter() - start)
        recorded.append(finished(run_id) - wall)  # upload start to the run's finished_at: no polling in it

    start = time.perf_counter()
    ids = [submit(1000 + i) for i in range(QUEUED)]
    queued_after = time.perf_counter() - start
    wait(ids)
    total = time.perf_counter() - start

    p50 = statistics.median(latencies)
    p95 = sorted(latencies)[max(round(0.95 * len(latencies)) - 1, 0)]
    recorded_p50 = statistics.median(recorded)
    return {
        "faces": FACES,
        "file_bytes": len(data),
        "broker": os.environ.get("CELERY_BROKER_URL", "filesystem://").split("://")[0],
        "database": os.environ["DATABASE_URL"].split("://")[0],
        "direct_scoring_s": round(direct, 4),
        "latency_p50_s": round(p50, 4),
        "latency_p95_s": round(p95, 4),
        "overhead_p50_s": round(p50 - direct, 4),
        "overhead_ratio_p50": round(p50 / direct, 2),
        "upload_request_p50_s": round(statistics.median(uploads), 4),
        "recorded_latency_p50_s": round(recorded_p50, 4),
        "recorded_overhead_p50_s": round(recorded_p50 - direct, 4),
        "sequential_runs": SEQUENTIAL,
        "queued_submissions": QUEUED,
        "queue_50_upload_s": round(queued_after, 3),
        "queue_50_total_s": round(total, 3),
        "throughput_per_min": round(QUEUED / total * 60, 1),
    }


def report(figures: dict) -> None:
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    target = "met" if figures["overhead_p50_s"] < 1.0 else "MISSED"
    print(f"overhead per submission {figures['overhead_p50_s']} s (target < 1 s: {target})")
    out = ROOT / "benchmarks" / "results" / "pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
