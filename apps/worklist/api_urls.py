"""Worklist endpoints under /api/v1/ (API.md "Work items")."""

from django.urls import path

from apps.worklist import api

_ONE = "work-items/<uuid:work_item_id>/"

urlpatterns = [
    path("work-items/", api.WorkItemListView.as_view(), name="work-item-list"),
    path("work-items/counts/", api.WorkItemCountsView.as_view(), name="work-item-counts"),
    path(_ONE, api.WorkItemDetailView.as_view(), name="work-item-detail"),
    path(f"{_ONE}form/", api.WorkItemFormView.as_view(), name="work-item-form"),
    path(f"{_ONE}claim/", api.WorkItemClaimView.as_view(), name="work-item-claim"),
    path(f"{_ONE}unclaim/", api.WorkItemUnclaimView.as_view(), name="work-item-unclaim"),
    path(f"{_ONE}complete/", api.WorkItemCompleteView.as_view(), name="work-item-complete"),
    path(f"{_ONE}reassign/", api.WorkItemReassignView.as_view(), name="work-item-reassign"),
    path(f"{_ONE}comments/", api.WorkItemCommentsView.as_view(), name="work-item-comments"),
]
