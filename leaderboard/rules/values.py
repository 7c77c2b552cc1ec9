"""Turning published values into data: metric numbers, their direction, dates."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

# Words that mark an error-like metric: smaller is better.
_LOWER_IS_BETTER = re.compile(
    r"\b(error|err|nme|fr|failure|loss|perplexity|ppl|mae|mse|rmse|wer|cer|ter|eer|fid|kid|"
    r"distance|latency|time|params|parameters|flops|bpc|bpd|nll|miss|fpr|fnr|ece|"
    r"chamfer|epe|ade|fde|mpjpe|rank)\b|error|nme_|^fr@|fid",
    re.IGNORECASE,
)


def default_higher_is_better(metric_name: str) -> bool:
    """Guess a metric's direction from its name; an admin can override it."""
    return not _LOWER_IS_BETTER.search(metric_name)


_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_SCALE = {
    "k": Decimal(1000),
    "m": Decimal(10**6),
    "b": Decimal(10**9),
    "g": Decimal(10**9),
}


def parse_metric_value(raw: object) -> Decimal | None:
    """The number in a published metric string, exactly as written.

    "3.02%" -> 3.02, "0.8428 ± 0.0014" -> 0.8428, "1.5M" -> 1500000, 57 -> 57.
    Returns None when the string holds no number ("-", "", "N/A").
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        text = repr(raw) if isinstance(raw, float) else str(raw)
    else:
        text = str(raw).strip()
    match = _NUMBER.search(text)
    if not match:
        return None
    digits = match.group(0)
    if "," in digits:
        # "1,234.5" is a thousands separator; "3,5" a decimal comma.
        digits = (
            digits.replace(",", "")
            if "." in digits or len(digits.split(",")[-1]) == 3
            else digits.replace(",", ".")
        )
    try:
        value = Decimal(digits)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    suffix = text[match.end() : match.end() + 1].lower()
    if suffix in _SCALE and not text[match.end() :].lower().startswith(
        ("ms", "min", "mb", "gb")
    ):
        value *= _SCALE[suffix]
    return value


# Beyond the database's numeric(40, 12): keep the published string, rank nothing.
_TOO_LARGE = 10**27
# MetricValue.raw holds at most this many characters.
RAW_LENGTH = 200


def raw_metric_text(value: object) -> str:
    """A published metric value as the string shown beside its number."""
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else str(value)


def stored_value(raw: object) -> tuple[Decimal | None, str]:
    """What a published metric value is stored as: (number to rank by, text to show).

    The number is None when the value holds none, or one too large to store
    (|x| >= 1e27): the row keeps its published text and goes unranked. Every
    path that writes a MetricValue (services, API, audit revert, verification,
    importer) stores this pair.
    """
    value = parse_metric_value(raw)
    if value is not None and abs(value) >= _TOO_LARGE:
        value = None
    return value, raw_metric_text(raw)[:RAW_LENGTH]


def parse_date(value: object) -> dt.date | None:
    """ "2019-04-16" (or a longer timestamp) -> a date; None for anything else."""
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
