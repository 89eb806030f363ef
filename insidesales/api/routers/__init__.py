"""One router per resource; `insidesales.api.api` mounts them."""
