"""papers-with-abstracts and links-between-papers-and-code, in batches.

A paper's natural keys are its PWC URL slug, then its arXiv id. A record
whose digest equals the one stored at the last import is skipped without
touching its authors, tasks or methods, so an unchanged re-import costs one
query per batch.
"""

from __future__ import annotations

from functools import cached_property

from leaderboard.importers.base import (
    BATCH,
    DeferredIndexes,
    Slugs,
    copy_rows,
    create_papers,
    digest,
    insert_ignoring_duplicates,
    insert_named,
    insert_returning_ids,
    paper_keys,
    reserve,
    select_in,
    unique_slugs,
)
from leaderboard.importers.registry import Tasks
from leaderboard.models import (
    Author,
    Conference,
    Method,
    Paper,
    PaperAuthor,
    PaperRepository,
    Proceeding,
    Repository,
)
from leaderboard.rules import names as name_rules
from leaderboard.rules.papers import split_proceeding
from leaderboard.rules.values import parse_date

PAPER_URL = "https://paperswithcode.com/paper/"
_PAPER_FIELDS = [
    "slug",
    "title",
    "arxiv_id",
    "abstract",
    "published",
    "url_abs",
    "url_pdf",
    "proceeding",
    "proceeding_text",
    "conference_url_abs",
    "conference_url_pdf",
    "source_hash",
]


def slug_from_url(url: object) -> str | None:
    """`https://paperswithcode.com/paper/dynamic-network-model` -> `dynamic-network-model`."""
    if not isinstance(url, str) or not url.strip():
        return None
    return url.rstrip("/").rsplit("/", 1)[-1][:300] or None


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


class NewPaper:
    """A paper about to be COPYed: the fields create_papers writes, without a model instance.

    Building 576k Django model instances (field defaults, signals) cost more than
    every other step of preparing the papers file in Python.
    """

    __slots__ = ("pk", "proceeding_id", *_PAPER_FIELDS)

    def __init__(self, slug: str) -> None:
        self.pk, self.slug = None, slug


class _Batched:
    def __init__(self, stats, rejects, source: str):
        self.stats, self.rejects, self.source = stats, rejects, source
        self.buffer: list[tuple[int, dict]] = []

    def add(self, record: object, index: int) -> None:
        self.stats.read += 1
        if not isinstance(record, dict):
            self.reject(record, index, "a record must be a JSON object")
            return
        self.buffer.append((index, record))
        if len(self.buffer) >= BATCH:
            self.flush()

    def reject(self, record: object, index: int, reason: str) -> None:
        self.stats.rejected += 1
        self.rejects.add(self.source, f"record #{index}", reason, record)

    def finish(self) -> None:
        self.flush()

    def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        if batch:
            self.save(batch)


class PapersImporter(_Batched):
    kind = "papers-with-abstracts"

    def __init__(self, stats, rejects, source):
        super().__init__(stats, rejects, source)
        self.tasks = Tasks()
        # Per batch, not whole-table maps: a full archive has millions of authors.
        self.batch_slugs: set[str] = set()
        # name (and each spelling met) -> method id; normalised name -> the first method of it:
        # a paper's "relu" is the method ReLU (rules.names.resolve; methods keep no alias rows).
        self.methods, self.method_spellings = {}, {}
        for pk, name in Method.objects.order_by("id").values_list("id", "name"):
            self.methods.setdefault(name, pk)
            self.method_spellings.setdefault(name_rules.normalised(name), pk)
        self.method_slugs = Slugs(Method)
        self.proceedings = dict(Proceeding.objects.values_list("name", "id"))
        # A first import: these tables' plain indexes and foreign keys come back at the end.
        self.indexes = DeferredIndexes(
            [
                Paper._meta.db_table,
                PaperAuthor._meta.db_table,
                Paper.tasks.through._meta.db_table,
                Paper.methods.through._meta.db_table,
                Author._meta.db_table,
            ],
            # Into an empty author table, Slugs keeps the new slugs unique in memory:
            # the slug index is built once at the end, not probed per author.
            unique_of=(Author._meta.db_table,),
        )
        self.indexes.drop()
        # Into an empty author table every author of the file is one this file creates:
        # names and slugs are kept in memory, not probed in an index per name and batch.
        first = Author._meta.db_table in self.indexes.empty
        self.known_authors: dict[str, int] | None = {} if first else None
        self.author_slugs = Slugs(Author) if first else None
        # Into an empty paper table, the hashes of this file's slugs and arXiv ids:
        # a batch none of whose keys is among them is looked up in no index. A batch
        # with a hit (or a rare hash clash) is looked up in the table as usual.
        self.file_keys: set[int] | None = (
            set() if Paper._meta.db_table in self.indexes.empty else None
        )

    def finish(self) -> None:
        super().finish()
        self.indexes.rebuild()

    def lookup(self, slugs: list, arxiv_ids: list) -> dict:
        """The stored papers with one of these slugs or arXiv ids, keyed ("slug", s) / ("arxiv", a)."""
        known = {}
        if (
            self.file_keys is not None
            and not any(hash(("slug", s)) in self.file_keys for s in slugs if s)
            and not any(hash(("arxiv", a)) in self.file_keys for a in arxiv_ids)
        ):
            return known
        table, columns = Paper._meta.db_table, ["id", "slug", "arxiv_id", "source_hash"]
        for values in select_in(table, columns, "slug", {s for s in slugs if s}):
            row = dict(zip(columns, values))
            known[("slug", row["slug"])] = row
        for values in select_in(table, columns, "arxiv_id", set(arxiv_ids)):
            row = dict(zip(columns, values))
            known[("arxiv", row["arxiv_id"])] = row
        return known

    def remember(self, papers: list) -> None:
        if self.file_keys is not None:
            self.file_keys.update(hash(("slug", p.slug)) for p in papers)
            self.file_keys.update(
                hash(("arxiv", p.arxiv_id)) for p in papers if p.arxiv_id
            )

    def save(self, batch: list[tuple[int, dict]]) -> None:
        slugs = [slug_from_url(r.get("paper_url")) for _, r in batch]
        arxiv_ids = [
            r.get("arxiv_id") for _, r in batch if isinstance(r.get("arxiv_id"), str)
        ]
        known = self.lookup(slugs, arxiv_ids)
        self.batch_slugs = {row["slug"] for row in known.values()}
        created, updated, details = [], [], []
        for (index, record), slug in zip(batch, slugs):
            title = record.get("title") if isinstance(record.get("title"), str) else ""
            arxiv_id = (
                record.get("arxiv_id")
                if isinstance(record.get("arxiv_id"), str)
                else None
            )
            if not (slug or arxiv_id or title.strip()):
                self.reject(
                    record, index, "paper without a paper_url, arxiv_id or title"
                )
                continue
            match = (slug and known.get(("slug", slug))) or (
                arxiv_id and known.get(("arxiv", arxiv_id))
            )
            content = digest(record)
            if match and match["source_hash"] == content:
                self.stats.unchanged += 1
                continue
            paper = self.paper(record, slug, arxiv_id, title, content, match)
            (updated if match else created).append(paper)
            details.append((paper, record))
        create_papers(created, self.indexes.ids)
        Paper.objects.bulk_update(updated, _PAPER_FIELDS, batch_size=BATCH)
        self.remember(created + updated)
        self.stats.created += len(created)
        self.stats.updated += len(updated)
        self.save_details(details, {p.pk for p in updated})

    def paper(self, record, slug, arxiv_id, title, content, match) -> Paper | NewPaper:
        if match:
            paper = Paper(pk=match["id"], slug=match["slug"])
            if slug and slug != match["slug"] and self.claim(slug):
                paper.slug = (
                    slug  # the archive's own slug wins over one made from a title
                )
        else:
            paper = NewPaper(
                slug
                if slug and self.claim(slug)
                else unique_slugs(Paper, [title or arxiv_id], self.batch_slugs)[0]
            )
        proceeding = (
            record.get("proceeding")
            if isinstance(record.get("proceeding"), str)
            else ""
        )
        paper.title = title[:1000]
        paper.arxiv_id = arxiv_id or (match or {}).get("arxiv_id")
        paper.abstract = _text(record.get("abstract"), 10**7)
        paper.published = parse_date(record.get("date"))
        paper.url_abs = _text(record.get("url_abs"), 1000)
        paper.url_pdf = _text(record.get("url_pdf"), 1000)
        paper.proceeding_text = proceeding[:300]
        paper.proceeding_id = self.proceeding_id(proceeding)
        paper.conference_url_abs = _text(record.get("conference_url_abs"), 1000)
        paper.conference_url_pdf = _text(record.get("conference_url_pdf"), 1000)
        paper.source_hash = content
        return paper

    def claim(self, slug: str) -> bool:
        """Whether `slug` is free: a paper that has it was found by it in this batch's lookup."""
        return reserve(self.batch_slugs, slug)

    def proceeding_id(self, text: str) -> int | None:
        parts = split_proceeding(text)
        if parts is None:
            return None
        conference_name, year, name = parts
        if name not in self.proceedings:
            conference = Conference.objects.filter(name=conference_name).first()
            if conference is None:
                conference = Conference.objects.create(
                    name=conference_name, slug=Slugs(Conference).make(conference_name)
                )
            self.proceedings[name] = Proceeding.objects.create(
                conference=conference,
                year=year,
                name=name,
                slug=Slugs(Proceeding).make(name),
            ).pk
        return self.proceedings[name]

    def authors(self, names: set[str]) -> dict[str, int]:
        """name -> author id for each name, creating the authors not yet known."""
        if self.known_authors is not None:
            # Every slug is in memory too: new authors are COPYed with free slugs.
            # (Not `names - known.keys()`: that walks every known author, each batch.)
            known = self.known_authors
            new = sorted(name for name in names if name not in known)
            rows = [(name, self.author_slugs.make(name)) for name in new]
            ids = insert_returning_ids(
                Author._meta.db_table,
                ["name", "slug"],
                rows,
                copy=True,
                ids=self.indexes.ids,
            )
            self.known_authors.update(zip(new, ids))
            return self.known_authors
        authors = {}
        for pk, name in sorted(
            select_in(Author._meta.db_table, ["id", "name"], "name", names),
            reverse=True,
        ):
            authors[name] = pk  # the first author of that name wins
        authors.update(
            insert_named(Author, sorted(names - authors.keys()))
        )
        return authors

    def save_details(
        self, details: list[tuple[Paper, dict]], updated_ids: set[int]
    ) -> None:
        """Authors in order (replaced), tasks and methods (added)."""
        PaperAuthor.objects.filter(paper_id__in=updated_ids).delete()
        names = {
            n[:300]
            for _, r in details
            for n in r.get("authors") or []
            if isinstance(n, str) and n
        }
        authors = self.authors(names)
        self.tasks.add_all(
            t[:300]
            for _, r in details
            for t in r.get("tasks") or []
            if isinstance(t, str) and t
        )
        new_methods, spelled = {}, {}  # normalised name -> new method; spelling -> its new method
        for _, record in details:
            for method in record.get("methods") or []:
                name = method.get("name") if isinstance(method, dict) else None
                if not isinstance(name, str) or not name or name in self.methods:
                    continue
                found = name_rules.resolve(name, self.methods, {}, self.method_spellings)
                if found.id is not None:
                    self.methods[name] = found.id
                    continue
                key = name_rules.normalised(name)
                if key not in new_methods:
                    new_methods[key] = method_from_paper(
                        method, self.method_slugs.make(name)
                    )
                spelled[name] = new_methods[key]
        Method.objects.bulk_create(new_methods.values(), batch_size=BATCH)
        self.methods.update({name: m.pk for name, m in spelled.items()})
        self.method_spellings.update({k: m.pk for k, m in new_methods.items()})
        authorships, tasks, methods = [], [], []
        for paper, record in details:
            names = [n for n in record.get("authors") or [] if isinstance(n, str) and n]
            authorships += [
                (
                    paper.pk,
                    authors[n[:300]],
                    i,
                )
                for i, n in enumerate(names)
            ]
            tasks += [
                (paper.pk, self.tasks.id_for(t[:300]))
                for t in record.get("tasks") or []
                if isinstance(t, str) and t
            ]
            methods += [
                (paper.pk, self.methods[m["name"]])
                for m in record.get("methods") or []
                if isinstance(m, dict)
                and isinstance(m.get("name"), str)
                and m["name"] in self.methods
            ]
        copy_rows(
            PaperAuthor._meta.db_table,
            ["paper_id", "author_id", "position"],
            authorships,
        )
        for through, column, pairs in (
            (Paper.tasks.through, "task_id", tasks),
            (Paper.methods.through, "method_id", methods),
        ):
            # A paper created in this batch has no rows yet: its pairs, once each, are COPYed.
            new = list(dict.fromkeys(p for p in pairs if p[0] not in updated_ids))
            copy_rows(through._meta.db_table, ["paper_id", column], new)
            insert_ignoring_duplicates(
                through._meta.db_table,
                ["paper_id", column],
                [p for p in pairs if p[0] in updated_ids],
            )


