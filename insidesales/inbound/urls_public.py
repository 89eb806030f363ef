"""Public form URLs (no sign-in): the hosted page, the start token, the embed script, the submit endpoint."""

from django.urls import path

from insidesales.inbound import views_public as views

urlpatterns = [
    path("f/<str:key>/", views.form_page, name="inbound_form_page"),
    path("f/<str:key>/start/", views.form_start, name="inbound_form_start"),
    path("f/<str:key>/embed.js", views.form_embed_script, name="inbound_form_embed"),
    path("f/<str:key>/submit/", views.form_submit, name="inbound_form_submit"),
]
