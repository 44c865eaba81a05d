"""The flow linter behind `hotline flows check`: every problem with file, line and a sentence."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from flows.errors import FlowError, FlowProblem, problems_to_json
from flows.help import HelpDirectory
from flows.loader import analyse_flow_text
from flows.places import PlaceDirectory
from flows.source import read_yaml
from flows.vocabulary import Vocabulary

TEST_SUFFIX = ".test.yaml"


def flow_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[FlowProblem]]:
    """Expand files and directories into flow files (*.yaml / *.yml, not *.test.yaml).

    Returns (files in sorted order, problems for paths that do not exist).
    """
    files: list[Path] = []
    problems: list[FlowProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir()
                                if p.suffix in (".yaml", ".yml")
                                and not p.name.endswith((TEST_SUFFIX, ".test.yml"))))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(FlowProblem(str(path), 1, "error", "There is no such file or "
                                                               "directory."))
    return files, problems


def lint_flow_text(text: str, path: str = "<flow>", *, places: PlaceDirectory | None = None,
                   vocabulary: Vocabulary | None = None,
                   known_flows: Collection[str] | None = None,
                   help_directory: HelpDirectory | None = None) -> list[FlowProblem]:
    """Return every problem of one flow text, errors and warnings, sorted by line.

    Location menus are checked against `places` (default: the shipped demo directory);
    help lists also with the points `help_directory` finds near each region. With
    `known_flows` (flow ids), a switch to any other flow is an error. Never raises for a
    bad flow.
    """
    _, problems = analyse_flow_text(text, path, vocabulary=vocabulary, places=places,
                                    check_place_menus=True, known_flows=known_flows,
                                    help_directory=help_directory)
    return problems


def lint_paths(paths: Iterable[str | Path], *, places: PlaceDirectory | None = None,
               vocabulary: Vocabulary | None = None,
               known_flows: Collection[str] = (),
               help_directory: HelpDirectory | None = None) -> list[FlowProblem]:
    """Lint flow files and directories; return all problems (see lint_flow_text).

    A switch may start any flow checked together (their ids) or named in `known_flows`.
    A file that cannot be read becomes an error problem, never an exception.
    """
    files, problems = flow_files(paths)
    texts: list[tuple[Path, str]] = []
    for path in files:
        try:
            texts.append((path, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(FlowProblem(str(path), 1, "error", f"The file cannot be read: "
                                                               f"{exc}."))
    known = set(known_flows) | {flow_id for path, text in texts
                                if (flow_id := flow_id_of(text, str(path)))}
    for path, text in texts:
        problems.extend(lint_flow_text(text, str(path), places=places, vocabulary=vocabulary,
                                       known_flows=known, help_directory=help_directory))
    return problems


def flow_id_of(text: str, path: str = "<flow>") -> str | None:
    """Return the `id` a flow text declares, or None when it cannot be read (never raises)."""
    try:
        tree = read_yaml(text, path)
    except FlowError:
        return None
    flow_id = tree.get("id") if isinstance(tree, dict) else None
    return flow_id if isinstance(flow_id, str) else None


__all__ = ["flow_files", "flow_id_of", "lint_flow_text", "lint_paths", "problems_to_json"]
