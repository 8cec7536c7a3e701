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
        value, reference = _number(figures["value"]), _number(figures["reference"])
        click.echo(f"  {name:<18} {value:>7}   (real holdout {reference:>7})  {figures['status']}")
    click.echo(f"published: {_shown(Path(result.published.path))}")
    click.echo(f"report:    {_shown(Path(result.published.path) / 'report.html')}")


def _number(value: object) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _shown(path: Path) -> Path:
    """A path relative to the working directory when it lies inside it: shorter to read and to copy."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


@main.command()
@click.option("--real", "real_path", required=True, type=click.Path(path_type=Path), help="Real training data.")
@click.option("--synthetic", "synthetic_path", required=True, type=click.Path(path_type=Path), help="Data to judge.")
@click.option(
    "--holdout",
    "holdout_path",
    type=click.Path(path_type=Path),
    help="Real rows the generator never saw; without it, 20% of --real is held out (seed --seed).",
)
@click.option("--target", help="Column for the utility check (train on synthetic, test on real).")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path), help="YAML with gate bounds (a gate: section)."
)
@click.option("--report", "report_path", type=click.Path(path_type=Path), help="Write the HTML report here.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Write the JSON report here.")
@click.option("--seed", default=0, show_default=True, help="Seed of the samples the metrics draw.")
def gate(
    real_path: Path,
    synthetic_path: Path,
    holdout_path: Path | None,
    target: str | None,
    config_path: Path | None,
    report_path: Path | None,
    json_path: Path | None,
    seed: int,
) -> None:
    """Judge a synthetic table against real data: a table on stdout, exit 0 pass or warn, 1 fail, 2 bad input."""
    from pipelines.gating import run_gate

    try:
        report = run_gate(real_path, synthetic_path, holdout_path, target, config_path, seed)
    except (ConfigError, DataError) as exc:
        raise _BadInput(str(exc)) from None
    click.echo(report.to_text())
    for path, text in ((report_path, report.to_html()), (json_path, report.to_json())):
        if path is not None:
            _write_atomically(path, text)
    if report.verdict.status == "failed":
        sys.exit(EXIT_GATE_FAILED)


def _write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(f".{path.name}.partial")
    staging.write_text(text, encoding="utf-8")
    staging.replace(path)


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
