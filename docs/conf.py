"""Sphinx configuration of the ppltopics documentation (built offline by ``make docs``).

The tutorials are the jupytext percent files in ``../tutorials``: they are copied into
``tutorials/`` (git-ignored) and executed by myst-nb in small mode
(``PPLTOPICS_TUTORIAL_SMALL=1``; set it to 0 for the full settings).  MathJax is served from
the ``django-static-mathjax`` package, so pages render their equations without a network.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# -- the tutorials: copied in, executed small, figures saved to one folder
os.environ.setdefault("PPLTOPICS_TUTORIAL_SMALL", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PPLTOPICS_TUTORIAL_OUT", str(HERE / "_build" / "tutorial_outputs"))
_TUT = HERE / "tutorials"
_TUT.mkdir(exist_ok=True)
for _src in sorted((ROOT / "tutorials").glob("[0-9]*.py")):
    _dst = _TUT / _src.name
    if not _dst.exists() or _dst.read_bytes() != _src.read_bytes():
        shutil.copyfile(_src, _dst)  # unchanged files keep their mtime: the cache stays valid
for _old in _TUT.glob("[0-9]*.py"):
    if not (ROOT / "tutorials" / _old.name).exists():
        _old.unlink()

# -- MathJax 3 from an installed package (no CDN)
_spec = importlib.util.find_spec("mathjax")
_es5 = Path(_spec.origin).parent / "static" / "mathjax" / "es5" if _spec else None
_MJ = HERE / "_static_mathjax"
if _es5 is not None and _es5.is_dir():
    if not (_MJ / "tex-mml-chtml.js").exists():
        _MJ.mkdir(exist_ok=True)
        shutil.copyfile(_es5 / "tex-mml-chtml.js", _MJ / "tex-mml-chtml.js")
        shutil.copytree(_es5 / "output" / "chtml" / "fonts" / "woff-v2",
                        _MJ / "output" / "chtml" / "fonts" / "woff-v2", dirs_exist_ok=True)
    mathjax_path = "tex-mml-chtml.js"
    html_static_path = [str(_MJ), "_static"]
else:  # pragma: no cover - the docs extra installs it
    raise RuntimeError("install the docs extra: pip install -e '.[docs]' -c constraints.txt")

project = "ppltopics"
author = "the ppltopics developers"
copyright = "2026, the ppltopics developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".py": "myst-nb"}
exclude_patterns = ["_build", "_static_mathjax", "_tools", "conf.py", "Thumbs.db", ".DS_Store",
                    "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = os.environ.get("PPLTOPICS_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "remove"  # import-time library warnings (tqdm without ipywidgets)

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = "ppltopics"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"glossary": [], "index": []}
html_css_files = ["custom.css"]


# -- docstrings: the library's docstrings are written for ``help()`` first (equations in
# plain text, ``::`` blocks).  One that docutils cannot parse cleanly is shown as the
# preformatted text it is instead of failing the -W build; the build log lists them.
_SPHINX_ONLY = ("Unknown interpreted text role", "No role entry", "Unknown directive type",
                "No directive entry", 'Trying "')


def _docutils_problems(text: str, env) -> list[str]:
    import io

    from docutils.core import publish_doctree

    stream = io.StringIO()
    publish_doctree(text, settings_overrides={"report_level": 2, "halt_level": 5,
                                              "warning_stream": stream,
                                              "file_insertion_enabled": False, "env": env})
    msgs = [m for m in stream.getvalue().split("<string>:") if m.strip()]
    return [m.strip() for m in msgs if not any(s in m for s in _SPHINX_ONLY)]


def _preformat_broken_docstring(app, what, name, obj, options, lines):
    if not lines:
        return
    problems = _docutils_problems("\n".join(lines), app.env)
    if problems:
        from sphinx.util import logging

        logging.getLogger(__name__).info("docstring of %s shown preformatted (%s)", name,
                                         problems[0].splitlines()[0][:80])
        lines[:] = ["::", ""] + ["    " + ln for ln in lines] + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _preformat_broken_docstring, priority=600)
