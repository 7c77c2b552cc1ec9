"""The knowledge base: papers, tasks, datasets, metrics, results, code and methods.

A result is stored once, with one exact value per metric, and listed under
every task it belongs to (its leaderboard's task and that task's parent
categories), the way the original paper pages show it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Area(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    name = models.CharField(max_length=300, unique=True)
    slug = models.SlugField(max_length=300, unique=True)
    description = models.TextField(blank=True)
    areas = models.ManyToManyField(Area, related_name="tasks", blank=True)
    # A graph, not a tree: PWC lists a task under several categories.
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    # The archive's {"title", "url"} of an external table the task's results came from.
    source_link = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskAlias(models.Model):
    """Another name of a task (archive synonyms); resolves to one canonical task."""

    name = models.CharField(max_length=300, unique=True)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        verbose_name_plural = "task aliases"

    def __str__(self) -> str:
        return f"{self.name} → {self.task}"


class Dataset(models.Model):
    name = models.CharField(max_length=300, unique=True)
    slug = models.SlugField(max_length=300, unique=True)
    full_name = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    homepage = models.URLField(max_length=1000, blank=True)
    introduced_date = models.DateField(null=True, blank=True)
    paper = models.ForeignKey(
        "Paper", null=True, blank=True, on_delete=models.SET_NULL, related_name="introduced_datasets"
    )
    modalities = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    tasks = models.ManyToManyField(Task, related_name="datasets", blank=True)
    # A partition of another dataset (the archive's "subdatasets"), named `variant` there.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="subdatasets"
    )
    variant = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DatasetAlias(models.Model):
    """A name under which a dataset is listed, e.g. "WFW (Extra Data)" for WFLW.

    Dirty archive names are kept here and resolved to one canonical record;
    `uses_additional_data` records what the listing name itself says.
    """

    name = models.CharField(max_length=300, unique=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="aliases")
    uses_additional_data = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "dataset aliases"

    def __str__(self) -> str:
        return f"{self.name} → {self.dataset}"


class Metric(models.Model):
    class DirectionSource(models.TextChoices):
        DEFAULT = "default", "guessed from the name"
        ADMIN = "admin", "set by an admin"

    name = models.CharField(max_length=300, unique=True)
    higher_is_better = models.BooleanField(default=True)
    direction_source = models.CharField(
        max_length=10, choices=DirectionSource.choices, default=DirectionSource.DEFAULT
    )
    unit = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_loss(self) -> bool:
        return not self.higher_is_better


class Author(models.Model):
    name = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300, unique=True)

    class Meta:
        ordering = ["name"]
        # Name then id: the order of the author list (the id breaks ties between namesakes).
        indexes = [models.Index(fields=["name", "id"], name="author_name_id_idx")]

    def __str__(self) -> str:
        return self.name


class Conference(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Proceeding(models.Model):
    conference = models.ForeignKey(Conference, on_delete=models.CASCADE, related_name="proceedings")
    year = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=200, unique=True)  # "ICCV 2019"
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["-year", "name"]

    def __str__(self) -> str:
        return self.name


class Method(models.Model):
    name = models.CharField(max_length=300)
    slug = models.SlugField(max_length=300, unique=True)
    full_name = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    paper = models.ForeignKey(
        "Paper", null=True, blank=True, on_delete=models.SET_NULL, related_name="introduced_methods"
    )
    introduced_year = models.PositiveIntegerField(null=True, blank=True)
    source_url = models.URLField(max_length=1000, blank=True)
    source_title = models.CharField(max_length=500, blank=True)
    code_snippet_url = models.URLField(max_length=1000, blank=True)
    collections = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        # Name then id: the order of the method list (names are not unique).
        indexes = [models.Index(fields=["name", "id"], name="method_name_id_idx")]

    def __str__(self) -> str:
        return self.name


class Paper(models.Model):
    slug = models.SlugField(max_length=300, unique=True)
    title = models.CharField(max_length=1000)
    arxiv_id = models.CharField(max_length=50, null=True, blank=True, unique=True)
    abstract = models.TextField(blank=True)
    published = models.DateField(null=True, blank=True)
    url_abs = models.URLField(max_length=1000, blank=True)
    url_pdf = models.URLField(max_length=1000, blank=True)
    proceeding = models.ForeignKey(
        Proceeding, null=True, blank=True, on_delete=models.SET_NULL, related_name="papers"
    )
    # The venue text as published ("ICCV 2019 10"): kept for faithful export.
    proceeding_text = models.CharField(max_length=300, blank=True)
    conference_url_abs = models.URLField(max_length=1000, blank=True)
    conference_url_pdf = models.URLField(max_length=1000, blank=True)
    authors = models.ManyToManyField(Author, through="PaperAuthor", related_name="papers")
    tasks = models.ManyToManyField(Task, related_name="papers", blank=True)
    methods = models.ManyToManyField(Method, related_name="papers", blank=True)
    repositories = models.ManyToManyField("Repository", through="PaperRepository", related_name="papers")
    # Digest of the archive record last imported: an unchanged record is skipped cheaply.
    source_hash = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published", "id"]
        indexes = [
            models.Index(fields=["-published", "id"]),
            models.Index(fields=["title"]),
            models.Index(fields=["-created_at"]),
            # A proceeding's papers, newest first: the big ones hold 100k papers.
            models.Index(fields=["proceeding", "-published", "id"], name="paper_proceeding_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/paper/{self.slug}"


class PaperAuthor(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="authorships")
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="authorships")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["paper", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="unique_author_position"),
        ]


class Repository(models.Model):
    url = models.URLField(max_length=1000, unique=True)
    owner = models.CharField(max_length=300, blank=True)
    name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    stars = models.PositiveIntegerField(default=0)
    framework = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["-stars", "url"]
        verbose_name_plural = "repositories"
        indexes = [
            # The API lists repositories most starred first, all or one owner's.
            models.Index(fields=["-stars", "id"], name="repository_stars_idx"),
            models.Index(fields=["owner", "-stars", "id"], name="repository_owner_stars_idx"),
        ]

    def __str__(self) -> str:
        return self.url


class PaperRepository(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="code_links")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="paper_links")
    is_official = models.BooleanField(default=False)
    mentioned_in_paper = models.BooleanField(default=False)
    mentioned_in_github = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_official", "-repository__stars", "id"]
        verbose_name_plural = "paper repositories"
        constraints = [
            models.UniqueConstraint(fields=["paper", "repository"], name="unique_paper_repository"),
        ]


class Model(models.Model):
    """A named model of a paper; case variants of its name are aliases of it."""

    name = models.CharField(max_length=500)
    paper = models.ForeignKey(Paper, null=True, blank=True, on_delete=models.CASCADE, related_name="models")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "name"], name="unique_model_per_paper"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(paper__isnull=True), name="unique_model_without_paper"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Leaderboard(models.Model):
    """A (task, dataset) table, ranked by its primary metric in that metric's direction."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="leaderboards")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="leaderboards")
    slug = models.SlugField(max_length=400, unique=True)  # "face-alignment-on-wflw"
    description = models.TextField(blank=True)
    metrics = models.ManyToManyField(Metric, through="LeaderboardMetric", related_name="leaderboards")
    primary_metric = models.ForeignKey(
        Metric, null=True, blank=True, on_delete=models.SET_NULL, related_name="primary_for"
    )
    # The archive's links and citations of the dataset as this table gives them.
    dataset_links = models.JSONField(default=list, blank=True)
    dataset_citations = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task__name", "dataset__name"]
        constraints = [
            models.UniqueConstraint(fields=["task", "dataset"], name="unique_leaderboard"),
        ]

    def __str__(self) -> str:
        return f"{self.task} on {self.dataset}"

    def get_absolute_url(self) -> str:
        return self.url_of(self.slug)

    @staticmethod
    def url_of(slug: str) -> str:
        """A board's page, from its slug alone (lists read rows, not instances)."""
        return f"/sota/{slug}"


