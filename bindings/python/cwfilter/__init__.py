"""CloudWatch Logs filter patterns, metric filters, metrics and alarms, run locally and exactly.

The C++ engine of cwfilter, from Python::

    import cwfilter
    p = cwfilter.compile('{ $.eventName = "ConsoleLogin" && $.errorMessage = "Failed authentication" }')
    p.matches(record_json)             # -> bool
    p.matches_many(records)            # -> list[bool], without the GIL
    p.filter(records)                  # -> indices of the matching records

Bad patterns raise :class:`PatternError` (a ``ValueError``); other bad input raises ``ValueError``.
Timestamps are accepted as int milliseconds since the epoch, ``datetime`` (naive = UTC) or
ISO-8601 text.
"""

from __future__ import annotations

import threading as _threading
from typing import Any as _Any

from . import _cwfilter
from ._cwfilter import (
    AlarmEvaluator,
    AlarmState,
    Aggregate,
    BacktestSummary,
    Datapoint,
    Evaluation,
    FieldValue,
    LogEvent,
    Match,
    MetricAlarm,
    MetricFilter,
    MetricFilterOutcome,
    MetricKey,
    MetricStore,
    Pattern,
    Pipeline,
    Statistic,
    backtest,
    evaluate,
    format_timestamp,
    parse_events,
    parse_timestamp,
    read_events,
    sns_notifications,
    standard_units,
    statistic,
    summarize,
)

__all__ = [
    "Aggregate",
    "AlarmEvaluator",
    "AlarmState",
    "BacktestSummary",
    "Datapoint",
    "Evaluation",
    "FieldValue",
    "LogEvent",
    "Match",
    "MetricAlarm",
    "MetricFilter",
    "MetricFilterOutcome",
    "MetricKey",
    "MetricStore",
    "Pattern",
    "PatternError",
    "Pipeline",
    "Statistic",
    "backtest",
    "compile",
    "evaluate",
    "format_timestamp",
    "parse_events",
    "parse_timestamp",
    "purge",
    "read_events",
    "sns_notifications",
    "standard_units",
    "statistic",
    "summarize",
    "test_metric_filter",
]

__version__ = "0.1.0"


class PatternError(ValueError):
    """A filter pattern that CloudWatch Logs would reject.

    Attributes:
        code: stable short name of the problem, e.g. ``"unquoted-character"``.
        offset: position of the problem in the pattern, in characters of the Python str.
        byte_offset: the same position in bytes of the pattern's UTF-8 encoding.
        fragment: the offending text.
        pattern: the pattern as given.
        reason: the one-line message (AWS's wording and cwfilter's reason), without the snippet.

    ``str(error)`` is the message followed by the pattern and a caret under the offset.
    """

    def __init__(self, message: str, *, pattern: str, code: str, offset: int,
                 byte_offset: int, fragment: str, reason: str) -> None:
        super().__init__(message)
        self.pattern = pattern
        self.code = code
        self.offset = offset
        self.byte_offset = byte_offset
        self.fragment = fragment
        self.reason = reason

    def __reduce__(self):  # keyword-only __init__: pickle by keywords
        return (_rebuild_pattern_error, (str(self), self.pattern, self.code, self.offset,
                                         self.byte_offset, self.fragment, self.reason))


def _rebuild_pattern_error(message, pattern, code, offset, byte_offset, fragment, reason):
    return PatternError(message, pattern=pattern, code=code, offset=offset,
                        byte_offset=byte_offset, fragment=fragment, reason=reason)


_DEFAULTS: dict[str, _Any] = _cwfilter._default_options()

# Like `re`: compiled patterns are kept in a small cache keyed by pattern and options; when it is
# full the least recently used entry goes. Errors are not cached.
_MAXCACHE = 512
_cache: dict[tuple, Pattern] = {}
_cache_lock = _threading.Lock()


