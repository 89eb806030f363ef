"""URLs of the record pages: the same set for leads, contacts, companies and deals, plus verbs and tasks."""

from django.urls import path

from insidesales.crm.views import deals, leads, records, saved_views, tasks
from insidesales.crm.views.kinds import RECORD_KINDS


def record_urls(kind):
    """`/<plural>/...` routes named `<type>_<verb>`; the view learns its record type from `kind`."""
    p, n, k = kind.plural, kind.names, {"kind": kind}
    return [
        path(f"{p}/", records.record_list, k, name=n["list"]),
        path(f"{p}/new/", records.record_create, k, name=n["create"]),
        path(f"{p}/bulk/", records.record_bulk, k, name=n["bulk"]),
        path(f"{p}/<int:pk>/", records.record_detail, k, name=n["detail"]),
        path(f"{p}/<int:pk>/edit/", records.record_edit, k, name=n["edit"]),
        path(f"{p}/<int:pk>/delete/", records.record_delete, k, name=n["delete"]),
        path(f"{p}/<int:pk>/assign/", records.record_assign, k, name=n["assign"]),
        path(f"{p}/<int:pk>/notes/", records.record_notes, k, name=n["notes"]),
        path(f"{p}/<int:pk>/timeline/", records.record_timeline, k, name=n["timeline"]),
        path(f"{p}/<int:pk>/tasks/", records.record_task_add, k, name=n["task_add"]),
    ]


urlpatterns = [
    *[route for kind in RECORD_KINDS.values() for route in record_urls(kind)],
    path("leads/<int:pk>/work/", leads.lead_start_working, name="lead_start_working"),
    path("leads/<int:pk>/qualify/", leads.lead_qualify, name="lead_qualify"),
    path("leads/<int:pk>/disqualify/", leads.lead_disqualify, name="lead_disqualify"),
    path("leads/<int:pk>/convert/", leads.lead_convert, name="lead_convert"),
    path("deals/<int:pk>/stage/", deals.deal_stage, name="deal_stage"),
    path("tasks/", tasks.task_list, name="task_list"),
    path("tasks/new/", tasks.task_create, name="task_create"),
    path("tasks/<int:pk>/edit/", tasks.task_edit, name="task_edit"),
    path("tasks/<int:pk>/complete/", tasks.task_complete, name="task_complete"),
    path("views/save/", saved_views.saved_view_save, name="saved_view_save"),
    path("views/<int:pk>/delete/", saved_views.saved_view_delete, name="saved_view_delete"),
]
