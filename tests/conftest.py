"""Shared fixtures: small real data, a mixed-type table, and one Prefect test harness for the few flow tests; how
decoders read real encoded rows (``span_values``); and a tiny tabular fit and its save-and-reload check."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Prefect reads its settings at import: point it at a throwaway home and keep it offline before anything imports it.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="prefect-home-")
os.environ.pop("PREFECT_API_URL", None)
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# The CLI raises Prefect's 20 s for its temporary server to start, but in a test process Prefect is imported (and
# its settings read) before the CLI runs; two workers on two cores can take longer than 20 s.
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
# Under pytest-xdist each worker is one of several test processes on the machine. One torch thread each keeps them
# from competing for cores, and keeps a fit's thread count (so its floating-point sums, which the resume and
# determinism tests compare bit for bit) the same however many workers train at once.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth import TabularSynthesizer
from synth.tabular.checkpoint import CHECKPOINT_FILE
from synth.tabular.codecs import Span

atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)  # the throwaway home's few MB

ROOT = Path(__file__).resolve().parents[1]
ADULT = ROOT / "data" / "adult" / "adult_train.parquet"
#: A tabular fit small enough for a test: two epochs of one-layer networks on the CPU.
TINY_FIT = {"epochs": 2, "batch_size": 100, "generator_dims": (32,), "discriminator_dims": (32,), "device": "cpu"}


def reloaded(model: TabularSynthesizer, folder: Path) -> TabularSynthesizer:
    """``model`` saved to ``folder`` and read back, checked to sample the same rows for a seed."""
    model.save(folder)
    loaded = TabularSynthesizer.load(folder)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=4), model.sample(300, seed=4))
    return loaded


def synth_env(home: Path) -> dict[str, str]:
    """The environment of a ``synth`` child process: its own offline Prefect home, never the user's API, and its own
    temporary folder beside it (``tmp``), so what a killed run cannot remove stays with the test."""
    scratch = home.parent / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "TMPDIR": str(scratch)}
    env.pop("PREFECT_API_URL", None)
    return env


def run_until_checkpoint(args: list[str], env: dict[str, str], work_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """``synth ARGS`` in a session of its own (a test can signal the run alone or its whole group), returned once its
    first training checkpoint is on disk: the renamed file, never the temporary one it is written to."""
    with log.open("wb") as out:
        run = subprocess.Popen(
            [str(Path(sys.executable).parent / "synth"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while not list((work_dir / "models").glob(f"*/checkpoint/{CHECKPOINT_FILE}")):
            assert run.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no training checkpoint appeared"
            time.sleep(0.05)
    except BaseException:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        raise
    return run


def span_values(encoded: np.ndarray, spans: tuple[Span, ...] | list[Span]) -> np.ndarray:
    """What a decoder reads for encoded rows: a tanh head's value, a one-hot head's slot (its argmax)."""
    columns, start = [], 0
    for span in spans:
        block = encoded[:, start : start + span.width]
        columns.append(block[:, 0] if span.activation == "tanh" else block.argmax(axis=1).astype(np.float32))
        start += span.width
    return np.stack(columns, axis=1) if columns else np.zeros((len(encoded), 0), dtype=np.float32)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``cuda`` run only where a CUDA GPU is present (``make test-gpu``); elsewhere they skip."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def adult_table() -> pa.Table:
    """600 rows of the bundled Adult training file, as Arrow (the types a pipeline reads)."""
    table = pq.read_table(ADULT)
    rows = np.random.default_rng(0).choice(table.num_rows, size=600, replace=False)
    return table.take(np.sort(rows))


@pytest.fixture(scope="session")
def adult_file(adult_table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("adult") / "adult_small.parquet"
    pq.write_table(adult_table, path)
    return path


def people_frame(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A table about people, as a stranger brings one: names (lower case), contacts, addresses, court case numbers,
    free-text notes with nulls, dates as text, and the ordinary columns beside them (Faker draws the identities)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    first = [fake.first_name() for _ in range(rows)]
    last = [fake.last_name() for _ in range(rows)]
    age = rng.integers(18, 80, rows)
    charge = rng.choice(["Battery", "Possession of Cocaine", "Grand Theft", "DUI", "Burglary"], rows)
    priors = rng.poisson(np.where(age > 40, 4, 1.5))
    return pd.DataFrame(
        {
            "person_id": np.arange(1, rows + 1),
            "name": [f"{a} {b}".lower() for a, b in zip(first, last, strict=True)],
            "first": [a.lower() for a in first],
            "last": [b.lower() for b in last],
            "email": [fake.email() for _ in range(rows)],
            "phone": [fake.numerify("(###) ###-####") for _ in range(rows)],
            "address": [fake.street_address() for _ in range(rows)],
            "c_case_number": [f"{rng.integers(13, 15)}{rng.integers(0, 999_999):06d}CF10A" for _ in range(rows)],
            "notes": [fake.sentence(nb_words=10) if rng.random() < 0.7 else None for _ in range(rows)],
            "dob": [str(fake.date_of_birth(minimum_age=18, maximum_age=80)) for _ in range(rows)],
            "sex": rng.choice(["Male", "Female"], rows),
            "age": age,
            "charge": charge,
            "degree": np.where(np.isin(charge, ["Battery", "DUI"]), "M", "F"),
            "priors": priors,
            # a handful of rows hold rare values: a category and an extreme only they have
            "county": np.where(np.arange(rows) < 3, "Liberty", rng.choice(["Broward", "Miami-Dade"], rows)),
            "bail": np.where(np.arange(rows) < 2, 950_000.0, rng.gamma(2.0, 2_000.0, rows).round(2)),
        }
    )


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """One column of every kind, with nulls where a kind allows them."""
    n = 200
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n, dtype=np.int64),
            "age": rng.integers(18, 90, n).astype(np.int64),
            "visits": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 20, n)), dtype="Int64"),
            "income": np.where(rng.random(n) < 0.05, np.nan, rng.lognormal(10, 1, n)),
            "member": rng.random(n) < 0.3,
            "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n), categories=["basic", "plus", "pro"]),
            "city": pd.Series(
                np.where(rng.random(n) < 0.1, None, rng.choice(["Oslo", "Lima", "Pune"], n)), dtype="str"
            ),
            "signed_up": pd.to_datetime("2024-01-01", utc=True) + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "country": pd.Series(["NO"] * n, dtype="str"),
        }
    )


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API for the whole session; only flow tests request it."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """The CLI sets variables for its own process (`run --quiet` lowers Prefect's log level); run in-process by
    CliRunner they would leak into later tests and the subprocesses those start."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
