# -*- coding: utf-8 -*-
"""The filters over the shared rules: mesh_identity, cluster_inputs, pki_paths, eastwest_gateway, peer_gateway_info,
pods_not_ready, mesh_issues, run_summary (their output against the old Jinja is in tests/unit/plugins/test_converted_jinja.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.filter.cluster_inputs import cluster_inputs
from ansible_collections.meshops.ambient_spire.plugins.filter.eastwest_gateway import eastwest_gateway
from ansible_collections.meshops.ambient_spire.plugins.filter.mesh_identity import mesh_identity
from ansible_collections.meshops.ambient_spire.plugins.filter.mesh_issues import mesh_issues
from ansible_collections.meshops.ambient_spire.plugins.filter.peer_gateway_info import peer_gateway_info
from ansible_collections.meshops.ambient_spire.plugins.filter.pki_paths import pki_paths
from ansible_collections.meshops.ambient_spire.plugins.filter.pods_not_ready import pods_not_ready
from ansible_collections.meshops.ambient_spire.plugins.filter.run_summary import run_summary

INVENTORY = """
all:
  children:
    k8s_clusters:
      hosts:
        c1:
          mesh_network: "{{ 'net-' ~ 'one' }}"
          broken: "{{ undefined_variable_of_c1 }}"
        c2:
          mesh_cluster_name: two
          mesh_trust_domain: "{{ undefined_trust_domain_variable }}"
          kube_context: ctx2
          mesh_license_key: "{{ 'lic' ~ 'ense' }}"
"""


@pytest.fixture
def hostvars(tmp_path):
    """The lazy hostvars of ansible-core (templated on access)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.hostvars import HostVars
    from ansible.vars.manager import VariableManager

    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    return HostVars(inventory=inventory, variable_manager=VariableManager(loader=loader, inventory=inventory), loader=loader)


def test_mesh_identity_over_lazy_hostvars_templates_only_what_it_reads(hostvars):
    # c1's 'broken' and c2's undefined trust domain would fail if they were templated; the undefined one counts as unset
    assert mesh_identity(hostvars, ["c1", "c2"]) == [
        {"host": "c1", "cluster": "c1", "network": "net-one", "trust_domain": "c1"},
        {"host": "c2", "cluster": "two", "network": "two", "trust_domain": "two"}]
    assert mesh_identity(hostvars["c2"], "c2", cluster="own") == {"host": "c2", "cluster": "own", "network": "own", "trust_domain": "own"}


def test_cluster_inputs_over_lazy_hostvars(hostvars):
    assert cluster_inputs(hostvars, ["c2"]) == [{"host": "c2", "kube_context": "ctx2", "kubeconfig_path": None, "cluster_name": "two", "network": None,
                                                 "trust_domain": None, "istio_version": None, "license_set": True}]


@pytest.mark.parametrize("args,message", [
    (("not vars", "h"), "expects the variables of a host"),
    (({}, 3), "host must be a host name or a list"),
    (({}, ["h"]), "no variables for h"),
])
def test_mesh_identity_errors(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        mesh_identity(*args)
    with pytest.raises(AnsibleFilterError, match="single host"):
        mesh_identity({"h": {}}, ["h"], cluster="x")


def test_cluster_inputs_errors():
    with pytest.raises(AnsibleFilterError, match="expects hostvars"):
        cluster_inputs([], ["h"])
    with pytest.raises(AnsibleFilterError, match="list of host names"):
        cluster_inputs({}, "h")
    with pytest.raises(AnsibleFilterError, match="no variables for h"):
        cluster_inputs({}, ["h"])


def test_pki_paths_filter():
    assert pki_paths("/p", "c1")["spire"]["cert"] == "/p/clusters/c1/spire/ca.crt"
    assert "spire" not in pki_paths("/p")
    for bad, message in (("", "pki_dir is empty"), (None, "pki_dir is empty")):
        with pytest.raises(AnsibleFilterError, match=message):
            pki_paths(bad)
    with pytest.raises(AnsibleFilterError, match="cannot name a directory"):
        pki_paths("/p", "../x")


def test_eastwest_gateway_filter():
    gw = eastwest_gateway({"cluster": "c1", "network": "n1", "region": "", "zone": "z"}, name="ew", namespace="ns")
    assert gw["metadata"]["name"] == "ew" and gw["metadata"]["namespace"] == "ns"
    assert gw["metadata"]["labels"]["topology.kubernetes.io/zone"] == "z" and "topology.kubernetes.io/region" not in gw["metadata"]["labels"]
    with pytest.raises(AnsibleFilterError, match="network missing"):
        eastwest_gateway({"cluster": "c1"})
    with pytest.raises(AnsibleFilterError, match="expects a dict"):
        eastwest_gateway("c1")


def test_peer_gateway_info_filter():
    gws = [{"metadata": {"name": "istio-remote-peer-a"}, "spec": {"gatewayClassName": "istio-remote"}}, "junk", {"metadata": {"name": "x"}}]
    assert [info["cluster"] for info in peer_gateway_info(gws)] == ["a"]
    with pytest.raises(AnsibleFilterError):
        peer_gateway_info({"metadata": {}})


def test_pods_not_ready_filter():
    components = [{"name": "a", "labels": {"app": "a", "tier": "x"}}]
    pods = [{"metadata": {"labels": {"app": "a", "tier": "x"}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"labels": {"app": "a"}}}]
    assert pods_not_ready(pods, components) == []
    assert pods_not_ready(pods + [{"metadata": {"labels": {"app": "a", "tier": "x"}}}], components) == ["a 1/2"]
    with pytest.raises(AnsibleFilterError, match="needs a name and a dict of labels"):
        pods_not_ready(pods, [{"name": "a"}])
    with pytest.raises(AnsibleFilterError):
        pods_not_ready({}, components)


def test_mesh_issues_filter():
    result = {"clusters": [{"name": "h1", "summary": {}}], "summary": {"checks": [{"id": "a", "clusters": {"h1": "error"}}, {"id": "b", "clusters": {}}]}}
    assert mesh_issues(result, "h1") == ["a"]
    assert mesh_issues({"summary": None}, "h1") == []
    with pytest.raises(AnsibleFilterError):
        mesh_issues(None, "h1")


def test_run_summary_filter(hostvars):
    assert run_summary(hostvars, ["c1", "c2"]) == ["c1: not linked in this run (failed before, or left out by --tags; see above)",
                                                   "c2: not linked in this run (failed before, or left out by --tags; see above)"]
    assert run_summary({"c1": {"eastwest_peer_facts": {}, "meshops_finished": True}}, ["c1"]) == ["c1: converged (single cluster, nothing to link)"]
    assert run_summary({"c1": {"eastwest_peer_facts": {}, "meshops_finished": True}, "c2": {}}, ["c1", "c2"])[0] == (
        "c1: converged, not linked: no other cluster converged")
    with pytest.raises(AnsibleFilterError):
        run_summary({}, "c1")
