"""Write a synthetic Papers With Code archive in the exact dump schema, at any scale.

    python benchmarks/make_archive.py [--scale 1.0] [--out var/archive] [--seed 7] [--gzip]

Scale 1.0 is the final snapshot: about 576,000 papers, 300,000 code links,
15,000 datasets, 8,700 methods, 4,400 tasks and 300,000 results over about
10,000 leaderboards. Names are reused the way the archive reuses them (model
names across papers, case variants within a paper, "(Extra Data)" dataset
listings, case variants of dataset names), tasks nest up to five levels, a
few rows are listed under two tasks, and values are dirty ("3.02%",
"0.8428 ± 0.0014", numbers, "-", "1.5M", null titles and dates).
Deterministic: the same seed and scale give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

FULL = {
    "papers": 576_000,
    "links": 300_000,
    "datasets": 15_000,
    "methods": 8_700,
    "tasks": 4_400,
    "boards": 10_000,
    "results": 300_000,
}
SITE = "https://paperswithcode.com"
AREAS = [
    "Computer Vision",
    "Natural Language Processing",
    "Medical",
    "Methodology",
    "Time Series",
    "Graphs",
    "Audio",
    "Speech",
    "Robots",
    "Reasoning",
    "Playing Games",
    "Knowledge Base",
    "Computer Code",
    "Music",
    "Adversarial",
    "Miscellaneous",
]
WORDS = [
    "deep",
    "learning",
    "network",
    "model",
    "data",
    "training",
    "neural",
    "graph",
    "image",
    "video",
    "text",
    "language",
    "adversarial",
    "robust",
    "efficient",
    "sparse",
    "attention",
    "transformer",
    "convolutional",
    "recurrent",
    "generative",
    "latent",
    "semantic",
    "visual",
    "segmentation",
    "detection",
    "tracking",
    "retrieval",
    "translation",
    "reasoning",
    "reinforcement",
    "policy",
    "optimization",
    "gradient",
    "bayesian",
    "variational",
    "contrastive",
    "supervised",
    "unsupervised",
    "representation",
    "embedding",
    "feature",
    "benchmark",
    "dataset",
    "evaluation",
    "propose",
    "method",
    "results",
    "state",
    "art",
    "performance",
    "accuracy",
    "scalable",
]
FIRST = [
    "Wei",
    "Li",
    "Xin",
    "Yang",
    "Anna",
    "Maria",
    "John",
    "David",
    "Sara",
    "Chen",
    "Yuki",
    "Ahmed",
    "Elena",
    "Luca",
    "Priya",
    "Omar",
    "Julia",
    "Kim",
    "Ivan",
    "Noah",
]
LAST = [
    "Wang",
    "Zhang",
    "Smith",
    "Garcia",
    "Kumar",
    "Chen",
    "Muller",
    "Rossi",
    "Tanaka",
    "Ivanov",
    "Silva",
    "Kim",
    "Nguyen",
    "Brown",
    "Lopez",
    "Sato",
    "Khan",
]
METRICS = [
    ("Accuracy", "pct"),
    ("Top-1 Accuracy", "pct"),
    ("F1", "num"),
    ("mAP", "num"),
    ("BLEU", "num"),
    ("NME (inter-ocular)", "pct"),
    ("Error rate", "pct"),
    ("FID", "num"),
    ("Perplexity", "num"),
    ("AUC", "pm"),
    ("PSNR", "num"),
    ("MAE", "num"),
    ("Number of params", "params"),
    ("EM", "num"),
    ("Recall@10", "pct"),
    ("WER", "pct"),
]
FRAMEWORKS = ["pytorch", "tf", "jax", "mxnet", "none"]


def scaled(scale: float) -> dict[str, int]:
    return {key: max(1, round(count * scale)) for key, count in FULL.items()}


class Archive:
    def __init__(self, scale: float, seed: int):
        self.rng = random.Random(seed)
        self.n = scaled(scale)
        self.tasks = self._names(
            self.n["tasks"],
            (
                "Detection",
                "Segmentation",
                "Classification",
                "Generation",
                "Estimation",
                "Retrieval",
                "Recognition",
                "Translation",
            ),
        )
        self.datasets = self._dataset_names()
        self.methods = self._names(
            self.n["methods"],
            ("Net", "Former", "Block", "Attention", "Pooling", "Loss"),
        )
        self.models = [
            f"{w.capitalize()}{self.rng.choice(['Net', 'Former', 'GAN', 'BERT', '-L', '-XL'])}"
            f"{self.rng.randint(1, 99) if self.rng.random() < 0.5 else ''}"
            for w in (
                self.rng.choice(WORDS) + self.rng.choice(WORDS) for _ in range(40_000)
            )
        ]

    def _names(self, count: int, suffixes) -> list[str]:
        names, seen = [], set()
        while len(names) < count:
            name = f"{self.rng.choice(WORDS).capitalize()} {self.rng.choice(WORDS)} {self.rng.choice(suffixes)}"
            if len(seen) > count * 0.6:
                name += f" {len(names)}"
            if name not in seen:
                seen.add(name)
                names.append(name)
        return names

    def _dataset_names(self) -> list[str]:
        names, seen = [], set()
        while len(names) < self.n["datasets"]:
            stem = "".join(
                self.rng.choice(WORDS)[:3].upper()
                for _ in range(self.rng.randint(1, 3))
            )
            name = (
                f"{stem}-{self.rng.randint(1, 1000)}"
                if self.rng.random() < 0.7
                else stem
            )
            if name.casefold() not in seen:
                seen.add(name.casefold())
                names.append(name)
        return names

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def paper_slug(self, i: int) -> str:
        return f"paper-{i}-{WORDS[i % len(WORDS)]}"

    def arxiv(self, i: int) -> str | None:
        return None if i % 7 == 3 else f"{15 + i % 10:02d}{1 + i % 12:02d}.{i:05d}"

    def paper_title(self, i: int) -> str:
        return f"{WORDS[i % 53].capitalize()} {WORDS[(i * 7) % len(WORDS)]} for {WORDS[(i * 13) % len(WORDS)]} {i}"

    # --- the five files ---------------------------------------------------------------

    def papers(self):
        rng = self.rng
        for i in range(self.n["papers"]):
            arxiv_id = self.arxiv(i)
            methods = [
                self.method_stub(rng.randrange(len(self.methods)))
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
            ]
            yield {
                "paper_url": f"{SITE}/paper/{self.paper_slug(i)}",
                "arxiv_id": arxiv_id,
                "nips_id": None,
                "openreview_id": None,
                "title": self.paper_title(i),
                "abstract": self.text(rng.randint(60, 160)),
                "short_abstract": None,
                "url_abs": f"http://arxiv.org/abs/{arxiv_id}v{rng.randint(1, 3)}"
                if arxiv_id
                else f"https://doi.org/10.1/{i}",
                "url_pdf": f"http://arxiv.org/pdf/{arxiv_id}v1.pdf" if arxiv_id else "",
                "proceeding": rng.choice(
                    [
                        None,
                        None,
                        f"NeurIPS {2015 + i % 10} 12",
                        f"ICCV {2015 + i % 10} 10",
                        "CVPR 2019 6",
                    ]
                ),
                "authors": [
                    f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.randrange(20000)}"
                    for _ in range(rng.randint(1, 7))
                ],
                "tasks": [
                    self.tasks[rng.randrange(len(self.tasks))]
                    for _ in range(rng.randint(0, 3))
                ],
                "date": f"{2013 + i % 12}-{1 + i % 12:02d}-{1 + i % 28:02d}"
                if i % 50
                else None,
                "conference_url_abs": None,
                "conference_url_pdf": None,
                "conference": None,
                "reproduces_paper": None,
                "methods": methods,
            }

    def method_stub(self, m: int) -> dict:
        return {
            "name": self.methods[m],
            "full_name": self.methods[m],
            "description": f"{self.methods[m]} is a method.",
            "introduced_year": 2000 + m % 25,
            "source_url": None,
            "source_title": None,
            "code_snippet_url": None,
            "main_collection": {
                "name": f"Collection {m % 200}",
                "description": "",
                "parent": None,
                "area": AREAS[m % len(AREAS)],
            },
        }

    def links(self):
        rng = self.rng
        for i in range(self.n["links"]):
            p = rng.randrange(self.n["papers"])
            arxiv_id = self.arxiv(p)
            yield {
                "paper_url": f"{SITE}/paper/{self.paper_slug(p)}",
                "paper_title": self.paper_title(p),
                "paper_arxiv_id": arxiv_id,
                "paper_url_abs": f"https://arxiv.org/abs/{arxiv_id}v1"
                if arxiv_id
                else "",
                "paper_url_pdf": f"https://arxiv.org/pdf/{arxiv_id}v1.pdf"
                if arxiv_id
                else "",
                "repo_url": f"https://github.com/{rng.choice(LAST).lower()}{i % 5000}/{rng.choice(WORDS)}-{i}",
                "is_official": rng.random() < 0.3,
                "mentioned_in_paper": rng.random() < 0.3,
                "mentioned_in_github": rng.random() < 0.5,
                "framework": rng.choice(FRAMEWORKS),
            }

    def methods_file(self):
        for m, name in enumerate(self.methods):
            yield {
                "url": f"{SITE}/method/{name.lower().replace(' ', '-')}",
                "name": name,
                "full_name": name if m % 3 else None,
                "description": self.text(40),
                "paper": {
                    "title": self.paper_title(m * 31 % self.n["papers"]),
                    "url": f"{SITE}/paper/{self.paper_slug(m * 31 % self.n['papers'])}",
                }
                if m % 4
                else None,
                "introduced_year": 2000 + m % 25,
                "source_url": f"http://arxiv.org/abs/{m}",
                "source_title": "Source",
                "code_snippet_url": None,
                "num_papers": m % 300,
                "collections": [
                    {
                        "collection": f"Collection {m % 200}",
                        "area_id": "cv",
                        "area": AREAS[m % len(AREAS)],
                    }
                ],
            }

    def datasets_file(self):
        for d, name in enumerate(self.datasets):
            variants = [name]
            if d % 10 == 0:
                variants.append(name.lower())  # a case variant the tables also use
            yield {
                "url": f"{SITE}/dataset/{name.lower()}",
                "name": name,
                "full_name": f"The {name} dataset",
                "homepage": f"https://example.org/{d}",
                "description": self.text(30),
                "paper": None,
                "introduced_date": f"{2000 + d % 25}-01-01" if d % 3 else None,
                "warning": None,
                "modalities": ["Images"] if d % 2 else ["Texts"],
                "tasks": [
                    {
                        "task": self.tasks[d % len(self.tasks)],
                        "url": f"{SITE}/task/t{d}",
                    }
                ],
                "languages": ["English"] if d % 2 == 0 else [],
                "variants": variants,
                "num_papers": d % 100,
                "data_loaders": [],
            }

    def tables(self):
        """Task trees: every task with leaderboards at the top level, the hierarchy as nested names."""
        rng, n = self.rng, self.n
        boarded = self.tasks[: max(1, len(self.tasks) // 2)]
        per_task = [0] * len(boarded)
        for _ in range(n["boards"]):
            per_task[rng.randrange(len(boarded))] += 1
        rows_left, boards_left = n["results"], n["boards"]
        parent_of = {
            t: self.tasks[rng.randrange(len(self.tasks))]
            for t in self.tasks
            if rng.random() < 0.7
        }
        children: dict[str, list[str]] = {}
        for child, parent in parent_of.items():
            if child != parent:
                children.setdefault(parent, []).append(child)
        shared = None
        for t, task in enumerate(boarded):
            datasets = []
            for _ in range(per_task[t]):
                # Mean rows left a board; a board gets one row even once they run out.
                mean = max(rows_left, 1) / boards_left
                rows = max(1, min(rows_left, round(rng.expovariate(1 / mean))))
                rows_left -= rows
                boards_left -= 1
                if shared is not None and rng.random() < 0.05:
                    datasets.append(shared)  # the same table listed under another task
                    continue
                entry = self.board(rows)
                datasets.append(entry)
                shared = entry
            yield self.task_entry(task, datasets, self.subtree(task, children, 0))
        for task in self.tasks[len(boarded) :]:
            if task not in parent_of:
                yield self.task_entry(task, [], self.subtree(task, children, 0))

    def subtree(self, task: str, children: dict, depth: int) -> list:
        if depth >= 4:
            return []
        return [
            self.task_entry(c, [], self.subtree(c, children, depth + 1))
            for c in children.get(task, [])[:5]
        ]

    def task_entry(self, task: str, datasets: list, subtasks: list) -> dict:
        return {
            "task": task,
            "description": self.text(12) if len(task) % 3 else "",
            "categories": [AREAS[len(task) % len(AREAS)]],
            "synonyms": [],
            "source_link": None,
            "datasets": datasets,
            "subtasks": subtasks,
        }

    def board(self, rows: int) -> dict:
        rng = self.rng
        d = rng.randrange(len(self.datasets))
        name = self.datasets[d]
        roll = rng.random()
        if roll < 0.03:
            name = f"{name} (Extra Data)"
        elif roll < 0.05 and d % 10 == 0:
            name = name.lower()
        metrics = rng.sample(METRICS, rng.randint(1, 4))
        entry = {
            "dataset": name,
            "description": "",
            "dataset_links": [{"title": name, "url": f"https://example.org/{d}"}],
            "dataset_citations": [],
            "subdatasets": [],
            "sota": {
                "metrics": [m for m, _ in metrics],
                "rows": [self.row(metrics) for _ in range(rows)],
            },
        }
        return entry

    def row(self, metrics) -> dict:
        rng = self.rng
        p = rng.randrange(self.n["papers"])
        arxiv_id = self.arxiv(p)
        model = (
            self.models[p % len(self.models)]
            if rng.random() < 0.8
            else rng.choice(self.models)
        )
        if rng.random() < 0.03:
            model = model.lower()  # "Awing" beside "AWing"
        title = self.paper_title(p)
        if rng.random() < 0.01:
            title = None
        values = {}
        for name, style in metrics:
            if rng.random() < 0.1:
                continue
            values[name] = self.value(style)
        return {
            "model_name": model,
            "paper_title": title,
            "paper_url": f"https://arxiv.org/abs/{arxiv_id}v1"
            if arxiv_id
            else f"https://doi.org/10.1/{p}",
            "paper_date": rng.choice([f"{2013 + p % 12}-{1 + p % 12:02d}-01", None])
            if p % 9 == 0
            else f"{2013 + p % 12}-{1 + p % 12:02d}-{1 + p % 28:02d}",
            "code_links": [{"title": "", "url": f"https://github.com/x/{p}"}]
            if p % 3 == 0
            else [],
            "model_links": [],
            "metrics": values,
            "uses_additional_data": rng.random() < 0.1,
        }

    def value(self, style: str):
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            return "-"
        number = round(rng.uniform(0.1, 99.9), rng.randint(1, 4))
        if style == "pct":
            return f"{number}%" if roll < 0.5 else f"{number}"
        if style == "pm":
            return f"{number / 100:.4f} ± {rng.uniform(0, 0.01):.4f}"
        if style == "params":
            return f"{rng.randint(1, 900)}M"
        return number if roll < 0.1 else f"{number}"


def _open(path: Path, gzipped: bool):
    if gzipped:
        return gzip.open(path, "wt", encoding="utf-8", compresslevel=1)
    return path.open("w", encoding="utf-8")


def write(path: Path, records, gzipped: bool) -> int:
    path = path.with_name(path.name + ".gz") if gzipped else path
    count = 0
    with _open(path, gzipped) as out:
        out.write("[")
        for record in records:
            out.write(
                ("," if count else "") + "\n" + json.dumps(record, ensure_ascii=False)
            )
            count += 1
        out.write("\n]\n")
    return count


def make_archive(
    out: Path, scale: float = 1.0, seed: int = 7, gzipped: bool = False
) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    archive = Archive(scale, seed)
    return {
        "datasets": write(out / "datasets.json", archive.datasets_file(), gzipped),
        "methods": write(out / "methods.json", archive.methods_file(), gzipped),
        "papers-with-abstracts": write(
            out / "papers-with-abstracts.json", archive.papers(), gzipped
        ),
        "links-between-papers-and-code": write(
            out / "links-between-papers-and-code.json", archive.links(), gzipped
        ),
        "evaluation-tables": write(
            out / "evaluation-tables.json", archive.tables(), gzipped
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "var" / "archive",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    counts = make_archive(args.out, args.scale, args.seed, args.gzip)
    for kind, count in counts.items():
        print(f"{kind}: {count} records")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
