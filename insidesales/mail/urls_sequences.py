"""URL routes: sequences."""

urlpatterns: list = []
