"""In-memory natural-key -> id maps for tasks, areas, datasets and metrics, loaded once per file."""

from __future__ import annotations

from leaderboard.importers.base import Slugs, insert_ignoring_duplicates
from leaderboard.models import Area, Dataset, DatasetAlias, Metric, Task, TaskAlias
from leaderboard.rules import names
from leaderboard.rules.listing import categories_above
from leaderboard.rules.values import default_higher_is_better


class Tasks:
    """Task names resolved by rules.names.resolve over in-memory maps (the services' rule, over the table)."""

    def __init__(self):
        self.ids = dict(Task.objects.values_list("name", "id"))
        # name -> (task id, extra flag): the shape rules.names.resolve reads; a task alias never says extra.
        self.aliases = {
            name: (pk, False)
            for name, pk in TaskAlias.objects.values_list("name", "task_id")
        }
        self.normalised = names.normalised_index(
            Task.objects.order_by("id").values_list("id", "name")
        )
        self.slugs = Slugs(Task)
        self.slug_of = dict(Task.objects.values_list("id", "slug"))
        self.info = {
            pk: (d, s)
            for pk, d, s in Task.objects.values_list("id", "description", "source_link")
        }
        self.edges = set(
            Task.parents.through.objects.values_list("from_task_id", "to_task_id")
        )
        self.areas = dict(Area.objects.values_list("name", "id"))
        self.area_slugs = Slugs(Area)
        self.pending_areas: set[tuple[int, int]] = set()
        self.pending_edges: set[tuple[int, int]] = set()
        self.pending_info: set[int] = set()

    def id_for(self, name: str) -> int:
        pk = self.ids.get(name)  # resolve's first step, inline: most names are known exactly
        if pk is None:
            self.add_all([name])
            pk = self.ids[name] if name in self.ids else self.aliases[name][0]
        return pk

    def add_all(self, task_names) -> None:
        """Resolve these names (rules.names.resolve): a variant spelling becomes an alias of its
        task; the tasks of the names still unknown are created in one statement."""
        new: dict[str, Task] = {}
        variants = []
        for name in dict.fromkeys(task_names):
            if name in self.ids or name in self.aliases:
                continue
            found = names.resolve(name, self.ids, self.aliases, self.normalised)
            if found.id is not None:
                self.add_alias(found.id, name)
            elif names.normalised(name) in new:  # a variant of a task new in this call
                variants.append(name)
            else:
                new[names.normalised(name)] = Task(name=name, slug=self.slugs.make(name))
        Task.objects.bulk_create(new.values())
        for key, task in new.items():
            self.ids[task.name], self.slug_of[task.pk] = task.pk, task.slug
            self.normalised.setdefault(key, task.pk)
            self.info[task.pk] = ("", None)
        if variants:
            self.add_all(variants)

    def describe(
        self, task_id: int, description: str | None, source_link: object
    ) -> None:
        """Fill in what the archive says; an empty description never erases one."""
        old_description, old_link = self.info[task_id]
        changes = {}
        if description and description != old_description:
            changes["description"] = description
        if source_link is not None and source_link != old_link:
            changes["source_link"] = source_link
        if changes:
            self.info[task_id] = (
                changes.get("description", old_description),
                changes.get("source_link", old_link),
            )
            self.pending_info.add(task_id)  # written by save(), in bulk

    def add_alias(self, task_id: int, name: str) -> None:
        if name in self.ids or name in self.aliases:
            return
        TaskAlias.objects.create(name=name, task_id=task_id)
        self.aliases[name] = (task_id, False)

    def add_parent(self, child: int, parent: int) -> None:
        if child != parent and (child, parent) not in self.edges:
            self.edges.add((child, parent))
            self.pending_edges.add((child, parent))

    def add_area(self, task_id: int, name: str) -> None:
        if name not in self.areas:
            self.areas[name] = Area.objects.create(
                name=name, slug=self.area_slugs.make(name)
            ).pk
        self.pending_areas.add((task_id, self.areas[name]))

    def save(self) -> None:
        through = Task.parents.through._meta.db_table
        insert_ignoring_duplicates(
            through, ["from_task_id", "to_task_id"], sorted(self.pending_edges)
        )
        areas = Task.areas.through._meta.db_table
        insert_ignoring_duplicates(
            areas, ["task_id", "area_id"], sorted(self.pending_areas)
        )
        Task.objects.bulk_update(
            [
                Task(pk=pk, description=self.info[pk][0], source_link=self.info[pk][1])
                for pk in sorted(self.pending_info)
            ],
            ["description", "source_link"],
            batch_size=500,
        )
        self.pending_edges.clear()
        self.pending_areas.clear()
        self.pending_info.clear()

    def ancestors(self) -> dict[int, set[int]]:
        """Every task's categories above it (transitively; cycles tolerated): rules.listing."""
        return categories_above(self.edges)


