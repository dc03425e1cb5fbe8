"""Work items: user and manual tasks waiting for a person, their candidates and their comments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.instances.models import ProcessInstance

DEFAULT_PRIORITY = 50  # Camunda's default task priority


class WorkItemStatus(models.TextChoices):
    """`open` (in the queue), `claimed` (someone works on it), `completed`, `cancelled` (by the process)."""

    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (WorkItemStatus.OPEN, WorkItemStatus.CLAIMED)


class WorkItem(models.Model):
    """A user or manual task of an instance, projected from the step pipeline's results.

    The primary key is the engine's task id, so completing the item names the task directly.
    Rows are written by `apps.worklist.projection` inside the step's transaction and changed by
    `apps.worklist.services` (which lock the instance row first, then this row). `candidate_groups`
    and `candidate_users` are kept for reading; `WorkItemCandidate` holds the same names as rows so
    "my groups' queue" is an indexed query. `form` is `{"kind", "schema", "ui_schema", "read_only"}`
    or `{}`. `version` grows with every change, for clients' optimistic checks.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    instance = models.ForeignKey(ProcessInstance, on_delete=models.CASCADE, related_name="work_items")
    process_key = models.CharField(max_length=255, db_index=True)  # denormalised: filters without a join
    activity_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, default="user")
    documentation = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=WorkItemStatus.choices, default=WorkItemStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidate_groups = models.JSONField(default=list, blank=True)
    candidate_users = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    priority = models.IntegerField(default=DEFAULT_PRIORITY, db_index=True)
    form = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ("-priority", "created_at")
        indexes = (
            # One status in the default list order (e.g. `?status=completed`, which grows without bound).
            models.Index(F("status"), F("priority").desc(), F("due_at").asc(), F("created_at"),
                         F("id"), name="work_item_status_priority"),
            models.Index(fields=("status", "due_at"), name="work_item_status_due"),
            models.Index(fields=("assignee", "status"), name="work_item_assignee_status"),
            # The inbox (open and claimed items) in its two usual orders, exactly as `selectors.ORDERINGS`
            # sorts, ids last (an ascending b-tree column puts NULLs last, as the lists do): PostgreSQL
            # walks these in order and stops after a page, probing each row's candidates, instead of
            # reading and sorting every active item.
            models.Index(F("priority").desc(), F("due_at").asc(), F("created_at"), F("id"),
                         name="work_item_inbox_priority", condition=Q(status__in=ACTIVE_STATUSES)),
            models.Index(F("due_at").asc(), F("priority").desc(), F("created_at"), F("id"),
                         name="work_item_inbox_due", condition=Q(status__in=ACTIVE_STATUSES)),
            # The inbox counts (`selectors.capped_count`, the badges): the active ids in key order, merged
            # with the candidate rows, from the index alone. Through the primary key every counted item
            # was a heap page of its own (1,000 pages for a capped count of 100,000 waiting items).
            models.Index(fields=("id",), name="work_item_active_id", condition=Q(status__in=ACTIVE_STATUSES)),
        )

    def __str__(self) -> str:
        return f"{self.activity_id} {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        """True while open or claimed: it can still be claimed, completed or reassigned."""
        return self.status in ACTIVE_STATUSES


class CandidateKind(models.TextChoices):
    """A candidate is a Django group (by name) or a user (by username).

    `assignee` is not a candidate: it is the item's assignee (by user id, which outlives a renamed
    username), kept beside the candidates so that "who may see this item" is one indexed lookup.
    """

    GROUP = "group", "Group"
    USER = "user", "User"
    ASSIGNEE = "assignee", "Assignee"


class WorkItemCandidate(models.Model):
    """One candidate group or user of a work item, or its assignee: the indexed side of the access rule.

    Names, not foreign keys: a model may name a group or user that does not exist yet, and the
    item must still reach whoever is put in that group later. Every item has one `assignee` row
    (name = the user's id) while it has an assignee, so an item is visible to a user exactly when
    one of its rows names them, their group or their id: a single `EXISTS`, which PostgreSQL turns
    into a semi-join it can drive from either side (an `OR` with `assignee_id` would prevent that).
    """

    # No index of its own: the unique constraint below starts with it.
    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="candidates", db_index=False)
    kind = models.CharField(max_length=8, choices=CandidateKind.choices)
    name = models.CharField(max_length=150)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("work_item", "kind", "name"), name="work_item_candidate_unique"),
        )
        # With the item id: "the items of these groups" is read from the index alone.
        indexes = (models.Index(fields=("kind", "name", "work_item"), name="work_item_candidate_name"),)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name} for {self.work_item_id}"


class WorkItemComment(models.Model):
    """A note on a work item. `text` is stored and returned verbatim; escaping is the renderer's job."""

    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.work_item_id}"
