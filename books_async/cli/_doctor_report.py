"""What ``books-async doctor`` found, and how it is printed: grouped text for people, ``--json`` for machines.

A report holds operations (as the spec names them, ``GET /books/invoices/{id}``, never with a real id),
differences by kind and collapsed path, the outcome of each check of the SDK's guesses, and of each
pre-validated sample. Nothing in it comes from the account's data except enum values and key names, so it can
be pasted into a bug report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from books_async.cli._doctor_spec import Effect, Kind, Tally
from books_async.cli._output import Output

__all__ = ["REPORT_VERSION", "Check", "OperationResult", "Outcome", "Report"]

REPORT_VERSION: Final = 1
"""The version of the ``--json`` shape; it changes only when a key is removed or changes meaning."""

Outcome: TypeAlias = Literal["ok", "breaks", "tolerated", "unknown"]

_KIND_TITLES: Final[dict[Kind, str]] = {
    "answer": "answers",
    "missing_key": "missing keys",
    "unknown_key": "unknown keys",
    "type": "type mismatches",
    "enum": "enum values not in the spec",
    "format": "formats",
    "constraint": "constraints",
}
_EFFECT_TEXT: Final[dict[Effect, str]] = {"breaks": "breaks the SDK", "tolerated": "tolerated by the SDK"}
_OUTCOME_LABEL: Final[dict[Outcome, str]] = {
    "ok": "ok",
    "breaks": "BREAKS",
    "tolerated": "differs",
    "unknown": "n/a",
}


@dataclass(slots=True)
class OperationResult:
    """Everything seen for one operation of the spec."""

    method: str
    template: str
    operation_id: str | None
    tally: Tally = field(default_factory=Tally)
    answers: int = 0
    decode_error: str | None = None
    """Why the SDK's own model could not read the first answer it failed on (paths and types only)."""

    @property
    def label(self) -> str:
        """``GET /books/invoices``."""
        return f"{self.method} {self.template}"


@dataclass(frozen=True, slots=True)
class Check:
    """One guess the SDK rests on, and whether the account bears it out."""

    name: str
    title: str
    outcome: Outcome
    detail: str


@dataclass(frozen=True, slots=True)
class _Row:
    kind: Kind
    path: str
    detail: str
    effect: Effect
    count: int
    out_of: int
    values: tuple[str, ...]


def _rows(result: OperationResult) -> list[_Row]:
    # One row per place and finding; enum values outside the spec at one place are listed together.
    merged: dict[tuple[Kind, str, str, Effect], tuple[int, int, list[str]]] = {}
    for difference, count in result.tally.found.items():
        key = (difference.kind, difference.path, difference.detail, difference.effect)
        total, out_of, values = merged.get(key, (0, 0, []))
        if difference.value is not None and difference.value not in values:
            values.append(difference.value)
        merged[key] = (total + count, max(out_of, result.tally.out_of(difference)), values)
    order = list(_KIND_TITLES)
    return sorted(
        (
            _Row(kind, path, detail, effect, count, out_of, tuple(sorted(values)))
            for (kind, path, detail, effect), (count, out_of, values) in merged.items()
        ),
        key=lambda row: (order.index(row.kind), row.path, row.detail),
    )


