"""Orchestration and I/O: config, reading data, Prefect flows, publishing, the CLI."""
