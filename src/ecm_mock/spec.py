"""The contract: loading ``openapi/ecm.yaml`` once, checking it, and the table of its operations.

Nothing here knows about Flask; the app, the CLI and the tests all start from :func:`load_spec`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate as validate_openapi

PROVENANCES = ("documented", "partial", "inferred")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class SpecError(Exception):
    """The spec is missing, unreadable or invalid; the message says where and why."""


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error, not a silent win."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, as the mock and the kit see it."""

    operation_id: str
    method: str  # upper case
    path: str
    tag: str
    title: str
    provenance: str
    secured: bool
    success_status: int


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per load
class Spec:
    """A loaded, validated contract. Build it once (see :func:`load_spec`) and share it."""

    path: str
    document: dict[str, Any]
    operations: dict[str, Operation]  # by operationId, in document order

    def operation(self, operation_id: str) -> Operation:
        return self.operations[operation_id]

    def schema(self, name: str) -> dict[str, Any]:
        """The named component schema, as written (with its ``$ref`` s)."""
        return self.document["components"]["schemas"][name]

    def resolve(self, node: Any, section: str = "schemas") -> Any:
        """``node`` with its local ``$ref`` (to ``#/components/<section>/``) followed."""
        prefix = f"#/components/{section}/"
        for _ in range(10):  # refs to refs are followed; a loop is not
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not (isinstance(ref, str) and ref.startswith(prefix)):
                return node
            node = self.document["components"][section][ref[len(prefix) :]]
        return node

    def operation_document(self, operation_id: str) -> dict[str, Any]:
        op = self.operations[operation_id]
        return self.document["paths"][op.path][op.method.lower()]

    def capped_arrays(self, operation_id: str) -> list[tuple[str | None, int]]:
        """The arrays of the operation's JSON body with a ``maxItems``: ``(None, most)`` for
        the body itself, ``(name, most)`` for a property of it."""
        content = self.operation_document(operation_id).get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if not isinstance(schema, dict):
            return []
        schema = self.resolve(schema)
        if schema.get("type") == "array":
            return [(None, schema["maxItems"])] if "maxItems" in schema else []
        found = []
        for name, member in schema.get("properties", {}).items():
            member = self.resolve(member)
            if member.get("type") == "array" and "maxItems" in member:
                found.append((name, member["maxItems"]))
        return found


def default_spec_path() -> Path:
    """The spec shipped inside the package (a copy of openapi/ecm.yaml)."""
    return Path(str(resources.files("ecm_mock") / "spec" / "ecm.yaml"))


def read_document(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec not found") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc.strerror}") from None
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: not valid YAML{at}: {problem}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: the spec must be a YAML mapping, not {type(document).__name__}")
    return document


def load_spec(path: str | Path | None = None, *, ecm: bool = True) -> Spec:
    """Read, validate and index a spec. Raises :class:`SpecError` naming the problem.

    ``ecm``: also hold it to this project's rules for ECM operations (a vendor title, a
    provenance, one tag); the control plane's own spec is loaded with ``ecm=False``.
    """
    path = Path(path) if path is not None else default_spec_path()
    return _load_spec_cached(str(path.resolve()), _mtime(path), ecm)


def admin_spec_path() -> Path:
    """The control plane's spec shipped inside the package (a copy of openapi/admin.yaml)."""
    return Path(str(resources.files("ecm_mock") / "spec" / "admin.yaml"))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


@functools.lru_cache(maxsize=8)
def _load_spec_cached(path: str, _mtime: float, ecm: bool) -> Spec:
    document = read_document(path)
    _link_bodies(document)
    _text_files(document)
    try:
        validate_openapi(document)
    except Exception as exc:  # the validator raises several types; all mean "invalid"
        raise SpecError(f"{path}: invalid OpenAPI: {_describe_validation_error(exc)}") from None
    operations = _index_operations(path, document, ecm)
    return Spec(path=path, document=document, operations=operations)


LINK_BODY = "x-ecm-request-body"


