"""URLs of the web form settings pages (admins change, managers look), under settings/forms/."""

from django.urls import path

from insidesales.inbound import views_forms as views

urlpatterns = [
    path("settings/forms/", views.web_form_list, name="web_form_list"),
    path("settings/forms/new/", views.web_form_create, name="web_form_create"),
    path("settings/forms/<int:pk>/", views.web_form_detail, name="web_form_detail"),
    path("settings/forms/<int:pk>/use/", views.web_form_use, name="web_form_use"),
    path("settings/forms/<int:pk>/submissions/", views.web_form_submissions, name="web_form_submissions"),
    path("settings/forms/<int:pk>/spam/", views.web_form_spam, name="web_form_spam"),
    path("settings/forms/<int:pk>/active/", views.web_form_set_active, name="web_form_active"),
    path("settings/forms/<int:pk>/delete/", views.web_form_delete, name="web_form_delete"),
]
