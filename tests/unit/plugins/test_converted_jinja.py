# -*- coding: utf-8 -*-
"""The Jinja that moved into plugin code renders as before.

Each test renders, with the same variables, the Jinja as it was (tests/unit/plugins/legacy, copied from the commit before)
and the role or playbook file as it is now, which calls the collection's filters and lookups, and compares the results.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import itertools
import os
import sys

import pytest
import yaml


def load_all(text):
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- role defaults: identity and PKI paths ------------------------------------------------------------------------

DEFAULT_FILES = ["roles/%s/defaults/main.yml" % role for role in ("spire", "gloo_operator", "eastwest", "mesh_check")]
IDENTITY_INPUTS = [
    {},
    {"mesh_cluster_name": "east-1"},
    {"mesh_network": "net-a"},
    {"mesh_trust_domain": "example.org"},
    {"mesh_cluster_name": "east-1", "mesh_network": "net-a", "mesh_trust_domain": "example.org"},
    {"mesh_cluster_name": "east-1", "spire_trust_domain": "spire.example"},
    {"spire_cluster_name": "own-name"},
    {"eastwest_cluster_name": "ew-name", "mesh_network": "net-b"},
    {"gloo_operator_cluster_name": "go-name", "mesh_check_cluster_name": "mc-name"},
]


def legacy_defaults(renderer):
    lines = [line for line in renderer.legacy("role_defaults.txt").splitlines() if line and not line.startswith("#")]
    return dict((key, value) for key, value in (yaml.safe_load(line).popitem() for line in lines))


@pytest.mark.parametrize("inputs", IDENTITY_INPUTS)
def test_role_defaults_identity_and_pki_paths(renderer, inputs):
    from ansible.template import trust_as_template

    current = {}
    for path in DEFAULT_FILES:
        current.update(renderer.load(path))
    old = dict((key, trust_as_template(value)) for key, value in legacy_defaults(renderer).items())
    base = {"inventory_hostname": "cluster1", "pki_dir": "/srv/pki"}
    names = sorted(old)
    for key, value in inputs.items():
        if key in names:  # a role option set by the user replaces its default in both
            old[key] = current[key] = value
    new_values = renderer.render(dict((name, trust_as_template("{{ %s }}" % name)) for name in names), dict(current, **dict(base, **inputs)))
    old_values = renderer.render(dict((name, trust_as_template("{{ %s }}" % name)) for name in names), dict(current, **dict(old, **dict(base, **inputs))))
    assert new_values == old_values
    assert len(names) == 18


def test_role_defaults_unset_identity_values_default_like_the_validation(renderer):
    """'' or null mesh_* values are unset, as the validation always read them (the roles used to keep '' and null)."""
    from ansible.template import trust_as_template

    variables = {}
    for path in DEFAULT_FILES:
        variables.update(renderer.load(path))
    variables.update(inventory_hostname="cluster1", pki_dir="/srv/pki", mesh_cluster_name="", mesh_network=None, mesh_trust_domain="")
    names = ("spire_cluster_name", "spire_trust_domain", "gloo_operator_network", "eastwest_network", "mesh_check_trust_domain",
             "spire_upstream_ca_cert_path")
    values = renderer.render(dict((name, trust_as_template("{{ %s }}" % name)) for name in names), variables)
    assert values == {"spire_cluster_name": "cluster1", "spire_trust_domain": "cluster1", "gloo_operator_network": "cluster1",
                      "eastwest_network": "cluster1", "mesh_check_trust_domain": "cluster1",
                      "spire_upstream_ca_cert_path": "/srv/pki/clusters/cluster1/spire/ca.crt"}


def test_mesh_check_root_bundle_without_pki_dir(renderer):
    variables = dict(renderer.load("roles/mesh_check/defaults/main.yml"), inventory_hostname="cluster1")
    assert renderer.render(variables["mesh_check_root_ca_bundle"], variables) == ""
    assert renderer.render(variables["mesh_check_root_ca_bundle"], dict(variables, pki_dir="/p/")) == "/p/root-ca-bundle.pem"


# --- eastwest vars -------------------------------------------------------------------------------------------------

def peer_facts(cluster, address=True, **extra):
    facts = {"cluster": cluster, "network": "net-" + cluster, "trust_domain": cluster + ".td", "service_account": "istio-eastwest",
             "address": {"type": "IPAddress", "value": "192.0.2.%d" % (len(cluster) + 1)} if address else None, "region": "", "zone": ""}
    facts.update(extra)
    return facts


def gateway(name, klass="istio-remote", connected=None, extra_conditions=()):
    conditions = list(extra_conditions)
    if connected is not None:
        conditions.append({"type": "gloo.solo.io/PeerConnected", "status": "True" if connected else "False"})
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
          "metadata": {"name": name, "namespace": "istio-eastwest", "labels": {}}, "spec": {"gatewayClassName": klass}}
    if conditions:
        gw["status"] = {"conditions": conditions}
    return gw


EASTWEST_CASES = {
    "three-linked": dict(
        hostvars={"c1": {"eastwest_peer_facts": peer_facts("c1")}, "c2": {"eastwest_peer_facts": peer_facts("c2", region="r", zone="z")},
                  "c3": {"eastwest_peer_facts": peer_facts("c3", address=False)}, "c4": {"mesh_cluster_name": "four"}},
        play=["c1", "c2", "c3"], group=["c1", "c2", "c3", "c4"], extra=[peer_facts("ext")],
        gateways=[gateway("istio-eastwest", "istio-eastwest", extra_conditions=[{"type": "Programmed", "status": "True"}]),
                  gateway("istio-remote-peer-c2", connected=True), gateway("istio-remote-peer-c3", connected=False),
                  gateway("istio-remote-peer-four"), gateway("istio-remote-peer-gone", connected=True),
                  gateway("istio-remote-peer-ext", connected=True), gateway("manual-peer", connected=True),
                  gateway("istio-remote-peer-wrongclass", "istio-waypoint")]),
    "not-connected": dict(
        hostvars={"c1": {"eastwest_peer_facts": peer_facts("c1")}, "c2": {"eastwest_peer_facts": peer_facts("c2")}},
        play=["c1", "c2"], group=["c1", "c2"], extra=[], gateways=[gateway("istio-remote-peer-c2", connected=False)]),
    "nothing-yet": dict(hostvars={"c1": {}, "c2": {}}, play=["c1", "c2"], group=["c1", "c2"], extra=[], gateways=None),
    "group-missing": dict(hostvars={"c1": {"eastwest_peer_facts": peer_facts("c1")}}, play=["c1"], group=None, extra=[],
                          gateways=[gateway("istio-remote-peer-old", connected=False)]),
}


def _fake_gateways(gateways):
    """A fake API holding the Gateways of a case (module_utils/k8s_fake.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "module_utils"))
    from k8s_fake import FakeCluster, api  # pylint: disable=import-outside-toplevel

    cluster = FakeCluster({"gateway.networking.k8s.io/v1": {"Gateway": ("gateways", True)}})
    for gw in gateways or []:
        cluster.add(gw)
    return cluster, api(cluster)


