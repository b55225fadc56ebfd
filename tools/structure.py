"""``make structure``: how the code of ``bot/`` is built, measured from its syntax trees.

Prints the largest module and function, every module over 500 lines and function over 80, import
cycles between modules and between packages of ``bot/`` (every import, also inside functions; ``if TYPE_CHECKING:`` aside),
imports of ``bot.*`` inside functions, and string literals that look like citizen- or
staff-facing wording (Norwegian or Swedish words outside docstrings and log messages).

``--check`` exits 1 when a goal is missed: a cycle, a module over 500 lines or a function over 80
(migrations and static files aside), or wording in Python.
"""
from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 80
# Words that occur in Norwegian or Swedish sentences and hardly ever in English or in identifiers.
NORDIC = re.compile(r"[æøåäöÆØÅÄÖ]|\b(?:og|eller|ikkje|ikke|inte|och|eller|du|deg|dig|vi|oss|kan|har|er|är|til|till|"
                    r"som|med|på|for|för|ein|en|ett|eit|det|den)\b")
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def modules() -> Iterator[Tuple[str, Path]]:
    """``(dotted name, path)`` of every module of ``bot/`` except migrations."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _in_type_checking(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _enclosing_function(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


def _imported(node: ast.AST, module: str, is_package: bool) -> List[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
            base = ".".join(anchor + ([base] if base else []))
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def _docstrings(tree: ast.AST) -> Set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _log_or_error_strings(tree: ast.AST) -> Set[int]:
    """Strings passed to logging calls or exceptions (English, for operators)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in LOG_CALLS or name.endswith(("Error", "Exception", "Problem", "Forbidden")) or name == "print":
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Constant):
                        ids.add(id(sub))
    return ids


def measure() -> dict:
    """Every figure ``make structure`` prints."""
    sizes, functions, graph, inner, wording = {}, [], defaultdict(set), [], []
    names = {name for name, _ in modules()}
    for name, path in modules():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        sizes[name] = len(source.splitlines())
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        skip = _docstrings(tree) | _log_or_error_strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}", f"{path.relative_to(ROOT)}:{node.lineno}"))
            for target in _imported(node, name, path.name == "__init__.py"):
                target = target if target in names else target.rsplit(".", 1)[0]
                if target not in names or target == name:
                    continue
                if _enclosing_function(node, parents):
                    inner.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
                if not _in_type_checking(node, parents):  # an import in a function hides a cycle, not breaks it
                    graph[name].add(target)
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                    and len(node.value.split()) >= 4 and len(NORDIC.findall(node.value)) >= 2):
                wording.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value[:60]!r}")
    packages = defaultdict(set)
    for source_module, targets in graph.items():
        for target in targets:
            if _package(source_module) != _package(target):
                packages[_package(source_module)].add(_package(target))
    return {"sizes": sizes, "functions": sorted(functions, reverse=True), "cycles": cycles(graph),
            "package_cycles": cycles(packages),
            "inner_imports": sorted(set(inner)), "wording": wording}


def _package(module: str) -> str:
    """``bot.archive.export`` → ``bot.archive``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def main(argv: Sequence[str]) -> int:
    """Prints the figures; with ``--check`` exits 1 when a goal is missed."""
    figures = measure()
    sizes, functions = figures["sizes"], figures["functions"]
    largest = max(sizes, key=sizes.get)
    big_modules = sorted(((n, m) for m, n in sizes.items() if n > MAX_MODULE_LINES), reverse=True)
    long_functions = [f for f in functions if f[0] > MAX_FUNCTION_LINES]
    print(f"modules in bot/: {len(sizes)}, {sum(sizes.values())} lines")
    print(f"largest module: {largest} ({sizes[largest]} lines)")
    print(f"largest function: {functions[0][1]} ({functions[0][0]} lines, {functions[0][2]})")
    print(f"modules over {MAX_MODULE_LINES} lines: {len(big_modules)}")
    for lines, module in big_modules:
        print(f"  {lines:5d}  {module}")
    print(f"functions over {MAX_FUNCTION_LINES} lines: {len(long_functions)}")
    for lines, name, where in long_functions:
        print(f"  {lines:5d}  {name}  ({where})")
    print(f"import cycles: {len(figures['cycles'])}")
    for component in figures["cycles"]:
        print("  " + " <-> ".join(component))
    print(f"import cycles between packages of bot/: {len(figures['package_cycles'])}")
    for component in figures["package_cycles"]:
        print("  " + " <-> ".join(component))
    print(f"imports of bot.* inside functions: {len(figures['inner_imports'])}")
    for line in figures["inner_imports"]:
        print("  " + line)
    print(f"strings that look like citizen or staff wording: {len(figures['wording'])}")
    for line in figures["wording"]:
        print("  " + line)
    missed = bool(big_modules or long_functions or figures["cycles"] or figures["package_cycles"]
                  or figures["wording"])
    return 1 if "--check" in argv and missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