class LeaderboardMetric(models.Model):
    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="columns")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="columns")
    position = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["leaderboard", "position"]
        constraints = [
            models.UniqueConstraint(fields=["leaderboard", "metric"], name="unique_leaderboard_metric"),
        ]


class Result(models.Model):
    """One reported (or verified) result, stored once, listed under many tasks."""

    class Provenance(models.TextChoices):
        ARCHIVE = "archive", "PWC archive"
        SELF_REPORTED = "self_reported", "self-reported"
        VERIFIED = "verified", "verified"

    paper = models.ForeignKey(Paper, null=True, blank=True, on_delete=models.CASCADE, related_name="results")
    model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.SET_NULL, related_name="results")
    model_name = models.CharField(max_length=500)  # as listed, e.g. "Awing"
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="results")
    dataset_name = models.CharField(max_length=300)  # as listed, e.g. "WFW (Extra Data)"
    uses_additional_data = models.BooleanField(default=False)
    evaluated_on = models.DateField(null=True, blank=True)
    provenance = models.CharField(max_length=20, choices=Provenance.choices, default=Provenance.ARCHIVE)
    # The row as the archive gave it, for faithful export.
    listed_paper_title = models.CharField(max_length=1000, blank=True)
    listed_paper_url = models.CharField(max_length=1000, blank=True)
    code_links = models.JSONField(default=list, blank=True)
    model_links = models.JSONField(default=list, blank=True)
    external_id = models.CharField(max_length=300, null=True, blank=True)
    external_source_url = models.URLField(max_length=1000, blank=True)
    # The archive row's natural key (dataset listing, model, paper, occurrence) and content digest.
    archive_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    source_hash = models.CharField(max_length=32, blank=True)
    tasks = models.ManyToManyField(Task, through="ResultTask", related_name="results")
    # Whether the paper link counts: a verified result names its paper by the
    # submitter's word, so it is the paper's only once a confirmed author of
    # that paper submitted it or staff confirmed the link (see PaperClaim).
    paper_link_confirmed = models.BooleanField(default=True, db_default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["dataset", "evaluated_on"]),
            models.Index(fields=["paper"]),
            models.Index(fields=["-created_at"]),
            models.Index(fields=["provenance", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="unique_result_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} on {self.dataset_name}"


class ResultTask(models.Model):
    """Lists a result under a task: its leaderboard's own task, or a parent category of it."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="listings")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="result_listings")
    via_category = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["result", "task"], name="unique_result_task")]
        indexes = [models.Index(fields=["task", "result"])]


class MetricValue(models.Model):
    """The exact published number: a Decimal for ranking, the raw string for display."""

    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="values")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="values")
    value = models.DecimalField(max_digits=40, decimal_places=12, null=True, blank=True)
    raw = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["result", "metric"], name="unique_result_metric")]
        indexes = [models.Index(fields=["metric", "value"])]

    def __str__(self) -> str:
        return f"{self.metric}={self.raw}"


class PaperClaim(models.Model):
    """A user's claim to be an author of a paper; approved by staff or by a confirmed author."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        APPROVED = "approved", "approved"
        REJECTED = "rejected", "rejected"

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_claims")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["paper", "user"], name="unique_paper_claim")]

    def __str__(self) -> str:
        return f"{self.user} claims {self.paper} ({self.status})"
