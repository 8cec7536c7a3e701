"""A table about people through `synth run` with default protection: the published Parquet holds no real identifier
and no rare real value, and the gate's rare-value check says 0; privacy mode runs on it without public bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pipelines.catalog import load_published
from pipelines.cli import main
from tests.conftest import people_frame

pytestmark = pytest.mark.usefixtures("prefect_harness")

TINY_MODEL = "model: {epochs: 2, batch_size: 100, seed: 0, generator_dims: [32], discriminator_dims: [32]}"
IDENTIFIERS = ["name", "first", "last", "email", "phone", "address", "c_case_number", "notes"]


@pytest.fixture(scope="module")
def people_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "people.parquet"
    people_frame(1500).to_parquet(path)  # as pandas writes it, with its metadata
    return path


def _run(tmp_path: Path, source: Path, extra: str = "") -> tuple[int, str]:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"name: people\nsource: {source}\n{TINY_MODEL}\n"
        "generate: {rows: 1000, seed: 1, partitions: 2, batch_rows: 300}\n"
        f"output: {tmp_path / 'published'}\nwork_dir: {tmp_path / 'work'}\ngate: {{enforce: false}}\n{extra}"
    )
    result = CliRunner().invoke(main, ["run", str(config)])
    return result.exit_code, result.output


def _rare(real: pd.Series, k: int) -> set[object]:
    counts = real.dropna().astype(str).value_counts()
    return set(counts.index[counts < k])


def test_schema_command_shows_the_identifier_kinds(people_file: Path) -> None:
    result = CliRunner().invoke(main, ["schema", str(people_file)])
    assert result.exit_code == 0, result.output
    kinds = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[1:]}
    assert kinds["name"] == "person_name" and kinds["c_case_number"] == "code" and kinds["notes"] == "free_text"


def test_published_people_table_holds_no_real_identifier_or_rare_value(tmp_path: Path, people_file: Path) -> None:
    code, output = _run(tmp_path, people_file)
    assert code == 0, output
    real = pd.read_parquet(people_file)
    published = load_published("people", root=tmp_path / "published")
    assert len(published) == 1000 and list(published.dtypes) == list(real.dtypes)
    for column in [*IDENTIFIERS, "county", "charge", "sex", "degree"]:
        assert not set(published[column].dropna().astype(str)) & _rare(real[column], 5), column
    assert published["bail"].max() < real["bail"].max()
    keys = published["person_id"]  # numbered on through both parts and their batches, past the real keys
    assert keys.is_unique and keys.min() == real["person_id"].max() + 1
    folder = next((tmp_path / "published" / "people").glob("v*"))
    record = next(
        m for m in json.loads((folder / "report.json").read_text())["metrics"] if m["name"] == "rare_value_share"
    )
    assert record["value"] == 0.0 and record["status"] == "pass" and record["details"]["rare_min"] == 5
    contract = (folder / "synthetic-contract.json").read_text()
    assert '"Liberty"' not in contract and "950000" not in contract  # the published contract names no rare value


def test_privacy_mode_runs_on_the_people_table_without_public_bounds(tmp_path: Path, people_file: Path) -> None:
    code, output = _run(tmp_path, people_file, "mode: privacy\nprivacy: {epsilon: 3.0}\n")
    assert code == 0, output
    folder = next((tmp_path / "published" / "people").glob("v*"))
    bounds = json.loads((folder / "manifest.json").read_text())["privacy"]["bounds"]
    assert set(bounds) == {"dob", "age", "priors", "bail"}
    real = pd.read_parquet(people_file)
    published = load_published("people", root=tmp_path / "published")
    for column in IDENTIFIERS:
        assert not set(published[column].dropna().astype(str)) & _rare(real[column], 10), column
