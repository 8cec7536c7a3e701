"""The versions of the packages that decide what a model or an output is, recorded with every model and dataset."""

from __future__ import annotations

from importlib import metadata

__all__ = ["package_versions"]


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide what a model or an output is."""
    names = ("synth-pipeline", "torch", "numpy", "pandas", "pyarrow")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions
