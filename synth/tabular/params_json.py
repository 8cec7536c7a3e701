"""Estimator parameters as JSON and back, so that a saved model loads with exactly the parameters it was given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable_params", "tag_tuples", "untag_tuples"]


def jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    """Estimator parameters as JSON: tuples as lists, and public_metadata with its tuples tagged."""
    jsonable = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    if params.get("public_metadata") is not None:
        jsonable["public_metadata"] = tag_tuples(params["public_metadata"])
    return jsonable


def tag_tuples(value: Any) -> Any:
    """public_metadata as JSON that keeps tuples apart from lists ({"__tuple__": [...]}), so load rebuilds it."""
    if isinstance(value, Mapping):
        return {k: tag_tuples(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {"__tuple__": [tag_tuples(v) for v in value]}
    if isinstance(value, list):
        return [tag_tuples(v) for v in value]
    return value


def untag_tuples(value: Any) -> Any:
    """The inverse of tag_tuples."""
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(untag_tuples(v) for v in value["__tuple__"])
        return {k: untag_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag_tuples(v) for v in value]
    return value
