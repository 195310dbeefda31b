"""Bulk uploads: rows from JSON or from a CSV file, each checked and reported on its own."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..errors import field_error, not_acceptable
from ._base import Call


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
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise not_acceptable(
            "/body/file", f"the CSV header repeats column(s) {', '.join(map(repr, repeated))}"
        )
    parsed: list[Any] = []
    for row in reader:
        extra = row.pop(None, None)  # type: ignore[call-overload]
        cells = {k: v for k, v in row.items() if v not in (None, "")}
        parsed.append(cells if extra is None else _TooManyCells(cells, extra))
    return parsed


class _TooManyCells(dict):
    def __init__(self, cells: dict[str, str], extra: list[str]) -> None:
        super().__init__(cells)
        self.extra = extra


def row_problem(call: Call, schema: str, row: Any) -> tuple[str, str] | None:
    """(pointer within the row, reason) for a row that breaks ``schema``, else None."""
    if isinstance(row, _TooManyCells):
        return "", f"the row has {len(row.extra)} more cell(s) than the header"
    errors = call.services.validator.schema_errors(schema, row)
    if errors:
        return errors[0].pointer, "; ".join(e.message for e in errors)
    return None


def rejected(index: int, row: Any, pointer: str, reason: str) -> dict[str, Any]:
    return {"row": index, "value": row, "reason": reason, "pointer": pointer}
