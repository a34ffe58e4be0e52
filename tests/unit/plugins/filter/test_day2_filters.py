# -*- coding: utf-8 -*-
"""The filters of the day-2 playbooks: mesh_check_clusters (over lazy hostvars), upgrade_plan, upgrade_record."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.filter.mesh_check_clusters import mesh_check_clusters
from ansible_collections.meshops.ambient_spire.plugins.filter.upgrade_plan import upgrade_plan
from ansible_collections.meshops.ambient_spire.plugins.filter.upgrade_record import upgrade_record

INVENTORY = """
all:
  vars:
    kubeconfig_path: /k/config
  children:
    k8s_clusters:
      hosts:
        c1:
          kube_context: ctx1
          mesh_network: "{{ 'net-' ~ 'one' }}"
          broken: "{{ undefined_variable_of_c1 }}"
        c2:
          mesh_cluster_name: two
          mesh_check_connection: {host: "https://two:6443", api_key: "{{ 'tok' ~ 'en' }}"}
        c3:
          kube_context: ctx3
          mesh_trust_domain: "{{ undefined_trust_domain }}"
"""


@pytest.fixture
def hostvars(tmp_path):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    return HostVars(inventory=inventory, variable_manager=VariableManager(loader=loader, inventory=inventory), loader=loader)


def test_mesh_check_clusters_over_lazy_hostvars(hostvars):
    assert mesh_check_clusters(hostvars, ["c1", "c2", "c3"]) == [
        {"name": "c1", "cluster_name": "c1", "kubeconfig": "/k/config", "context": "ctx1", "expected_network": "net-one", "expected_trust_domain": "c1"},
        {"name": "c2", "cluster_name": "two", "host": "https://two:6443", "api_key": "token", "expected_network": "two", "expected_trust_domain": "two"},
        {"name": "c3", "cluster_name": "c3", "kubeconfig": "/k/config", "context": "ctx3", "expected_network": "c3", "expected_trust_domain": "c3"}]
    assert mesh_check_clusters(hostvars, ["c3"], expectations=False) == [{"name": "c3", "cluster_name": "c3", "kubeconfig": "/k/config", "context": "ctx3"}]


def test_mesh_check_clusters_errors(hostvars):
    with pytest.raises(AnsibleFilterError, match="expects hostvars"):
        mesh_check_clusters([], ["c1"])
    with pytest.raises(AnsibleFilterError, match="list of host names"):
        mesh_check_clusters(hostvars, "c1")
    with pytest.raises(AnsibleFilterError, match="no variables for c9"):
        mesh_check_clusters(hostvars, ["c9"])


def _read(name, istio="1.25.5-patch1"):
    component = {"present": True, "versions": [istio], "pods": {istio: {"pods": 1, "ready": 1, "not_ready": []}}, "rollout_complete": True}
    return {"name": name, "cluster": name, "smc": {"name": "managed-istio", "present": True, "version": istio, "record": None},
            "istio": {"istiod": component, "ztunnel": component, "istio-cni": component},
            "helm": {"spire-server/spire": {"present": True, "version": "0.24.2", "deployed_version": "0.24.2", "revision": 2,
                                            "deployed_revision": 2, "status": "deployed"}},
            "roots": {"cacerts": 1}, "peers": 1}


DESIRED = {"istio": {"variable": "mesh_istio_version", "version": "1.26.2"},
           "releases": [{"namespace": "spire-server", "name": "spire", "variable": "spire_chart_version", "version": "0.24.3", "role": "spire",
                         "spire": True}]}


def test_upgrade_plan_and_record():
    versions = {"changed": False, "clusters": [_read("c1"), _read("c2")]}
    plan = upgrade_plan(versions, {"c1": DESIRED, "c2": DESIRED}, ["c1", "c2"], canary="c2", batch="1")
    assert plan["order"] == ["c2", "c1"] and plan["serial"] == [1, 1] and plan["refusals"] == []
    assert plan["lines"][0] == "batch 1 (canary): c2"
    record = json.loads(upgrade_record(plan, "c2", "upgrading", "2026-11-30T10:00:00Z"))
    assert record["phase"] == "upgrading" and record["from"]["releases"]["spire-server/spire"] == {"version": "0.24.2", "revision": 2}
    assert record["to"] == {"istio": "1.26.2", "releases": {"spire-server/spire": "0.24.3"}} and record["started"] == "2026-11-30T10:00:00Z"
    done = json.loads(upgrade_record(plan, "c2", "done", "2026-11-30T10:05:00Z", started="2026-11-30T10:00:00Z"))
    assert done["started"] == "2026-11-30T10:00:00Z" and done["updated"] == "2026-11-30T10:05:00Z"
    assert json.loads(upgrade_record(plan, "c1", "failed", "T", reason="gate: x"))["reason"] == "gate: x"


def test_upgrade_filters_check_their_input():
    with pytest.raises(AnsibleFilterError, match="mesh_versions_info result"):
        upgrade_plan({}, {}, [])
    with pytest.raises(AnsibleFilterError, match="no desired versions for c2"):
        upgrade_plan({"clusters": []}, {"c1": DESIRED}, ["c1", "c2"])
    plan = upgrade_plan({"clusters": [_read("c1")]}, {"c1": DESIRED}, ["c1"])
    with pytest.raises(AnsibleFilterError, match="phase must be one of"):
        upgrade_record(plan, "c1", "finished", "T")
    with pytest.raises(AnsibleFilterError, match="c9 has no plan entry"):
        upgrade_record(plan, "c9", "done", "T")
