"""Write docs/models.md, the model table and every shipped model's card, from the records.

    python scripts/make_model_docs.py           # (re)write docs/models.md
    python scripts/make_model_docs.py --check   # exit 1 if docs/models.md is not what the records give

The records are ``egan_plugins.shipped``'s; the page is ``egan_plugins.shipped.models_page()``,
so the file, ``egan models`` and ``tests/egan_plugins/test_model_cards.py`` cannot disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egan_plugins.shipped import models_page

#: The generated page, relative to the repository root.
DOCS = Path(__file__).resolve().parents[1] / "docs" / "models.md"


def main(argv: list[str] | None = None) -> int:
    """Write or check docs/models.md; the exit status (1: ``--check`` found it stale)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if docs/models.md differs from what the records give")
    args = ap.parse_args(argv)
    page = models_page()
    current = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else None
    if args.check:
        if current != page:
            print(f"{DOCS.name} is out of date: run python scripts/make_model_docs.py", file=sys.stderr)
            return 1
        print(f"{DOCS.name} is up to date")
        return 0
    if current != page:
        DOCS.write_text(page, encoding="utf-8")
        print(f"wrote {DOCS.name}")
    else:
        print(f"{DOCS.name} is already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
