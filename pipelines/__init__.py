"""Orchestration and I/O: config, reading data, Prefect flows, publishing, the catalog, the CLI."""

# The flow and the CLI live in submodules (pipelines.flow, pipelines.cli), imported where used, so that importing
# this package (for load_published in a notebook) does not pay for Prefect.
from pipelines.catalog import load_published

__all__ = ["load_published"]