class Datasets:
    def __init__(self, rejects=None):
        rows = list(
            Dataset.objects.values_list("id", "name", "slug", "parent_id", "variant")
        )
        self.ids = {name: pk for pk, name, _, _, _ in rows}
        self.name_of = {pk: name for pk, name, _, _, _ in rows}
        self.slug_of = {pk: slug for pk, _, slug, _, _ in rows}
        self.parts = {
            (parent, variant): pk for pk, _, _, parent, variant in rows if parent
        }
        self.normalised = names.normalised_index(
            (pk, name) for pk, name, _, parent, _ in sorted(rows) if parent is None
        )
        self.aliases = {
            name: (pk, extra)
            for name, pk, extra in DatasetAlias.objects.values_list(
                "name", "dataset_id", "uses_additional_data"
            )
        }
        self.slugs = Slugs(Dataset)

    def resolve(self, name: str) -> tuple[int, bool]:
        """(canonical dataset id, whether the listing name says extra training data): rules.names.resolve
        over the in-memory maps, as services.dataset_named over the table."""
        found = names.resolve(
            name, self.ids, self.aliases, self.normalised, extra_data=True
        )
        if found.id is None:
            return self.create(name), False
        if found.new_alias:
            self.alias(name, found.id, found.extra)
        return found.id, found.extra

    def alias(self, name: str, dataset_id: int, extra: bool) -> int:
        DatasetAlias.objects.create(
            name=name, dataset_id=dataset_id, uses_additional_data=extra
        )
        self.aliases[name] = (dataset_id, extra)
        return dataset_id

    def create(self, name: str, parent: int | None = None, variant: str = "") -> int:
        dataset = Dataset.objects.create(
            name=name, slug=self.slugs.make(name), parent_id=parent, variant=variant
        )
        self.ids[name], self.name_of[dataset.pk], self.slug_of[dataset.pk] = (
            dataset.pk,
            name,
            dataset.slug,
        )
        if parent is None:
            self.normalised.setdefault(names.normalised(name), dataset.pk)
        return dataset.pk

    def part(self, parent_id: int, variant: str) -> int:
        """The partition `variant` of a dataset (a sub-dataset in the archive)."""
        if (parent_id, variant) in self.parts:
            return self.parts[(parent_id, variant)]
        name, n = f"{self.name_of[parent_id]} ({variant})"[:290], 1
        while name in self.ids or name in self.aliases:
            n += 1
            name = f"{self.name_of[parent_id]} ({variant}) {n}"[:300]
        pk = self.create(name, parent_id, variant)
        self.parts[(parent_id, variant)] = pk
        return pk


class Metrics:
    def __init__(self):
        self.ids = dict(Metric.objects.values_list("name", "id"))

    def id_for(self, name: str) -> int:
        if name not in self.ids:
            # Never touches an existing metric: its direction may have been set by an admin.
            self.ids[name] = Metric.objects.create(
                name=name, higher_is_better=default_higher_is_better(name)
            ).pk
        return self.ids[name]
