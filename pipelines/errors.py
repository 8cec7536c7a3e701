"""Errors raised by the orchestration side; the CLI turns each into one line and an exit code.

PipelineError                  base of everything raised on purpose here
├── ConfigError(ValueError)    the YAML config is missing, malformed, or has a bad or unknown key   (exit 2)
├── DataError(ValueError)      the source data cannot be read or cannot be trained on              (exit 2)
│   └── ContractViolation      a real batch broke the contract of the last published version      (exit 2)
├── NotFound(LookupError)      no such published dataset, version or kind                         (exit 2)
├── GateFailed                 the synthetic set failed an enforced quality gate                  (exit 1)
├── PublishError               a dataset version could not be written                             (exit 1)
└── IntegrityError             a published version is damaged or incomplete (checksums)           (exit 1)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ContractViolation",
    "DataError",
    "GateFailed",
    "IntegrityError",
    "NotFound",
    "PipelineError",
    "PublishError",
]


class PipelineError(Exception):
    """Base class of the errors pipelines raise on purpose."""


class ConfigError(PipelineError, ValueError):
    """The config is missing, malformed, or has a bad or unknown key."""


class DataError(PipelineError, ValueError):
    """The source data cannot be read or cannot be trained on."""


class ContractViolation(DataError):
    """A real batch broke the data contract recorded with the dataset's last published version."""


class GateFailed(PipelineError):
    """The synthetic set failed an enforced gate; nothing was published."""


class PublishError(PipelineError):
    """A dataset version could not be written."""


class NotFound(PipelineError, LookupError):
    """No published dataset, version or kind matches what was asked for."""


class IntegrityError(PipelineError):
    """A published version's files do not match its manifest: tampered with, or not fully written."""