def _link_bodies(node: Any) -> None:
    """Each link's ``x-ecm-request-body`` (field → runtime expression) as its ``requestBody``.

    OpenAPI allows any value as a link's ``requestBody``, and schemathesis follows an object of
    expressions there; openapi-generator's parser takes only a string. So the file says it in an
    extension, and the loaded contract says it where schemathesis reads it.
    """
    if isinstance(node, list):
        for item in node:
            _link_bodies(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "links" and isinstance(value, dict):
            for link in value.values():
                if isinstance(link, dict) and LINK_BODY in link and "requestBody" not in link:
                    link["requestBody"] = dict(link[LINK_BODY])
        elif key not in ("examples", "example", "default", "enum", "const"):
            _link_bodies(value)


def _text_files(node: Any) -> None:
    """A file of text (``format: binary`` with a ``contentMediaType: text/...``) read as text.

    ``format: binary`` is what makes client generators type a multipart part as a file; but a
    file of text with a ``pattern`` is text to validate and to fuzz (schemathesis draws bytes for
    ``binary`` and leaves its pattern aside). The loaded contract drops that ``format``.
    """
    if isinstance(node, list):
        for item in node:
            _text_files(item)
        return
    if not isinstance(node, dict):
        return
    media = node.get("contentMediaType")
    if node.get("format") == "binary" and isinstance(media, str) and media.startswith("text/"):
        del node["format"]
    for key, value in node.items():
        if key not in ("examples", "example", "default", "enum", "const"):
            _text_files(value)


def _describe_validation_error(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc).splitlines()[0]
    where = "/".join(str(p) for p in getattr(exc, "absolute_path", ()) or ())
    return f"{message} (at #/{where})" if where else message


def _index_operations(path: str, document: dict[str, Any], ecm: bool) -> dict[str, Operation]:
    global_security = document.get("security", [])
    operations: dict[str, Operation] = {}
    problems: list[str] = []
    for url, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {url}"
            op_id = op.get("operationId")
            if not op_id:
                problems.append(f"{where}: no operationId")
                continue
            if op_id in operations:
                problems.append(f"{where}: operationId {op_id!r} is used twice")
            provenance = op.get("x-ecm-provenance")
            if ecm and provenance not in PROVENANCES:
                problems.append(
                    f"{where}: x-ecm-provenance must be one of {', '.join(PROVENANCES)}, "
                    f"not {provenance!r}"
                )
            if ecm and not op.get("x-ecm-title"):
                problems.append(f"{where}: no x-ecm-title")
            tags = op.get("tags") or []
            if len(tags) != 1:
                problems.append(f"{where}: needs exactly one tag, has {len(tags)}")
            successes = sorted(int(s) for s in op.get("responses", {}) if str(s).startswith("2"))
            if not successes:
                problems.append(f"{where}: no 2xx response")
            operations[op_id] = Operation(
                operation_id=op_id,
                method=method.upper(),
                path=url,
                tag=tags[0] if tags else "",
                title=op.get("x-ecm-title", ""),
                provenance=provenance or "",
                secured=bool(op.get("security", global_security)),
                success_status=successes[0] if successes else 200,
            )
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return operations


def operations_table(spec: Spec) -> str:
    """A plain-text table of the operations by tag, then a count by provenance."""
    rows = sorted(spec.operations.values(), key=lambda o: (o.tag, o.path, o.method))
    header = ("TAG", "OPERATION", "METHOD", "PATH", "PROVENANCE")
    table = [header] + [(o.tag, o.operation_id, o.method, o.path, o.provenance) for o in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    ]
    counts = {p: sum(1 for o in rows if o.provenance == p) for p in PROVENANCES}
    by_tag: dict[str, int] = {}
    for o in rows:
        by_tag[o.tag] = by_tag.get(o.tag, 0) + 1
    lines.append("")
    lines.append(
        f"{len(rows)} operations: "
        + ", ".join(f"{n} {p}" for p, n in counts.items())
        + "; by tag: "
        + ", ".join(f"{t} {n}" for t, n in by_tag.items())
    )
    return "\n".join(lines)
