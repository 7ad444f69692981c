"""Shell scripts only call commands (docs: DESIGN, "shell scripts only call commands"): no
Python written inside them, neither ``python -c`` nor a here-document fed to ``python -``."""

import re

from tests.conftest import ROOT

INLINE = re.compile(r"\bpython3?\s+(-c\b|-(?=\s))")  # -c CODE, or - (the code on stdin)


def test_no_shell_script_holds_python_code():
    scripts = sorted((ROOT / "scripts").glob("*.sh"))
    assert scripts
    for path in scripts:
        found = INLINE.search(path.read_text())
        assert found is None, f"{path.name}: {found.group(0)!r}"
