"""Parameters declared once, with their constraints, as scikit-learn's ``_parameter_constraints`` does: an
estimator's ``validate_params`` checks them, and the pipeline config builds its model section from them, so a value
is refused with the same words in Python and in a YAML file."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth.devices import resolve_device
from synth.errors import ParameterError

__all__ = [
    "DEVICE",
    "TRAINING",
    "Flag",
    "Integer",
    "Options",
    "Param",
    "Real",
    "Validated",
    "Widths",
    "is_int",
    "is_number",
]


def is_int(value: Any) -> bool:
    """An integer (numpy's too), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite number (numpy's too), not a bool."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True, slots=True)
class Integer:
    """An int >= ``low``."""

    low: int

    @property
    def description(self) -> str:
        return f"an int >= {self.low}"

    def holds(self, value: Any) -> bool:
        return is_int(value) and value >= self.low


@dataclass(frozen=True, slots=True)
class Real:
    """A finite number between ``low`` and ``high`` (None: unbounded), each end open or closed."""

    low: float | None
    high: float | None = None
    low_open: bool = True
    high_open: bool = True

    @property
    def description(self) -> str:
        if self.high is None:
            return f"a number {'>' if self.low_open else '>='} {self.low:g}"
        return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def holds(self, value: Any) -> bool:
        if not is_number(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below


@dataclass(frozen=True, slots=True)
class Options:
    """One of a few strings."""

    values: tuple[str, ...]

    @property
    def description(self) -> str:
        quoted = [repr(v) for v in self.values]
        return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"

    def holds(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values


@dataclass(frozen=True, slots=True)
class Flag:
    """True or False."""

    description: str = "True or False"

    def holds(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Widths:
    """Layer widths: a non-empty sequence of ints >= 1."""

    description: str = "a non-empty sequence of ints >= 1"

    def holds(self, value: Any) -> bool:
        return isinstance(value, list | tuple) and bool(value) and all(is_int(v) and v >= 1 for v in value)


@dataclass(frozen=True, slots=True)
class Validated:
    """A value of ``kind`` that ``check`` accepts; ``check`` raises ParameterError naming what is wrong with it."""

    kind: type
    check: Callable[[Any], Any]
    description: str

    def holds(self, value: Any) -> bool:
        if not isinstance(value, self.kind):
            return False
        self.check(value)
        return True


Constraint = Integer | Real | Options | Flag | Widths | Validated


@dataclass(frozen=True, slots=True)
class Param:
    """One estimator parameter: its constraint, and whether None is one of its values (and what None means)."""

    constraint: Constraint
    nullable: bool = False

    def check(self, name: str, value: Any) -> None:
        """Raise ParameterError, naming ``name``, when ``value`` is not one this parameter takes."""
        if value is None and self.nullable:
            return
        if not self.constraint.holds(value):
            either = "None or " if self.nullable else ""
            raise ParameterError(f"{name} must be {either}{self.constraint.description}, got {value!r}")


#: A torch device this machine has: "auto" (CUDA when present), "cpu" or "cuda[:N]".
DEVICE = Validated(str, resolve_device, "'auto', 'cpu' or 'cuda[:N]'")

#: The keywords every synthesizer takes, with their rules.
TRAINING = {
    "epochs": Param(Integer(1)),
    "batch_size": Param(Integer(1), nullable=True),  # None: the estimator chooses
    "seed": Param(Integer(0), nullable=True),
    "device": Param(DEVICE),
    "noise_dim": Param(Integer(1)),
    "learning_rate": Param(Real(0, 1), nullable=True),  # None: the estimator chooses
}
