"""The SDK's modules import downward: bottom layer, then storage, then the entity modules,
then ``gantry/__init__.py``. Checked statically (each module parsed with ``ast``), so an
upward import fails here even where today's import order would happen to hide it."""

import ast
import os

import pytest

GANTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gantry")

# Bottom to top. A module imports modules of its own layer or below, never above.
LAYERS = [
    ("bottom", {"errors", "_names", "_http", "_paths", "_convert", "_files", "_workspace_base"}),
    ("storage", {"_ignore", "_trees", "_snapshot"}),
    ("entities", {"resource_configuration", "distributed", "conda_dependencies", "run_details",
                  "environment", "run_config", "compute", "dataset", "inference_config",
                  "model", "webservice", "run", "experiment", "script_run",
                  "script_run_config", "workspace", "hyperdrive"}),
    ("package", {"__init__"}),
]

# The imports left inside functions: each closes a real cycle between two entity modules
# (the comment at the import says why), so the other direction is a module-level import.
DEFERRED = {
    ("run", "script_run"),          # ScriptRun derives from Run; Run(experiment, id) is one
    ("model", "script_run"),        # Model.run; a ScriptRun registers Models
    ("model", "webservice"),        # Model.deploy; a Webservice serves Models
    ("experiment", "script_run"),   # Experiment.get_runs; a ScriptRun has its Experiment
    ("script_run", "hyperdrive"),   # a sweep's run is a HyperDriveRun, which is a ScriptRun
    ("inference_config", "webservice"),  # WebserviceException; a deployment takes an InferenceConfig
}


def _modules():
    return sorted(name[:-3] for name in os.listdir(GANTRY) if name.endswith(".py"))


def _target(module, name):
    """The gantry module that ``from <module> import <name>`` (relative or absolute) reads."""
    if module is None:  # "from . import x": a module when there is a file for it
        return name if os.path.exists(os.path.join(GANTRY, name + ".py")) else "__init__"
    return module.split(".")[0] or "__init__"


def _imports(module):
    """``(at module level, inside functions)``: the gantry modules ``module`` imports.
    A class body runs at import, so its imports count as module level."""
    with open(os.path.join(GANTRY, module + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read(), module)
    top, deferred = set(), set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.Lambda))
            found = set()
            if isinstance(child, ast.ImportFrom) and child.level == 1:
                found = {_target(child.module, a.name) for a in child.names}
            elif isinstance(child, ast.ImportFrom) and (child.module or "").split(".")[0] == "gantry":
                rest = child.module.split(".", 1)[1:] or [None]
                found = {_target(rest[0], a.name) for a in child.names}
            elif isinstance(child, ast.Import):
                found = {a.name.split(".")[1] if "." in a.name else "__init__"
                         for a in child.names if a.name.split(".")[0] == "gantry"}
            (deferred if inner else top).update(found - {module})
            visit(child, inner)

    visit(tree, False)
    return top, deferred


GRAPH = {m: _imports(m) for m in _modules()}


def _layer_of(module):
    for rank, (_, members) in enumerate(LAYERS):
        if module in members:
            return rank
    pytest.fail("gantry/%s.py is in no layer: add it to LAYERS in this test" % module)


def test_every_module_has_a_layer():
    placed = set().union(*(members for _, members in LAYERS))
    assert placed == set(GRAPH)


def test_module_level_imports_point_down_or_sideways():
    upward = ["%s (%s) imports %s (%s)" % (m, LAYERS[_layer_of(m)][0], t, LAYERS[_layer_of(t)][0])
              for m, (top, _) in GRAPH.items() for t in sorted(top) if _layer_of(t) > _layer_of(m)]
    assert upward == []


def test_module_level_imports_form_no_cycle():
    done, stack = set(), []

    def visit(m):
        if m in stack:
            pytest.fail("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
        if m in done:
            return
        stack.append(m)
        for t in sorted(GRAPH[m][0]):
            visit(t)
        stack.pop()
        done.add(m)

    for m in GRAPH:
        visit(m)


def _reaches(start, goal):
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            todo.extend(GRAPH[m][0])
    return False


def test_imports_inside_functions_only_close_real_cycles():
    deferred = {(m, t) for m, (_, inner) in GRAPH.items() for t in inner}
    assert deferred == DEFERRED, "import at module level instead, or list a real cycle here"
    for m, t in sorted(DEFERRED):
        assert _reaches(t, m), "%s no longer imports %s: import %s at the top of %s.py" % (
            t, m, t, m)


def test_gantry_never_imports_azureml():
    for module in GRAPH:
        with open(os.path.join(GANTRY, module + ".py"), encoding="utf-8") as f:
            tree = ast.parse(f.read(), module)
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        assert not any(n.split(".")[0] == "azureml" for n in names), module
