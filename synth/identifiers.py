"""Direct identifiers and free text recognised in a text column from its values (and its name).

A column of one of ``IDENTIFIER_KINDS`` is never learned: its values are made afresh (``synth.tabular.fakes``), so no
real name, contact detail, address, case number or sentence can be copied into a synthetic table. Recognition looks
at up to ``_PROBE_VALUES`` distinct values; shares below are shares of those values.
"""

from __future__ import annotations

import functools
import importlib
import re

import pandas as pd

__all__ = ["FAKED_KINDS", "IDENTIFIER_KINDS", "name_part", "names_a_key", "recognise_identifier", "repeats_rarely"]

#: Kinds made afresh rather than learned: ``id`` (keys: unique per row) and the recognised identifier kinds.
FAKED_KINDS = ("person_name", "email", "phone", "address", "postcode", "url", "ip_address", "code", "free_text")
IDENTIFIER_KINDS = ("id", *FAKED_KINDS)

_PROBE_VALUES = 2_000
#: Share of the probed values that must fit a pattern for the column to be taken for that kind.
_MATCH_SHARE = 0.9
#: Codes and free text repeat rarely: at least this share of a column's non-null values are distinct.
_DISTINCT_SHARE = 0.5
_MIN_DISTINCT = 20
#: A key's column name ends in one of these words (``id``, ``patient_id``, ``PatientID``, ``uid``) ...
_KEY_WORDS = frozenset({"id", "ids", "uid", "uuid", "guid", "key", "pk"})
#: ... or in a number word after what it numbers (``case_number``, ``record_no``), or in that word and ``id`` as one
#: word (``caseid``, ``userid``).
_NUMBER_WORDS = frozenset({"number", "no", "nr", "num"})
_NUMBERED_THINGS = frozenset({
    "account", "admission", "application", "case", "claim", "client", "customer", "employee", "encounter", "file",
    "invoice", "member", "order", "participant", "patient", "person", "policy", "record", "ref", "reference",
    "respondent", "serial", "student", "subject", "ticket", "user", "visit",
})  # fmt: skip
_NAME_LOCALES = ("en_US", "en_GB", "es_ES", "es_MX", "de_DE", "fr_FR", "it_IT", "pt_BR", "nl_NL", "pl_PL")

_EMAIL = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
_URL = r"^(?:(?:https?|ftp)://|www\.)\S+$"
_IPV4 = r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$"
_IPV6 = r"^(?=.*::|(?:[^:]*:){7})(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}$"  # eight groups, or "::"
_PHONE = r"^\+?[\d\s().\-/]{7,24}(?:\s*(?:x|ext\.?)\s*\d{1,6})?$"
_STREET = (
    r"^\d+[A-Za-z]?(?:-\d+)?\s+.*\b(?:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|"
    r"place|pl|terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|close|alley|row)\b"
)
_NUMBERED_PLACE = r"^\d+[A-Za-z]?(?:-\d+)?\s+[A-Za-z]"
_POSTCODE = r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9 -]{1,9}$"
_CODE = r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-_/.#:]{3,39}$"
_DECIMAL = r"^[-+]?\d*\.\d+$"
_TIME = r"^\d{1,2}:\d{2}(?::\d{2})?$"  # a time of day or a duration, not an address or a code
#: Dates in no single format (2/2/2006 beside 25/11/2006) and months (1/86): not codes.
_DATE_LIKE = r"^\d{1,4}(?:/\d{1,2}(?:/\d{1,4})?|-\d{1,2}(?:-\d{1,4})?|\.\d{1,2}(?:\.\d{1,4})?)$"
#: Phone numbers without a column name that says so need this many digits on average (a year range has 8).
_PHONE_DIGITS = 9


def _name_words(column: str) -> list[str]:
    """A column name's words, in order: split at anything but letters and digits, and where camelCase turns."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return [token for token in re.split(r"[^a-z0-9]+", spaced.lower()) if token]


def _name_tokens(column: str) -> set[str]:
    return set(_name_words(column))


def names_a_key(column: str) -> bool:
    """Whether a column's name reads as a key or a case number (its last word says so; see ``_KEY_WORDS``)."""
    tokens = _name_words(column)
    if not tokens:
        return False
    last = tokens[-1]
    if last in _KEY_WORDS or (last.endswith("id") and last[:-2] in _NUMBERED_THINGS):
        return True
    return last in _NUMBER_WORDS and any(token in _NUMBERED_THINGS for token in tokens[:-1])


def repeats_rarely(distinct: int, present: int) -> bool:
    """Whether a column of ``present`` non-null values, ``distinct`` of them distinct, repeats too rarely to be a
    category: a key, a code or free text (a key repeats where rows do, or where a unit has a few rows)."""
    return distinct >= _MIN_DISTINCT and distinct >= _DISTINCT_SHARE * present


