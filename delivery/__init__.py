"""Delivery tooling that needs no cloud credentials: the offline per-object diff and the affected-stack list."""
