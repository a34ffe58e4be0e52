# -*- coding: utf-8 -*-
"""check_failures on the simulated mesh installed by site.yml (tests/emulator/mesh): the healthy mesh passes (the site run
ends with the mesh_check playbook); each simulated fault fails the right check with the right message, and the mesh passes
again once the fault is cleared. The simulated istiod drops a peering like a real one, so the Peers Check may fail too
where a real mesh would (foreign root, istiod down): that is the only other check allowed to fail."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import take_snapshot  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks.registry import run_checks, summarize  # noqa: E402

pytestmark = pytest.mark.slow
CLUSTERS = ["cluster1", "cluster2"]


@pytest.fixture(scope="module")
def site(emulator_factory, tmp_path_factory):
    handle = emulator_factory(CLUSTERS)
    work = tmp_path_factory.mktemp("site")
    env = handle.env(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "site.yml"), "-i", os.path.join(ROOT, "inventories", "local"),
           "-e", "kubeconfig_path=%s" % handle.kubeconfig, "-e", "pki_dir=%s" % (work / "pki"), "-e", "mesh_check_reports_dir=%s" % (work / "reports")]
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Multicluster check passed" in result.stdout
    with open(str(work / "pki" / "root-ca-bundle.pem")) as handle_file:
        root = handle_file.read()
    return {"handle": handle, "root": root, "clients": dict((c, handle.client(c)) for c in CLUSTERS)}


def evaluate(site):
    snaps = [take_snapshot(site["clients"][c], cluster_name=c, context=c, expected_network=c, expected_trust_domain=c) for c in CLUSTERS]
    findings = run_checks(snaps, {"root_ca_pem": site["root"]})
    return findings, summarize(findings, CLUSTERS)


def until(site, predicate, timeout=60):
    deadline = time.time() + timeout
    while True:
        findings, summary = evaluate(site)
        if predicate(summary) or time.time() > deadline:
            return findings, summary
        time.sleep(1)


def errors(findings):
    return [(f["check"], f["cluster"], f["message"]) for f in findings if f["level"] == "error"]


def test_healthy_simulated_mesh_passes(site):
    findings, summary = until(site, lambda s: s["passed"])
    assert summary["passed"], errors(findings)
    # Istio 1.25 answers 404 on /debug/license (a pass with a warning); no flat network: no autogenflat entries (a warning)
    assert set(summary["warning_checks"]) <= {"license", "stale_workloads"}


SIMULATED_FAULTS = [
    ("cluster2", {"foreign_root": True}, "intermediate_certs", "has incompatible intermediate certificates with cluster"),
    ("cluster2", {"break_network_label": True}, "network", "network label broken-cluster2 on namespace istio-system differs"),
    ("cluster1", {"disconnect_peer": "cluster2"}, "peers",
     "peer cluster2 (network cluster2, gateway istio-eastwest/istio-remote-peer-cluster2) is not connected"),
    ("cluster1", {"enable_peering_discovery": False}, "env_vars", 'ENABLE_PEERING_DISCOVERY is invalid ("false")'),
    ("cluster2", {"k8s_select_workload_entries": False}, "env_vars", "peering discovery is incompatible with PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES=false"),
    ("cluster1", {"kill_istiod": True}, "pods_istiod", "pods unhealthy: istio-system/istiod-gloo-"),
]


@pytest.mark.parametrize("cluster,body,check,fragment", SIMULATED_FAULTS, ids=[list(f[1])[0] for f in SIMULATED_FAULTS])
def test_simulated_fault(site, cluster, body, check, fragment):
    handle = site["handle"]
    handle.admin(cluster, "POST", "/_emulator/mesh/faults", body)
    try:
        findings, summary = until(site, lambda s: check in s["failed_checks"])
        messages = [m for c, dummy, m in errors(findings) if c == check]
        assert any(fragment in m for m in messages), errors(findings)
        assert set(summary["failed_checks"]) - {check} <= {"peers"}, errors(findings)
    finally:
        handle.admin(cluster, "DELETE", "/_emulator/mesh/faults")
    findings, summary = until(site, lambda s: s["passed"])
    assert summary["passed"], errors(findings)


def _raw(site, cluster):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from mesh_seed import Raw  # pylint: disable=import-outside-toplevel
    return Raw(site["clients"][cluster])


def test_classless_cluster_spiffe_ids(site):
    raw = _raw(site, "cluster1")
    names = [c["metadata"]["name"] for c in raw.get("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids")["items"]
             if c["metadata"]["name"].startswith("istio-") and (c.get("spec") or {}).get("className")]
    assert names
    classes = {}
    for name in names:
        obj = raw.get("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids/%s" % name)
        classes[name] = obj["spec"]["className"]
        raw.patch("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids/%s" % name, {"spec": {"className": None}})
    try:
        findings, summary = until(site, lambda s: "cluster_spiffe_ids" in s["failed_checks"])
        assert any('is ignored by the SPIRE controller manager: className ""' in m for c, dummy, m in errors(findings) if c == "cluster_spiffe_ids")
        assert summary["failed_checks"] == ["cluster_spiffe_ids"], errors(findings)
    finally:
        for name, class_name in classes.items():
            raw.patch("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids/%s" % name, {"spec": {"className": class_name}})
    findings, summary = until(site, lambda s: s["passed"])
    assert summary["passed"], errors(findings)


def test_spire_bundle_not_configured(site):
    """Without bundle_file_path the simulated SPIRE server refuses the upstream chain; agents and ztunnel follow (real cascade)."""
    raw = _raw(site, "cluster2")
    cms = [cm for cm in raw.get("/api/v1/namespaces/spire-server/configmaps")["items"] if "server.conf" in (cm.get("data") or {})]
    assert cms
    name, original = cms[0]["metadata"]["name"], cms[0]["data"]["server.conf"]
    conf = json.loads(original)
    for plugin in conf["plugins"]["UpstreamAuthority"]:
        for body in plugin.values():
            body.get("plugin_data", {}).pop("bundle_file_path", None)
    raw.patch("/api/v1/namespaces/spire-server/configmaps/%s" % name, {"data": {"server.conf": json.dumps(conf, indent=2)}})
    try:
        findings, summary = until(site, lambda s: "spire_upstream_ca" in s["failed_checks"])
        assert any(m.startswith("SPIRE bundle not configured") for c, dummy, m in errors(findings) if c == "spire_upstream_ca"), errors(findings)
        assert set(summary["failed_checks"]) - {"spire_upstream_ca"} <= {"pods_ztunnel", "cluster_spiffe_ids", "peers"}, errors(findings)
    finally:
        raw.patch("/api/v1/namespaces/spire-server/configmaps/%s" % name, {"data": {"server.conf": original}})
    findings, summary = until(site, lambda s: s["passed"], timeout=120)
    assert summary["passed"], errors(findings)
