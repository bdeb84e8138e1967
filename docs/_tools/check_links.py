"""Check every internal link of the built site (offline; ``sphinx -b linkcheck`` needs a network).

For every ``href``/``src`` in every HTML page under the build folder that is not external
(no scheme, not ``//host``): the file it names must exist, and a ``#fragment`` pointing into
an HTML page must be an ``id`` (or ``name``) in that page.  Also fails when a tutorial page
shows no figure, or a figure file is missing.

Usage: ``python docs/_tools/check_links.py docs/_build/html`` (exit 1 and a list on failure).
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(str(a[key]))
        for key in ("href", "src"):
            if a.get(key):
                self.links.append(str(a[key]))
        if tag == "img" and a.get("src"):
            self.images.append(str(a["src"]))


def _parse(path: Path, cache: dict[Path, _Page]) -> _Page:
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = page
    return cache[path]


def check(root: Path) -> list[str]:
    """Problems found in the site under ``root`` (empty: every internal link resolves)."""
    problems: list[str] = []
    cache: dict[Path, _Page] = {}
    pages = sorted(p for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)
    if not pages:
        return [f"no HTML pages under {root}"]
    for page_path in pages:
        page = _parse(page_path, cache)
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or link.startswith("data:"):
                continue
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path))
            target = Path(target).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = page_path.relative_to(root)
            if not target.exists():
                problems.append(f"{where}: broken link {link!r}")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target, cache).ids:
                    problems.append(f"{where}: no anchor #{parts.fragment} in {link!r}")
    tutorials = sorted((root / "tutorials").glob("*.html"))
    if not tutorials:
        problems.append("no tutorial pages were built")
    for page_path in tutorials:
        if not _parse(page_path, cache).images:
            problems.append(f"{page_path.relative_to(root)}: the tutorial shows no figure")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "docs/_build/html")
    problems = check(root)
    pages = sum(1 for p in root.rglob("*.html") if "_static" not in p.relative_to(root).parts)
    if problems:
        print(f"{len(problems)} internal link problems in {pages} pages:")
        print("\n".join(problems[:200]))
        return 1
    print(f"internal links OK: {pages} pages under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