def method_from_paper(method: dict, slug: str) -> Method:
    """A method first seen in a paper record; methods.json fills in the rest."""
    collection = method.get("main_collection")
    return Method(
        name=method["name"][:300],
        slug=slug,
        full_name=_text(method.get("full_name"), 500),
        description=_text(method.get("description"), 10**6),
        introduced_year=method.get("introduced_year")
        if isinstance(method.get("introduced_year"), int)
        else None,
        source_url=_text(method.get("source_url"), 1000),
        source_title=_text(method.get("source_title"), 500),
        code_snippet_url=_text(method.get("code_snippet_url"), 1000),
        collections=[collection] if isinstance(collection, dict) else [],
    )


class LinksImporter(_Batched):
    kind = "links-between-papers-and-code"

    def __init__(self, stats, rejects, source):
        super().__init__(stats, rejects, source)
        # Every paper's and repository's keys, loaded once: a batch is then matched in
        # memory, with no lookup to wait for behind the writes queued before it.
        self.by_slug, self.by_arxiv = paper_keys("slug", "arxiv_id")
        self.repos: dict[int, tuple[int, str]] = {
            hash(url): (pk, framework)
            for pk, url, framework in Repository.objects.values_list(
                "id", "url", "framework"
            ).iterator(chunk_size=20000)
        }
        self.indexes = DeferredIndexes(
            [PaperRepository._meta.db_table, Repository._meta.db_table]
        )
        self.indexes.drop()
        # Into an empty link table the only links are this file's: they are kept in
        # memory while the table's plain indexes and foreign keys wait for the end.
        self.links: dict[tuple[int, int], tuple[int, tuple]] | None = (
            {} if PaperRepository._meta.db_table in self.indexes.empty else None
        )

    @cached_property
    def slugs(self) -> Slugs:
        """Every paper slug, read when a link first names an unknown paper (not on a re-import)."""
        return Slugs(Paper)

    def finish(self) -> None:
        super().finish()
        self.indexes.rebuild()

    def save(self, batch: list[tuple[int, dict]]) -> None:
        valid = []
        for index, record in batch:
            repo_url = record.get("repo_url")
            if not isinstance(repo_url, str) or not repo_url.strip():
                self.reject(record, index, "link without a repo_url")
            elif not slug_from_url(record.get("paper_url")) and not isinstance(
                record.get("paper_arxiv_id"), str
            ):
                self.reject(record, index, "link without a paper_url or paper_arxiv_id")
            else:
                valid.append(record)
        papers = self.papers(valid)
        repos = self.repositories(valid)
        pairs = {(papers[id(r)], repos[r["repo_url"][:1000]]): r for r in valid}
        flag_names = ("is_official", "mentioned_in_paper", "mentioned_in_github")
        # Tuples, not model instances: most links of a re-import are unchanged.
        if self.links is not None:
            existing = {pair: self.links[pair] for pair in pairs if pair in self.links}
        else:
            existing = {
                (paper_id, repo_id): (pk, tuple(flags))
                for pk, paper_id, repo_id, *flags in select_in(
                    PaperRepository._meta.db_table,
                    ["id", "paper_id", "repository_id", *flag_names],
                    "repository_id",
                    {repo for _, repo in pairs},
                )
            }
        created, updated = [], []
        for (paper_id, repo_id), record in pairs.items():
            flags = tuple(bool(record.get(k)) for k in flag_names)
            link = existing.get((paper_id, repo_id))
            if link is None:
                created.append((paper_id, repo_id, *flags))
            elif link[1] != flags:
                updated.append(
                    PaperRepository(
                        pk=link[0],
                        paper_id=paper_id,
                        repository_id=repo_id,
                        **dict(zip(flag_names, flags)),
                    )
                )
            else:
                self.stats.unchanged += 1
        self.stats.unchanged += len(valid) - len(
            pairs
        )  # the same link twice in one batch
        # A new pair is in no row yet (`existing` holds every link of these repositories).
        ids = insert_returning_ids(
            PaperRepository._meta.db_table,
            ["paper_id", "repository_id", *flag_names],
            created,
            copy=True,
            ids=self.indexes.ids,
        )
        PaperRepository.objects.bulk_update(updated, list(flag_names))
        if self.links is not None:
            for pk, (paper_id, repo_id, *flags) in zip(ids, created):
                self.links[(paper_id, repo_id)] = (pk, tuple(flags))
            for link in updated:
                self.links[(link.paper_id, link.repository_id)] = (
                    link.pk,
                    tuple(getattr(link, k) for k in flag_names),
                )
        self.stats.created += len(created)
        self.stats.updated += len(updated)

    def papers(self, records: list[dict]) -> dict[int, int]:
        """Each record's paper id (by slug, then arXiv id), creating a minimal paper when unknown."""
        by_slug, by_arxiv = self.by_slug, self.by_arxiv
        found, new, placed = {}, {}, []
        for record in records:
            slug, arxiv_id = (
                slug_from_url(record.get("paper_url")),
                record.get("paper_arxiv_id"),
            )
            arxiv_id = arxiv_id if isinstance(arxiv_id, str) and arxiv_id else None
            pk = (slug and by_slug.get(hash(slug))) or (
                arxiv_id and by_arxiv.get(hash(arxiv_id))
            )
            if not pk:
                key = slug or arxiv_id
                if key not in new:
                    title = _text(record.get("paper_title"), 1000) or key
                    new[key] = paper = Paper(
                        slug=slug
                        if slug and self.slugs.claim(slug)
                        else self.slugs.make(title),
                        title=title,
                        arxiv_id=arxiv_id,  # unknown, else its paper was found
                        url_abs=_text(record.get("paper_url_abs"), 1000),
                        url_pdf=_text(record.get("paper_url_pdf"), 1000),
                    )
                    # Later records find it by its keys: its id once it is created.
                    for keys, value in (
                        (by_slug, slug),
                        (by_slug, paper.slug),
                        (by_arxiv, arxiv_id),
                    ):
                        if value and hash(value) not in keys:
                            keys[hash(value)] = paper
                            placed.append((keys, hash(value)))
                pk = new[key]
            found[id(record)] = pk
        create_papers(list(new.values()))
        for keys, key in placed:
            keys[key] = keys[key].pk
        return {
            key: (pk.pk if isinstance(pk, Paper) else pk) for key, pk in found.items()
        }

    def repositories(self, records: list[dict]) -> dict[str, int]:
        urls = {r["repo_url"][:1000]: r for r in records}
        repos, new, changed = {}, [], []
        for url, record in urls.items():
            framework = _text(record.get("framework"), 50)
            known = self.repos.get(hash(url))
            if known is None:
                owner, _, name = url.rstrip("/").split("github.com/")[-1].partition("/")
                new.append((url, owner[:300], name[:300], "", 0, framework))
                continue
            repos[url] = known[0]
            if framework and known[1] != framework:
                changed.append(Repository(pk=known[0], framework=framework))
                self.repos[hash(url)] = (known[0], framework)
        # The URLs not found are in no row yet: COPYed with ids from the sequence.
        ids = insert_returning_ids(
            Repository._meta.db_table,
            ["url", "owner", "name", "description", "stars", "framework"],
            new,
            copy=True,
            ids=self.indexes.ids,
        )
        for row, pk in zip(new, ids):
            repos[row[0]] = pk
            self.repos[hash(row[0])] = (pk, row[5])
        Repository.objects.bulk_update(changed, ["framework"])
        return repos
