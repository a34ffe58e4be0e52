# -*- coding: utf-8 -*-
"""The pki_plan lookup: the plan the pki role computes, the same as the Jinja template it replaced, on a real file system."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

PATH_KEYS = ("dirs", "intermediates", "files", "modes", "checks")


def role_variables(renderer, tmp_path, hosts=None, **overrides):
    """What the pki role's tasks see: its defaults and vars, an inventory of clusters, and the overrides."""
    hosts = hosts if hosts is not None else {"cluster1": {}, "cluster2": {}}
    variables = dict(renderer.load("roles/pki/defaults/main.yml"))
    variables.update(renderer.load("roles/pki/vars/main.yml"))
    variables.update(pki_dir=str(tmp_path / "pki"), groups={"all": list(hosts), "k8s_clusters": list(hosts)},
                     hostvars=hosts, inventory_hostname="localhost")
    variables.update(overrides)
    return variables


def plan_task(renderer):
    tasks = renderer.load("roles/pki/tasks/files.yml")
    step = [task for task in tasks[0]["block"] if "ansible.builtin.set_fact" in task][0]
    return step["ansible.builtin.set_fact"]["__pki_plan"]


def new_plan(renderer, variables):
    return renderer.render(plan_task(renderer), variables)


def legacy_plan(renderer, variables):
    rendered = renderer.render(renderer.legacy("pki_plan.json.j2"), variables)
    return json.loads(rendered) if isinstance(rendered, str) else rendered


def touch(*paths):
    for path in paths:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")


def full_tree(plan):
    touch(plan["root_cert"], plan["root_key"], plan["bundle"])
    for item in plan["intermediates"]:
        touch(item["cert"], item["key"])


def assert_same(renderer, variables):
    new, old = new_plan(renderer, variables), legacy_plan(renderer, variables)
    assert new == old
    return new


def test_fresh_tree_two_clusters_of_the_group(renderer, tmp_path):
    plan = assert_same(renderer, role_variables(renderer, tmp_path))
    base = os.path.realpath(str(tmp_path / "pki"))
    assert plan["clusters"] == ["cluster1", "cluster2"] and plan["errors"] == []
    assert plan["dirs"][:3] == [base, base + "/root", base + "/clusters"]
    assert [(i["cluster"], i["kind"], i["issue"], i["key_exists"]) for i in plan["intermediates"]] == [
        ("cluster1", "spire", True, False), ("cluster1", "istio", True, False), ("cluster2", "spire", True, False), ("cluster2", "istio", True, False)]
    assert plan["intermediates"][1]["cn"] == "Istio cluster1 CA" and plan["intermediates"][0]["pathlen"] == 1
    assert not plan["signing_cert_exists"] and not plan["byo"]


def test_existing_tree_issues_nothing_and_rotation_issues_all(renderer, tmp_path):
    variables = role_variables(renderer, tmp_path)
    full_tree(new_plan(renderer, variables))
    plan = assert_same(renderer, variables)
    assert plan["signing_cert_exists"] and plan["signing_key_exists"]
    assert not any(item["issue"] for item in plan["intermediates"])
    rotated = assert_same(renderer, dict(variables, pki_rotate_intermediates="yes"))
    assert all(item["issue"] for item in rotated["intermediates"])


def test_mesh_cluster_name_names_the_cluster_and_pki_clusters_wins(renderer, tmp_path):
    hosts = {"h1": {"mesh_cluster_name": "east"}, "h2": {"mesh_network": "n2"}}
    plan = assert_same(renderer, role_variables(renderer, tmp_path, hosts=hosts))
    assert plan["clusters"] == ["east", "h2"]
    plan = assert_same(renderer, role_variables(renderer, tmp_path, hosts=hosts, pki_clusters=["west", "north"], pki_spire_ca_days="30"))
    assert plan["clusters"] == ["west", "north"] and plan["intermediates"][0]["days"] == 30


def test_relative_and_trailing_slash_pki_dir_resolve_to_the_real_path(renderer, tmp_path, monkeypatch):
    os.makedirs(str(tmp_path / "real"))
    os.symlink(str(tmp_path / "real"), str(tmp_path / "link"))
    monkeypatch.chdir(str(tmp_path))
    for pki_dir in ("link/", "./link", str(tmp_path / "link")):
        plan = assert_same(renderer, role_variables(renderer, tmp_path, pki_dir=pki_dir))
        assert plan["dir"] == os.path.realpath(str(tmp_path / "real"))


