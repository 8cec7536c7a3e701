"""The catalog: list, pull and load_published find the right version, verify checksums and refuse damaged data."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pipelines import load_published
from pipelines.catalog import find_version, pull
from pipelines.cli import main
from pipelines.errors import IntegrityError, NotFound
from pipelines.publish import publish_version, quarantine, write_parquet
from pipelines.store import Store

SCHEMA = pa.schema(
    [("n", pa.int32()), ("plan", pa.dictionary(pa.int8(), pa.large_string())), ("when", pa.timestamp("us", "UTC"))]
)

ARROW_B64 = base64.b64encode(SCHEMA.serialize().to_pybytes()).decode()


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": pd.Series(range(n), dtype="int32"),
            "plan": pd.Categorical(["basic", "pro"] * (n // 2) + ["basic"] * (n % 2)),
            "when": pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
        }
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A catalog with demo v1 (synthetic, 3 rows), v2 (augmented, 5 rows in two parts) and one quarantined entry."""
    store = Store.open(tmp_path / "catalog")
    for rows, kind in (([3], "synthetic"), ([2, 3], "augmented")):
        parts = []
        for index, n in enumerate(rows):
            path = tmp_path / f"{kind}-{index}.parquet"
            write_parquet(_frame(n), SCHEMA, path)
            parts.append(path)
        manifest = {
            "rows": sum(rows),
            "kind": kind,
            "created": "2026-11-23T10:00:00+00:00",
            "gate": {"verdict": "passed"},
        }
        publish_version(store, "demo", parts, manifest, {"report.html": "<p>"})
    write_parquet(_frame(4), SCHEMA, tmp_path / "bad.parquet")
    manifest = {"rows": 4, "gate": {"verdict": "failed"}, "quarantined": {"reason": "gate failed: column_shapes"}}
    quarantine(store, "demo", [tmp_path / "bad.parquet"], manifest, {})
    return tmp_path / "catalog"


def test_find_version_latest_by_number_and_kind(root: Path) -> None:
    assert find_version("demo", root=root).version == "v2"
    assert find_version("demo", "v1", root=root).kind == "synthetic"
    assert find_version("demo", "1", root=root).version == "v1"
    assert find_version("demo", kind="synthetic", root=root).version == "v1"
    with pytest.raises(NotFound, match="demo has no version v9; versions: v1, v2"):
        find_version("demo", "v9", root=root)
    with pytest.raises(NotFound, match=r"no published dataset 'nope' under .*; published: demo"):
        find_version("nope", root=root)


def test_load_published_keeps_every_type(root: Path) -> None:
    frame = load_published("demo", "v2", root=root)
    expected = pd.concat([_frame(2), _frame(3)], ignore_index=True)
    assert len(frame) == 5 and frame["n"].dtype == "int32"
    assert isinstance(frame["plan"].dtype, pd.CategoricalDtype) and str(frame["when"].dtype) == "datetime64[us, UTC]"
    assert frame["n"].tolist() == expected["n"].tolist() and frame["plan"].tolist() == expected["plan"].tolist()


def test_root_comes_from_synth_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTH_ROOT", str(root))
    assert len(load_published("demo", "v1")) == 3
    listed = CliRunner().invoke(main, ["list"])
    assert listed.exit_code == 0 and "demo  v2       augmented  5" in listed.output


