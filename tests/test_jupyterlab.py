"""JupyterLab, the way students run the notebooks.

Starts ``jupyter lab --no-browser`` from this environment on a free localhost port with
a token, then through the server's REST API checks that

- every notebook in ``book/`` is listed in ``/api/contents/book`` and opens as a notebook;
- the kernel the notebooks ask for (their ``kernelspec``) is offered in ``/api/kernelspecs``;
- a kernel started by the server (``/api/kernels``) runs ``import lecture9`` over the
  kernel websocket, from this repository and this environment;

and shuts the kernel and the server down.

``test_chapter_renders_in_jupyterlab`` (marked ``browser``) opens every chapter in that
server in headless Chromium, as a student sees it, and checks that ``jupyterlab-myst``
renders the MyST markup of every markdown cell: no raw role (``{cite:t}`...```,
``{ref}`...```, ``{py:mod}`...```) or directive fence (```` ```{exercise} ````) is left in
the visible text, no "Unknown Directive", every formula typeset (KaTeX, no error), and
every exercise rendered as an exercise box. A screenshot of the first screen of each
chapter and of its first exercise goes to ``_build/screenshots/jupyterlab/``. It runs
with ``pytest -m browser tests/test_jupyterlab.py`` (as ``.ci/run`` does), and skips
with a message where Chromium or chromedriver is absent, unless
``LECTURE9_REQUIRE_BROWSER=1``. Citations of ``book/references.bib`` are the one thing
JupyterLab cannot resolve (jupyterlab-myst reads no BibTeX file): they show as the
citation key, marked "Citation Not Found"; the test allows exactly that.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
STARTUP_TIMEOUT_S = 120
KERNEL_TIMEOUT_S = 120

#: JupyterLab settings of the test server: every cell in the page (no windowing, so the
#: browser test sees the whole notebook) and no news notification over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

CHECK_IMPORT = (
    "import json, sys, lecture9\n"
    "print(json.dumps({'file': lecture9.__file__, 'version': lecture9.__version__, 'prefix': sys.prefix}))"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """Minimal REST client of a running Jupyter server."""

    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server rooted at the repository, from the same environment as the tests."""
    port, token = _free_port(), secrets.token_hex(24)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    settings = runtime / "user-settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = dict(
        os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(runtime / "config")
    )
    log = (runtime / "lab.log").open("w+")
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        "--ServerApp.allow_root=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={runtime / 'workspaces'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port, token)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(
                    f"jupyter lab exited with code {process.returncode}:\n{log.read()[-3000:]}"
                )
            try:
                server.request("GET", "/api/status", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(
                        f"jupyter lab did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read()[-3000:]}"
                    )
                time.sleep(0.5)
        yield server
        try:
            server.request("POST", "/api/shutdown")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        process.wait(timeout=30)
        assert process.returncode == 0, f"jupyter lab shut down with exit code {process.returncode}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _book_notebooks() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


def test_server_lists_the_book_notebooks(lab):
    notebooks = _book_notebooks()
    assert notebooks, f"no notebooks in {BOOK}"
    listing = lab.request("GET", "/api/contents/book")
    assert listing["type"] == "directory"
    listed = {item["name"]: item["type"] for item in listing["content"]}
    for notebook in notebooks:
        assert listed.get(notebook.name) == "notebook", (
            f"{notebook.name} is not listed as a notebook by JupyterLab (listing: {sorted(listed)})"
        )
    # and the server opens each one as a notebook of the current format
    for notebook in notebooks:
        model = lab.request("GET", f"/api/contents/book/{notebook.name}?content=1")
        assert model["type"] == "notebook" and model["format"] == "json"
        assert model["content"]["nbformat"] == 4, (
            f"{notebook.name}: nbformat {model['content']['nbformat']}"
        )
        assert model["content"]["cells"], f"{notebook.name} opens with no cells"


def test_server_offers_the_notebooks_kernel(lab):
    specs = lab.request("GET", "/api/kernelspecs")
    offered = set(specs["kernelspecs"])
    assert specs["default"] in offered
    for notebook in _book_notebooks():
        wanted = nbformat.read(notebook, as_version=4).metadata.get("kernelspec", {}).get("name")
        assert wanted in offered, (
            f"{notebook.name} asks for kernel {wanted!r}; JupyterLab offers {sorted(offered)}"
        )


def _message(session: str, code: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "username": "test",
            "session": session,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


async def _execute(url: str, token: str, code: str) -> tuple[str, str, list[str]]:
    """Run ``code`` over the kernel websocket; return (reply status, stdout, error lines)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {token}"})
    )
    try:
        request = _message(uuid.uuid4().hex, code)
        await connection.write_message(json.dumps(request))
        msg_id = request["header"]["msg_id"]
        status, stdout, errors, idle = None, "", [], False
        while status is None or not idle:
            raw = await asyncio.wait_for(connection.read_message(), timeout=KERNEL_TIMEOUT_S)
            if raw is None:
                raise ConnectionError("the kernel websocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream" and content.get("name") == "stdout":
                stdout += content["text"]
            elif kind == "error":
                errors += content.get("traceback", [])
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "execute_reply":
                status = content["status"]
        return status, stdout, errors
    finally:
        connection.close()


def test_kernel_imports_lecture9(lab):
    default = lab.request("GET", "/api/kernelspecs")["default"]
    kernel = lab.request("POST", "/api/kernels", {"name": default})
    try:
        url = lab.base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
        status, stdout, errors = asyncio.run(_execute(url, lab.token, CHECK_IMPORT))
        assert status == "ok", "import lecture9 failed in the JupyterLab kernel:\n" + "\n".join(
            errors
        )
        info = json.loads(stdout.strip().splitlines()[-1])
        assert Path(info["file"]).resolve().is_relative_to(ROOT / "lecture9"), (
            f"the kernel imports lecture9 from {info['file']}, not from this repository (pip install -e .)"
        )
        assert Path(info["prefix"]).resolve() == Path(sys.prefix).resolve(), (
            f"the kernel runs in {info['prefix']}, not in this environment ({sys.prefix})"
        )
    finally:
        lab.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert all(k["id"] != kernel["id"] for k in lab.request("GET", "/api/kernels")), (
        "the kernel did not shut down"
    )


# --- the chapters in JupyterLab, in headless Chromium (jupyterlab-myst) ---------------

from test_browser import RAW_TEX  # noqa: E402 - TeX left untypeset, as in the built book

SCREENSHOTS = ROOT / "_build" / "screenshots" / "jupyterlab"
RENDER_TIMEOUT_S = 90

#: MyST markup that jupyterlab-myst should have rendered: a role name (``{cite:t}``, ``{ref}``,
#: ``{py:mod}``; plain Markdown would show it before the key as inline code), a directive
#: fence (```` ```{exercise} ````, ``:::{note}``), raw inline or display math.
RAW_MYST = re.compile(r"\{[a-z][\w-]*(?::[\w-]+)*\}|`{3,}\s*\{|:{3,}\s*\{|\$[^$\s][^$]*\$|\$\$")
#: Source markers: an exercise directive, and math.
EXERCISE_DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\s*\{exercise\}", re.MULTILINE)
SOURCE_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\s][^$]*?\$|\\begin\{", re.DOTALL)
#: The only warning allowed: a citation of book/references.bib (jupyterlab-myst reads no
#: BibTeX file, so it shows the key, marked as not found).
ALLOWED_WARNINGS = {"Citation Not Found"}

RENDER_STATE = """
const cells = document.querySelectorAll('.jp-Notebook .jp-MarkdownCell');
const rendered = Array.from(cells).filter((cell) => cell.querySelector('.myst'));
return JSON.stringify([cells.length, rendered.length, document.querySelectorAll('.katex').length]);
"""

INSPECT_NOTEBOOK = r"""
const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-MarkdownCell'));
const views = cells.map((cell) => cell.querySelector('.myst, .jp-MarkdownOutput')).filter((v) => v);
const text = views.map((view) => {
  const clone = view.cloneNode(true);
  clone.querySelectorAll('.katex, pre, code, script, style').forEach((el) => el.remove());
  return clone.textContent;
}).join('\n');
const all = (selector) => views.flatMap((view) => Array.from(view.querySelectorAll(selector)));
return JSON.stringify({
  markdownCells: cells.length,
  renderedByMyst: cells.filter((cell) => cell.querySelector('.myst')).length,
  text: text,
  fencedDirectives: all('code[class*="{"]').map((el) => el.className),
  unknownDirectives: all('details, aside, div').filter((el) => /Unknown Directive/.test(
      (el.querySelector('summary, .myst-admonition-header, div') || el).textContent))
      .map((el) => el.textContent.slice(0, 120)).slice(0, 5),
  math: all('.katex').length,
  mathErrors: all('.katex-error').map((el) => el.textContent.slice(0, 80)),
  exercises: all('.myst-exercise').filter((el) => /^\s*Exercise\b/.test(
      (el.querySelector('summary, header, div') || el).textContent)).length,
  warnings: all('span.text-yellow-600[title]').map((el) => [el.title, el.textContent.trim()]),
});
"""


@pytest.fixture(scope="module")
def lab_browser(request, lab):
    """Headless Chromium on the JupyterLab server (``-m browser`` only; see the module docstring)."""
    from test_browser import REQUIRE, headless_chromium

    if "browser" not in (request.config.getoption("markexpr") or "") and not REQUIRE:
        pytest.skip(
            "the JupyterLab rendering check runs with `pytest -m browser tests/test_jupyterlab.py`"
        )
    with headless_chromium(
        profile_prefix="lecture9-chromium-lab-",
        timeout_s=RENDER_TIMEOUT_S,
        extra_flags=("--window-size=1400,1000",),
    ) as browser:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        yield browser


def _wait_until_rendered(driver, expected_cells: int) -> None:
    """Wait until jupyterlab-myst rendered every markdown cell and the page stopped changing."""
    deadline, last = time.monotonic() + RENDER_TIMEOUT_S, None
    while time.monotonic() < deadline:
        state = json.loads(driver.execute_script(RENDER_STATE))
        if state[0] == expected_cells and state[1] == expected_cells and state == last:
            return  # every markdown cell rendered, and nothing changed for one poll
        last = state
        time.sleep(0.5)
    # not (all) rendered by jupyterlab-myst: the checks below say what is missing


@pytest.mark.browser
@pytest.mark.parametrize("notebook", [p.name for p in sorted(BOOK.glob("*.ipynb"))])
def test_chapter_renders_in_jupyterlab(lab, lab_browser, notebook):
    """The chapter as a student sees it in JupyterLab: MyST rendered, math typeset, exercises boxed."""
    driver = lab_browser
    nb = nbformat.read(BOOK / notebook, as_version=4)
    markdown = [cell.source for cell in nb.cells if cell.cell_type == "markdown"]
    stem = notebook.removesuffix(".ipynb")
    try:
        driver.get(f"{lab.base}/lab/tree/book/{notebook}?reset&token={lab.token}")
        _wait_until_rendered(driver, len(markdown))
        info = json.loads(driver.execute_script(INSPECT_NOTEBOOK))
        driver.save_screenshot(str(SCREENSHOTS / f"{stem}.png"))
        exercise = driver.find_elements("css selector", ".jp-MarkdownCell .myst-exercise")
        if exercise:
            driver.execute_script("arguments[0].scrollIntoView(true)", exercise[0])
            time.sleep(0.3)
            driver.save_screenshot(str(SCREENSHOTS / f"{stem}-exercise.png"))
    finally:
        for session in lab.request("GET", "/api/sessions"):  # one kernel at a time
            lab.request("DELETE", f"/api/sessions/{session['id']}")

    problems = []
    if info["renderedByMyst"] != len(markdown):
        problems.append(
            f"{len(markdown) - info['renderedByMyst']} of {len(markdown)} markdown cells not rendered "
            "by jupyterlab-myst (is it installed and enabled? `jupyter labextension list`)"
        )
    text = info["text"]
    raw = [" ".join(text[max(0, m.start() - 40) : m.end() + 40].split())
           for pattern in (RAW_MYST, RAW_TEX) for m in pattern.finditer(text)]  # fmt: skip
    if raw:
        problems.append(f"raw MyST or TeX in the visible text: {raw[:5]}")
    if info["fencedDirectives"]:
        problems.append(f"directives shown as code blocks: {info['fencedDirectives'][:5]}")
    if info["unknownDirectives"]:
        problems.append(f"directives jupyterlab-myst does not know: {info['unknownDirectives']}")
    if any(SOURCE_MATH.search(source) for source in markdown) and not info["math"]:
        problems.append("the markdown has math, but no formula was typeset")
    if info["mathErrors"]:
        problems.append(f"formulas KaTeX could not typeset: {info['mathErrors'][:5]}")
    expected_exercises = sum(len(EXERCISE_DIRECTIVE.findall(source)) for source in markdown)
    if info["exercises"] != expected_exercises:
        problems.append(
            f"{info['exercises']} exercise boxes rendered, {expected_exercises} exercise directives"
        )
    warnings = sorted(
        {f"{title}: {text}" for title, text in info["warnings"] if title not in ALLOWED_WARNINGS}
    )
    if warnings:
        problems.append(
            f"jupyterlab-myst warnings: {warnings[:5]} (a reference to a figure named in a code "
            "cell's metadata or to a label in another chapter cannot resolve in JupyterLab: "
            "write it as a link with its own text, [the figure below](#label))"
        )
    cites = sorted({text for title, text in info["warnings"] if title in ALLOWED_WARNINGS})
    print(
        f"{notebook}: {len(markdown)} markdown cells, {info['math']} formulas, {info['exercises']} exercises, "
        f"citations shown as keys: {cites}"
    )
    shot = SCREENSHOTS / f"{stem}.png"
    assert not problems, f"{notebook} in JupyterLab (screenshot {shot}):\n  - " + "\n  - ".join(
        problems
    )