def test_bring_your_own_signing_ca_with_chain(renderer, tmp_path):
    own = tmp_path / "own"
    touch(str(own / "ca.crt"), str(own / "ca.key"), str(own / "chain.pem"))
    variables = role_variables(renderer, tmp_path, pki_root_ca_cert_path=str(own / "ca.crt"), pki_root_ca_key_path=str(own / "ca.key"),
                               pki_root_ca_chain_path=str(own / "chain.pem"))
    plan = assert_same(renderer, variables)
    assert plan["byo"] and plan["errors"] == [] and plan["upstream"] == [str(own / "ca.crt"), str(own / "chain.pem")]
    assert {"dest": plan["root_cert"], "srcs": [str(own / "ca.crt")], "anchor": False} in plan["files"]
    assert plan["root_key"] not in [mode["path"] for mode in plan["modes"]]


@pytest.mark.parametrize("overrides,needle", [
    (dict(pki_root_ca_key_path="/nonexistent/ca.key"), "go together"),
    (dict(pki_root_ca_cert_path="/nonexistent/ca.crt", pki_root_ca_key_path="/nonexistent/ca.key"),
     "bring-your-own CA file /nonexistent/ca.crt does not exist"),
    (dict(pki_root_ca_chain_path="/nonexistent/chain.pem"), "pki_root_ca_chain_path needs"),
    (dict(pki_clusters=["c1", "c1"]), "duplicate cluster names in c1, c1"),
    (dict(hosts={}), "no cluster to issue for: set pki_clusters, or add hosts to the inventory group 'k8s_clusters'"),
])
def test_input_errors(renderer, tmp_path, overrides, needle):
    hosts = overrides.pop("hosts", None)
    plan = assert_same(renderer, role_variables(renderer, tmp_path, hosts=hosts, **overrides))
    assert any(needle in error for error in plan["errors"]), plan["errors"]


def test_root_certificate_without_its_key_is_refused(renderer, tmp_path):
    variables = role_variables(renderer, tmp_path)
    touch(new_plan(renderer, variables)["root_cert"])
    plan = assert_same(renderer, variables)
    assert "exists but its key" in plan["errors"][0] and "refusing to create a new root" in plan["errors"][0]


def test_a_name_that_is_not_a_label_is_an_error_and_never_a_path(renderer, tmp_path):
    variables = role_variables(renderer, tmp_path, pki_clusters=["ok1", "Bad_Name", "../../etc"])
    new, old = new_plan(renderer, variables), legacy_plan(renderer, variables)
    assert dict((k, v) for k, v in new.items() if k not in PATH_KEYS) == dict((k, v) for k, v in old.items() if k not in PATH_KEYS)
    assert len(new["errors"]) == 2 and "'Bad_Name' is not a DNS-1123 label" in new["errors"][0]
    assert all("Bad_Name" not in path and "etc" not in path for path in new["dirs"])
    # what the template planned for the valid name is unchanged
    for key in PATH_KEYS:
        assert new[key] == [item for item in old[key] if "Bad_Name" not in json.dumps(item) and "etc" not in json.dumps(item)]


def test_lookup_refuses_terms_and_an_empty_pki_dir(renderer):
    lookup = lookup_loader.get("meshops.ambient_spire.pki_plan")
    with pytest.raises(AnsibleLookupError, match="no terms"):
        lookup.run(["x"], variables={}, pki_dir="/tmp")
    with pytest.raises(AnsibleLookupError, match="pki_dir is empty"):
        lookup.run([], variables={}, pki_dir="")


def test_lookup_returns_one_plan(renderer, tmp_path):
    lookup = lookup_loader.get("meshops.ambient_spire.pki_plan")
    result = lookup.run([], variables={}, pki_dir=str(tmp_path), clusters=["c1"])
    assert len(result) == 1 and result[0]["clusters"] == ["c1"] and result[0]["errors"] == []


def test_a_ca_rotation_in_progress_is_refused_until_it_finished(renderer, tmp_path):
    """The tree changes only when a rotation finishes: the pki role (and so the install) refuses to run in the middle of one."""
    variables = role_variables(renderer, tmp_path)
    state = os.path.join(str(tmp_path / "pki"), "rotations", "chg-7", "state.json")
    os.makedirs(os.path.dirname(state))
    with open(state, "w") as handle:
        json.dump({"id": "chg-7", "scope": "root", "finished": None}, handle)
    base = os.path.realpath(str(tmp_path / "pki"))
    assert new_plan(renderer, variables)["errors"] == [
        "the CA rotation chg-7 is in progress in %s/rotations: finish it with playbooks/rotate_ca.yml -e rotate_ca_id=chg-7 before issuing or "
        "installing (the tree changes only when it finishes)" % base]
    with open(state, "w") as handle:
        json.dump({"id": "chg-7", "scope": "root", "finished": "2026-11-30T10:00:00Z"}, handle)
    assert new_plan(renderer, variables)["errors"] == []
