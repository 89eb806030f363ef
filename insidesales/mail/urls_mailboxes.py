"""URL routes: mailboxes."""

urlpatterns: list = []