@pytest.mark.parametrize("case", sorted(EASTWEST_CASES))
def test_eastwest_vars(renderer, case):
    """The link reads the east-west facts of every cluster in one process (eastwest_peers_info) instead of each host setting
    them as a fact; given the same facts, the peers, the unaddressed and the expected peer Gateways are the same. The stale
    peers and the connected peers are decided by the k8s_apply module now (its prune and wait rules, rendered from the role's
    vars): the same Gateways are pruned, the same peers waited for."""
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_apply  # pylint: disable=import-outside-toplevel

    data = EASTWEST_CASES[case]
    current = renderer.load("roles/eastwest/vars/main.yml")
    read = {"peers": [data["hostvars"][host]["eastwest_peer_facts"] for host in data["play"] if "eastwest_peer_facts" in data["hostvars"][host]]}
    variables = dict(current, ansible_play_hosts=data["play"], hostvars=data["hostvars"], eastwest_extra_peers=data["extra"],
                     eastwest_cluster_name="c1", eastwest_namespace="istio-eastwest", eastwest_cluster_group="k8s_clusters",
                     groups={"all": list(data["hostvars"])}, eastwest_link_read=read, eastwest_link_wait_retries=1, eastwest_link_wait_delay=1,
                     eastwest_gateway_name="istio-eastwest", ansible_check_mode=False, inventory_hostname="c1")
    if data["group"] is not None:
        variables["groups"]["k8s_clusters"] = data["group"]
    if data["gateways"] is not None:
        variables["eastwest_peer_gateways"] = {"resources": data["gateways"]}
    for name in ("eastwest_all_peers", "eastwest_unaddressed", "eastwest_expected_peers", "eastwest_inventory_peers"):
        new = renderer.render(current[name], variables)
        old = renderer.render(renderer.legacy(name + ".j2"), variables)
        assert new == old, name
    # stale peers: what the prune rules delete
    cluster, kube = _fake_gateways(data["gateways"])
    applier = _k8s_apply.Applier(kube, "c1")
    applier.prune(renderer.render(current["eastwest_prune_rules"], variables))
    pruned = [change["name"] for change in applier.changes if change["action"] == "delete"]
    assert pruned == renderer.render(renderer.legacy("eastwest_stale_peers.j2"), variables)
    # connected peers: the wait rule finds not connected exactly the expected peers the legacy list did not name
    rules = renderer.render(current["eastwest_link_wait_rules"], variables)
    expected = renderer.render(current["eastwest_expected_peers"], variables)
    applier = _k8s_apply.Applier(kube, "c1")
    applier.applied = [gw for gw in data["gateways"] or [] if gw["metadata"]["name"] in expected]
    ready, not_ready, _attempts, _seconds = applier.wait(dict(rules, retries=1))
    connected = renderer.render(renderer.legacy("eastwest_connected_peers.j2"), variables)
    waited = [line.split(":")[0].split("/")[-1] for line in not_ready]
    assert waited == [gw["metadata"]["name"] for gw in applier.applied if gw["metadata"]["name"] not in connected]
    assert ready == (not waited)
    if case == "three-linked":
        assert pruned == ["istio-remote-peer-gone"] and waited == []
    if case == "not-connected":
        assert pruned == [] and waited == ["istio-remote-peer-c2"]
    assert renderer.render(current["eastwest_link_refusal"], variables) == (
        "No east-west address for c3: their Service istio-eastwest/istio-eastwest has neither the istio.io/expose-istiod-address annotation "
        "nor a LoadBalancer IP/hostname (run the eastwest role first, or annotate the Service with a reachable address)."
        if case == "three-linked" else "")


