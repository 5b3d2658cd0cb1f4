"""The floors of DESIGN §7: every ``npr`` import, eager or inside a function, goes downward."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "npr"
GROUND = {"schema", "tokens", "topology"}
FLOOR_2 = GROUND | {"engine", "rewards"}
FLOOR_3 = FLOOR_2 | {"train", "eval"}

#: What each top-level package may import from the rest of npr.
MAY_IMPORT: dict[str, set[str]] = {
    "__init__": set(),
    "schema": set(),
    "tokens": {"schema"},
    "topology": {"schema", "tokens"},
    "engine": GROUND,
    "rewards": GROUND,
    "train": FLOOR_2,
    "eval": FLOOR_2,
    "toy": FLOOR_3,
    "recipe": FLOOR_3 | {"toy"},  # the pipeline builds the toy seed when a config asks for it
    "serve": FLOOR_2,  # the server runs the engine; it never imports train or eval
    "cli": FLOOR_3 | {"toy", "recipe", "serve"},
}


def _npr_imports(path: Path) -> set[str]:
    """The top-level npr packages ``path`` imports (absolute imports; npr uses no relative ones)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; npr imports absolutely"
            names = [node.module or ""]
        found |= {n.split(".")[1] for n in names if n.startswith("npr.")}
    return found


def test_every_import_goes_downward():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        top = path.relative_to(SRC).parts[0].removesuffix(".py")
        assert top in MAY_IMPORT, f"{top!r} has no floor: add it to MAY_IMPORT (and to DESIGN §7)"
        for target in sorted(_npr_imports(path) - {top}):
            if target not in MAY_IMPORT[top]:
                wrong.append(f"{path.relative_to(SRC.parent)} imports npr.{target}")
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from npr.train import sft\n    import npr.eval.runner\n")
    assert _npr_imports(module) == {"train", "eval"}
