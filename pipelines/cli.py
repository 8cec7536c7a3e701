"""The ``synth`` command line: run or serve pipeline configs, gate a table, list and pull published datasets.

Exit codes: 0 passed (or passed with warnings), 1 gate failed, publishing failed, or a published dataset is damaged,
2 bad input (usage, config, data that cannot be read or modelled, or a dataset or version that does not exist),
3 internal error (a defect: the traceback goes to a log file), 128 + N stopped by signal N (130 SIGINT, 143 SIGTERM).
Every failure prints one ``Error: ...`` line; ``--debug`` also prints tracebacks, Prefect's included.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pipelines.errors import ConfigError, DataError, NotFound, PipelineError
from pipelines.interrupts import on_interrupt, stop_cleanly_on_signals

__all__ = ["main"]

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


class _Failed(click.ClickException):
    exit_code = EXIT_GATE_FAILED


class _InternalError(click.ClickException):
    exit_code = EXIT_INTERNAL


_DEBUG = "synth.debug"  # the context key of --debug


class _Commands(click.Group):
    """Every command runs with the clean-exit signal handlers (``pipelines.interrupts``), and an exception nobody
    expected becomes one line and exit 3; its traceback goes to a log file (or, with ``--debug``, the terminal)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_cleanly_on_signals():
                return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            text = traceback.format_exc()
            first_line = (str(exc).strip().splitlines() or [""])[0]
            summary = f"internal error: {type(exc).__name__}: {first_line}".rstrip(": ")
            if ctx.meta.get(_DEBUG):
                click.echo(text, err=True, nl=False)
                raise _InternalError(summary) from None
            raise _InternalError(f"{summary} (traceback in {_write_traceback(text)})") from None


def _write_traceback(text: str) -> str:
    """A log file for a defect's traceback, in the temporary folder: the report a user attaches to an issue."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(tempfile.gettempdir()) / f"synth-error-{stamp}-{os.getpid()}.log"
    path.write_text(text, encoding="utf-8")
    return str(path)


class _NoTracebacks(logging.Filter):
    """Keeps Prefect's log lines about a failed task or flow to their one-line message; the CLI names the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _short_prefect_failures() -> None:
    """Without ``--debug``, Prefect's console handler prints no traceback (call after Prefect is imported)."""
    if click.get_current_context().meta.get(_DEBUG):
        return
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler" and not any(
            isinstance(f, _NoTracebacks) for f in handler.filters
        ):
            handler.addFilter(_NoTracebacks())


def _quiet_prefect_defaults() -> None:
    """Settings that keep an offline ephemeral Prefect quiet; the user's own environment wins."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "synth,validators,pipelines")
    # Prefect's 20 s for its temporary server to start is too short on a busy machine (two runs on two cores).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@click.group(
    name="synth",
    cls=_Commands,
    epilog="\b\nExit codes:\n  0  passed (or passed with warnings)\n"
    "  1  gate failed, publishing failed, or a published dataset is damaged\n"
    "  2  bad input: usage, config, data that cannot be read or modelled, or no such dataset or version\n"
    "  3  internal error (a defect; the traceback is written to a log file)\n"
    "  130, 143  stopped by SIGINT, SIGTERM",
)
@click.version_option(package_name="synth-pipeline")
@click.option("--debug", is_flag=True, help="Print tracebacks (Prefect's too) instead of one line per error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Train conditional GANs on real tables and image sets, measure the synthetic data, publish it as Parquet."""
    ctx.meta[_DEBUG] = debug
    _quiet_prefect_defaults()  # before any command imports prefect, which reads its settings once


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar and only warnings from the flow's log.")
def run(config_path: Path, quiet: bool) -> None:
    """Run the pipeline described by the YAML file CONFIG."""
    from pipelines.config import load_config
    from pipelines.kinds import kind_of
    from pipelines.settings import Intake

    if quiet:  # before anything imports Prefect (a schedule's check does), which reads its settings once
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    # the data is read and checked here, before Prefect starts and before anything is written; the run uses it
    with (
        tempfile.TemporaryDirectory(prefix="synth-check-") as scratch,
        on_interrupt(lambda: shutil.rmtree(scratch, ignore_errors=True)),  # a signal exits without unwinding
    ):
        try:
            config = load_config(config_path)
            source = kind_of(config.model.kind).load(Intake.of(config), Path(scratch))
        except (ConfigError, DataError) as exc:
            raise _BadInput(str(exc)) from None
        if not quiet:
            click.echo(f"Schema of {config.source}:\n{source.schema.describe()}\n", err=True)
        from pipelines.flow import synthesize

        _short_prefect_failures()
        try:
            result = synthesize(config, show_progress=not quiet, source=source)
        except (ConfigError, DataError, NotFound) as exc:
            raise _BadInput(str(exc)) from None
        except PipelineError as exc:
            raise _Failed(str(exc)) from None
    click.echo(f"verdict: {result.verdict}")
    for name, figures in result.metrics.items():
        value, reference = _number(figures["value"]), _number(figures["reference"])
        click.echo(f"  {name:<18} {value:>7}   (real holdout {reference:>7})  {figures['status']}")
    click.echo(f"model:     {'reused (trained before on the same inputs)' if result.model_reused else 'trained'}")
    click.echo(f"published: {result.published.name} {result.published.version} at {_shown(result.published.path)}")
    click.echo(f"report:    {_shown(result.published.path + '/report.html')}")


