"""URL routes: sequences (list, detail with steps and report, editing, enrollments) and enrolling records."""

from django.urls import path

from insidesales.mail.views import sequence_enroll, sequences

urlpatterns = [
    path("sequences/", sequences.sequence_list, name="sequence_list"),
    path("sequences/new/", sequences.sequence_create, name="sequence_create"),
    path("sequences/<int:pk>/", sequences.sequence_detail, name="sequence_detail"),
    path("sequences/<int:pk>/edit/", sequences.sequence_edit, name="sequence_edit"),
    path("sequences/<int:pk>/status/", sequences.sequence_status, name="sequence_status"),
    path("sequences/<int:pk>/enroll/", sequences.sequence_enroll, name="sequence_enroll"),
    path("sequences/<int:pk>/enrollments/", sequences.sequence_enrollments, name="sequence_enrollments"),
    path("sequences/<int:pk>/steps/new/", sequences.step_create, name="sequence_step_create"),
    path("sequences/<int:pk>/steps/<int:step_pk>/edit/", sequences.step_edit, name="sequence_step_edit"),
    path("sequences/<int:pk>/steps/<int:step_pk>/delete/", sequences.step_delete, name="sequence_step_delete"),
    path("sequences/<int:pk>/steps/<int:step_pk>/move/", sequences.step_move, name="sequence_step_move"),
    path(
        "sequences/enroll/lead/<int:pk>/",
        sequence_enroll.record_enroll,
        {"record_type": "lead"},
        name="sequence_enroll_lead",
    ),
    path(
        "sequences/enroll/contact/<int:pk>/",
        sequence_enroll.record_enroll,
        {"record_type": "contact"},
        name="sequence_enroll_contact",
    ),
    path("sequences/enroll/leads/", sequence_enroll.bulk_enroll, {"record_type": "lead"}, name="sequence_enroll_leads"),
    path(
        "sequences/enroll/contacts/",
        sequence_enroll.bulk_enroll,
        {"record_type": "contact"},
        name="sequence_enroll_contacts",
    ),
    path("enrollments/<int:pk>/stop/", sequences.enrollment_action, {"action": "stop"}, name="enrollment_stop"),
    path("enrollments/<int:pk>/pause/", sequences.enrollment_action, {"action": "pause"}, name="enrollment_pause"),
    path("enrollments/<int:pk>/resume/", sequences.enrollment_action, {"action": "resume"}, name="enrollment_resume"),
]
