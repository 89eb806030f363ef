"""URL routes: messages."""

urlpatterns: list = []
