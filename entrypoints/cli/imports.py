"""``hub import staff|services --clinic ID FILE``: import a clinic's staff or services from an
EMR export (FHIR Bundle or CSV) with a progress bar; ``hub import status|retry ID``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from uuid import UUID

from tqdm import tqdm

from aggregates.errors import InvalidValue
from connectors.directory import SOURCES
from hub.bootstrap import bootstrap
from hub.imports.service import Imports, report

#: Exit codes: 0 succeeded, 3 imported with conflicts, 1 failed (2: bad input, from the CLI).
EXIT = {"succeeded": 0, "conflicts": 3, "failed": 1, "running": 0}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import", help="import a clinic's staff or services from its EMR (FHIR Bundle or CSV)",
        description="Exit status: 0 all imported, 3 imported with conflicts (listed), 1 failed.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for kind in ("staff", "services"):
        run = actions.add_parser(kind, help=f"import {kind} from FILE")
        run.add_argument("--clinic", required=True, help="clinic id (UUID)")
        run.add_argument("file", help="FHIR Bundle (.json) or CSV file; '-' reads standard input")
        run.add_argument("--json", action="store_true", help="print the report as JSON")
        run.set_defaults(func=run_import, kind=kind)
    status = actions.add_parser("status", help="show an import's report")
    status.add_argument("id", help="import id")
    status.set_defaults(func=run_status)
    retry = actions.add_parser("retry", help="run an import again (optionally from a new FILE)")
    retry.add_argument("id", help="import id")
    retry.add_argument("file", nargs="?", help="corrected FHIR Bundle or CSV")
    retry.add_argument("--json", action="store_true", help="print the report as JSON")
    retry.set_defaults(func=run_retry)


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidValue(f"{value!r} is not a {what} id (a UUID)") from None


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidValue(f"cannot read {path}: {exc}") from None


def _run_with_bar(imports: Imports, import_id: UUID, kind: str) -> dict:
    with tqdm(total=0, unit=" rows", desc=f"import {kind}", file=sys.stderr,
              disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        job = imports.run(import_id, progress)
    return report(job)


def _print(result: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"import {result['id']}: {result['status']} — {result['imported']} imported "
              f"({result['created']} new, {result['updated']} updated), "
              f"{len(result['conflicts'])} in conflict")
        for c in result["conflicts"]:
            print(f"  conflict  {c['source_id'] or '-'}  {c['name'] or '-'}: {c['reason']}")
        if result["error"]:
            print(f"  error: {result['error']}")
    return EXIT[result["status"]]


def run_import(args: argparse.Namespace) -> int:
    clinic_id = _uuid(args.clinic, "clinic")
    source = _read(args.file)
    app = bootstrap()
    imports = Imports(app, SOURCES)
    written = imports.start(clinic_id, args.kind, source)
    return _print(_run_with_bar(imports, written.id, args.kind), args.json)


def run_status(args: argparse.Namespace) -> int:
    imports = Imports(bootstrap(), SOURCES)
    result = imports.status(_uuid(args.id, "import"))
    return _print(result, False)


def run_retry(args: argparse.Namespace) -> int:
    import_id = _uuid(args.id, "import")
    source = _read(args.file) if args.file else None
    imports = Imports(bootstrap(), SOURCES)
    imports.retry(import_id, source)
    kind = imports.status(import_id)["kind"]
    return _print(_run_with_bar(imports, import_id, kind), args.json)
