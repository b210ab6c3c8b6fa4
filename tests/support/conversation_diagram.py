"""The citizen's conversation as a Mermaid state diagram, drawn from the live ConversationHandler
(handlers.citizen_conversation()): its entry points, each state's handlers, its fallbacks, and the
states each handler's callback can return.

Which states a callback can return is read from its source: every ``return`` of the function (or
the body of a lambda) is evaluated as far as the code says without running it — state constants,
``END``, ``None`` (the step stays where it is), a parameter bound by the caller or its default, a
closure's variable, a local assigned from a dict of functions, ``x if x is not None else y``, and
calls of other functions, followed into their own returns. What it cannot see, and so refuses
with DiagramError rather than draw wrong: a state computed at run time (read from the database,
built from a string, passed in a container other than a dict literal), a call through an object
that is not a plain function, ``*args``. What it does not draw at all: a step that raises keeps
its previous state (PTB), and a step whose replies fail is put back to it (handlers/outbox.py);
and it lists every state a return may give, not which of them a given update can reach.

    .venv/bin/python -m tests.support.conversation_diagram          # rewrite README.md's diagram
    .venv/bin/python -m tests.support.conversation_diagram --print  # only print it
"""
from __future__ import annotations

import ast
import builtins
import functools
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext.filters import BaseFilter

README = Path(__file__).resolve().parents[2] / "README.md"
START, END_MARK = "<!-- conversation:start -->", "<!-- conversation:end -->"
REFRESH = ".venv/bin/python -m tests.support.conversation_diagram"
ANY_STEP = "any_step"


class DiagramError(Exception):
    """The conversation holds something this drawing cannot read: say where, and what to do."""


# -- what a callback returns ----------------------------------------------------------------------

UNKNOWN = type("Unknown", (), {"__repr__": lambda self: "<unknown>"})()


@dataclass(frozen=True)
class _DictValues:
    """A dict literal, as far as a subscript of it can give: any of its values."""

    values: frozenset


@functools.cache
def _module_tree(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(encoding="utf-8"), path)


