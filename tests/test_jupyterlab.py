"""JupyterLab, the way students run the notebooks.

Starts ``jupyter lab --no-browser`` from this environment on a free localhost port with
a token, then through the server's REST API checks that

- every notebook in ``book/`` is listed in ``/api/contents/book`` and opens as a notebook;
- the kernel the notebooks ask for (their ``kernelspec``) is offered in ``/api/kernelspecs``;
- a kernel started by the server (``/api/kernels``) runs ``import lecture9`` over the
  kernel websocket, from this repository and this environment;

and shuts the kernel and the server down.
"""

from __future__ import annotations

import asyncio
import json
import os
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
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(runtime / "config"))
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
                pytest.fail(f"jupyter lab exited with code {process.returncode}:\n{log.read()[-3000:]}")
            try:
                server.request("GET", "/api/status", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"jupyter lab did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read()[-3000:]}")
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
        assert model["content"]["nbformat"] == 4, f"{notebook.name}: nbformat {model['content']['nbformat']}"
        assert model["content"]["cells"], f"{notebook.name} opens with no cells"


def test_server_offers_the_notebooks_kernel(lab):
    specs = lab.request("GET", "/api/kernelspecs")
    offered = set(specs["kernelspecs"])
    assert specs["default"] in offered
    for notebook in _book_notebooks():
        wanted = nbformat.read(notebook, as_version=4).metadata.get("kernelspec", {}).get("name")
        assert wanted in offered, f"{notebook.name} asks for kernel {wanted!r}; JupyterLab offers {sorted(offered)}"


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

    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
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
        assert status == "ok", "import lecture9 failed in the JupyterLab kernel:\n" + "\n".join(errors)
        info = json.loads(stdout.strip().splitlines()[-1])
        assert Path(info["file"]).resolve().is_relative_to(ROOT / "lecture9"), (
            f"the kernel imports lecture9 from {info['file']}, not from this repository (pip install -e .)"
        )
        assert Path(info["prefix"]).resolve() == Path(sys.prefix).resolve(), (
            f"the kernel runs in {info['prefix']}, not in this environment ({sys.prefix})"
        )
    finally:
        lab.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert all(k["id"] != kernel["id"] for k in lab.request("GET", "/api/kernels")), "the kernel did not shut down"