def test_pull_writes_one_parquet_file_with_the_input_types(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "demo.parquet"
    found, location = pull("demo", output=out, root=root)
    assert found.version == "v2" and location == str(out)
    table = pq.read_table(out)
    # Parquet reads dictionary<large_string> back as dictionary<string>: the same as reading the published parts.
    assert table.num_rows == 5 and table.schema == pq.read_schema(root / "demo" / "v2" / "part-00000.parquet")
    assert table.cast(SCHEMA).equals(pa.Table.from_pandas(load_published("demo", root=root), schema=SCHEMA))
    assert [p.name for p in out.parent.iterdir()] == ["demo.parquet"]  # no partial file left


@pytest.mark.parametrize("damage", ["tamper", "truncate", "remove", "extra part"])
def test_damaged_versions_are_refused(root: Path, tmp_path: Path, damage: str) -> None:
    folder = root / "demo" / "v2"
    part = folder / "part-00001.parquet"
    if damage == "tamper":
        data = bytearray(part.read_bytes())
        data[len(data) // 2] ^= 0xFF
        part.write_bytes(bytes(data))
    elif damage == "truncate":
        part.write_bytes(part.read_bytes()[:-10])
    elif damage == "remove":
        part.unlink()
    else:
        (folder / "part-00002.parquet").write_bytes((folder / "part-00000.parquet").read_bytes())
    expected = {"tamper": "damaged", "truncate": "damaged", "remove": "incomplete", "extra part": "does not list"}
    with pytest.raises(IntegrityError, match=expected[damage]):
        load_published("demo", root=root)
    out = tmp_path / "pulled.parquet"
    result = CliRunner().invoke(main, ["pull", "demo", "--root", str(root), "-o", str(out)])
    assert result.exit_code == 1 and expected[damage] in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("damage", ["deleted", "truncated", "empty mapping", "not a mapping"])
def test_a_damaged_manifest_is_listed_as_damaged_and_healthy_versions_still_work(
    root: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    manifest = root / "demo" / "v2" / "manifest.json"
    if damage == "deleted":
        manifest.unlink()
    elif damage == "truncated":
        manifest.write_bytes(manifest.read_bytes()[:100])
    else:
        manifest.write_text("{}" if damage == "empty mapping" else "[1, 2]")
    runner = CliRunner()
    listed = runner.invoke(main, ["list", "demo", "--root", str(root)])
    assert listed.exit_code == 0 and "Traceback" not in listed.output
    v1, v2 = listed.output.splitlines()[1:3]
    assert v1.split()[:4] == ["demo", "v1", "synthetic", "3"] and "DAMAGED: manifest.json" in v2
    assert find_version("demo", root=root).version == "v1"  # latest skips the damaged version, with a warning
    assert "demo v2 damaged; skipped for latest" in caplog.text
    out = tmp_path / "v1.parquet"
    healthy = runner.invoke(main, ["pull", "demo", "--version", "v1", "-o", str(out), "--root", str(root)])
    assert healthy.exit_code == 0 and pq.read_table(out).num_rows == 3
    refused = runner.invoke(main, ["pull", "demo", "--version", "v2", "--root", str(root)])
    assert refused.exit_code == 1 and "demo v2" in refused.output and "is damaged: manifest.json" in refused.output
    assert "Traceback" not in refused.output


def test_names_outside_the_rules_are_refused_before_anything_is_read(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "v1"  # a well-formed version beside the root, reachable as ../elsewhere
    outside.parent.mkdir()
    (root / "demo" / "v1").rename(outside)
    for args in (["list", "../elsewhere"], ["pull", "../elsewhere", "--version", "v1"], ["list", "Demo"]):
        result = CliRunner().invoke(main, [*args, "--root", str(root)])
        assert result.exit_code == 2 and "is not a dataset name" in result.output, result.output


def test_pull_refuses_a_target_that_is_not_a_regular_file(root: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["pull", "demo", "-o", str(fifo), "--root", str(root)])
    assert result.exit_code == 2 and "is not a regular file" in result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the FIFO it was
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file either


def test_pull_to_stdout_streams_the_parquet_bytes(root: Path) -> None:
    result = CliRunner().invoke(main, ["pull", "demo", "--version", "v2", "-o", "-", "--root", str(root)])
    assert result.exit_code == 0
    table = pq.read_table(pa.BufferReader(result.stdout_bytes))
    assert table.cast(SCHEMA).equals(pa.Table.from_pandas(load_published("demo", "v2", root=root), schema=SCHEMA))
    assert "checksums verified" in result.stderr


def test_cli_list_pull_and_quarantine(root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["list", "demo", "--root", str(root)])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "KIND", "ROWS", "CREATED", "VERDICT"]
    assert lines[1].split() == ["demo", "v1", "synthetic", "3", "2026-11-23T10:00:00+00:00", "passed"]
    assert lines[2].split()[:4] == ["demo", "v2", "augmented", "5"]
    held = runner.invoke(main, ["list", "--quarantine", "--root", str(root)])
    assert held.exit_code == 0 and "gate failed: column_shapes" in held.output and "REASON" in held.output

    where = runner.invoke(main, ["pull", "demo", "--version", "v1", "--root", str(root)])
    assert where.exit_code == 0 and where.stdout.strip() == str(root / "demo" / "v1")
    assert "checksums verified" in where.stderr
    out = tmp_path / "v1.parquet"
    pulled = runner.invoke(main, ["pull", "demo", "--kind", "synthetic", "-o", str(out), "--root", str(root)])
    assert pulled.exit_code == 0 and pq.read_table(out).num_rows == 3

    for args, message in (
        (["pull", "nope", "--root", str(root)], "no published dataset 'nope'"),
        (["pull", "demo", "--version", "v7", "--root", str(root)], "demo has no version v7"),
        (["list", "nope", "--root", str(root)], "no published dataset 'nope'"),
        (["list", "--root", "nosuch://bucket/x"], "cannot open the output root nosuch://bucket/x"),
        (["pull", "demo", "--root", "nosuch://bucket/x"], "cannot open the output root nosuch://bucket/x"),
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    empty = runner.invoke(main, ["list", "--root", str(tmp_path / "empty")])
    assert empty.exit_code == 0 and "nothing published" in empty.output
    manifest = json.loads((root / "demo" / "v1" / "manifest.json").read_text())
    assert manifest["files"]["report.html"]["bytes"] == 3
