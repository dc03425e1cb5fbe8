"""The agent's inbox and task page, over the worklist's gate (`work_item_get_for_user`) and services.

Someone else's item (not in the caller's groups, not assigned to them) is a 404, exactly as in the
API. Completing posts the form; the worklist validator's field errors come back beside the fields
and nothing is saved. Comments are added with htmx (a partial swap) or, without JS, a plain POST.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApiError, NotFound
from apps.core.roles import AGENT, OPS, has_role
from apps.definitions.selectors import definition_list
from apps.instances.selectors import instance_get
from apps.ui.access import caller, is_htmx, role_required
from apps.ui.forms import JsonObjectField
from apps.ui.schema_form import FieldView, build_fields, errors_by_field, parse_submission
from apps.worklist import selectors, services
from apps.worklist.forms import work_item_form
from apps.worklist.models import WorkItem
from apps.worklist.selectors import COUNT_CAP

_PAGE_SIZE = 25
TABS = {"mine": "My items", "queue": "My groups' queue"}
SORTS = {"due_at", "-due_at", "priority", "-priority"}


class InboxFilterForm(forms.Form):
    """Inbox filters: the process, the status, overdue only, and text in the item's name."""

    tab = forms.ChoiceField(choices=list(TABS.items()), required=False, widget=forms.HiddenInput)
    process_key = forms.ChoiceField(label="Process", required=False)
    status = forms.ChoiceField(label="Status", required=False, choices=[
        ("", "Open or claimed"), ("open", "Open"), ("claimed", "Claimed"), ("completed", "Completed"), ("any", "Any"),
    ])
    overdue = forms.BooleanField(label="Overdue only", required=False)
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Task name"}))
    ordering = forms.ChoiceField(required=False, choices=[(s, s) for s in sorted(SORTS)], widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = sorted({d.key for d in definition_list()})
        process_field = self.fields["process_key"]
        if isinstance(process_field, forms.ChoiceField):  # always; narrows the type
            process_field.choices = [("", "Any process"), *[(k, k) for k in keys]]


class CappedPaginator(Paginator):  # type: ignore[type-arg]  # over a WorkItem queryset
    """Counts at most `COUNT_CAP + 1` items ("1,000+"): a count of every item the inbox matches
    would read all of them on each page view, while the page itself comes from an index."""

    @cached_property
    def count(self) -> int:
        items: QuerySet[WorkItem] = self.object_list  # type: ignore[assignment]  # always a queryset here
        return items.order_by().values("pk")[: COUNT_CAP + 1].count()

    @property
    def count_exact(self) -> bool:
        """False when more than `COUNT_CAP` items match (then `count` is only a lower bound)."""
        return self.count <= COUNT_CAP

    @property
    def count_label(self) -> str:
        return str(self.count) if self.count_exact else f"{COUNT_CAP:,}+"


def _badges(user: Any) -> dict[str, int | str]:
    counts = selectors.work_item_counts_for_user(user=user, cap=COUNT_CAP)
    return {name: value if value <= COUNT_CAP else f"{COUNT_CAP:,}+" for name, value in counts.items()}


def _inbox_items(user: Any, filters: dict[str, Any]) -> Any:
    tab = filters.get("tab") or "mine"
    queryset = selectors.work_item_list_for_user(
        user=user, status=filters.get("status") or None, mine=tab == "mine",
        process_key=filters.get("process_key") or None, overdue=bool(filters.get("overdue")),
        q=filters.get("q") or None, ordering=filters.get("ordering") or "due_at",
    )
    return selectors.group_queue(queryset, user) if tab == "queue" else queryset


@require_GET
@role_required(AGENT, OPS)
def inbox(request: HttpRequest) -> HttpResponse:
    """My items / my groups' queue, filtered and sorted; htmx asks for the results partial only."""
    form = InboxFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    page = CappedPaginator(_inbox_items(request.user, filters), _PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "tab": filters.get("tab") or "mine",
        "tabs": TABS,
        "ordering": filters.get("ordering") or "due_at",
        "counts": _badges(request.user),
        "now": timezone.now(),
    }
    template = "ui/inbox/_results.html" if is_htmx(request) else "ui/inbox/list.html"
    return render(request, template, context)


class FreeFormForm(forms.Form):
    """Items without a form take any JSON object of variables."""

    variables = JsonObjectField(label="Variables (JSON object)", required=False)


def _task_context(request: HttpRequest, item: WorkItem, *, fields: list[FieldView] | None = None,
                  form_errors: list[str] | None = None, free_form: FreeFormForm | None = None) -> dict[str, Any]:
    user = request.user
    form = work_item_form(work_item=item)
    instance = item.instance
    mine = item.assignee_id == getattr(user, "pk", None)
    return {
        "item": item,
        "instance": instance,
        "fields": build_fields(form) if fields is None else fields,
        "has_form": bool(form.schema.get("properties")),
        "free_form": free_form or FreeFormForm(),
        "form_errors": form_errors or [],
        "comments": selectors.work_item_comments(work_item=item),
        "can_claim": item.is_active and item.assignee_id is None,
        "can_unclaim": item.is_active and item.assignee_id is not None and (mine or has_role(user, OPS)),
        "can_complete": item.is_active and (item.assignee_id is None or mine),
        "overdue": item.is_active and item.due_at is not None and item.due_at < timezone.now(),
        "diagram": {
            "xml_url": reverse("ui-process-xml", args=[instance.definition_id]),
            "completed": list(dict.fromkeys(instance.completed_activities)),
            "current": [item.activity_id],
        },
    }


def _item(request: HttpRequest, item_id: uuid.UUID) -> WorkItem:
    item = selectors.work_item_get_for_user(user=request.user, work_item_id=item_id)
    return WorkItem.objects.select_related("instance", "assignee").get(pk=item.pk)


@require_GET
@role_required(AGENT, OPS)
def task(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """The task page: form, instance context, diagram, comments, claim / unclaim / complete."""
    return render(request, "ui/inbox/task.html", _task_context(request, _item(request, item_id)))


def _action(request: HttpRequest, item_id: uuid.UUID, service: Any, done: str) -> HttpResponse:
    try:
        service(user=caller(request), work_item_id=item_id)
    except NotFound:
        raise
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("ui-task", item_id=item_id)


@require_POST
@role_required(AGENT, OPS)
def claim(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """Claim an open item."""
    return _action(request, item_id, services.work_item_claim, "You claimed this item.")


@require_POST
@role_required(AGENT, OPS)
def unclaim(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """Put a claimed item back into its queue."""
    return _action(request, item_id, services.work_item_unclaim, "The item is back in its queue.")


@require_POST
@role_required(AGENT, OPS)
def complete(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """Complete with the submitted form; invalid input re-renders the page (400) with field errors."""
    item = _item(request, item_id)
    form = work_item_form(work_item=item)
    free_form = FreeFormForm(request.POST)
    if form.schema.get("properties"):
        data, errors = parse_submission(form, request.POST)
    else:
        data = free_form.cleaned_data["variables"] if free_form.is_valid() else {}
        errors = {name: [str(m) for m in found] for name, found in free_form.errors.items()}
    if not errors:
        try:
            services.work_item_complete(user=caller(request), work_item_id=item.pk, variables=data)
        except NotFound:
            raise
        except ApiError as exc:
            return _complete_failed(request, item, form=form, data=data, exc=exc, free_form=free_form)
        messages.success(request, f"Completed “{item.name}”.")
        return redirect(_after_complete(request, item))
    fields = build_fields(form, values={**form.values, **data, **_raw(request, errors)}, errors=errors)
    return render(request, "ui/inbox/task.html", _task_context(request, item, fields=fields, free_form=free_form),
                  status=400)


def _raw(request: HttpRequest, errors: dict[str, Any]) -> dict[str, Any]:
    """What the user typed into the fields that failed to convert, so they can fix it in place."""
    return {name: request.POST.get(f"var__{name}", "") for name in errors}


def _complete_failed(request: HttpRequest, item: WorkItem, *, form: Any, data: dict[str, Any], exc: ApiError,
                     free_form: FreeFormForm) -> HttpResponse:
    names = {f.name for f in build_fields(form)}
    by_field, general = errors_by_field(exc.details, names)
    if exc.code != "invalid_form" or not (by_field or general):
        general = [exc.message, *general]
    item.refresh_from_db()
    fields = build_fields(form, values={**form.values, **data}, errors=by_field)
    context = _task_context(request, item, fields=fields, form_errors=general, free_form=free_form)
    # 400 invalid input, 409 a conflict (claimed by someone else), 422 the step failed (an incident).
    return render(request, "ui/inbox/task.html", context, status=exc.status_code if exc.status_code < 500 else 400)


def _after_complete(request: HttpRequest, item: WorkItem) -> str:
    """The instance page when the user may see it (to watch it move on), else the inbox."""
    try:
        instance_get(user=request.user, instance_id=item.instance_id)
    except NotFound:
        return reverse("ui-inbox")
    return reverse("ui-instance", args=[item.instance_id])


@require_POST
@role_required(AGENT, OPS)
def comment(request: HttpRequest, item_id: uuid.UUID) -> HttpResponse:
    """Add a comment; htmx gets the refreshed comment list, a plain POST a redirect."""
    item = _item(request, item_id)
    text = request.POST.get("text", "")
    error = None
    try:
        services.work_item_comment(user=caller(request), work_item_id=item.pk, text=text)
    except NotFound:
        raise
    except ApiError as exc:
        error = exc.message
    if not is_htmx(request):
        if error:
            messages.error(request, f"The comment was not added: {error}")
        return redirect(reverse("ui-task", args=[item.pk]) + "#comments")
    context = {"item": item, "comments": selectors.work_item_comments(work_item=item),
               "comment_error": error, "comment_text": text if error else ""}
    return render(request, "ui/inbox/_comments.html", context)