@dataclass(slots=True)
class Report:
    """The doctor's findings for one account."""

    base_url: str
    spec_digest: str
    operations: dict[str, OperationResult] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    validations: list[Check] | None = None
    """The pre-validated samples (``--validate``), one per kind; None when not asked for."""
    requests: Counter[str] = field(default_factory=Counter)
    """Requests sent, by method (first attempts; retries are in ``attempts``)."""
    attempts: int = 0

    def operation(self, method: str, template: str, operation_id: str | None) -> OperationResult:
        """Return the result of ``method template``, made on first use."""
        key = f"{method} {template}"
        found = self.operations.get(key)
        if found is None:
            found = self.operations[key] = OperationResult(method, template, operation_id)
        return found

    def _all_checks(self) -> Iterator[Check]:
        yield from self.checks
        yield from self.validations or ()

    @property
    def drift(self) -> bool:
        """Whether anything differs from the spec or from what the SDK assumes."""
        return any(r.tally.found for r in self.operations.values()) or any(
            c.outcome in ("breaks", "tolerated") for c in self._all_checks()
        )

    @property
    def exit_code(self) -> int:
        """0 when everything matches, 1 when something drifted."""
        return 1 if self.drift else 0

    def _summary(self) -> dict[str, int]:
        rows = [row for result in self.operations.values() for row in _rows(result)]
        return {
            "differences": len(rows),
            "breaks": sum(1 for row in rows if row.effect == "breaks"),
            "tolerated": sum(1 for row in rows if row.effect == "tolerated"),
            "operations_checked": len(self.operations),
            "operations_differing": sum(1 for r in self.operations.values() if r.tally.found),
            "checks_failed": sum(1 for c in self._all_checks() if c.outcome in ("breaks", "tolerated")),
        }

    # ---- machines

    def to_json(self) -> dict[str, object]:
        """Return the report as JSON-ready data, in the stable shape of :data:`REPORT_VERSION`."""
        return {
            "report_version": REPORT_VERSION,
            "result": "drift" if self.drift else "ok",
            "exit_code": self.exit_code,
            "base_url": self.base_url,
            "spec_sha256": self.spec_digest,
            "requests": {"total": self.attempts, "by_method": dict(sorted(self.requests.items()))},
            "operations": [
                {
                    "operation": result.label,
                    "operation_id": result.operation_id,
                    "answers": result.answers,
                    "sdk_decode": {"ok": result.decode_error is None, "error": result.decode_error},
                    "differences": [
                        {
                            "kind": row.kind,
                            "path": row.path,
                            "detail": row.detail,
                            "effect": row.effect,
                            "count": row.count,
                            "out_of": row.out_of,
                            "values": list(row.values),
                        }
                        for row in _rows(result)
                    ],
                }
                for result in self.operations.values()
            ],
            "checks": [_check_json(c) for c in self.checks],
            "validate": None if self.validations is None else [_check_json(c) for c in self.validations],
            "summary": self._summary(),
        }

    # ---- people

    def render(self, output: Output) -> None:
        """Print the report as grouped text."""
        by_method = ", ".join(f"{method} {n}" for method, n in sorted(self.requests.items()))
        output.line(f"books-async doctor: {self.base_url} against books.yaml (sha256 {self.spec_digest})")
        output.line(f"{self.attempts} requests ({by_method})")
        output.line()
        output.line("Answers, by operation")
        for result in self.operations.values():
            self._render_operation(output, result)
        output.line()
        output.line("Checks of what the SDK assumes")
        for check in self.checks:
            output.line(f"  {_OUTCOME_LABEL[check.outcome]:<8}{check.title}: {check.detail}")
        if self.validations is not None:
            output.line()
            output.line("Pre-validated samples (POST /books/validate, nothing written)")
            for check in self.validations:
                output.line(f"  {_OUTCOME_LABEL[check.outcome]:<8}{check.title}: {check.detail}")
        output.line()
        summary = self._summary()
        if not self.drift:
            output.line(f"Everything matches the spec ({summary['operations_checked']} operations). Exit 0.")
            return
        output.line(
            f"Drift: {summary['differences']} difference(s) in {summary['operations_differing']} of "
            f"{summary['operations_checked']} operations ({summary['breaks']} break the SDK, "
            f"{summary['tolerated']} tolerated), {summary['checks_failed']} check(s) failed. Exit 1."
        )
        output.line(
            "Paste this report (it holds paths, types and enum values, no account data) into an issue."
        )

    @staticmethod
    def _render_operation(output: Output, result: OperationResult) -> None:
        rows = _rows(result)
        answers = f" ({result.answers} answers)" if result.answers > 1 else ""
        if not rows:
            output.line(f"  {result.label}{answers}: matches the spec")
            return
        output.line(f"  {result.label}{answers}")
        kind: Kind | None = None
        for line_kind, text in _lines(rows):
            if line_kind != kind:
                kind = line_kind
                output.line(f"    {_KIND_TITLES[kind]}")
            output.line(f"      {text}")
        if result.decode_error is not None:
            output.line(f"    the SDK cannot read it: {result.decode_error}")


def _lines(rows: list[_Row]) -> Iterator[tuple[Kind, str]]:
    """One line per finding, sibling keys with the same finding folded: ``$.data[].{a, b}: ...``."""
    groups: dict[tuple[Kind, str, str, Effect, int, int, tuple[str, ...]], list[str]] = {}
    for row in rows:
        parent, dot, leaf = row.path.rpartition(".")
        if not dot or leaf.endswith("[]"):
            parent, leaf = row.path, ""
        groups.setdefault(
            (row.kind, parent, row.detail, row.effect, row.count, row.out_of, row.values), []
        ).append(leaf)
    for (kind, parent, detail, effect, count, out_of, values), leaves in groups.items():
        keys = [leaf for leaf in leaves if leaf]
        if not keys:
            path = parent
        elif len(keys) == 1:
            path = f"{parent}.{keys[0]}"
        else:
            path = f"{parent}.{{{', '.join(keys)}}}"
        said = f": {detail}" if detail else ""
        shown = f" {', '.join(repr(v) for v in values)}" if values else ""
        where = f", in {count} of {out_of}" if "[]" in path and out_of else ""
        yield kind, f"{path}{said}{shown}{where} [{_EFFECT_TEXT[effect]}]"


def _check_json(check: Check) -> dict[str, object]:
    return {"name": check.name, "title": check.title, "outcome": check.outcome, "detail": check.detail}
