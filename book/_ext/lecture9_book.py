"""Sphinx extension for the lecture9 book (loaded through ``_config.yml``, ``local_extensions``).

It does three things:

1. **Author-year citations.** The text cites as "Mohamed et al. (2020)" and
   "(Owen, 2013)" (referencing style ``author_year_round``: sphinxcontrib-bibtex's
   ``author_year`` with round brackets instead of square ones); the bibliography lists
   the works with the same labels, sorted by author and year (pybtex style ``lecture9``).

2. **The solutions-hidden edition** for instructors who publish the book during a
   course. Build it with::

       LECTURE9_HIDE_SOLUTIONS=1 jupyter-book build . --path-output _build/students

   (the site lands in ``_build/students/_build/html``). In that build:

   - every solution (``{solution}`` and the gated ``{solution-start}`` ...
     ``{solution-end}`` blocks, with the code cells and outputs between them) is removed
     from the document before anything is written, so its text, code, figures and
     search-index entries never reach the output. sphinx-exercise's own
     ``hide_solutions`` cannot be used: with gated solutions it crashes (sphinx-exercise
     1.2.1 leaves an unknown ``solution_end_node``) and would leave the solution's cells
     on the page. A coding exercise's solution is replaced by its stub, the code the
     student notebook starts from (:func:`lecture9.exercises.stub_source`: header,
     signature and docstring, ``raise NotImplementedError`` for the solution), in a
     ``div.lecture9-stub`` block, so that "complete ... below" has something below;
   - ``html_copy_source`` is off, so the full notebooks are not copied into
     ``_sources/``; instead the download menu of a chapter offers the *student* notebook
     (:func:`lecture9.assign.student_notebook`: exercises kept, solutions removed or
     stubbed, outputs cleared), written to ``_sources/``, and the PDF (print) entry;
   - notebooks are not executed: their stored outputs are used (the repository keeps
     them executed, and nbval checks that they are current);
   - the launch buttons (Binder, Colab, JupyterHub) and the repository, edit and issue
     buttons are turned off, because they lead to the repository's notebooks, solutions
     included.

3. **The print edition** that ``tools/build_pdf.py`` turns into the PDF. With
   ``LECTURE9_PRINT=1`` (set by that script for its single-page build) notebooks are not
   executed (their stored outputs are used), solutions are plain boxes instead of
   collapsed dropdowns (the full edition prints them open) and
   ``book/_ext/print_static/lecture9-print.css``
   lays the page out for paper.

4. **No JavaScript errors, no CDN.** sphinx-thebe registers its configuration script
   with ``add_js_file(None, body=...)`` and Sphinx 7.4 then writes it twice (once as
   ``None``, once as ``''``), so every page raised "Identifier 'THEBE_JS_URL' has
   already been declared". Duplicate scripts are dropped from each page, and while
   live code (thebe, loaded from unpkg.com) is off, so are thebe's scripts: the pages
   then reference no CDN at all.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
from pathlib import Path

import latexcodec  # noqa: F401 - registers the "ulatex" codec (a dependency of pybtex)
from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.util import logging
from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

from lecture9.assign import HIDE_SOLUTIONS_ENV  # the one definition, shared with ``assign``'s notes

logger = logging.getLogger(__name__)

# --- author-year bibliography --------------------------------------------------------


def _plain(latex: str) -> str:
    """``V{\\'a}zquez-Abad`` -> ``Vázquez-Abad``: LaTeX accents decoded, braces dropped."""
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")


def _last_names(entry) -> list[str]:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    return [_plain(" ".join(person.last_names)) for person in persons]


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Owen, 2013", "Robert and Casella, 2004", "Mohamed et al., 2020" (a, b, ... on clashes)."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            names = _last_names(entry)
            if not names:
                who = entry.fields.get("organization") or entry.fields.get("title", entry.key)
            elif len(names) == 1:
                who = names[0]
            elif len(names) == 2:
                who = f"{names[0]} and {names[1]}"
            else:
                who = f"{names[0]} et al."
            who = _plain(who)
            labels.append(f"{who}, {entry.fields.get('year', 'n.d.')}")
        for label in set(labels):
            positions = [i for i, other in enumerate(labels) if other == label]
            if len(positions) > 1:
                for suffix, i in zip("abcdefghijklmnopqrstuvwxyz", positions):
                    labels[i] = f"{label}{suffix}"
        yield from labels


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` style (sorted by author, year, title) with author-year labels."""

    default_label_style = "lecture9_authoryear"


def _round_brackets() -> BracketStyle:
    return BracketStyle(left="(", right=")")


@dataclasses.dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """Author-year citations in round brackets: "Mohamed et al. (2020)", "(Owen, 2013)"."""

    bracket_parenthetical: BracketStyle = dataclasses.field(default_factory=_round_brackets)
    bracket_textual: BracketStyle = dataclasses.field(default_factory=_round_brackets)
    bracket_author: BracketStyle = dataclasses.field(default_factory=_round_brackets)
    bracket_label: BracketStyle = dataclasses.field(default_factory=_round_brackets)
    bracket_year: BracketStyle = dataclasses.field(default_factory=_round_brackets)


register_plugin("pybtex.style.labels", "lecture9_authoryear", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "lecture9", AuthorYearStyle)
register_bibtex_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle
)


# --- solutions-hidden edition --------------------------------------------------------


def hide_solutions_requested() -> bool:
    """True when the environment asks for the solutions-hidden edition."""
    return os.environ.get(HIDE_SOLUTIONS_ENV, "").strip().lower() not in ("", "0", "false", "no")


#: ``repository.url`` in ``_config.yml`` until the course is published; see :func:`_unpublished_repository`.
PLACEHOLDER_REPOSITORY = "https://github.com/OWNER/lecture9"


def _launch_off(config) -> dict:
    """The theme options with the launch, repository, edit and issue buttons turned off."""
    theme_options = dict(config.html_theme_options or {})
    launch = dict(theme_options.get("launch_buttons") or {})
    launch.update(binderhub_url="", colab_url="", jupyterhub_url="", deepnote_url="", thebe=False)
    theme_options["launch_buttons"] = launch
    theme_options.update(
        use_repository_button=False, use_edit_page_button=False, use_issues_button=False
    )
    return theme_options


def _unpublished_repository(app, config) -> None:
    # The one switch: while ``repository.url`` is the placeholder (or empty), the buttons
    # that lead to the repository (repository, edit, issues, Binder, Colab, JupyterHub)
    # would be dead links, so the build leaves them out.
    url = str((config.html_theme_options or {}).get("repository_url") or "").rstrip("/")
    if not url or url == PLACEHOLDER_REPOSITORY or "/OWNER/" in url + "/":
        config.html_theme_options = _launch_off(config)


#: Environment variable of the print edition (the single-page build behind the PDF).
PRINT_ENV = "LECTURE9_PRINT"
PRINT_STATIC = Path(__file__).with_name("print_static")  # lecture9-print.css


def print_requested() -> bool:
    """True when the environment asks for the print edition (``tools/build_pdf.py``)."""
    return os.environ.get(PRINT_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _configure_print(app, config) -> None:
    if print_requested():
        config.lecture9_print = True
    if not config.lecture9_print:
        return
    config.nb_execution_mode = "off"  # the stored, executed outputs (nbval checks them)
    config.html_static_path = [*config.html_static_path, str(PRINT_STATIC)]
    app.add_css_file("lecture9-print.css", priority=900)


def _open_solutions(app, doctree: nodes.document) -> None:
    # Paper has no buttons: in the print edition a solution is a plain box, always shown.
    if not app.config.lecture9_print:
        return
    for node in doctree.findall(lambda n: isinstance(n, _solution_node_types())):
        node["classes"] = [c for c in node.get("classes", []) if c != "dropdown"]


def _configure_edition(app, config) -> None:
    if hide_solutions_requested():
        config.lecture9_hide_solutions = True
    if not config.lecture9_hide_solutions:
        return
    config.html_copy_source = False
    config.nb_execution_mode = "off"
    # no launch buttons and no links to the repository, which holds the solutions
    config.html_theme_options = _launch_off(config)


def _solution_node_types():
    from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

    return (solution_node, solution_start_node, solution_end_node)


def _remove_solutions(app, doctree: nodes.document) -> None:
    # Runs on doctree-read before every other handler (priority 100): sphinx-exercise's
    # gating transforms have already merged the cells between solution-start and
    # solution-end into the solution node, and nothing (image collection, the search
    # index, labels) has seen the document yet.
    if not app.config.lecture9_hide_solutions:
        return
    for node in list(doctree.findall(lambda n: isinstance(n, _solution_node_types()))):
        parent, index = node.parent, node.parent.index(node)
        parent.remove(node)
        parent[index:index] = _stubs(node)


def _stubs(solution: nodes.Element) -> list[nodes.Element]:
    """The student's stub of each coding-exercise solution cell in ``solution``."""
    from lecture9 import exercises

    blocks = []
    for block in solution.findall(nodes.literal_block):
        if exercises.has_solution_region(block.astext()):
            stub = exercises.stub_source(block.astext())
            code = nodes.literal_block(stub, stub, language="ipython3")
            blocks.append(nodes.container("", code, classes=["lecture9-stub"]))
    return blocks


def _student_downloads(app, pagename, templatename, context, doctree) -> None:
    # The theme's download links point into _sources/, which this edition does not copy:
    # keep the PDF (print) entry and, for a notebook page, offer the student notebook.
    if not app.config.lecture9_hide_solutions:
        return
    # tell readers' tools (and tests/test_browser.py) which edition this page belongs to
    context["metatags"] = (
        context.get("metatags", "")
        + '\n<meta name="lecture9-edition" content="solutions-hidden" />'
    )
    group = next(
        (b for b in context.get("header_buttons", []) if b.get("label") == "download-buttons"), None
    )
    if group is None:
        return
    buttons = [b for b in group["buttons"] if b.get("label") == "download-pdf-button"]
    source = Path(app.env.doc2path(pagename))
    if source.suffix == ".ipynb":
        import nbformat

        from lecture9.assign import student_notebook

        try:
            student = student_notebook(nbformat.read(source, as_version=4))
        except Exception as err:  # noqa: BLE001 - reported as a build warning (an error with -W)
            logger.warning(
                f"no student notebook for {pagename}: {type(err).__name__}: {err}",
                location=pagename,
            )
        else:
            target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(student, target)
            buttons.insert(
                0,
                {
                    "type": "link",
                    "url": f"{context['pathto']('_sources', 1)}/{pagename}.ipynb",
                    "text": ".ipynb",
                    "icon": "fas fa-code",
                    "tooltip": "Download the student notebook (exercises, no solutions)",
                    "label": "download-notebook-button",
                },
            )
    group["buttons"] = buttons


# --- one copy of each script per page ------------------------------------------------


def _script_key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items())))


def _is_thebe_script(key: tuple) -> bool:
    filename, attributes = key
    return filename.endswith("sphinx-thebe.js") or any(
        "THEBE_JS_URL" in value for _, value in attributes
    )


def _clean_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    launch = (app.config.html_theme_options or {}).get("launch_buttons") or {}
    thebe_on = bool(launch.get("thebe")) or bool(
        (app.config["thebe_config"] or {}).get("always_load")
    )
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key in seen or (not thebe_on and _is_thebe_script(key)):
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    app.add_config_value("lecture9_hide_solutions", False, "env", types=[bool])
    app.add_config_value("lecture9_print", False, "env", types=[bool])
    app.connect("config-inited", _configure_print, priority=900)
    app.connect("doctree-read", _open_solutions, priority=101)
    app.connect("config-inited", _configure_edition, priority=900)
    app.connect("config-inited", _unpublished_repository, priority=900)
    app.connect("doctree-read", _remove_solutions, priority=100)
    app.connect("html-page-context", _student_downloads, priority=900)
    app.connect("html-page-context", _clean_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
