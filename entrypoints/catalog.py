"""The operator's catalog tool: ``python -m entrypoints.catalog check | diff --docs FILE | scaffold --docs FILE ID…``.

check     validate catalog/models.yaml (and families.yaml beside it), list models without a price source,
          estimates, disabled models;
          exit 0 when the catalog loads and every enabled model cites its price, else 1 (2: cannot read it).
diff      compare the catalog with a KIE docs export (market-2026-08.json format); exit 0 when nothing differs
          beyond the exclusions and disabled ids the catalog documents, 1 otherwise.
scaffold  print ready-to-edit YAML entries for the given documented ids (paste under ``models:``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters.catalog.catalog_files import load_catalog_files, market_only
from adapters.catalog.docs_diff import check, diff, load_docs
from adapters.catalog.scaffold import scaffold
from ports.catalog import CatalogError

DEFAULT_CATALOG = Path("catalog/models.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m entrypoints.catalog", description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help="catalog file (catalog/models.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the catalog and list what needs a look")
    diff_parser = commands.add_parser("diff", help="compare the catalog with a KIE docs export")
    diff_parser.add_argument("--docs", type=Path, required=True)
    scaffold_parser = commands.add_parser("scaffold", help="print YAML entries for documented ids")
    scaffold_parser.add_argument("--docs", type=Path, required=True)
    scaffold_parser.add_argument("ids", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "scaffold":
            return _scaffold(args.docs, args.ids)
        if args.command == "check":  # the whole shipped catalog: models.yaml and families.yaml beside it
            catalog = load_catalog_files(args.catalog)
            findings = check(catalog)
        else:  # the market models of both files (follow-ups included); the dedicated families are not in the docs
            catalog = market_only(load_catalog_files(args.catalog))
            findings = diff(catalog, load_docs(args.docs))
    except (CatalogError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    for finding in findings:
        print(finding.line())
    failures = [finding for finding in findings if not finding.documented]
    enabled = sum(model.enabled for model in catalog.models)
    print(f"{len(catalog.models)} models ({enabled} enabled), {len(catalog.excluded)} excluded; "
          f"{len(failures)} problem(s)")  # fmt: skip
    return 1 if failures else 0


def _scaffold(docs_path: Path, ids: list[str]) -> int:
    docs = load_docs(docs_path)
    unknown = [model_id for model_id in ids if model_id not in docs]
    if unknown:
        print(f"{docs_path}: not documented: {', '.join(unknown)}", file=sys.stderr)
        return 2
    print("\n\n".join(scaffold(docs[model_id]) for model_id in ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
