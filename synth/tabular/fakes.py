"""Fake values for identifier columns: names, contact details, addresses and text from Faker's offline word lists,
codes and text keys from the column's own shapes, drawn with numpy so a seed repeats them.

A maker holds only JSON-ready state and no real value: the shapes of a code column keep a character only where at
least ``rare_min`` rows share it, and one position of each shape draws only characters no real value has there, so
a made code never equals a real one. Names and the rest come from public lists; a made value that happens to equal
a rare real one is redrawn by ``redraw`` when the real values are at hand.
"""

from __future__ import annotations

import functools
import importlib
import string
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import ParameterError, SchemaError

__all__ = ["DEFAULT_LOCALE", "FakeMaker", "check_locale", "fit_maker", "maker_from_dict", "redraw"]

DEFAULT_LOCALE = "en_US"
_CLASSES = {"d": string.digits, "u": string.ascii_uppercase, "l": string.ascii_lowercase}
_MAX_SHAPES = 50
_MAX_REDRAWS = 100
_LITERAL_VALUES = 5  # distinct values a shape needs before the characters they all share are kept
_TLDS = ("com", "net", "org", "info", "biz")
#: Shapes of pattern kinds when nothing of the data may be read (the private path): class letters as in _CLASSES.
_GENERIC_SHAPES = {"phone": "ddd-ddd-dddd", "postcode": "ddddd", "code": "uudddddddd", "id": "uudddddddddddd"}


def _char_class(char: str) -> str:
    for name, alphabet in _CLASSES.items():
        if char in alphabet:
            return name
    return "=" + char


def check_locale(locale: Any) -> None:
    """ParameterError unless Faker has person names for ``locale`` (e.g. "en_US", "de_DE")."""
    if not isinstance(locale, str) or not locale.replace("_", "").isalnum():
        raise ParameterError(f"fake_locale must be a locale name like 'en_US', got {locale!r}")
    try:
        importlib.import_module(f"faker.providers.person.{locale}")
    except ModuleNotFoundError:
        raise ParameterError(
            f"fake_locale '{locale}' is not a locale Faker has names for (e.g. 'en_US', 'de_DE')"
        ) from None


