"""Template context: the current membership, so templates can show role-aware navigation."""


def membership(request):
    return {"membership": getattr(request, "membership", None)}
