# -*- coding: utf-8 -*-
"""Dict fixtures: snapshots of a healthy two-cluster ambient + SPIRE mesh, and helpers to break them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os
import sys

# The CA helpers of the emulator (tests/emulator/mesh/pki.py): one implementation for unit and integration tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))

from emulator.mesh import pki as emulator_pki  # noqa: E402  pylint: disable=wrong-import-position

_CACHE = {}
pem = emulator_pki.pem


def make_ca(cn, issuer=None, pathlen=1, days=3650):
    """(cert, key) of a CA, issued by the (cert, key) pair `issuer` or self-signed."""
    return emulator_pki.make_ca(cn, *(issuer or (None, None)), pathlen=pathlen, days=days)


def pki():
    """Shared root, per-cluster istio and SPIRE intermediates, a foreign root (cached per test session)."""
    if not _CACHE:
        root = make_ca("SPIRE Root CA", pathlen=2)
        foreign = make_ca("Foreign Root CA", pathlen=2)
        _CACHE["root"] = root
        _CACHE["foreign"] = foreign
        for cluster in ("cluster1", "cluster2", "cluster3"):
            _CACHE["istio-" + cluster] = make_ca("istio %s" % cluster, issuer=root, pathlen=0)
            _CACHE["spire-" + cluster] = make_ca("spire %s" % cluster, issuer=root, pathlen=1)
        _CACHE["istio-foreign"] = make_ca("istio foreign", issuer=foreign, pathlen=0)
        _CACHE["spire-short"] = make_ca("spire short", issuer=root, pathlen=1, days=10)
    return _CACHE


def cacerts(ca, root):
    return {"present": True, "format": "istio", "ca_cert": pem(ca[0]), "root_cert": pem(root[0]),
            "cert_chain": pem(ca[0]) + pem(root[0]), "key_present": True, "key_matches": True}


def condition(type_name, status="True", reason="Programmed", message=""):
    return {"type": type_name, "status": status, "reason": reason, "message": message}


def pod(name, ns="istio-system", ready=True, phase="Running"):
    return {"name": name, "namespace": ns, "phase": phase, "ready": ready, "ready_count": "1/1" if ready else "0/1",
            "restarts": 0, "reason": None if ready else "NotReady"}


def snapshot(cluster, peers, address):
    """A healthy snapshot of one cluster peered with ``peers`` (dict cluster -> address)."""
    p = pki()
    ns = "istio-system"
    snap = {
        "cluster": cluster,
        "context": cluster,
        "istio_namespace": ns,
        "expected": {"network": cluster, "trust_domain": cluster},
        "namespaces": {ns: {"topology.istio.io/network": cluster}, "istio-eastwest": {}, "spire-server": {},
                       "bookinfo": {"istio.io/dataplane-mode": "ambient"}},
        "istiod_deployments": [{"name": "istiod-gloo", "namespace": ns, "env": {
            "CLUSTER_ID": cluster, "ENABLE_PEERING_DISCOVERY": "true", "PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES": "true"}}],
        "ztunnel_daemonsets": [{"name": "ztunnel", "namespace": ns, "env": {"NETWORK": cluster, "SPIRE_ENABLED": "true"}}],
        "pods": {"istiod": [pod("istiod-gloo-6d9cdf88cf-l47tf")], "ztunnel": [pod("ztunnel-dvlwk")],
                 "eastwest": [pod("istio-eastwest-857b77fc5d-qgnrl", "istio-eastwest")]},
        "pod_index": ["bookinfo/productpage-v1-%s" % cluster, "bookinfo/ratings-v1-%s" % cluster],
        "ambient": {"namespaces": ["bookinfo"], "pods": 2},
        "gateways": [{
            "name": "istio-eastwest", "namespace": "istio-eastwest", "class": "istio-eastwest",
            "labels": {"topology.istio.io/network": cluster, "topology.istio.io/cluster": cluster, "istio.io/expose-istiod": "15012"},
            "annotations": {}, "spec_addresses": [], "status_addresses": [{"type": "IPAddress", "value": address}],
            "conditions": [condition("Accepted", reason="Accepted"), condition("Programmed")]}],
        "eastwest_services": [{"name": "istio-eastwest", "namespace": "istio-eastwest", "type": "LoadBalancer",
                               "labels": {"topology.istio.io/network": cluster, "istio.io/expose-istiod": "15012"},
                               "annotations": {}, "ingress": [address]}],
        "workload_entries": {"total": 0, "autogenflat": []},
        "cacerts": cacerts(p["istio-" + cluster], p["root"]),
        "istio_ca_root_cert": pem(p["root"][0]),
        "mesh_config": {"name": "istio-gloo", "trust_domain": cluster},
        "spire": {
            "namespace": "spire-server",
            "server": {"present": True, "trust_domain": cluster, "bundle_file_path": True, "upstream_authority": "disk"},
            "agent": {"present": True, "trust_domain": cluster,
                      "authorized_delegates": ["spiffe://%s/ns/istio-system/sa/ztunnel" % cluster]},
            "controller_manager": {"present": True, "class_name": "spire-server-spire", "watch_classless": False, "trust_domain": cluster},
            "upstream_ca": {"present": True, "secret": "spiffe-upstream-ca", "certificate": pem(p["spire-" + cluster][0]),
                            "bundle": pem(p["root"][0]), "key_matches": True},
            "cluster_spiffe_ids": [
                {"name": "istio-ztunnel-reg", "class_name": "spire-server-spire", "stats": {"podsSelected": 1, "entryFailures": 0}},
                {"name": "istio-ambient-reg", "class_name": "spire-server-spire", "stats": {"podsSelected": 2, "entryFailures": 0}},
            ],
            # what the real spire chart renders beyond the configs (see check_spire_components)
            "pods": {"server": [pod("spire-server-0", "spire-server")], "agent": [pod("spire-agent-a", "spire-server"), pod("spire-agent-b", "spire-server")],
                     "csi_driver": [pod("spire-spiffe-csi-driver-a", "spire-server"), pod("spire-spiffe-csi-driver-b", "spire-server")],
                     "oidc": [pod("spire-spiffe-oidc-discovery-provider-6d9c", "spire-server")]},
            "host_paths": {"agent": {"spire-agent-socket-dir": "/run/spire/agent-sockets",
                                     "spire-agent-admin-socket-dir": "/run/spire/agent/sockets/csi.spiffe.io/admin"},
                           "csi_driver": {"spire-agent-socket-dir": "/run/spire/agent-sockets", "mountpoint-dir": "/var/lib/kubelet/pods"},
                           "ztunnel": {"spire-admin-socket": "/run/spire/agent/sockets/csi.spiffe.io/admin", "host-proc": "/proc"}},
            "claims": [{"name": "spire-data-spire-server-0", "phase": "Bound", "storage_class": "standard"}],
            "jobs": [],
            "daemonsets": [{"name": "spire-agent", "app": "agent", "desired": 2, "ready": 2},
                           {"name": "spire-spiffe-csi-driver", "app": "spiffe-csi-driver", "desired": 2, "ready": 2}],
            "webhook": {"name": "spire-server-spire-controller-manager-webhook", "present": True,
                        "webhooks": ["vclusterfederatedtrustdomain.kb.io", "vclusterspiffeid.kb.io"]},
        },
        "license": {"status": "ok", "state": "OK", "product": "GlooMesh"},
        "missing": [],
    }
    for peer, peer_address in peers.items():
        snap["gateways"].append({
            "name": "istio-remote-peer-%s" % peer, "namespace": "istio-eastwest", "class": "istio-remote",
            "labels": {"topology.istio.io/network": peer, "topology.istio.io/cluster": peer},
            "annotations": {"gateway.istio.io/trust-domain": peer, "gateway.istio.io/service-account": "istio-eastwest"},
            "spec_addresses": [{"type": "IPAddress", "value": peer_address}],
            "status_addresses": [{"type": "IPAddress", "value": peer_address}],
            "conditions": [condition("Accepted", reason="Accepted"), condition("Programmed"),
                           condition("gloo.solo.io/PeerConnected"), condition("gloo.solo.io/PeeringSucceeded"),
                           condition("gloo.solo.io/PeerDataPlaneProgrammed")]})
    return snap


ADDRESSES = {"cluster1": "172.18.7.110", "cluster2": "172.18.7.130", "cluster3": "172.18.7.150"}


def healthy(n=2):
    """Ordered dict cluster -> snapshot of a healthy, fully linked mesh of n clusters."""
    names = ["cluster%d" % (i + 1) for i in range(n)]
    result = {}
    for name in names:
        result[name] = snapshot(name, dict((o, ADDRESSES[o]) for o in names if o != name), ADDRESSES[name])
    return copy.deepcopy(result)


def levels(findings, check=None, cluster=None):
    return [f["level"] for f in findings if (check is None or f["check"] == check) and (cluster is None or f["cluster"] == cluster)]


def errors(findings, check=None, cluster=None):
    return [f for f in findings if f["level"] == "error" and (check is None or f["check"] == check) and (cluster is None or f["cluster"] == cluster)]


def warnings(findings, check=None, cluster=None):
    return [f for f in findings if f["level"] == "warning" and (check is None or f["check"] == check) and (cluster is None or f["cluster"] == cluster)]
