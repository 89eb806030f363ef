from django.urls import path

from insidesales.crm.views.kinds import RECORD_KINDS
from insidesales.imports import duplicate_views, views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:job_id>/", views.import_detail, name="import_detail"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/report/", views.import_report, name="import_report"),
    path("imports/<int:job_id>/undo/", views.import_undo, name="import_undo"),
    path("duplicates/", duplicate_views.duplicate_list, name="duplicate_list"),
    path("duplicates/scan/", duplicate_views.duplicate_scan, name="duplicate_scan"),
    path("duplicates/<int:pair_id>/", duplicate_views.duplicate_merge, name="duplicate_merge"),
    path("duplicates/<int:pair_id>/dismiss/", duplicate_views.duplicate_dismiss, name="duplicate_dismiss"),
    path("merges/<int:merge_id>/undo/", duplicate_views.merge_undo, name="merge_undo"),
    *[
        route
        for kind in ("contact", "company")
        for plural in [duplicate_views.PLURAL[kind]]
        for route in (
            path(
                f"duplicates/{plural}/",
                duplicate_views.duplicate_list,
                {"kind": kind},
                name=f"{kind}_duplicate_list",
            ),
            path(
                f"duplicates/{plural}/<int:pair_id>/",
                duplicate_views.duplicate_merge,
                {"kind": kind},
                name=f"{kind}_duplicate_merge",
            ),
            path(
                f"duplicates/{plural}/<int:pair_id>/dismiss/",
                duplicate_views.duplicate_dismiss,
                {"kind": kind},
                name=f"{kind}_duplicate_dismiss",
            ),
            path(
                f"merges/{plural}/<int:merge_id>/undo/",
                duplicate_views.merge_undo,
                {"kind": kind},
                name=f"{kind}_merge_undo",
            ),
        )
    ],
    *[
        path(f"{kind.plural}/export/", views.record_export, {"kind": kind}, name=kind.names["export"])
        for kind in RECORD_KINDS.values()
    ],
]
