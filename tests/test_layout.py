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


# The layers of the library, lowest first: a module may import its own layer's packages only
# where no cycle forms, and lower layers, never a higher one (docs/DESIGN.md §7).
LAYERS = [
    {"common", "fixtures"},
    {"toy_world", "synth", "prepare", "rank"},
    {"count"},
    {"table", "demo"},
    {"cli", "__main__", "__init__"},
]
LAYER_OF = {name: level for level, names in enumerate(LAYERS) for name in names}


def _package_of(module):
    """``syrac.rank.training`` -> ``rank``; ``syrac.cli`` -> ``cli``; ``syrac`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def package_imports(root=SYRAC):
    """``{(importer, imported): [file, ...]}`` over every import in ``root``, function-level
    and relative ones included."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        importer = _package_of(module)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = list(_imported_modules_of(node))
            for name in names:
                if name == "syrac" or name.startswith("syrac."):
                    imported = _package_of(name)
                    if imported != importer:
                        found.setdefault((importer, imported), []).append(str(path.name))
    return found


def _imported_modules_of(node):
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
        yield node.module


def test_every_package_has_a_layer():
    packages = {path.parent.name for path in SYRAC.glob("*/__init__.py")}
    packages |= {path.stem for path in SYRAC.glob("*.py")}
    assert packages == set(LAYER_OF)


def test_no_import_runs_up_the_layers():
    upward = {f"{importer} -> {imported} ({', '.join(sorted(set(files)))})"
              for (importer, imported), files in package_imports().items()
              if LAYER_OF[imported] > LAYER_OF[importer]}
    assert upward == set()


def test_no_cycle_between_packages():
    edges = {}
    for importer, imported in package_imports():
        edges.setdefault(importer, set()).add(imported)

    def reaches(start, goal, seen):
        for following in edges.get(start, ()):
            if following == goal or (following not in seen
                                     and reaches(following, goal, seen | {following})):
                return True
        return False

    cycles = sorted(package for package in edges if reaches(package, package, {package}))
    assert cycles == []


def test_the_layering_test_sees_function_level_and_relative_imports(tmp_path):
    """A lazy import up the layers and a relative one are both read as imports."""
    library = tmp_path / "syrac"
    (library / "rank").mkdir(parents=True)
    (library / "cli.py").write_text("")
    (library / "rank" / "__init__.py").write_text("")
    (library / "rank" / "lazy.py").write_text(
        "def f():\n    from syrac.cli import parser\n    from . import other\n")
    found = package_imports(library)
    assert ("rank", "cli") in found


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


def test_no_test_module_imports_another():
    """Shared helpers and fixtures live in tests/conftest.py (and the harnesses
    tests/kill_sweep.py, tests/multi_worker/launch.py), never in a test module."""
    tests = SYRAC.parent / "tests"
    importing = sorted(
        f"{path.relative_to(tests)} imports {name}"
        for path in tests.rglob("*.py")
        for name in _imported_modules(path)
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"))
    assert importing == []


ARGPARSE_INTERNALS = {"_actions", "_subparsers", "_option_string_actions", "_defaults",
                      "_positionals", "_optionals", "_registries"}


def argparse_internals(path):
    """Where ``path`` reads argparse's private state or builds a namespace by hand."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and (
                node.attr in ARGPARSE_INTERNALS
                or (node.attr.startswith("_") and isinstance(node.value, ast.Name)
                    and node.value.id == "argparse")):
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.Call) and "Namespace" in (
                getattr(node.func, "attr", None), getattr(node.func, "id", None)):
            found.append(f"{path.name}:{node.lineno} Namespace(...)")
    return sorted(found, key=lambda hit: int(hit.split(":")[1].split()[0]))


def test_the_library_reads_no_argparse_internals_and_builds_no_namespace():
    """The library's inputs are requests; parsers say what they hold through CommandParser."""
    assert [hit for path in sorted(SYRAC.rglob("*.py")) for hit in argparse_internals(path)] == []


def test_the_argparse_check_sees_what_it_forbids(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import argparse\nfor a in parser._actions:\n    pass\n"
                      "isinstance(a, argparse._SubParsersAction)\n"
                      "args = argparse.Namespace(fold='K')\nparser.add_argument('--x')\n")
    assert argparse_internals(module) == ["m.py:2 ._actions", "m.py:4 ._SubParsersAction",
                                          "m.py:5 Namespace(...)"]


def positional_heavy_functions(root, limit=5):
    """Functions under ``root`` that can be given more than ``limit`` arguments by position."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args
                         if a.arg not in ("self", "cls")]
                if len(names) > limit:
                    found.append(f"{path.name}:{node.name}({', '.join(names)})")
    return found


def test_no_function_of_the_count_step_takes_more_than_five_positional_arguments(tmp_path):
    """Issue 22: the Count core's functions name their inputs (a request, settings) instead of
    taking long positional lists like the old fit_stage(8) and evaluate_stage(9)."""
    assert positional_heavy_functions(SYRAC / "count") == []
    (tmp_path / "m.py").write_text("def f(a, b, c, d, e, f=1, *, g=2):\n    pass\n"
                                   "def ok(self, a, b, c, d, e, *, f=1):\n    pass\n")
    assert positional_heavy_functions(tmp_path) == ["m.py:f(a, b, c, d, e, f)"]
