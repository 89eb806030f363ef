"""The REST API under /api/v1/ (django-ninja): thin endpoints over the services and selectors."""
