"""The internal helm_release role is the one Helm release path: the spire and gloo_operator roles import it (without its
validation task, to save one task per release), so its argument spec is checked here against what they pass."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = "meshops.ambient_spire.helm_release"


def _imports(node):
    """Every import_role/include_role task of ROLE in a task list (blocks, rescues and always included)."""
    found = []
    for task in node or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            found += _imports(task.get(key))
        action = task.get("ansible.builtin.import_role") or task.get("ansible.builtin.include_role")
        if isinstance(action, dict) and action.get("name") == ROLE:
            found.append(task)
    return found


def _load(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def test_callers_pass_exactly_the_options_of_helm_release():
    spec = _load("roles", "helm_release", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    required = {name for name, option in spec.items() if option.get("required")}
    calls = {}
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
        if role == "helm_release" or not os.path.isdir(tasks_dir):
            continue
        for name in sorted(os.listdir(tasks_dir)):
            for task in _imports(_load("roles", role, "tasks", name)):
                calls.setdefault(role, []).append(task)
                given = set(task.get("vars") or {})
                assert given <= set(spec), "%s/%s passes options helm_release does not have: %s" % (role, name, sorted(given - set(spec)))
                assert required <= given, "%s/%s misses required options: %s" % (role, name, sorted(required - given))
                # every caller names its cluster: the release goes where the calling role acts
                assert task["vars"]["helm_release_connection"] == "{{ %s_connection }}" % role
    # the SPIRE CRDs, SPIRE and the Gloo Operator: three releases, one implementation
    assert {role: len(tasks) for role, tasks in calls.items()} == {"spire": 2, "gloo_operator": 1}, calls


def _helm_tasks(node):
    """Every kubernetes.core.helm task of a task list (blocks, rescues and always included)."""
    found = []
    for task in node or []:
        if isinstance(task, dict):
            for key in ("block", "rescue", "always"):
                found += _helm_tasks(task.get(key))
            if "kubernetes.core.helm" in task:
                found.append(task)
    return found


def test_only_helm_release_runs_helm_installs():
    """No role but helm_release installs a release itself (the uninstalls of the teardowns are not installs)."""
    offenders = []
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
        if role == "helm_release" or not os.path.isdir(tasks_dir):
            continue
        for name in sorted(os.listdir(tasks_dir)):
            for task in _helm_tasks(_load("roles", role, "tasks", name)):
                if task["kubernetes.core.helm"].get("release_state") != "absent":
                    offenders.append("%s/%s: %s" % (role, name, task.get("name")))
    assert not offenders, offenders
    assert _helm_tasks(_load("roles", "helm_release", "tasks", "install.yml"))
