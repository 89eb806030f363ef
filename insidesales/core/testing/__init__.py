"""Test utilities shared by every app: factories, a ready-made "world" of roles and records, DB snapshots."""