def _number(value: object) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _shown(location: str) -> str:
    """A path relative to the working directory when inside it (shorter to read and to copy); URLs as they are."""
    if "://" in location:
        return location
    try:
        return str(Path(location).relative_to(Path.cwd()))
    except ValueError:
        return location


_ROOT_OPTION = click.option(
    "--root",
    envvar="SYNTH_ROOT",
    default="data/published",
    show_default=True,
    show_envvar=True,
    help="Catalog root: a folder or an object-store URL (s3://bucket/prefix).",
)


@main.command(name="list")
@click.argument("name", required=False)
@_ROOT_OPTION
@click.option("--quarantine", is_flag=True, help="Show candidates held back by a failed gate or contract instead.")
def list_(name: str | None, root: str, quarantine: bool) -> None:
    """Show published datasets (or one, NAME) with versions, rows, created time and verdict."""
    from pipelines.catalog import list_quarantined, list_versions
    from pipelines.store import Store

    try:
        store = Store.open(root)
        found = list_quarantined(store, name) if quarantine else list_versions(store, name)
    except (ConfigError, NotFound) as exc:
        raise _BadInput(str(exc)) from None
    if not found:
        what = "quarantined" if quarantine else "published"
        if name is not None and not quarantine:
            raise _BadInput(f"no published dataset '{name}' under {store.show()}")
        click.echo(f"nothing {what}{f' for {name}' if name else ''} under {store.show()}", err=True)
        return
    header = ["NAME", "ENTRY" if quarantine else "VERSION", "KIND", "ROWS", "CREATED", "VERDICT"]
    rows = [
        [v.name, v.version, v.kind, f"{v.rows:,}", v.created, v.verdict]
        if v.damage is None
        else [v.name, v.version, "?", "?", "?", f"DAMAGED: {v.damage}"]
        for v in found
    ]
    if quarantine:
        header.append("REASON")
        for row, version in zip(rows, found, strict=True):
            reason = str(version.manifest.get("quarantined", {}).get("reason", ""))
            row.append(reason if len(reason) <= 100 else reason[:97] + "...")
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@main.command()
@click.argument("name")
@click.option("--version", "version", default="latest", show_default=True, help="latest, or a version such as v3.")
@click.option("--kind", type=click.Choice(["synthetic", "augmented"]), help="Only versions of this kind.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="Write one Parquet file here (a regular file, replaced whole), or - for stdout.",
)
@_ROOT_OPTION
def pull(name: str, version: str, kind: str | None, output: Path | None, root: str) -> None:
    """Verify a published version's checksums; write it to one Parquet file, or print where its parts are."""
    from pipelines.catalog import pull as pull_version
    from pipelines.errors import IntegrityError

    to_stdout = output is not None and str(output) == "-"
    try:
        sink = sys.stdout.buffer if to_stdout else output
        found, location = pull_version(name, version, kind=kind, output=sink, root=root)
    except (ConfigError, DataError, NotFound) as exc:
        raise _BadInput(str(exc)) from None
    except IntegrityError as exc:
        raise _Failed(str(exc)) from None
    click.echo(
        f"{found.name} {found.version} ({found.kind}, {found.rows:,} rows, {found.verdict}): checksums verified",
        err=True,
    )
    if not to_stdout:  # stdout holds the Parquet bytes
        click.echo(location)


@main.command()
@click.argument("config_paths", metavar="CONFIG...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(min=1), help="Most flow runs at once (default: no limit).")
def serve(config_paths: tuple[Path, ...], limit: int | None) -> None:
    """Serve one Prefect deployment per CONFIG (on its schedule, if it has one) until interrupted.

    \b
    Needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api).
    Trigger a run by hand with: prefect deployment run 'synthesize/NAME'
    """
    from pipelines.config import load_config

    try:
        configs = [load_config(path) for path in config_paths]
    except ConfigError as exc:
        raise _BadInput(str(exc)) from None
    names = [config.name for config in configs]
    if len(set(names)) != len(names):
        raise _BadInput(f"two configs share a name ({', '.join(names)}); deployment names must differ")
    from pipelines.deployments import serve_configs

    serve_configs(configs, limit=limit)


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
@click.option(
    "--rare-min",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="k of the rare-value check: no real value held by fewer training rows may appear (1: no check).",
)
def gate(
    real_path: Path,
    synthetic_path: Path,
    holdout_path: Path | None,
    target: str | None,
    config_path: Path | None,
    report_path: Path | None,
    json_path: Path | None,
    seed: int,
    rare_min: int,
) -> None:
    """Judge a synthetic table against real data: a table on stdout, exit 0 pass or warn, 1 fail, 2 bad input."""
    from pipelines.gating import run_gate

    try:
        report = run_gate(real_path, synthetic_path, holdout_path, target, config_path, seed, rare_min)
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
