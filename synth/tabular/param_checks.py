"""TabularSynthesizer's parameter checks: each bad value raises one ParameterError that names the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from synth.devices import resolve_device
from synth.errors import ParameterError
from synth.tabular.fakes import check_locale
from synth.tabular.private_metadata import check_public_metadata_shape

__all__ = ["check_params"]

_POSITIVE_INTS = ("epochs", "batch_size", "max_categories", "noise_dim", "pac", "discriminator_steps", "select_every")


def check_params(params: Mapping[str, Any]) -> None:
    """Raise ParameterError for a parameter out of range (or a device that is not here)."""
    for name in _POSITIVE_INTS:
        if not _is_int(params[name], 1):
            raise ParameterError(f"{name} must be an int >= 1, got {params[name]!r}")
    if params["max_categories"] < 2:
        raise ParameterError(f"max_categories must be >= 2, got {params['max_categories']}")
    if params["seed"] is not None and not _is_int(params["seed"], 0):
        raise ParameterError(f"seed must be None or an int >= 0, got {params['seed']!r}")
    if not (_is_number(params["learning_rate"]) and 0 < params["learning_rate"] < 1):
        raise ParameterError(f"learning_rate must be a number in (0, 1), got {params['learning_rate']!r}")
    resolve_device(params["device"])
    if not isinstance(params["sequential_heads"], bool):
        raise ParameterError(f"sequential_heads must be True or False, got {params['sequential_heads']!r}")
    if params["precision"] not in ("auto", "float32", "bfloat16"):
        raise ParameterError(f"precision must be 'auto', 'float32' or 'bfloat16', got {params['precision']!r}")
    for name in ("generator_dims", "discriminator_dims"):
        dims = params[name]
        if not isinstance(dims, list | tuple) or not dims or not all(_is_int(d, 1) for d in dims):
            raise ParameterError(f"{name} must be a non-empty sequence of ints >= 1, got {dims!r}")
    _check_budget(params)
    _check_privacy(params)


def _check_budget(params: Mapping[str, Any]) -> None:
    budget = params["time_budget_s"]
    if budget is not None and not (_is_number(budget) and budget > 0):
        raise ParameterError(f"time_budget_s must be None or a number of seconds > 0, got {budget!r}")
    share = params["validation_share"]
    if not (_is_number(share) and 0 <= share < 1):
        raise ParameterError(f"validation_share must be a number in [0, 1), got {share!r}")
    if params["privacy_epsilon"] is not None and budget is not None:
        raise ParameterError(
            "time_budget_s cannot be combined with privacy_epsilon: a private fit's steps are planned for its "
            "budget; set epochs instead"
        )


def _check_privacy(params: Mapping[str, Any]) -> None:
    """The privacy parameters' ranges, and the shape of public_metadata (its columns are checked by fit)."""
    epsilon = params["privacy_epsilon"]
    if epsilon is not None and not (_is_number(epsilon) and epsilon > 0):
        raise ParameterError(f"privacy_epsilon must be None or a number > 0, got {epsilon!r}")
    for name in ("privacy_delta", "metadata_share"):
        if not (_is_number(params[name]) and 0 < params[name] < 1):
            raise ParameterError(f"{name} must be a number in (0, 1), got {params[name]!r}")
    if not (_is_number(params["max_grad_norm"]) and params["max_grad_norm"] > 0):
        raise ParameterError(f"max_grad_norm must be a number > 0, got {params['max_grad_norm']!r}")
    if not _is_int(params["rare_category_min"], 1):
        raise ParameterError(f"rare_category_min must be an int >= 1, got {params['rare_category_min']!r}")
    check_public_metadata_shape(params["public_metadata"])
    check_locale(params["fake_locale"])


def _is_int(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