@pytest.mark.parametrize("region,zone", [("", ""), ("eu-west-1", ""), ("", "eu-west-1a"), ("eu-west-1", "eu-west-1a")])
def test_eastwest_template(renderer, region, zone):
    variables = dict(eastwest_namespace="istio-eastwest", eastwest_gateway_name="istio-eastwest", eastwest_network="net-1",
                     eastwest_cluster_name="cluster1", eastwest_region=region, eastwest_zone=zone)
    new = load_all(renderer.render(renderer.text("roles/eastwest/templates/eastwest.yml.j2"), variables))
    old = load_all(renderer.render(renderer.legacy("eastwest.yml.j2"), variables))
    assert new == old and len(new) == 2


# --- gloo_operator -------------------------------------------------------------------------------------------------

def pod(labels, ready=None):
    item = {"metadata": {"name": "p", "labels": labels}}
    if ready is not None:
        item["status"] = {"conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True" if ready else "False"}]}
    return item


POD_SETS = [
    None,
    [],
    [pod({"app": "istiod"}, True), pod({"app": "ztunnel"}, True), pod({"k8s-app": "istio-cni-node"}, True)],
    [pod({"app": "istiod"}, False), pod({"app": "ztunnel"}, True), pod({"app": "ztunnel"}, False), pod({"k8s-app": "istio-cni-node"})],
    [pod({"app": "istiod"}, True), pod({}, True), pod({"app": "other"}, False)],
]


def _gloo_components(renderer):
    current = renderer.load("roles/gloo_operator/vars/main.yml")
    variables = dict(current, gloo_operator_install_namespace="istio-system", gloo_operator_wait_retries=1, gloo_operator_wait_delay=1,
                     inventory_hostname="cluster1")
    return renderer.render(current["gloo_operator_wait_rules"], variables)["pods"]


@pytest.mark.parametrize("pods", POD_SETS)
def test_gloo_operator_not_ready(renderer, pods):
    """The k8s_apply module judges the pods of the role's components (its wait rules) as the role's Jinja did."""
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_state import pods_not_ready  # pylint: disable=import-outside-toplevel

    variables = {}
    if pods is not None:
        variables["gloo_operator_pods"] = {"resources": pods}
    new = ", ".join(pods_not_ready(pods or [], _gloo_components(renderer)))
    assert new == renderer.render(renderer.legacy("gloo_operator_not_ready.j2"), variables).strip()


