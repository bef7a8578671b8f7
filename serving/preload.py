"""Libraries imported at the very start of a process that will load a model, before MLflow.

skops, which MLflow's scikit-learn flavor loads models with, computes its default trust lists when it is first
imported: for each of scipy's ufuncs it searches the loaded modules one by one.  Imported before MLflow's tracking
client and its database layer, that search is over half as many modules (docs/serving.md, "Cold start", has what
it saved).
"""

import importlib.util


def import_skops_first() -> None:
    """Only where skops is installed, as in the serving image: a server without it loads no skops model."""
    if importlib.util.find_spec("skops") is not None:
        import skops.io  # type: ignore[import-untyped]  # noqa: F401  # imported for its import-time work
