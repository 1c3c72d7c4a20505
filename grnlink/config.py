"""Readable config validation errors (the typed settings are in grnlink.settings)."""

from __future__ import annotations


def describe_validation_error(error: Exception) -> str:
    """One line naming the config key at fault, from snakemake.utils.validate's error.

    Snakemake wraps the jsonschema error and prints the whole schema; users need the key
    path (`datasets.demo.n_cells`) and what is wrong with it.
    """
    from jsonschema.exceptions import ValidationError

    cause = error.__cause__ or error.__context__
    if not isinstance(cause, ValidationError):
        return str(error)
    best = _deepest(cause)
    key = ".".join(str(part) for part in best.absolute_path) or "<top level>"
    return f"invalid config: key '{key}': {best.message}"


def _deepest(error):
    """The most specific of nested errors (anyOf/if-then branches) is the informative one."""
    while error.context:
        error = max(error.context, key=lambda sub: len(sub.absolute_path))
    return error