@functools.cache
def _lists(locale: str) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Faker's word lists of a locale with their weights: first names, last names, street suffixes, email domains,
    words. A list the locale lacks comes from en_US."""

    def weighted(module: str, *attributes: str) -> tuple[tuple[str, ...], np.ndarray]:
        for source in (locale, DEFAULT_LOCALE):
            try:
                provider = importlib.import_module(f"faker.providers.{module}.{source}").Provider
            except ModuleNotFoundError:
                continue
            merged: dict[str, float] = {}
            for attribute in attributes:
                values = getattr(provider, attribute, None)
                if values:
                    items = values.items() if isinstance(values, dict) else ((v, 1.0) for v in values)
                    for value, weight in items:
                        merged[str(value)] = merged.get(str(value), 0.0) + float(weight)
            if merged:
                weights = np.array(list(merged.values()), dtype=np.float64)
                return tuple(merged), weights / weights.sum()
        raise SchemaError(f"Faker has no {module} list {attributes} for locale '{locale}'")

    return {
        "first": weighted("person", "first_names", "first_names_male", "first_names_female"),
        "last": weighted("person", "last_names"),
        "suffix": weighted("address", "street_suffixes"),
        "domain": weighted("internet", "free_email_domains"),
        "word": weighted("lorem", "word_list"),
    }


def _choose(rng: np.random.Generator, locale: str, which: str, n: int) -> np.ndarray:
    values, weights = _lists(locale)[which]
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=weights)]


def _slug(values: np.ndarray) -> np.ndarray:
    """Names as they go into an email or a web address: ASCII letters and digits, lower case."""
    ascii_text = pd.Series(values).str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    return ascii_text.str.lower().str.replace("[^a-z0-9]", "", regex=True).to_numpy(dtype=object)


def _cased(values: np.ndarray, case: str) -> np.ndarray:
    method = {"lower": str.lower, "upper": str.upper}.get(case)
    return values if method is None else np.array([method(v) for v in values], dtype=object)


class FakeMaker:
    """Makes ``n`` fake values of one identifier kind; ``null_share`` of them are null, as in the real column."""

    def __init__(self, kind: str, null_share: float, options: dict[str, Any]) -> None:
        self.kind, self.null_share, self.options = kind, null_share, options

    def make(self, n: int, rng: np.random.Generator) -> np.ndarray:
        values = self._values(n, rng)
        if self.null_share:
            values[rng.random(n) < self.null_share] = None
        return values

    def _values(self, n: int, rng: np.random.Generator) -> np.ndarray:
        locale, case = self.options.get("locale", DEFAULT_LOCALE), self.options.get("case", "title")
        if self.kind == "person_name":
            part = self.options.get("part", "full")
            if part == "full":
                names = _choose(rng, locale, "first", n) + " " + _choose(rng, locale, "last", n)
            else:
                names = _choose(rng, locale, part, n)
            return _cased(names, case)
        if self.kind == "email":
            user = _slug(_choose(rng, locale, "first", n)) + "." + _slug(_choose(rng, locale, "last", n))
            number = np.where(rng.random(n) < 0.5, rng.integers(1, 100, n).astype(str), "").astype(object)
            return user + number + "@" + _choose(rng, locale, "domain", n)
        if self.kind == "url":
            tld = np.asarray(_TLDS, dtype=object)[rng.integers(0, len(_TLDS), n)]
            return "https://www." + _slug(_choose(rng, locale, "last", n)) + "." + tld + "/"
        if self.kind == "ip_address":
            octets = rng.integers(1, 255, size=(n, 4))
            return np.array([".".join(map(str, row)) for row in octets], dtype=object)
        if self.kind == "address":
            number = rng.integers(1, 10_000, n).astype(str).astype(object)
            street = number + " " + _choose(rng, locale, "last", n) + " " + _choose(rng, locale, "suffix", n)
            return _cased(street, case)
        if self.kind == "free_text":
            return self._sentences(n, rng, locale)
        return self._codes(n, rng)

    def _sentences(self, n: int, rng: np.random.Generator, locale: str) -> np.ndarray:
        """Lorem words, as many per value as a value of the real column has (drawn between its word-count deciles)."""
        deciles = np.asarray(self.options.get("word_deciles", [8] * 11), dtype=np.float64)
        position = rng.random(n) * (len(deciles) - 1)
        lower = np.floor(position).astype(int)
        upper = np.minimum(lower + 1, len(deciles) - 1)
        counts = np.maximum(1, np.round(deciles[lower] + (position - lower) * (deciles[upper] - deciles[lower])))
        words = _choose(rng, locale, "word", int(counts.sum()))
        ends = np.cumsum(counts.astype(int))
        starts = ends - counts.astype(int)
        sentences = [" ".join(words[a:b]).capitalize() + "." for a, b in zip(starts, ends, strict=True)]
        return np.array(sentences, dtype=object)

    def _codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Values in the column's shapes: each class position a random character of its class (the reserved one
        only from characters no real value of the shape has there), literal positions as they are."""
        shapes = self.options["shapes"]
        weights = np.asarray([s["weight"] for s in shapes], dtype=np.float64)
        chosen = rng.choice(len(shapes), size=n, p=weights / weights.sum())
        out = np.empty(n, dtype=object)
        for index, shape in enumerate(shapes):
            rows = np.flatnonzero(chosen == index)
            if len(rows) == 0:
                continue
            columns = []
            for position, token in enumerate(shape["tokens"]):
                if token.startswith("="):
                    columns.append(np.full(len(rows), token[1:], dtype=object))
                    continue
                alphabet = shape["reserved"][1] if shape["reserved"] and shape["reserved"][0] == position else None
                alphabet = alphabet or _CLASSES[token]
                letters = np.asarray(list(alphabet), dtype=object)
                columns.append(letters[rng.integers(0, len(letters), len(rows))])
            joined = columns[0].copy()
            for column in columns[1:]:
                joined = joined + column
            out[rows] = joined
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "null_share": self.null_share, "options": self.options}


def maker_from_dict(data: dict[str, Any]) -> FakeMaker:
    return FakeMaker(data["kind"], data["null_share"], data["options"])


def _case_of(values: pd.Series) -> str:
    letters = values[values.str.contains("[A-Za-z]", regex=True)]
    if len(letters) and (letters == letters.str.lower()).mean() >= 0.9:
        return "lower"
    if len(letters) and (letters == letters.str.upper()).mean() >= 0.9:
        return "upper"
    return "title"