def _has(tokens: set[str], *words: str) -> bool:
    return any(word in tokens for word in words)


def _person_hint(tokens: set[str]) -> bool:
    words = ("name", "names", "surname", "forename", "firstname", "lastname", "fullname", "givenname", "fname", "lname")
    return _has(tokens, *words) or (len(tokens) == 1 and _has(tokens, "first", "last", "middle", "given", "family"))


def name_part(column: str, values: pd.Series | None = None) -> str:
    """Which part of a person's name a column holds: "first", "last" or "full" (from its name, else its values)."""
    tokens = _name_tokens(column)
    if _has(tokens, "first", "firstname", "given", "givenname", "forename", "fname"):
        return "first"
    if _has(tokens, "last", "lastname", "surname", "family", "lname"):
        return "last"
    if values is not None and len(values) and values.str.count(r"\S+").mean() < 1.5:
        first, last = _name_sets()
        lowered = values.str.lower()
        return "first" if lowered.isin(first).mean() >= lowered.isin(last).mean() else "last"
    return "full"


@functools.cache
def _name_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased first and last names of several locales, from Faker's own (offline) lists."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in _NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute, into in (("first_names", first), ("first_names_male", first), ("first_names_female", first),
                                ("last_names", last)):  # fmt: skip
            into.update(str(name).lower() for name in getattr(provider, attribute, ()))
    return frozenset(first), frozenset(last)


def _share(values: pd.Series, pattern: str) -> float:
    """Share of values the (anchored) pattern finds, case-insensitively."""
    return float(values.str.contains(pattern, regex=True, flags=re.IGNORECASE).mean())


def _person_name_share(values: pd.Series, *, full_only: bool) -> float:
    """Share of values that read as names: every token a known first or last name (full names: first and last)."""
    first, last = _name_sets()
    cleaned = values.str.lower().str.replace(r"[.,']", "", regex=True)
    tokens, counts = cleaned.str.split(), cleaned.str.count(r"\S+")
    if full_only:
        ok = (counts >= 2) & (counts <= 4)
        heads, tails = tokens.str[0], tokens.str[-1]
        return float((ok & heads.isin(first) & tails.isin(last)).mean())
    known = first | last
    return float(tokens.map(lambda words: bool(words) and all(w in known for w in words)).mean())


def recognise_identifier(series: pd.Series) -> str | None:
    """The identifier kind of a text column (one of ``FAKED_KINDS``), or None for a column to learn."""
    present = series.dropna().astype(str)
    if len(present) == 0:
        return None
    distinct = present.drop_duplicates()
    probe = distinct.sample(n=min(_PROBE_VALUES, len(distinct)), random_state=0).str.strip()
    probe = probe[probe != ""]
    if len(probe) == 0:
        return None
    tokens = _name_tokens(str(series.name))
    for kind, pattern in (("email", _EMAIL), ("url", _URL), ("ip_address", _IPV4), ("ip_address", _IPV6)):
        if _share(probe, pattern) >= _MATCH_SHARE:
            return kind
    digits = probe.str.count(r"\d")
    phone_like = probe.str.contains(_PHONE, regex=True) & digits.between(7, 20) & ~probe.str.contains(_DECIMAL)
    separated = probe.str.contains(r"[\s().\-/+]")
    phone_hint = _has(tokens, "phone", "telephone", "tel", "mobile", "cell", "fax")
    if phone_like.mean() >= _MATCH_SHARE and (
        phone_hint or (separated.mean() >= 0.5 and digits.mean() >= _PHONE_DIGITS)
    ):
        return "phone"
    if _person_hint(tokens) and _person_name_share(probe, full_only=False) >= 0.5:
        return "person_name"
    if _person_name_share(probe, full_only=True) >= 0.7:
        return "person_name"
    street_hint = _has(tokens, "address", "addr", "street", "address1", "address2")
    if _share(probe, _STREET) >= 0.5 or (street_hint and _share(probe, _NUMBERED_PLACE) >= 0.5):
        return "address"
    if _has(tokens, "zip", "zipcode", "postcode", "postal", "postalcode") and _share(probe, _POSTCODE) >= _MATCH_SHARE:
        return "postcode"
    if not repeats_rarely(len(distinct), len(present)):
        return None
    not_codes = max(_share(probe, _DECIMAL), _share(probe, _TIME), _share(probe, _DATE_LIKE))
    if _share(probe, _CODE) >= _MATCH_SHARE and not_codes < 0.5:
        return "code"
    if probe.str.count(r"\S+").mean() >= 4:
        return "free_text"
    return None
