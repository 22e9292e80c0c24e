"""One way to enqueue a task (README, "Development"): a room's own service enqueues its own
room's task after commit; another room calls that service, never the task."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("accounts", "dashboard", "imports", "ops", "playback", "scrobbler")
ENQUEUE = {"delay", "apply_async"}


def _own_tasks(tree: ast.Module, room: str) -> set[str]:
    """The names this module binds to tasks of its own room (`from <room>.tasks import x as y`)."""
    return {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == f"{room}.tasks"
        for alias in node.names
    }


def _inside_on_commit(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "on_commit":
            return True
    return False


def test_tasks_are_enqueued_after_commit_by_their_own_room() -> None:
    wrong = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            parents = {
                child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
            }
            own = _own_tasks(tree, room)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Attribute) and node.attr in ENQUEUE):
                    continue
                task = (
                    node.value.id if isinstance(node.value, ast.Name) else ast.unparse(node.value)
                )
                if task not in own or not _inside_on_commit(node, parents):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {task}.{node.attr}")
    assert wrong == [], "enqueue through the task's own room, on commit"
