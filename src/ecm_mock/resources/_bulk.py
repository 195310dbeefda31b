"""Bulk uploads: rows from JSON or from a CSV file, each checked and reported on its own.

The rows are checked without the store's lock (they need no state), then stored under it.
The spec's cap on rows (the ``maxItems`` of the JSON rows) holds for a CSV file too, before
anything is stored. A report lists the first ``--max-rejected-rows`` rejected rows in words
and counts them all (``rejectedCount``); deciding that a row is invalid costs about what a
valid row does (the compiled check), only the listed ones are worded (jsonschema).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import field_error, not_acceptable
from ._base import Call


def row_limit(call: Call) -> int | None:
    """The most rows an upload takes: the ``maxItems`` of the JSON body's rows (the body
    itself, or its one array property)."""
    capped = call.services.spec.capped_arrays(call.operation.operation_id)
    return capped[0][1] if capped else None


def upload_rows(call: Call, rows: list[Any] | None) -> list[Any]:
    """The rows of a bulk upload: ``rows`` for JSON, else the parsed CSV ``file`` part."""
    if call.request.media_type != "multipart/form-data":
        return rows or []
    # A client may send the CSV as a file part or as a plain form field; both are accepted.
    data = call.request.files.get("file")
    if data is None:
        data = call.request.form.get("file", "").encode("utf-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise field_error(400, "/body/file", f"the CSV file is not UTF-8: {exc.reason}") from None
    # The spec's pattern has checked that the first line is a header of known columns.
    # strict: a quote left open, or text after a closing quote, is a broken file, not a cell
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        return _read_rows(call, reader)
    except csv.Error as exc:
        raise field_error(
            400, "/body/file", f"the CSV file cannot be read at line {reader.line_num}: {exc}"
        ) from None


def _read_rows(call: Call, reader: csv.DictReader) -> list[Any]:
    header = reader.fieldnames or []
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise not_acceptable(
            "/body/file", f"the CSV header repeats column(s) {', '.join(map(repr, repeated))}"
        )
    limit = row_limit(call)
    parsed: list[Any] = []
    for row in reader:
        if limit is not None and len(parsed) == limit:
            raise field_error(
                400, "/body/file", f"the CSV file has more than {limit} rows, the most one takes"
            )
        extra = row.pop(None, None)  # type: ignore[call-overload]
        cells = {k: v for k, v in row.items() if v not in (None, "")}
        parsed.append(cells if extra is None else _TooManyCells(cells, extra))
    return parsed


class _TooManyCells(dict):
    def __init__(self, cells: dict[str, str], extra: list[str]) -> None:
        super().__init__(cells)
        self.extra = extra


@dataclass
class Checked:
    """Rows checked against their schema (and rules that need no state)."""

    valid: list[tuple[int, Any]] = field(default_factory=list)  # (row number, row)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the first ones, in words
    rejected_count: int = 0  # all of them


def check_rows(
    call: Call,
    schema: str,
    rows: list[Any],
    rule: Callable[[Any], tuple[str, str] | None] | None = None,
) -> Checked:
    """Each row against ``schema``, then ``rule`` ((pointer, reason) for a valid row that
    breaks a rule needing no state). Needs no lock: run it before taking the store's."""
    validator = call.services.validator
    listed = call.services.settings.max_rejected_rows
    checked = Checked()
    for index, row in enumerate(rows, start=1):
        problem: tuple[str, str] | None = None
        if isinstance(row, _TooManyCells):
            problem = "", f"the row has {len(row.extra)} more cell(s) than the header"
        elif not validator.is_valid(schema, row):
            problem = _words(call, schema, row) if checked.rejected_count < listed else ("", "")
        elif rule is not None:
            problem = rule(row)
        if problem is None:
            checked.valid.append((index, row))
            continue
        if checked.rejected_count < listed:
            checked.rejected.append(rejected(index, row, *problem))
        checked.rejected_count += 1
    return checked


def _words(call: Call, schema: str, row: Any) -> tuple[str, str]:
    errors = call.services.validator.schema_errors(schema, row)
    if not errors:  # cannot be: the compiled check decides as jsonschema does
        return "", f"the row does not match {schema}"
    return errors[0].pointer, "; ".join(e.message for e in errors)


def rejected(index: int, row: Any, pointer: str, reason: str) -> dict[str, Any]:
    return {"row": index, "value": row, "reason": reason, "pointer": pointer}


def report(checked: Checked, received: int, **counts: Any) -> dict[str, Any]:
    return {
        "received": received,
        **counts,
        "rejected": checked.rejected,
        "rejectedCount": checked.rejected_count,
    }