def _definition(fn) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda:
    """The AST of ``fn``, found in its whole module (getsource of a lambda in a call is not valid
    Python on its own)."""
    code = fn.__code__
    path = inspect.getsourcefile(fn)
    if path is None:
        raise DiagramError(f"{fn!r}: no source file to read its returns from")
    line = code.co_firstlineno
    found = []
    for node in ast.walk(_module_tree(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            if line in (node.lineno, *(d.lineno for d in node.decorator_list)):
                found.append(node)
        elif isinstance(node, ast.Lambda) and code.co_name == "<lambda>" and node.lineno == line:
            if [a.arg for a in node.args.args] == list(code.co_varnames[:code.co_argcount]):
                found.append(node)
    if len(found) != 1:
        raise DiagramError(f"{path}:{line}: cannot find {code.co_qualname} in its source (found {len(found)})")
    return found[0]


def _own_nodes(node):
    """The nodes of a function's body, without those of functions defined inside it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        yield child
        yield from _own_nodes(child)


def _falls_through(body: list[ast.stmt]) -> bool:
    """Whether running off the end of ``body`` is possible (an implicit ``return None``)."""
    if not body:
        return True
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return False
    if isinstance(last, ast.If):
        return _falls_through(last.body) or _falls_through(last.orelse)
    if isinstance(last, (ast.With, ast.AsyncWith)):
        return _falls_through(last.body)
    if isinstance(last, ast.Try):
        return any(_falls_through(b) for b in (last.body + last.orelse, *(h.body for h in last.handlers)))
    return True


class _Returns:
    """The values functions can return, memoized per (function, arguments it was called with)."""

    def __init__(self) -> None:
        self.memo: dict[tuple, frozenset] = {}

    def of(self, fn, bound: dict[str, frozenset]) -> frozenset:
        fn = inspect.unwrap(fn)
        if not inspect.isfunction(fn):
            return frozenset({UNKNOWN})
        # A parameter the caller left out has its default (PTB passes only update and context).
        bound = {**{name: frozenset({p.default}) for name, p in inspect.signature(fn).parameters.items()
                    if p.default is not inspect.Parameter.empty}, **bound}
        key = (fn, frozenset(bound.items()))
        if key in self.memo:
            return self.memo[key]
        self.memo[key] = frozenset()  # a recursive call adds nothing new
        node = _definition(fn)
        scope = _Scope(self, fn, node, bound)
        if isinstance(node, ast.Lambda):
            values = scope.eval(node.body)
        else:
            values = frozenset()
            for child in _own_nodes(node):
                if isinstance(child, ast.Return):
                    values |= scope.eval(child.value) if child.value is not None else frozenset({None})
            if _falls_through(node.body):
                values |= {None}
        self.memo[key] = values
        return values


class _Scope:
    def __init__(self, returns: _Returns, fn, node, bound: dict[str, frozenset]) -> None:
        self.returns, self.fn, self.node, self.bound = returns, fn, node, dict(bound)
        closure = dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in fn.__closure__ or ()), strict=True))
        self.closure = closure
        self.assigned: dict[str, list[ast.expr | None]] = {}
        for child in _own_nodes(node):
            if isinstance(child, ast.Assign):
                for target in child.targets:
                    self._assign(target, child.value)
            elif isinstance(child, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and isinstance(child.target, ast.Name):
                self.assigned.setdefault(child.target.id, []).append(
                    child.value if not isinstance(child, ast.AugAssign) else None)
            elif isinstance(child, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.ExceptHandler)):
                for name in ast.walk(getattr(child, "target", None) or ast.Tuple([], ast.Load())):
                    if isinstance(name, ast.Name):
                        self.assigned.setdefault(name.id, []).append(None)
        self.evaluating: set[str] = set()

    def _assign(self, target, value) -> None:
        if isinstance(target, ast.Name):
            self.assigned.setdefault(target.id, []).append(value)
        else:  # unpacking: what each name gets is not followed
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    self.assigned.setdefault(name.id, []).append(None)

    def eval(self, expr) -> frozenset:
        method = getattr(self, f"_eval_{type(expr).__name__}", None)
        return method(expr) if method else frozenset({UNKNOWN})

    def _eval_Constant(self, expr: ast.Constant) -> frozenset:
        return frozenset({expr.value})

    def _eval_Name(self, expr: ast.Name) -> frozenset:
        name = expr.id
        if name in self.bound:
            return self.bound[name]
        if name in self.assigned:
            if name in self.evaluating:
                return frozenset()
            self.evaluating.add(name)
            try:
                return frozenset().union(*(self.eval(v) if v is not None else {UNKNOWN} for v in self.assigned[name]))
            finally:
                self.evaluating.discard(name)
        if name in self.closure:
            return frozenset({self.closure[name]})
        for namespace in (self.fn.__globals__, vars(builtins)):
            if name in namespace:
                return frozenset({namespace[name]})
        return frozenset({UNKNOWN})

    def _eval_Attribute(self, expr: ast.Attribute) -> frozenset:
        out = set()
        for base in self.eval(expr.value):
            out.add(UNKNOWN if base is UNKNOWN else getattr(base, expr.attr, UNKNOWN))
        return frozenset(out)

    def _eval_Await(self, expr: ast.Await) -> frozenset:
        return self.eval(expr.value)

    def _eval_IfExp(self, expr: ast.IfExp) -> frozenset:
        test = expr.test
        # "END if state is None else state": in each branch the name is what the test says.
        if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and len(test.ops) == 1
                and isinstance(test.ops[0], (ast.Is, ast.IsNot)) and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value is None):
            name, values = test.left.id, self.eval(test.left)
            is_none, not_none = values & {None}, values - {None}
            if isinstance(test.ops[0], ast.IsNot):
                is_none, not_none = not_none, is_none
            return self._with(name, is_none, expr.body) | self._with(name, not_none, expr.orelse)
        return self.eval(expr.body) | self.eval(expr.orelse)

    def _with(self, name: str, values: frozenset, expr) -> frozenset:
        if not values:
            return frozenset()  # this branch cannot be taken
        saved = self.bound.get(name)
        self.bound[name] = values
        try:
            return self.eval(expr)
        finally:
            if saved is None:
                del self.bound[name]
            else:
                self.bound[name] = saved

    def _eval_Dict(self, expr: ast.Dict) -> frozenset:
        return frozenset({_DictValues(frozenset().union(*(self.eval(v) for v in expr.values)))})

    def _eval_Subscript(self, expr: ast.Subscript) -> frozenset:
        out = set()
        for base in self.eval(expr.value):
            if isinstance(base, _DictValues):
                out |= base.values
            elif isinstance(base, dict):
                out |= set(base.values())
            else:
                out.add(UNKNOWN)
        return frozenset(out)

    def _eval_Call(self, expr: ast.Call) -> frozenset:
        if any(isinstance(a, ast.Starred) for a in expr.args) or any(k.arg is None for k in expr.keywords):
            return frozenset({UNKNOWN})
        out = set()
        for callee in self.eval(expr.func):
            callee = inspect.unwrap(callee) if callable(callee) else callee
            if not inspect.isfunction(callee):
                out.add(UNKNOWN)
                continue
            signature = inspect.signature(callee)
            try:
                call = signature.bind(*expr.args, **{k.arg: k.value for k in expr.keywords})
            except TypeError:
                out.add(UNKNOWN)
                continue
            out |= self.returns.of(callee, {name: self.eval(arg) for name, arg in call.arguments.items()})
        return frozenset(out)


# -- what starts a handler ------------------------------------------------------------------------

def _conjuncts(filter_: BaseFilter, named: dict[int, str]) -> list[BaseFilter]:
    """``a & b & c`` as [a, b, c]; a named filter is one part, whatever it is made of."""
    and_filter = getattr(filter_, "and_filter", None)
    if and_filter is not None and id(filter_) not in named:
        return _conjuncts(filter_.base_filter, named) + _conjuncts(and_filter, named)
    return [filter_]


def _filter_label(filter_: BaseFilter, named: dict[int, str]) -> str:
    if id(filter_) in named:
        return named[id(filter_)]
    or_filter = getattr(filter_, "or_filter", None)
    if or_filter is not None:
        return f"{_filter_label(filter_.base_filter, named)} or {_filter_label(or_filter, named)}"
    name = filter_.name or ""
    if name.startswith("<") or not name:
        raise DiagramError(f"a message filter without a readable name: {name!r}; give it a label in "
                           "tests/support/conversation_diagram.py's named filters")
    return name.removeprefix("filters.").lower()


_LITERAL = re.compile(r"[A-Za-z0-9_:-]*")


def _button_label(pattern) -> str:
    """``^pv:(?:(?P<action>ok|edit|cancel))\\Z`` → "pv:ok/edit/cancel"; ``^n:…`` → "n:…"."""
    if pattern is None:
        return "any button"
    if not isinstance(pattern, (str, re.Pattern)):
        return f"button {getattr(pattern, '__name__', type(pattern).__name__)}"
    source = pattern if isinstance(pattern, str) else pattern.pattern
    source = source.removeprefix("^")
    literal = _LITERAL.match(source).group()
    rest = source[len(literal):]
    anchored = rest.endswith((r"\Z", "$"))
    for end in (r"\Z", "$"):
        rest = rest.removesuffix(end)
    if not rest:
        return f"button {literal}" if anchored else f"button {literal}…"
    choices = re.fullmatch(r"\((?:\?:)?\(?(?:\?P<\w+>)?([A-Za-z0-9_|-]+)\)?\)", rest)
    if choices:
        return f"button {literal}{choices.group(1).replace('|', '/')}"
    return f"button {literal}…"


def _trigger(handler: BaseHandler, named: dict[int, str], skipped: set[int]) -> str:
    if isinstance(handler, CommandHandler):
        return " ".join(f"/{c}" for c in sorted(handler.commands))
    if isinstance(handler, CallbackQueryHandler):
        return _button_label(handler.pattern)
    if isinstance(handler, MessageHandler):
        kept = [f for f in _conjuncts(handler.filters, named) if id(f) not in skipped]
        if len(kept) != 1:
            raise DiagramError(f"{handler.callback.__qualname__}: a filter of {len(kept)} parts; name it")
        return _filter_label(kept[0], named)
    raise DiagramError(f"a {type(handler).__name__} in the conversation: teach the diagram to label it")


# -- the drawing -----------------------------------------------------------------------------------

@dataclass
class _Edges:
    """(from, to) → triggers, in the order they were met."""

    pairs: dict[tuple[str, str], list[str]]

    def add(self, source: str, target: str, trigger: str) -> None:
        triggers = self.pairs.setdefault((source, target), [])
        if trigger not in triggers:
            triggers.append(trigger)


def _targets(handler: BaseHandler, returns: _Returns, states: dict, where: str) -> list[str | None]:
    """The states the handler's callback can return: a state's id, "[*]" for END, None for none
    (the step stays where it is)."""
    callback = inspect.unwrap(handler.callback)
    out = []
    for value in sorted(returns.of(callback, {}), key=repr):
        if value is None:
            out.append(None)
        elif value == ConversationHandler.END:
            out.append("[*]")
        elif isinstance(value, str) and value in states:
            out.append(value)
        else:
            source = inspect.getsourcefile(callback)
            raise DiagramError(
                f"{where}: {callback.__module__}.{callback.__qualname__} ({source}:{callback.__code__.co_firstlineno}) "
                f"may return {value!r}, which is not a state of the conversation; return a state "
                "constant (handlers/states.py), END or None, or a call of a step that does")
    return out


def diagram(conversation: ConversationHandler, named: dict[int, str], skipped: set[int]) -> str:
    """``named``: labels of filters by id (composite filters have no readable name); ``skipped``:
    filters every step shares (new message, private chat), left out of the labels."""
    returns = _Returns()
    states = conversation.states
    for state in states:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(state)):
            raise DiagramError(f"state {state!r} is not a plain lower-case id Mermaid can show")
    edges = _Edges({})
    for handler in conversation.entry_points:
        for target in _targets(handler, returns, states, "entry point"):
            if target not in (None, "[*]"):  # None or END from an entry point: the conversation never began
                edges.add("[*]", target, _trigger(handler, named, skipped))
    for state, handlers in states.items():
        for handler in handlers:
            for target in _targets(handler, returns, states, f"state {state}"):
                edges.add(state, target or state, _trigger(handler, named, skipped))
    for handler in conversation.fallbacks:
        for target in _targets(handler, returns, states, "fallback"):
            edges.add(ANY_STEP, target or ANY_STEP, _trigger(handler, named, skipped))
    lines = ["stateDiagram-v2", f'    state "any step" as {ANY_STEP}']
    lines += [f"    {source} --> {target} : {', '.join(triggers)}" for (source, target), triggers in edges.pairs.items()]
    # No ";" in a Mermaid line: some diagram types read it as the end of a statement.
    also = ", and every entry point again (allow_reentry)" if conversation.allow_reentry else ""
    lines.append(f"    note right of {ANY_STEP} : the fallbacks, in any step{also}")
    return "\n".join(lines) + "\n"


def citizen_diagram() -> str:
    """The diagram of the conversation handlers/__init__.py registers."""
    import handlers
    from handlers import common

    named = {id(common.FREE_TEXT): "text", id(handlers.OTHER_INPUT): "anything else"}
    skipped = {id(common.NEW_MESSAGE), id(common.PRIVATE)}
    return diagram(handlers.citizen_conversation(), named, skipped)


def section(mermaid: str) -> str:
    return f"{START}\n```mermaid\n{mermaid}```\n{END_MARK}"


def readme_with(readme: str, mermaid: str) -> str:
    """``readme`` with the text between the markers replaced by ``mermaid``."""
    if readme.count(START) != 1 or readme.count(END_MARK) != 1:
        raise DiagramError(f"README.md must hold {START} and {END_MARK} once each")
    head, rest = readme.split(START)
    _, tail = rest.split(END_MARK)
    return head + section(mermaid) + tail


def main(argv: list[str], write: Callable[[str], object] = sys.stdout.write) -> int:
    mermaid = citizen_diagram()
    if "--print" in argv:
        write(mermaid)
        return 0
    README.write_text(readme_with(README.read_text(encoding="utf-8"), mermaid), encoding="utf-8")
    write(f"{README}: the citizen's conversation redrawn\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
