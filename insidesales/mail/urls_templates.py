"""URL routes: email templates (list, new, edit with live preview, delete)."""

from django.urls import path

from insidesales.mail.views import templates as views

urlpatterns = [
    path("email-templates/", views.template_list, name="email_template_list"),
    path("email-templates/new/", views.template_new, name="email_template_new"),
    path("email-templates/preview/", views.template_preview, name="email_template_preview"),
    path("email-templates/preview-leads/", views.template_preview_leads, name="email_template_preview_leads"),
    path("email-templates/<int:pk>/edit/", views.template_edit, name="email_template_edit"),
    path("email-templates/<int:pk>/delete/", views.template_delete, name="email_template_delete"),
]
