"""The benchmarks are ordinary code: each scripts/bench*.py only calls its module's ``main``
in project/benchmarks/, no script edits ``sys.path``, and nothing else in the project imports
the benchmarks (they sit at the commands level)."""

import ast

from tests.conftest import ROOT

COMMANDS = sorted((ROOT / "scripts").glob("bench*.py"))


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_each_bench_script_is_a_thin_command_of_its_module():
    assert len(COMMANDS) == 10
    for path in COMMANDS:
        tree = ast.parse(path.read_text())
        body = [n for n in tree.body if not (isinstance(n, ast.Expr)
                                             and isinstance(n.value, ast.Constant))]
        imports = [n for n in body if isinstance(n, ast.ImportFrom)]
        assert len(imports) == 1 and imports[0].module.startswith("project.benchmarks."), path
        assert [a.name for a in imports[0].names] == ["main"], path
        assert (ROOT / (imports[0].module.replace(".", "/") + ".py")).exists(), path
        assert len(body) == 3 and isinstance(body[-1], ast.If), path  # import sys, main, if


def test_no_script_edits_sys_path_and_only_commands_import_the_benchmarks():
    for path in sorted((ROOT / "scripts").glob("*.py")):
        assert "sys.path" not in path.read_text(), path
    for path in sorted((ROOT / "project").rglob("*.py")):
        if "benchmarks" not in path.relative_to(ROOT / "project").parts:
            assert not any(m.startswith("project.benchmarks") for m in imported_modules(path)), \
                path