def test_gloo_operator_not_ready_says_what(renderer):
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_state import pods_not_ready  # pylint: disable=import-outside-toplevel

    assert pods_not_ready(POD_SETS[3], _gloo_components(renderer)) == ["istiod 0/1", "ztunnel 1/2", "istio-cni 0/1"]
    assert [component["namespace"] for component in _gloo_components(renderer)] == ["istio-system"] * 3


SMC_OPTIONALS = dict(gloo_operator_network="net-1", gloo_operator_scaling_profile="Large", gloo_operator_image_registry="registry.example",
                     gloo_operator_image_repository="solo-istio", gloo_operator_image_pull_secrets=[{"name": "pull"}])
SMC_EMPTY = dict(gloo_operator_network="", gloo_operator_scaling_profile="", gloo_operator_image_registry="",
                 gloo_operator_image_repository="", gloo_operator_image_pull_secrets=[])


@pytest.mark.parametrize("present", [combo for size in range(len(SMC_OPTIONALS) + 1) for combo in itertools.combinations(sorted(SMC_OPTIONALS), size)])
@pytest.mark.parametrize("extra", [{}, {"image": {"tag": "1.25"}, "network": "override"}])
def test_gloo_operator_smc(renderer, present, extra):
    variables = dict(SMC_EMPTY, gloo_operator_cluster_name="cluster1", gloo_operator_dataplane_mode="Ambient", gloo_operator_install_namespace="istio-system",
                     gloo_operator_istio_version=1.25, gloo_operator_trust_domain="cluster1", gloo_operator_smc_name="managed-istio",
                     gloo_operator_smc_extra_spec=extra)
    variables.update(dict((name, SMC_OPTIONALS[name]) for name in present))
    new = yaml.safe_load(renderer.render(renderer.text("roles/gloo_operator/templates/smc.yml.j2"), variables))
    old = yaml.safe_load(renderer.render(renderer.legacy("smc.yml.j2"), variables))
    assert new == old
    assert new["spec"]["version"] == "1.25"


@pytest.mark.parametrize("crds", [None, False, True, "yes"])
def test_gloo_operator_teardown_objects(renderer, crds):
    current = renderer.load("roles/gloo_operator/vars/main.yml")
    variables = dict(current, gloo_operator_install_namespace="istio-system", gloo_operator_namespace="gloo-mesh")
    if crds is not None:
        variables["gloo_operator_teardown_gateway_api"] = crds
    new = renderer.render(current["gloo_operator_teardown_objects"], variables)
    assert new == load_all(renderer.render(renderer.legacy("gloo_operator_teardown.j2"), variables))
    assert len(new) == (7 if crds in (True, "yes") else 2)


# --- validate ------------------------------------------------------------------------------------------------------

VALIDATE_HOSTVARS = {
    "plain": {"kube_context": "plain", "mesh_license_key": "secret-license-1"},
    "named": {"kube_context": "ctx", "kubeconfig_path": "/k", "mesh_cluster_name": "Named_1", "mesh_network": "net_1",
              "mesh_trust_domain": "spiffe://x", "mesh_istio_version": "1.25.5", "mesh_license_key": "   "},
    "empty": {"kube_context": "", "mesh_cluster_name": "", "mesh_network": None, "mesh_license_key": ""},
    "typed": {"kube_context": 7, "mesh_cluster_name": 42, "mesh_istio_version": 1.25, "mesh_license_key": 0},
    "templated": {"kube_context": "{{ 'ctx-' ~ 't' }}", "mesh_license_key": "{{ undefined_license_variable }}",
                  "mesh_network": "{{ undefined_network_variable }}"},
}


def test_validate_cluster_inputs(renderer):
    from ansible.template import trust_as_template

    tasks = renderer.load("roles/validate/tasks/main.yml")
    new_expr = tasks[0]["meshops.ambient_spire.validate_inputs"]["clusters"]
    hostvars = dict((host, dict((key, trust_as_template(value) if isinstance(value, str) else value) for key, value in values.items()))
                    for host, values in VALIDATE_HOSTVARS.items())
    variables = {"ansible_play_hosts_all": sorted(hostvars), "hostvars": hostvars}
    new = renderer.render(new_expr, variables)
    old = renderer.render(renderer.legacy("validate_clusters.j2"), variables)
    assert new == old
    assert [item["license_set"] for item in new] == [False, False, True, False, False]
    assert "secret-license-1" not in repr(new)
    assert new[3]["kube_context"] == "ctx-t" and new[3]["network"] is None


