"""Orchestration and I/O: config, reading data, Prefect flows, publishing, the CLI."""

# The flow, the CLI and publishing live in submodules (pipelines.flow, pipelines.cli, ...), imported where used,
# so that importing this package does not pay for Prefect.
__all__: list[str] = []
