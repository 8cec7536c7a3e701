"""The ``synth`` command line: run a pipeline config, show a table's inferred schema.

Exit codes: 0 passed (or passed with warnings), 1 gate failed or publishing failed, 2 bad input
(usage, config, or data that cannot be read or modelled).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from pipelines.errors import ConfigError, DataError, PipelineError

__all__ = ["main"]

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


class _Failed(click.ClickException):
    exit_code = EXIT_GATE_FAILED


def _quiet_prefect_defaults() -> None:
    """Settings that keep an offline ephemeral Prefect quiet; the user's own environment wins."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "synth,validators,pipelines")


@click.group(
    name="synth",
    epilog="\b\nExit codes:\n  0  passed (or passed with warnings)\n  1  gate failed, or publishing failed\n"
    "  2  bad input: usage, config, or data that cannot be read or modelled",
)
@click.version_option(package_name="synth-pipeline")
def main() -> None:
    """Train conditional GANs on real tables, measure the synthetic data, and publish it as Parquet."""


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar and only warnings from the flow's log.")
def run(config_path: Path, quiet: bool) -> None:
    """Run the pipeline described by the YAML file CONFIG."""
    from pipelines.config import load_config
    from pipelines.steps import load_source

    try:
        config = load_config(config_path)
        source = load_source(config)  # bad data stops here, before Prefect starts and before anything is written
    except (ConfigError, DataError) as exc:
        raise _BadInput(str(exc)) from None
    if not quiet:
        from synth import Schema

        click.echo(f"Schema of {config.source}:\n{Schema.from_json(source.schema_json).describe()}\n", err=True)
    _quiet_prefect_defaults()
    if quiet:
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    from pipelines.flow import synthesize

    try:
        result = synthesize(config, show_progress=not quiet)
    except (ConfigError, DataError) as exc:
        raise _BadInput(str(exc)) from None
    except PipelineError as exc:
        raise _Failed(str(exc)) from None
    click.echo(f"verdict: {result.verdict}")
    for name, figures in result.metrics.items():
        click.echo(f"  {name:<18} {figures['value']:.4f}   (real holdout {figures['reference']:.4f})")
    if result.published is not None:
        click.echo(f"published: {_shown(Path(result.published.path))}")
    click.echo(
        f"report:    {_shown(Path(result.published.path if result.published else result.run_dir) / 'report.html')}"
    )


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it lies inside it: shorter to read and to copy."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


@main.command()
@click.argument("data_path", metavar="DATA", type=click.Path(path_type=Path))
def schema(data_path: Path) -> None:
    """Show the schema inferred from a Parquet or CSV file (what `run` would model)."""
    from pipelines.sources import read_source
    from synth import SynthError, infer_schema

    try:
        click.echo(infer_schema(read_source(data_path)).describe())
    except (DataError, SynthError) as exc:
        raise _BadInput(str(exc)) from None


if __name__ == "__main__":
    logging.basicConfig()
    sys.exit(main())
