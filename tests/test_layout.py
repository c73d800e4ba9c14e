"""The code's shape: packages named by the method, a library that never calls back up."""

import ast
import pathlib
import re

import pytest

SYRAC = pathlib.Path(__file__).resolve().parents[1] / "syrac"
PACKAGES = sorted(path.parent for path in SYRAC.glob("*/__init__.py"))


def _imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted(SYRAC.rglob("*.py")), ids=lambda p: str(p.relative_to(SYRAC)))
def test_the_library_never_imports_the_experiments(path):
    reaching_up = [name for name in _imported_modules(path)
                   if name == "experiments" or name.startswith("experiments.")]
    assert reaching_up == []


def test_the_method_has_its_packages():
    names = {package.name for package in PACKAGES}
    assert {"rank", "count", "common", "synth", "prepare", "toy_world", "demo"} <= names
    flat = sorted(path.name for path in SYRAC.glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cli.py", "fixtures.py"]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_docstring_maps_its_modules(package):
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    modules = sorted(path.stem for path in package.glob("*.py") if path.stem != "__init__")
    unmapped = [name for name in modules
                if f"``{name}``" not in docstring and f".{name}`" not in docstring]
    assert unmapped == [], f"syrac/{package.name}/__init__.py does not describe {unmapped}"


def test_design_sections_cited_exist_and_doc_links_resolve():
    root = SYRAC.parent
    design = (root / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## §(\d+)", design, re.M))
    cited = set()
    for path in [*root.glob("syrac/**/*.py"), *root.glob("experiments/**/*.py"),
                 *root.glob("*.md"), *root.glob("docs/*.md")]:
        text = path.read_text(encoding="utf-8")
        for group in re.findall(r"DESIGN\.md (§[\d§ ,and]+)", text):
            cited |= set(re.findall(r"§(\d+)", group))
        for target in re.findall(r"\]\(((?:\.\./|docs/)?[\w./-]+\.md)", text):
            assert (path.parent / target).exists(), f"{path.name} links to missing {target}"
    assert cited and cited <= sections