# --- site.yml: mesh issues and summary -----------------------------------------------------------------------------

def site_task(renderer, name):
    for play in renderer.load("playbooks/site.yml"):
        for task in play.get("tasks", []):
            if task.get("name") == name:
                return task
    raise AssertionError(name)


def mesh_check_result(**verdicts):
    checks = [{"id": check, "clusters": clusters} for check, clusters in verdicts.items()]
    return {"clusters": [{"name": "h1", "summary": {"cluster": "east"}}, {"name": "h2", "failed": True}],
            "summary": {"checks": checks, "passed": False}}


MESH_RESULTS = [
    None,
    {},
    {"failed": True, "msg": "no summary"},
    mesh_check_result(naming={"east": "ok", "h2": "error"}, peers={"east": "error"}, trust={"mesh": "error"}, certs={"h1": "error"}),
    dict(mesh_check_result(peers={"h3": "error"}), clusters=[]),
]


@pytest.mark.parametrize("result", MESH_RESULTS)
@pytest.mark.parametrize("host", ["h1", "h2", "h3"])
@pytest.mark.parametrize("check_mode", [False, True])
def test_site_mesh_issues(renderer, result, host, check_mode):
    expr = site_task(renderer, "Still in the run, with the checks that found errors in this cluster or across the mesh")["ansible.builtin.set_fact"]
    variables = {"inventory_hostname": host, "ansible_check_mode": check_mode}
    if result is not None:
        variables["mesh_check_result"] = copy.deepcopy(result)
    new = renderer.render(expr["meshops_mesh_issues"], variables)
    assert new == renderer.render(renderer.legacy("meshops_mesh_issues.j2"), variables)
    if result is MESH_RESULTS[3] and not check_mode:
        assert new == {"h1": ["peers", "trust"], "h2": ["naming", "trust"], "h3": ["trust"]}[host]


SUMMARY_HOSTVARS = {
    "c1": {"eastwest_peer_facts": {}, "meshops_finished": True, "meshops_mesh_issues": []},
    "c2": {"eastwest_peer_facts": {}, "meshops_finished": True, "meshops_mesh_issues": ["peers", "trust"]},
    "c3": {"eastwest_peer_facts": {}},
    "c4": {"meshops_failure": "SPIRE: HTTP 503 Service Unavailable"},
    "c5": {},
    "c6": {"eastwest_peer_facts": {}, "meshops_finished": True},
}


@pytest.mark.parametrize("limit,targets", [(None, None), ("c1,c2", None), (None, ["c5", "c6"]), ("c6", None), ("c4:c5", None), (None, ["c3"])])
def test_site_summary(renderer, limit, targets):
    task = site_task(renderer, "Which clusters converged, and why the others failed")
    hosts = sorted(SUMMARY_HOSTVARS)
    variables = {"groups": {"all": hosts + ["localhost"], "k8s_clusters": hosts, "ungrouped": []}, "hostvars": copy.deepcopy(SUMMARY_HOSTVARS)}
    variables.update(task["vars"])
    if limit is not None:
        variables["ansible_limit"] = limit
    if targets is not None:
        variables["target_clusters"] = targets
    new = renderer.render(task["ansible.builtin.debug"]["msg"], variables)
    old = renderer.render(renderer.legacy("site_summary.j2"), variables)
    # the same lines; the old ones came in the order of the intersect filter (a set), the new ones in inventory order
    assert sorted(new) == sorted(old) and new
    assert [line.split(":")[0] for line in new] == sorted(line.split(":")[0] for line in new)
    if limit is None and targets is None:
        assert new == [
            "c1: converged and linked to c2, c3, c6",
            "c2: converged and linked to c1, c3, c6; the mesh check found issues: peers, trust (see the report above)",
            "c3: converged and linked to c1, c2, c6; FAILED in the mesh check (see above)",
            "c4: FAILED at SPIRE: HTTP 503 Service Unavailable",
            "c5: not linked in this run (failed before, or left out by --tags; see above)",
            "c6: converged and linked to c1, c2, c3",
        ]