def _shapes(values: pd.Series, rare_min: int) -> list[dict[str, Any]]:
    """The column's most common shapes held by at least ``rare_min`` rows (else the most common one): class per
    position, the characters every value of the shape shares where at least ``max(rare_min, _LITERAL_VALUES)``
    distinct values hold the shape (so a shape of one value never spells it out), and a reserved position."""
    counts = values.value_counts()
    by_shape: dict[tuple[str, ...], Counter[str]] = {}
    for value, count in counts.items():
        key = tuple(_char_class(c) for c in str(value))
        by_shape.setdefault(key, Counter())[str(value)] += int(count)
    ranked = sorted(by_shape.items(), key=lambda item: -sum(item[1].values()))
    kept = [(key, held) for key, held in ranked[:_MAX_SHAPES] if sum(held.values()) >= rare_min]
    literal_allowed = bool(kept)
    kept = kept or ranked[:1]
    shapes = []
    for key, held in kept:
        tokens = list(key)
        used: list[set[str]] = [set() for _ in tokens]
        for value in held:
            for position, char in enumerate(value):
                used[position].add(char)
        if literal_allowed and len(held) >= max(rare_min, _LITERAL_VALUES):
            tokens = [f"={next(iter(chars))}" if len(chars) == 1 and not t.startswith("=") else t
                      for t, chars in zip(tokens, used, strict=True)]  # fmt: skip
        reserved = _reserved(tokens, key, used)
        if reserved is not None:
            tokens[reserved[0]] = key[reserved[0]]  # a literal position given up for the guarantee draws again
        shapes.append({"tokens": tokens, "weight": sum(held.values()), "reserved": reserved})
    return shapes


def _reserved(tokens: list[str], key: tuple[str, ...], used: list[set[str]]) -> list[Any] | None:
    """[position, characters no real value of the shape has there]: the drawn position with the most such
    characters, else a kept literal one; None when every drawn position uses its whole class and nothing is kept."""
    drawn: list[list[Any]] = []
    literal: list[list[Any]] = []
    for position, (token, cls) in enumerate(zip(tokens, key, strict=True)):
        if cls.startswith("="):
            continue
        free = "".join(c for c in _CLASSES[cls] if c not in used[position])
        if free:
            (literal if token.startswith("=") else drawn).append([position, free])
    candidates = drawn or literal
    return max(candidates, key=lambda item: len(item[1])) if candidates else None


def fit_maker(kind: str, series: pd.Series | None, *, locale: str, rare_min: int, column: str) -> FakeMaker:
    """A maker for one identifier column; with ``series`` None (the private path) nothing of the data is read."""
    from synth.identifiers import name_part

    if series is None:
        options: dict[str, Any] = {"locale": locale}
        if kind == "person_name":
            options["part"] = name_part(column)
        if kind in _GENERIC_SHAPES:
            tokens = [c if c in _CLASSES else f"={c}" for c in _GENERIC_SHAPES[kind]]
            options["shapes"] = [{"tokens": tokens, "weight": 1.0, "reserved": None}]
        return FakeMaker(kind, 0.0, options)
    null_share = float(series.isna().mean())
    present = series.dropna().astype(str)
    options = {"locale": locale, "case": _case_of(present)}
    if kind == "person_name":
        options["part"] = name_part(column, present.iloc[:2_000])
    elif kind == "free_text":
        words = present.str.count(r"\S+")
        options["word_deciles"] = np.quantile(words, np.linspace(0, 1, 11)).round().astype(int).tolist()
    elif kind in ("phone", "postcode", "code", "id"):
        options["shapes"] = _shapes(present, rare_min)
    return FakeMaker(kind, null_share, options)


def redraw(
    values: np.ndarray, maker: FakeMaker, forbidden: frozenset[str], rng: np.random.Generator, *, unique: bool
) -> np.ndarray:
    """``values`` with every one in ``forbidden`` (real values held by too few rows), and with ``unique`` every
    repeat, made again until none is left."""
    for _ in range(_MAX_REDRAWS):
        hits = np.array([v is not None and v in forbidden for v in values], dtype=bool)
        if unique:
            series = pd.Series(values)
            hits |= (series.duplicated() & series.notna()).to_numpy()
        rows = np.flatnonzero(hits)
        if len(rows) == 0:
            return values
        values[rows] = maker.make(len(rows), rng)
    wanted = "distinct values that differ from the real ones" if unique else "values that differ from the real ones"
    raise SchemaError(
        f"could not make {len(values)} {maker.kind} {wanted} after {_MAX_REDRAWS} tries (the column's shapes hold too "
        "few); give the column another kind in the schema"
    )
