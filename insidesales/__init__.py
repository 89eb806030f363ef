"""Inside Sales: an open-source, self-hosted inside-sales platform."""

__version__ = "0.1.0"
