"""storage/interface.py itself: it loads no driver, and each engine implements all of it."""
from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import typing
from pathlib import Path

from storage import interface

SOURCE = Path(interface.__file__)
ROOT = SOURCE.parent.parent
DRIVERS = {"sqlite3", "aiosqlite", "asyncpg", "psycopg", "psycopg2", "sqlalchemy"}
# What the interface may import when it runs: the standard library's typing tools and the
# domain dataclasses. Nothing of the project's engines.
RUNTIME_IMPORTS = {"__future__", "datetime", "collections.abc", "typing", "domain"}
# For type checkers only, until the statistics' rows move into domain/__init__.py.
TYPE_CHECKING_IMPORTS: set[str] = set()


def _imports() -> tuple[set[str], set[str]]:
    """(modules imported when the module runs, modules imported under TYPE_CHECKING)."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    guarded = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
               for node in ast.walk(block)}
    running, checking = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {"." * node.level + (node.module or "")}
        else:
            continue
        (checking if id(node) in guarded else running).update(names)
    return running, checking


def test_the_interface_imports_no_driver_and_nothing_of_the_engines():
    running, checking = _imports()
    assert running == RUNTIME_IMPORTS
    assert checking <= TYPE_CHECKING_IMPORTS
    assert not {name.split(".")[0] for name in running | checking} & DRIVERS


def test_the_interface_loads_with_every_driver_missing():
    """Imported by itself (not through storage/__init__.py, which opens SQLite), the interface
    and what it imports run on a machine with no database driver at all."""
    script = (
        "import sys, types\n"
        f"for name in {sorted(DRIVERS)!r}: sys.modules[name] = None  # importing it raises ImportError\n"
        "package = types.ModuleType('storage')\n"
        f"package.__path__ = [{str(SOURCE.parent)!r}]\n"
        "sys.modules['storage'] = package\n"
        "import storage.interface\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('storage', 'bot', 'handlers', 'messages_fa', 'domain')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['domain', 'storage', 'storage.interface']"


def _protocols() -> dict[str, type]:
    """The aggregate's repositories by attribute name."""
    return typing.get_type_hints(interface.Repositories)


def _methods(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items()
            if not name.startswith("_") and inspect.iscoroutinefunction(value)}


def _hints(function, localns: dict) -> dict:
    return typing.get_type_hints(function, localns=localns)


def _type_checking_names() -> dict:
    """The names interface.py imports for type checkers only, resolved for comparing hints."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    names = {}
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING":
            for node in ast.walk(block):
                if isinstance(node, ast.ImportFrom):
                    module = importlib.import_module(node.module)
                    names.update({alias.asname or alias.name: getattr(module, alias.name) for alias in node.names})
    return names


def test_every_repository_implements_its_protocol_with_the_same_signatures(store):
    localns = _type_checking_names()
    implementations = {name: getattr(store.repos, name, None) for name in _protocols()}
    problems = []
    for name, protocol in _protocols().items():
        implementation = implementations[name]
        if implementation is None:
            problems.append(f"repos.{name} is missing")
            continue
        assert isinstance(implementation, protocol)
        wanted, offered = _methods(protocol), _methods(type(implementation))
        problems += [f"{name}.{m}: public but not in {protocol.__name__}" for m in offered.keys() - wanted.keys()]
        for method, spec in wanted.items():
            if method not in offered:
                problems.append(f"{name}.{method}: missing")
                continue
            expected, actual = inspect.signature(spec), inspect.signature(offered[method])
            pairs = list(zip(expected.parameters.values(), actual.parameters.values(), strict=False))
            if len(expected.parameters) != len(actual.parameters) or any(
                    (e.name, e.kind) != (a.name, a.kind)
                    or (e.default is inspect.Parameter.empty) != (a.default is inspect.Parameter.empty)
                    # ``...`` in the Protocol: a default of the engine's choosing.
                    or (e.default is not Ellipsis and e.default != a.default)
                    for e, a in pairs):
                problems.append(f"{name}.{method}: {actual} is not {expected}")
            elif _hints(spec, localns) != _hints(offered[method], {}):
                problems.append(f"{name}.{method}: annotations {_hints(offered[method], {})} are not "
                                f"{_hints(spec, localns)}")
    assert not problems, "\n".join(problems)


def test_the_interface_covers_the_whole_aggregate():
    """15 repositories: the 13 of Repositories, the statistics and the search (similar proposals)."""
    assert len(_protocols()) == 15