def compile(pattern: str, *, exact_field_count: bool = False,
            error_context: str = "metric_filter",
            max_pattern_length: int | None = None, max_nesting: int | None = None,
            max_wildcard_selectors: int | None = None, max_regexes: int | None = None,
            max_json_depth: int | None = None, max_event_bytes: int | None = None) -> Pattern:
    """Compiles a CloudWatch Logs filter pattern.

    Args:
        pattern: the filter pattern, as given to PutMetricFilter.
        exact_field_count: DECISIONS 1: False (default, current AWS docs) lets the last field of
            a space-delimited pattern absorb the rest of the line; True requires exactly as many
            fields.
        error_context: wording of error messages: ``"metric_filter"`` (PutMetricFilter, "Invalid
            metric filter pattern") or ``"filter_log_events"`` ("Invalid filter pattern").
        max_pattern_length, max_nesting, max_wildcard_selectors, max_regexes, max_json_depth,
            max_event_bytes: limits; None = CloudWatch's quotas (1024 bytes, 3 wildcard
            selectors, 2 regexes, ...).

    Returns:
        The compiled :class:`Pattern` (cached: compiling the same pattern again is cheap).

    Raises:
        PatternError: the pattern is invalid (``.code``, ``.offset``, ``.fragment``).
        TypeError: ``pattern`` is not a str.
    """
    if not isinstance(pattern, str):
        raise TypeError(f"a filter pattern must be str, not {type(pattern).__name__}")
    options = (
        bool(exact_field_count), error_context,
        _DEFAULTS["max_pattern_length"] if max_pattern_length is None else max_pattern_length,
        _DEFAULTS["max_nesting"] if max_nesting is None else max_nesting,
        _DEFAULTS["max_wildcard_selectors"] if max_wildcard_selectors is None else max_wildcard_selectors,
        _DEFAULTS["max_regexes"] if max_regexes is None else max_regexes,
        _DEFAULTS["max_json_depth"] if max_json_depth is None else max_json_depth,
        _DEFAULTS["max_event_bytes"] if max_event_bytes is None else max_event_bytes,
    )
    key = (type(pattern), pattern, options)
    with _cache_lock:
        cached = _cache.pop(key, None)
        if cached is not None:
            _cache[key] = cached  # most recently used goes last
            return cached
    result = _cwfilter._compile(pattern, *options)
    if not isinstance(result, Pattern):
        code, offset, byte_offset, fragment, reason, formatted = result
        raise PatternError(formatted, pattern=pattern, code=code, offset=offset,
                           byte_offset=byte_offset, fragment=fragment, reason=reason)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > _MAXCACHE:
            del _cache[next(iter(_cache))]
    return result


def purge() -> None:
    """Clears the compiled-pattern cache (like ``re.purge``)."""
    with _cache_lock:
        _cache.clear()


def _compile_from_options(pattern: str, options: dict[str, _Any]) -> Pattern:
    # Unpickling a Pattern (Pattern.__reduce__).
    return compile(pattern, **options)


def test_metric_filter(pattern: str, messages, metric_transformations=None) -> dict:
    """A local ``aws logs test-metric-filter``: the same response as ``cwfilter test``.

    Args:
        pattern: the filter pattern.
        messages: the log event messages (str or bytes), at most what you like (AWS: 50).
        metric_transformations: optional, a MetricTransformation dict (or a one-element list of
            them, or JSON text), as ``cwfilter test --metric-transformations`` takes it.

    Returns:
        ``{"matches": [{"eventNumber": n, "eventMessage": str, "extractedValues": {...}}, ...]}``
        with 1-based event numbers (DECISIONS 13), plus, with a transformation, ``"metricData":
        [{"eventNumber", "value", "unit", "dimensions"}, ...]`` with one entry per published
        datapoint (defaultValue entries included, as issue 4 gives the shape; the datapoints'
        own ``is_default`` tells them apart).

    Raises:
        PatternError: invalid pattern (FilterLogEvents wording, "Invalid filter pattern").
        ValueError: invalid transformation.
    """
    compiled = compile(pattern, error_context="filter_log_events")
    messages = list(messages)
    matches = []
    for i, message in enumerate(messages):
        m = compiled.match(message)
        if m is None:
            continue
        text = message if isinstance(message, str) else bytes(message).decode("utf-8", "surrogateescape")
        matches.append({"eventNumber": i + 1, "eventMessage": text, "extractedValues": m.extracted_values})
    result: dict = {"matches": matches}
    if metric_transformations is not None:
        metric_filter = MetricFilter(pattern, metric_transformations, filter_name="test-metric-filter",
                                     log_group_name="test-log-group")
        data = []
        for i, message in enumerate(messages):
            point = metric_filter.evaluate(message, 0).datapoint
            if point is None:
                continue
            value = point.value
            entry = {"eventNumber": i + 1,
                     "value": int(value) if value == int(value) and abs(value) < 1e15 else value,
                     "unit": point.unit, "dimensions": point.key.dimensions}
            data.append(entry)
        result["metricData"] = data
    return result
