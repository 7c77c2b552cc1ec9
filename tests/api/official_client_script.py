"""Runs inside the official client's own virtual environment (paperswithcode-client==0.3.1).

Usage: python official_client_script.py <site root> <staff token>
Calls every client method against the server; prints one JSON line of what
it saw; exits non-zero on the first error (a pydantic validation error means
the server broke the contract).
"""

import json
import sys

from paperswithcode import PapersWithCodeClient
from paperswithcode.models import (
    DatasetCreateRequest,
    DatasetUpdateRequest,
    EvaluationTableCreateRequest,
    EvaluationTableSyncRequest,
    EvaluationTableUpdateRequest,
    MetricCreateRequest,
    MetricSyncRequest,
    MetricUpdateRequest,
    ResultCreateRequest,
    ResultSyncRequest,
    ResultUpdateRequest,
    TaskCreateRequest,
    TaskUpdateRequest,
)

AWING = "adaptive-wing-loss-for-robust-face-alignment"
BOARD = "face-alignment-on-wflw"


def reads(client, seen):
    seen["search"] = client.search(q="face alignment").count
    papers = client.paper_list(items_per_page=5)
    seen["papers"] = papers.count
    assert papers.next_page == 2, papers.next_page
    seen["papers_page2"] = len(client.paper_list(page=2, items_per_page=5).results)
    seen["paper_by_arxiv"] = client.paper_list(arxiv_id="1904.07399").results[0].id
    client.paper_list(q="wing", title="wing", abstract="heatmap")
    paper = client.paper_get(AWING)
    seen["paper_published"] = str(paper.published)
    seen["paper_datasets"] = [d.id for d in client.paper_dataset_list(AWING).results]
    seen["paper_repositories"] = [r.is_official for r in client.paper_repository_list(AWING).results]
    seen["paper_tasks"] = [t.id for t in client.paper_task_list(AWING).results]
    client.paper_method_list(AWING)
    seen["paper_results"] = len(client.paper_result_list(AWING).results)
    client.repository_list(q="wing", owner="protossw512", name="AdaptiveWingLoss", stars=0, framework="pytorch")
    seen["owner_repositories"] = client.repository_owner_list("protossw512").count
    client.repository_get("protossw512", "AdaptiveWingLoss")
    client.repository_paper_list("protossw512", "AdaptiveWingLoss")
    author = client.author_list(q="Wang", full_name="Xinyao").results[0]
    client.author_get(author.id)
    client.author_paper_list(author.id)
    conference = client.conference_list(q="ICCV", name="ICCV").results[0]
    client.conference_get(conference.id)
    proceeding = client.proceeding_list(conference.id).results[0]
    client.proceeding_get(conference.id, proceeding.id)
    seen["proceeding_papers"] = client.proceeding_paper_list(conference.id, proceeding.id).count
    area = client.area_list(q="vision", name="Computer").results[0]
    client.area_get(area.id)
    client.area_task_list(area.id)
    task = client.task_list(q="face", name="Face Alignment").results[0]
    client.task_get(task.id)
    seen["task_parents"] = [t.id for t in client.task_parent_list("face-alignment").results]
    client.task_child_list("facial-recognition-and-modelling")
    client.task_paper_list("face-alignment")
    client.task_evaluation_list("face-alignment")
    client.dataset_list(q="wflw", name="WFLW", full_name="")
    client.dataset_get("wflw")
    client.dataset_evaluation_list("wflw")
    method = client.method_list(q="wing", name="Wing", full_name="").results[0]
    client.method_get(method.id)
    seen["evaluations"] = client.evaluation_list().count
    client.evaluation_get(BOARD)
    metrics = client.evaluation_metric_list(BOARD).results
    client.evaluation_metric_get(BOARD, metrics[0].id)
    results = client.evaluation_result_list(BOARD).results
    seen["best_rank_1"] = results[0].best_rank
    client.evaluation_result_get(BOARD, results[0].id)


def writes(client, seen):
    task = client.task_add(TaskCreateRequest(name="Client Task", description="made by the client",
                                             area="computer-vision", parent_task="face-alignment"))
    task = client.task_update(task.id, TaskUpdateRequest(description="updated"))
    seen["task_description"] = task.description
    dataset = client.dataset_add(DatasetCreateRequest(name="Client Data", url="https://example.org/data"))
    client.dataset_update(dataset.id, DatasetUpdateRequest(url="https://example.org/data2"))
    table = client.evaluation_create(EvaluationTableCreateRequest(task=task.id, dataset=dataset.id))
    client.evaluation_update(table.id, EvaluationTableUpdateRequest(description="A table"))
    metric = client.evaluation_metric_add(table.id, MetricCreateRequest(name="Client Acc", description="",
                                                                        is_loss=False))
    client.evaluation_metric_update(table.id, metric.id, MetricUpdateRequest(description="accuracy"))
    result = client.evaluation_result_add(table.id, ResultCreateRequest(
        metrics={"Client Acc": "85.1%"}, methodology="Client Model", uses_additional_data=False,
        paper=AWING, evaluated_on="2021-01-02"))
    result = client.evaluation_result_update(table.id, result.id, ResultUpdateRequest(metrics={"Client Acc": "86"}))
    seen["result_after_update"] = [result.methodology, result.metrics, result.paper]
    sync = EvaluationTableSyncRequest(
        task="Face Alignment", dataset="Client Competition", description="mirror",
        metrics=[MetricSyncRequest(name="Comp Top 1", description="", is_loss=False)],
        results=[ResultSyncRequest(metrics={"Comp Top 1": "85"}, methodology="Entry", paper="",
                                   uses_additional_data=False, external_id="client-entry-1",
                                   evaluated_on="2020-11-20", external_source_url="https://example.org/e1")],
    )
    first = client.evaluation_synchronize(sync)
    second = client.evaluation_synchronize(sync)
    seen["sync_ids"] = [first.id, first.results[0].id, second.results[0].id]
    client.evaluation_result_delete(table.id, result.id)
    client.evaluation_metric_delete(table.id, metric.id)
    client.evaluation_delete(table.id)
    client.dataset_delete(dataset.id)
    client.task_delete(task.id)


def main():
    root, token = sys.argv[1], sys.argv[2]
    seen = {}
    reads(PapersWithCodeClient(url=root), seen)
    writes(PapersWithCodeClient(token=token, url=root), seen)
    try:
        PapersWithCodeClient(url=root).task_add(TaskCreateRequest(name="Anonymous"))
    except Exception as exc:  # noqa: BLE001 - the client raises its own HttpClientError
        seen["anonymous_write"] = getattr(exc, "status_code", str(exc))
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
