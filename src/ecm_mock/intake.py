"""Reading a request strictly and within limits, before the contract is checked.

Whatever the mock could not store and answer again faithfully is refused here, with the one
problem shape and a pointer to the value: a body over the size limit however it arrives (413),
a ``Content-Encoding`` (415), JSON that is not plain UTF-8 JSON (``NaN``, ``Infinity``, a lone
surrogate, nesting deeper than :attr:`Limits.json_depth`, an integer of more digits than
:attr:`Limits.integer_digits`), a malformed or truncated multipart body, a form field that is
not UTF-8, a single-valued query parameter given twice. Only :mod:`ecm_mock.validation` calls
this module; what it reads (the parsed JSON, the multipart parts) is what both the compiled
checks and openapi-core then check, and what handlers read.

A number written with a fraction or an exponent that is a whole number (``2.0``, ``1e3``) is
read as the integer it is, as JSON Schema sees it: an integer field never holds a float.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder

from .errors import ErrorItem

# a \u escape of a surrogate: after decoding, a pair is one character, a lone one stays
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_INTEGER = re.compile(r"[-+]?[0-9]+")
SHOWN = 40  # characters of an offending value quoted in a message


@dataclass(frozen=True)
class Limits:
    """What one request may hold (see README, Limits); from :class:`~ecm_mock.Settings`."""

    body_bytes: int = 10 * 1024 * 1024
    json_depth: int = 32
    integer_digits: int = 1000
    form_parts: int = 1000

    @classmethod
    def of(cls, settings: Any) -> Limits:
        return cls(
            body_bytes=settings.max_body_bytes,
            json_depth=settings.max_json_depth,
            integer_digits=settings.max_integer_digits,
            form_parts=settings.max_form_parts,
        )


DEFAULTS = Limits()


class Refused(Exception):
    """The request is refused before its contract is checked: answer ``status``."""

    def __init__(self, status: int, items: list[ErrorItem]) -> None:
        super().__init__(items[0].message)
        self.status = status
        self.items = items


def _refuse(status: int, location: str, pointer: str, message: str) -> Refused:
    return Refused(status, [ErrorItem(location, pointer, message)])


# ------------------------------------------------------------------------- body
def check_encoding(headers: Mapping[str, str]) -> None:
    """A compressed or otherwise encoded body is not read: 415."""
    encoding = (headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        raise _refuse(
            415,
            "header",
            "/header/Content-Encoding",
            f"the body is encoded as {_shown(encoding)}; send it unencoded (identity)",
        )


HELD_BODY = "ecm_mock.body"  # environ: the body, read in full by the server (serving.AsyncFront)


def read_body(environ: dict[str, Any], content_length: int | None, limit: int) -> bytes | None:
    """The body of a request the server holds already, or of one without a length (chunked),
    read up to ``limit`` bytes.

    Returns ``None`` when the request gives its length and the server does not hold it:
    werkzeug reads it and enforces the limit. A chunked body is read here, and over the limit
    is 413 like any other; the environ is then given the body as a stream of known length,
    for every later reader.
    """
    if content_length is not None and content_length > limit:
        raise too_large(limit)
    held = environ.get(HELD_BODY)
    if held is not None and content_length == len(held):
        return held
    if content_length is not None or not environ.get("wsgi.input_terminated"):
        return None
    stream, chunks, size = environ["wsgi.input"], [], 0
    while size <= limit:
        chunk = stream.read(min(1 << 16, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise too_large(limit)
    data = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ.pop("wsgi.input_terminated", None)
    return data


def too_large(limit: int) -> Refused:
    return _refuse(413, "body", "/body", f"the body is larger than the limit of {limit} bytes")


# ------------------------------------------------------------------------- JSON
class _Unfit:
    """A value read from the JSON text that the mock does not keep (found by the walk)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def loads(text: str | bytes, limits: Limits = DEFAULTS, pointer: str = "/body") -> Any:
    """The JSON value of ``text``, or :class:`Refused` (400) naming what is wrong and where."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(
                400, "body", pointer, f"not UTF-8 text (byte {exc.start}: {exc.reason})"
            ) from None
    unfit: list[bool] = []

    def whole(literal: str) -> Any:
        if len(literal) - literal.startswith("-") > limits.integer_digits:
            unfit.append(True)
            return _Unfit(_too_many_digits(literal, limits))
        return int(literal)

    def fraction(literal: str) -> Any:
        value = float(literal)
        if not math.isfinite(value):
            unfit.append(True)
            return _Unfit(f"{_shown(literal)} is beyond the range of a number")
        if value.is_integer():  # at most 309 digits: a float is below 1.8e308
            number = int(value)
            if len(str(abs(number))) > limits.integer_digits:
                unfit.append(True)
                return _Unfit(_too_many_digits(literal, limits))
            return number
        return value

    def constant(literal: str) -> Any:
        unfit.append(True)
        return _Unfit(f"{literal} is not a JSON number")

    try:
        value = json.loads(
            text,
            parse_int=whole,
            parse_float=fraction,
            parse_constant=constant,
            object_hook=_each_object,
        )
    except RecursionError:
        raise _too_deep(pointer, limits) from None
    except json.JSONDecodeError as exc:
        raise _refuse(
            400,
            "body",
            pointer,
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    if not _fits(value, limits.json_depth) or unfit or surrogates:
        items = _problems(value, pointer, limits.json_depth)
        if items:
            raise Refused(400, items)
    return value


def _each_object(value: dict) -> dict:
    """As it is. Being Python, it lets the interpreter switch threads between objects: a
    large body (a 100,000-row upload: 50 ms of parsing) would otherwise hold every other
    request of the process up while ``json.loads`` runs."""
    return value


def _fits(value: Any, depth: int) -> bool:
    """Is ``value`` nested at most ``depth`` deep (cheap: containers only)?"""
    level, seen = [value], 0
    while level:
        seen += 1
        below = []
        for node in level:
            if type(node) is dict:
                below += [c for c in node.values() if type(c) is dict or type(c) is list]
            elif type(node) is list:
                below += [c for c in node if type(c) is dict or type(c) is list]
        if below and seen >= depth:
            return False
        level = below
    return True


def _problems(value: Any, base: str, depth: int, most: int = 10) -> list[ErrorItem]:
    """Where the value cannot be kept: the first ``most`` places, as pointers."""
    items: list[ErrorItem] = []
    stack: list[tuple[Any, str, int]] = [(value, base, 1)]
    while stack and len(items) < most:
        node, pointer, level = stack.pop()
        if isinstance(node, _Unfit):
            items.append(ErrorItem("body", pointer, node.message))
        elif isinstance(node, str):
            if _SURROGATE.search(node):
                items.append(ErrorItem("body", pointer, _surrogate_message(node)))
        elif isinstance(node, dict | list):
            if level > depth:
                message = f"nested more than {depth} deep (arrays and objects)"
                items.append(ErrorItem("body", pointer, message))
                continue
            pairs = node.items() if isinstance(node, dict) else enumerate(node)
            children = []
            for key, child in pairs:
                where = f"{pointer}/{_escape(key)}"
                if isinstance(key, str) and _SURROGATE.search(key):
                    items.append(ErrorItem("body", where, _surrogate_message(key, "name")))
                children.append((child, where, level + 1))
            stack.extend(reversed(children))  # depth first, in document order
    return items


def _too_deep(pointer: str, limits: Limits) -> Refused:
    message = f"nested more than {limits.json_depth} deep (arrays and objects)"
    return _refuse(400, "body", pointer, message)


def _too_many_digits(literal: str, limits: Limits) -> str:
    return (
        f"{_shown(literal)} has more than {limits.integer_digits} digits, "
        "the most a number may have"
    )


def _surrogate_message(text: str, what: str = "string") -> str:
    return (
        f"the {what} {_shown(text)} holds a lone surrogate (an unpaired \\ud800-\\udfff "
        "escape), which is not a character"
    )


# -------------------------------------------------------------------- multipart
@dataclass
class Parts:
    """A multipart body: fields as UTF-8 text, files as bytes, by name."""

    form: dict[str, str]
    files: dict[str, bytes]


def parse_multipart(data: bytes, boundary: str, limits: Limits) -> Parts:
    """Every part of a ``multipart/form-data`` body, or :class:`Refused`."""
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    decoder.receive_data(data)
    decoder.receive_data(None)
    named: list[tuple[str, bool, bytearray]] = []
    count = 0
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            message = str(exc)
            if "cannot parse beyond" in message:
                message = "it ends before its closing boundary (truncated)"
            raise _refuse(
                400, "body", "/body", f"the multipart body is malformed: {message}"
            ) from None
        if isinstance(event, Field | File):
            count += 1
            if count > limits.form_parts:
                raise _refuse(
                    413,
                    "body",
                    "/body",
                    f"the multipart body has more than {limits.form_parts} parts",
                )
            if not event.name:
                raise _refuse(400, "body", "/body", f"part {count} has no name")
            named.append((event.name, isinstance(event, File), bytearray()))
        elif isinstance(event, Data):
            if named:
                named[-1][2].extend(event.data)
        elif isinstance(event, Epilogue):
            break
    parts = Parts({}, {})
    for name, is_file, value in named:
        pointer = f"/body/{_escape(name)}"
        if name in parts.form or name in parts.files:
            raise _refuse(400, "body", pointer, f"the part {_shown(name)} is given twice")
        if is_file:
            parts.files[name] = bytes(value)
            continue
        try:
            parts.form[name] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _refuse(
                400, "body", pointer, f"not UTF-8 text (byte {exc.start}: {exc.reason})"
            ) from None
    return parts


# ------------------------------------------------------------------ parameters
def check_parameters(
    args: Any,
    view_args: Mapping[str, str],
    single: frozenset[str],
    integers: frozenset[str],
    limits: Limits,
) -> list[ErrorItem]:
    """A single-valued query parameter given more than once; an integer written other than
    in ASCII digits with an optional sign (Python's ``int`` would take ``" 1"``, ``"1_000"``
    and other scripts' digits); an integer with too many digits.

    ``single``: the query parameters that take one value; ``integers``: the query and path
    parameters whose schema is an integer or a number. Empty values (``?status=``) mean
    "not given", as everywhere.
    """
    items = []
    for name in single:
        given = [v for v in args.getlist(name) if v != ""]
        if len(given) > 1:
            message = f"given {len(given)} times; it takes one value"
            items.append(ErrorItem("query", f"/query/{_escape(name)}", message))
    for name in integers:
        for location, values in (("query", args.getlist(name)), ("path", [view_args.get(name)])):
            for value in values:
                if not value:
                    continue
                if not _INTEGER.fullmatch(value):
                    message = f"{_shown(value)} is not an integer (digits 0-9, a sign at most)"
                    items.append(ErrorItem(location, f"/{location}/{_escape(name)}", message))
                    continue
                if len(value.lstrip("+-")) > limits.integer_digits:
                    message = _too_many_digits(value, limits)
                    items.append(ErrorItem(location, f"/{location}/{_escape(name)}", message))
    return items


# ------------------------------------------------------------------------ words
def _escape(key: Any) -> str:
    """``key`` as a JSON pointer token; a lone surrogate is written as its escape."""
    token = str(key).replace("~", "~0").replace("/", "~1")
    if _SURROGATE.search(token):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", token)
    return token


def _shown(text: str) -> str:
    """``text`` quoted (lone surrogates escaped), cut to :data:`SHOWN` characters."""
    return repr(text if len(text) <= SHOWN else f"{text[: SHOWN - 1]}…")
