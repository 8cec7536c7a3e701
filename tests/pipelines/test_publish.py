"""Publishing: versions are atomic, checksummed, never overwritten, pruned safely, and concurrent publishers
never collide, on a local folder and on a non-local pyarrow filesystem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow.fs import FSSpecHandler, PyFileSystem

from pipelines.catalog import list_quarantined, list_versions, read_verified
from pipelines.errors import PublishError
from pipelines.publish import prune, publish_version, quarantine, write_parquet
from pipelines.sources import file_sha256
from pipelines.store import Store, owner_tag

SCHEMA = pa.schema([("n", pa.int32()), ("s", pa.large_string())])


def _part(folder: Path, n: int, name: str = "part.parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_parquet(pd.DataFrame({"n": range(n), "s": [f"row {i}" for i in range(n)]}), SCHEMA, path)
    return path


def _publish(store: Store, parts: list[Path], **manifest: object) -> str:
    rows = sum(pq.read_metadata(p).num_rows for p in parts)
    return publish_version(store, "demo", parts, {"rows": rows, "kind": "synthetic", **manifest}, {}).version


def test_version_has_exact_types_and_valid_checksums(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    parts = [_part(tmp_path / "work", 10, "a.parquet"), _part(tmp_path / "work", 4, "b.parquet")]
    published = publish_version(store, "demo", parts, {"rows": 14, "kind": "synthetic"}, {"report.html": "<p>"})
    folder = tmp_path / "root" / "demo" / "v1"
    assert published.version == "v1" and Path(published.path) == folder
    assert pq.read_schema(folder / "part-00000.parquet").remove_metadata() == SCHEMA
    assert pq.read_metadata(folder / "part-00001.parquet").num_rows == 4
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"] == 14 and manifest["version"] == "v1" and manifest["kind"] == "synthetic"
    assert set(manifest["files"]) == {"part-00000.parquet", "part-00001.parquet", "report.html"}
    for name, entry in manifest["files"].items():
        assert file_sha256(folder / name) == entry["sha256"]
    assert sorted(p.name for p in (tmp_path / "root" / "demo").iterdir()) == ["v1"]  # no staging or claim left


def test_versions_count_up_and_never_overwrite(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    assert _publish(store, [_part(tmp_path, 3)]) == "v1"
    before = (tmp_path / "root" / "demo" / "v1" / "part-00000.parquet").read_bytes()
    assert _publish(store, [_part(tmp_path, 5)]) == "v2"
    assert (tmp_path / "root" / "demo" / "v1" / "part-00000.parquet").read_bytes() == before
    with pytest.raises(PublishError, match="already exists; published versions are never replaced"):
        store.move_dir(("demo", "v2"), ("demo", "v1"))


def test_concurrent_publishers_get_distinct_complete_versions(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    parts = [_part(tmp_path / f"w{i}", i + 1) for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(lambda p: _publish(store, [p]), parts))
    assert sorted(int(v[1:]) for v in versions) == list(range(1, 17))
    for found in list_versions(store, "demo"):
        assert read_verified(found, store).num_rows == found.rows  # each manifest matches its own data


def test_retention_keeps_the_newest_versions(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    for n in range(1, 5):
        _publish(store, [_part(tmp_path, n)])
    assert prune(store, "demo", keep=2) == ["v1", "v2"]
    assert [v.version for v in list_versions(store, "demo")] == ["v3", "v4"]
    assert sorted(p.name for p in (tmp_path / "root" / "demo").iterdir()) == ["v3", "v4"]
    assert _publish(store, [_part(tmp_path, 1)]) == "v5"  # numbers are never reused after pruning


def test_quarantine_stays_out_of_the_catalog(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    kept = quarantine(store, "demo", [_part(tmp_path, 3)], {"rows": 3, "quarantined": {"reason": "gate failed"}}, {})
    assert list_versions(store) == []
    (entry,) = list_quarantined(store)
    assert entry.name == "demo" and entry.version == kept.version and entry.rows == 3
    assert entry.manifest["quarantined"]["reason"] == "gate failed"
    assert read_verified(entry, store).num_rows == 3


def test_a_failed_publish_leaves_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    with pytest.raises(PublishError, match="could not publish demo"):
        publish_version(store, "demo", [tmp_path / "missing.parquet"], {"rows": 1}, {})
    assert list((tmp_path / "root").iterdir()) == []


def test_publishing_to_a_non_local_filesystem(tmp_path: Path) -> None:
    """Any pyarrow filesystem works as a root: here fsspec's in-memory one, which has no atomic folder rename."""
    from fsspec.implementations.memory import MemoryFileSystem

    store = Store(PyFileSystem(FSSpecHandler(MemoryFileSystem())), "/catalog")
    assert not store.is_local
    assert _publish(store, [_part(tmp_path, 6)]) == "v1"
    assert _publish(store, [_part(tmp_path, 2)]) == "v2"
    (first, second) = list_versions(store, "demo")
    assert read_verified(second, store).num_rows == 2 and first.rows == 6
    assert store.show("demo").endswith("/catalog/demo") and "://" in store.show("demo")
    assert prune(store, "demo", keep=1) == ["v1"]
    assert [v.version for v in list_versions(store, "demo")] == ["v2"]


def test_publishers_in_separate_processes_never_collide(tmp_path: Path) -> None:
    """Two pipeline runs are two processes: their claims meet only on the filesystem."""
    import multiprocessing

    store = Store.open(tmp_path / "root")
    jobs = [(store, "demo", [_part(tmp_path / f"w{n}", n)], {"rows": n}, {}) for n in range(1, 9)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        published = pool.starmap(publish_version, jobs)
    assert sorted(int(p.version[1:]) for p in published) == list(range(1, 9))
    assert sorted(read_verified(found, store).num_rows for found in list_versions(store, "demo")) == list(range(1, 9))


def _dead_pid() -> int:
    """The id of a process that has just exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_claims_and_staging_folders_of_dead_publishers_do_not_block_or_linger(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    assert _publish(store, [_part(tmp_path / "a", 3)]) == "v1"
    folder = tmp_path / "root" / "demo"
    host = owner_tag().partition("-")[0]
    (folder / ".claim-v2").write_text(f"{host}-{_dead_pid()}")  # killed between claiming v2 and moving into it
    (folder / ".claim-v3").touch()  # an empty claim, as `touch` or a kill right after creating it leaves
    old = time.time() - 120
    os.utime(folder / ".claim-v3", (old, old))
    dead_staging = folder / f".staging-{host}-{_dead_pid()}-0a1b2c"
    dead_staging.mkdir()
    (dead_staging / "part-00000.parquet").write_bytes(b"half")
    live_staging = folder / f".staging-{owner_tag()}-3d4e5f"  # this process: alive, kept
    live_staging.mkdir()
    assert _publish(store, [_part(tmp_path / "b", 3)]) == "v2"
    assert _publish(store, [_part(tmp_path / "c", 3)]) == "v3"
    assert sorted(p.name for p in folder.iterdir()) == [live_staging.name, "v1", "v2", "v3"]


def test_a_live_claim_is_respected(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "root")
    claim = tmp_path / "root" / "demo" / ".claim-v2"
    claim.parent.mkdir(parents=True)
    claim.write_text(owner_tag())  # a rival publisher in this very process, alive
    with store.claim("demo", ".claim-v2") as held:
        assert not held
    assert claim.read_text() == owner_tag()
