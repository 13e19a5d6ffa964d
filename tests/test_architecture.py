"""The package's structure, checked: short functions, short docstrings, no private names across
modules, estimator names dispatched by the registry alone, and no import circles."""

from __future__ import annotations

import ast
import io
import tokenize
from functools import cache
from pathlib import Path

import pytest

from lecture9 import estimators

PACKAGE = Path(__file__).resolve().parents[1] / "lecture9"
MAX_BODY_LINES = 60
MAX_DOCSTRING_RATIO = 0.5
REGISTRY_MODULE = "lecture9.estimators.registry"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    return {
        module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))
    }


def is_docstring(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def docstring_nodes(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.body and is_docstring(node.body[0]):
                yield node.body[0]


def code_lines(path: Path, skip: set[int]) -> set[int]:
    """Lines with code: not blank, not only a comment, not in ``skip`` (docstrings)."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        lines.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in skip)
    return lines


def docstring_lines(tree: ast.Module) -> set[int]:
    return {n for d in docstring_nodes(tree) for n in range(d.lineno, d.end_lineno + 1)}


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, str | None, ast.AST]]:
    """``(imported module, imported name or None, node)`` for every import of ``module`` inside lecture9."""
    path, tree = modules()[module]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node) for a in node.names if a.name.startswith("lecture9")]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node, path.name == "__init__.py")
            if target.startswith("lecture9"):
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    out.append((sub, None, node) if sub in modules() else (target, a.name, node))
    return out


def test_no_function_body_is_longer_than_60_lines():
    long = []
    for module, (path, tree) in modules().items():
        skip = docstring_lines(tree)
        lines = code_lines(path, skip)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start, end = node.body[0].lineno, node.body[-1].end_lineno
                body = sum(1 for n in range(start, end + 1) if n in lines)
                if body > MAX_BODY_LINES:
                    long.append(f"{module}.{node.name}: {body} lines")
    assert not long, long


def test_docstrings_are_at_most_half_the_code():
    doc = code = 0
    for path, tree in modules().values():
        skip = docstring_lines(tree)
        doc += len(skip)
        code += len(code_lines(path, skip))
    assert doc <= MAX_DOCSTRING_RATIO * code, (
        f"{doc} docstring lines for {code} code lines ({doc / code:.2f})"
    )


def test_no_private_name_crosses_a_module_boundary():
    crossing = []
    for module in modules():
        for target, name, node in imports(module):
            if name is not None and name.startswith("_") and target != module:
                crossing.append(f"{module}:{node.lineno} imports {target}.{name}")
        aliases = {
            a.asname or a.name
            for _, _, n in imports(module)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        }
        for node in ast.walk(modules()[module][1]):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                crossing.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not crossing, crossing


def test_private_names_are_unique_in_the_package():
    seen: dict[str, list[str]] = {}
    for module, (_, tree) in modules().items():
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    seen.setdefault(name, []).append(module)
    assert not {n: m for n, m in seen.items() if len(m) > 1}


def string_constants(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(string_constants(e) for e in node.elts)) if node.elts else set()
    return set()


def test_estimator_names_are_dispatched_by_the_registry_alone():
    names = set(estimators.REGISTRY)
    found = []
    for module, (_, tree) in modules().items():
        if module == REGISTRY_MODULE:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                hits = (
                    set().union(*(string_constants(c) for c in [node.left, *node.comparators]))
                    & names
                )
                if hits:
                    found.append(f"{module}:{node.lineno} compares with {sorted(hits)}")
            elif isinstance(node, ast.match_case):
                hits = string_constants(getattr(node.pattern, "value", ast.Constant(None))) & names
                if hits:
                    found.append(f"{module}:{node.pattern.lineno} matches {sorted(hits)}")
    assert not found, found


def test_the_models_name_registered_estimators():
    from lecture9 import bernoulli_vae, vae

    for cls in (vae.VAE, bernoulli_vae.BernoulliVAE):
        assert cls.ESTIMATORS and set(cls.ESTIMATORS) <= set(estimators.REGISTRY), cls


def test_no_import_circles():
    graph = {m: {t for t, _, _ in imports(m) if t in modules() and t != m} for m in modules()}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, circles


@pytest.mark.parametrize(
    "truth",
    ["lecture9.reference", "lecture9.enumeration", "lecture9.families", "lecture9.quadrature"],
)
def test_the_truth_imports_no_estimator(truth):
    reached, todo = set(), [truth]
    while todo:
        m = todo.pop()
        for t, _, _ in imports(m):
            if t in modules() and t not in reached:
                reached.add(t)
                todo.append(t)
    assert not {m for m in reached if m.startswith("lecture9.estimators")}, reached
