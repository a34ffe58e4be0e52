# -*- coding: utf-8 -*-
"""The mesh check against what the real SPIRE chart renders: its components and their claim, hook Jobs, webhook configuration and
socket host paths; and ClusterSPIFFEIDs of the chart that select SPIRE's own pods (the OIDC provider) count for no ambient pod."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from mesh_fixtures import errors, healthy, pod, warnings  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import spire as sp  # noqa: E402


def test_components_pass():
    findings = sp.check_spire_components(healthy())
    assert not errors(findings) and not warnings(findings)
    assert findings[0]["message"] == ("SPIRE running: server 1/1, agent 2/2, CSI driver 2/2, OIDC discovery provider 1/1, "
                                      "admin socket /run/spire/agent/sockets/csi.spiffe.io/admin shared with ztunnel")


def test_a_pending_claim_and_a_server_that_cannot_start():
    snaps = healthy()
    spire = snaps["cluster2"]["spire"]
    spire["claims"][0].update(phase="Pending", storage_class=None)
    spire["pods"]["server"] = [pod("spire-server-0", "spire-server", ready=False, phase="Pending")]
    errs = errors(sp.check_spire_components(snaps))
    assert [(e["cluster"], e["message"]) for e in errs] == [
        ("cluster2", "claim spire-server/spire-data-spire-server-0 is Pending (StorageClass none)"),
        ("cluster2", "spire-server not ready: spire-server-0 (NotReady)")]
    assert "is-default-class" in errs[0]["hint"]


def test_daemonsets_that_run_nowhere_or_on_some_nodes():
    snaps = healthy()
    spire = snaps["cluster1"]["spire"]
    spire["daemonsets"][0].update(ready=0)                 # refused by Pod Security admission: no pod at all
    spire["pods"]["agent"] = []
    spire["daemonsets"][1].update(ready=1)
    spire["pods"]["csi_driver"][1] = pod("spire-spiffe-csi-driver-b", "spire-server", ready=False)
    msgs = [e["message"] for e in errors(sp.check_spire_components(snaps), cluster="cluster1")]
    assert msgs == ["spire-agent ready on 0 of 2 nodes (no pod: see its events)",
                    "SPIFFE CSI driver ready on 1 of 2 nodes: spire-spiffe-csi-driver-b (NotReady)"]
    del snaps["cluster2"]["spire"]["daemonsets"][1]
    assert [e["message"] for e in errors(sp.check_spire_components(snaps), cluster="cluster2")] == ["no SPIFFE CSI driver DaemonSet in spire-server"]


def test_failed_hook_job_oidc_not_ready_and_missing_webhook():
    snaps = healthy()
    spire = snaps["cluster1"]["spire"]
    spire["jobs"] = [{"name": "spire-server-post-install", "hook": "post-install", "failed": True, "reason": "BackoffLimitExceeded",
                      "message": "Job has reached the specified backoff limit", "complete": False},
                     {"name": "done", "hook": "post-upgrade", "failed": False, "complete": True}]
    spire["pods"]["oidc"][0] = pod("spire-spiffe-oidc-discovery-provider-6d9c", "spire-server", ready=False)
    spire["webhook"]["present"] = False
    findings = sp.check_spire_components(snaps)
    assert [e["message"] for e in errors(findings)] == [
        "Helm post-install hook Job spire-server/spire-server-post-install failed (BackoffLimitExceeded: Job has reached the specified backoff limit)"]
    assert [w["message"].split(":")[0] for w in warnings(findings)] == [
        "SPIFFE OIDC discovery provider not ready", "ValidatingWebhookConfiguration spire-server-spire-controller-manager-webhook (of the controller "
        "manager's config) not found"]


@pytest.mark.parametrize("where, value, message", [
    ("csi_driver", "/run/spire/sockets", "the SPIFFE CSI driver mounts the agent's Workload API socket directory from host path /run/spire/sockets, "
                                         "the agent serves it at /run/spire/agent-sockets: workloads get no SPIFFE socket"),
    ("ztunnel", "/var/run/spire/admin", "ztunnel reads the SPIRE admin socket from host path /var/run/spire/admin, the agent puts it at "
                                        "/run/spire/agent/sockets/csi.spiffe.io/admin"),
    ("agent", None, "ztunnel reads the SPIRE admin socket from host path /run/spire/agent/sockets/csi.spiffe.io/admin, the agent does not put "
                    "it on the host (sockets.admin.mountOnHost)"),
])
def test_socket_host_paths(where, value, message):
    snaps = healthy()
    paths = snaps["cluster1"]["spire"]["host_paths"]
    key = {"csi_driver": "spire-agent-socket-dir", "ztunnel": "spire-admin-socket", "agent": "spire-agent-admin-socket-dir"}[where]
    if value is None:
        del paths[where][key]
    else:
        paths[where][key] = value
    errs = errors(sp.check_spire_components(snaps))
    assert [(e["cluster"], e["message"]) for e in errs] == [("cluster1", message)]
    assert "spire-agent.socketPath" in errs[0]["hint"]


def test_a_snapshot_without_component_reads_says_nothing():
    snaps = healthy()
    del snaps["cluster1"]["spire"]["pods"]
    assert [f["cluster"] for f in sp.check_spire_components(snaps)] == ["cluster2"]


def test_the_charts_own_cluster_spiffe_ids_count_for_no_ambient_pod():
    """The real chart's IDs select SPIRE's namespaces (oidc-discovery-provider podsSelected 1): with the procedure's IDs ignored,
    ambient pods in bookinfo are selected by nothing, whatever the OIDC provider's count."""
    snaps = healthy()
    snap = snaps["cluster1"]
    snap["ambient"]["pod_namespaces"] = ["bookinfo"]
    spire_only = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["spire-server", "spire-system"]}]}
    snap["spire"]["cluster_spiffe_ids"] = [
        {"name": "spire-server-spire-oidc-discovery-provider", "class_name": "spire-server-spire", "namespace_selector": spire_only,
         "stats": {"podsSelected": 1}},
        {"name": "istio-ambient-reg", "class_name": "", "stats": None}]
    msgs = [e["message"] for e in errors(sp.check_cluster_spiffe_ids(snaps), cluster="cluster1")]
    assert "2 ambient pods exist but no reconciled ClusterSPIFFEID selects any pod (podsSelected 0)" in msgs
    # the chart's default ID (every namespace but SPIRE's, a fallback) does reach them
    not_spire = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["spire-server", "spire-system"]}]}
    snap["spire"]["cluster_spiffe_ids"].append({"name": "spire-server-spire-default", "class_name": "spire-server-spire", "fallback": True,
                                                "namespace_selector": not_spire, "stats": {"podsSelected": 2}})
    msgs = [e["message"] for e in errors(sp.check_cluster_spiffe_ids(snaps), cluster="cluster1")]
    assert not any("ambient pods exist" in m for m in msgs)
    # unless the controller manager ignores that namespace
    snap["spire"]["controller_manager"]["ignore_namespaces"] = ["book.*"]
    msgs = [e["message"] for e in errors(sp.check_cluster_spiffe_ids(snaps), cluster="cluster1")]
    assert "2 ambient pods exist but no reconciled ClusterSPIFFEID selects any pod (podsSelected 0)" in msgs


def test_label_selectors():
    labels = {"a": "1", "kubernetes.io/metadata.name": "ns"}
    assert sp._matches({}, labels) and sp._matches(None, labels)  # pylint: disable=protected-access
    assert sp._matches({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]}, labels)  # pylint: disable=protected-access
    assert not sp._matches({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, labels)  # pylint: disable=protected-access
    assert not sp._matches({"matchExpressions": [{"key": "b", "operator": "Exists"}]}, labels)  # pylint: disable=protected-access
