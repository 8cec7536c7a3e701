"""Publishing: versions are atomic, checksummed, never overwritten, and concurrent publishers never collide."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.errors import PublishError
from pipelines.publish import publish_version
from pipelines.sources import file_sha256

SCHEMA = pa.schema([("n", pa.int32()), ("s", pa.large_string())])


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"n": range(n), "s": [f"row {i}" for i in range(n)]})


def test_version_has_exact_types_and_valid_checksums(tmp_path: Path) -> None:
    published = publish_version(tmp_path, "demo", _frame(10), SCHEMA, {"kind": "synthetic"}, {"report.html": "<p>"})
    folder = Path(published.path)
    assert published.version == "v1" and folder == tmp_path / "demo" / "v1"
    assert pq.read_schema(folder / "part-00000.parquet").remove_metadata() == SCHEMA
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == 10 and manifest["version"] == "v1" and manifest["kind"] == "synthetic"
    for name, entry in manifest["files"].items():
        assert file_sha256(folder / name) == entry["sha256"]
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["v1"]  # no staging or reservation left


def test_versions_count_up_and_never_overwrite(tmp_path: Path) -> None:
    first = publish_version(tmp_path, "demo", _frame(3), SCHEMA, {}, {})
    before = (Path(first.path) / "part-00000.parquet").read_bytes()
    second = publish_version(tmp_path, "demo", _frame(5), SCHEMA, {}, {})
    assert (first.version, second.version) == ("v1", "v2")
    assert (Path(first.path) / "part-00000.parquet").read_bytes() == before


def test_concurrent_publishers_get_distinct_complete_versions(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: publish_version(tmp_path, "demo", _frame(i + 1), SCHEMA, {}, {}), range(16)))
    assert sorted(int(r.version[1:]) for r in results) == list(range(1, 17))
    for result in results:
        rows = json.loads((Path(result.path) / "manifest.json").read_text())["rows"]
        assert pq.read_table(Path(result.path) / "part-00000.parquet").num_rows == rows


def test_data_that_does_not_fit_the_schema_leaves_nothing(tmp_path: Path) -> None:
    bad = pd.DataFrame({"n": ["not a number"], "s": ["x"]})
    with pytest.raises(PublishError, match="does not fit the input's Arrow schema"):
        publish_version(tmp_path, "demo", bad, SCHEMA, {}, {})
    assert list(tmp_path.iterdir()) == []
