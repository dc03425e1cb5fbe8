"""Read-only admin for definitions: versions are immutable, so the admin may look but not touch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from apps.definitions.models import ProcessDefinition

# ModelAdmin is generic only in django-stubs; at run time it cannot be subscripted.
if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[ProcessDefinition]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(ProcessDefinition)
class ProcessDefinitionAdmin(_ModelAdmin):
    """Lists and shows definitions; adding, editing and deleting go through the API and its checks."""

    list_display = ("key", "version", "name", "filename", "deployed_at", "deployed_by")
    list_filter = ("key",)
    search_fields = ("key", "name", "content_hash")
    ordering = ("-deployed_at", "-version")
    # The raw upload can be megabytes of bytes; the API's /xml and /source endpoints serve it.
    exclude = ("source",)
    readonly_fields = (
        "key", "version", "name", "filename", "content_hash", "warnings", "deployed_at", "deployed_by",
    )

    def get_queryset(self, request: HttpRequest) -> Any:
        """Never load the uploaded bytes for the list."""
        return super().get_queryset(request).defer("source").select_related("deployed_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Uploads must be validated; the admin form would skip that."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: ProcessDefinition | None = None) -> bool:
        """Versions are immutable: running instances depend on them."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ProcessDefinition | None = None) -> bool:
        """Versions are immutable: running instances depend on them."""
        return False
