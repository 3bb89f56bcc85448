"""The committed dialect reference pages are the ones irforge.docgen generates."""

from pathlib import Path

from irforge.docgen import _dialects, dialect_page

DOCS = Path(__file__).parent.parent / "docs" / "dialects"


def test_dialect_pages_are_current():
    for d in _dialects():
        page = DOCS / f"{d.name}.md"
        assert page.exists(), f"missing {page}: run python -m irforge.docgen docs/dialects"
        assert page.read_text(encoding="utf-8") == dialect_page(d), (
            f"{page} is stale: run python -m irforge.docgen docs/dialects"
        )
