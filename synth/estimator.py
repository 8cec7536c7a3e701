"""The scikit-learn estimator contract shared by the synthesizers: the parameters are the keyword-only arguments of
``__init__``, stored under their own names, so ``get_params``, ``set_params`` and ``clone`` need nothing else; each
is declared once with its constraint in ``_parameter_constraints``, which ``validate_params`` checks."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Self

from synth.errors import ParameterError
from synth.params import Param

__all__ = ["Estimator"]


class Estimator:
    """Base of the synthesizers: parameters read from the ``__init__`` signature (as scikit-learn does)."""

    #: Every ``__init__`` keyword and what values it takes (a test holds the two lists equal).
    _parameter_constraints: ClassVar[dict[str, Param]] = {}

    def validate_params(self) -> None:
        """Raise ParameterError for a parameter out of range (or a device that is not here); fit calls it."""
        for name, param in self._parameter_constraints.items():
            param.check(name, getattr(self, name))
        self._check_together()

    def _check_together(self) -> None:
        """Rules between parameters, after each has passed its own; none by default."""

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        parameters = inspect.signature(cls.__init__).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._defaults()}

    def set_params(self, **params: Any) -> Self:
        known = list(self._defaults())
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ParameterError(f"unknown parameter(s) {unknown}; known: {known}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = self._defaults()
        changed = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"{type(self).__name__}({changed})"
