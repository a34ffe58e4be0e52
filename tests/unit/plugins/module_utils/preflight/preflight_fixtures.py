# -*- coding: utf-8 -*-
"""Dict fixtures: preflight snapshots of two clusters ready for a first install, an installed one, and check options."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "checks"))

from mesh_fixtures import errors, pem, pki, warnings  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

NAMESPACES = {"spire": "spire-server", "gloo": "gloo-mesh", "istio": "istio-system", "eastwest": "istio-eastwest"}
NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)
GATEWAY_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
SPIRE_CRDS = ("clusterspiffeids", "clusterstaticentries", "clusterfederatedtrustdomains")


def node(name, ready=True, os_name="linux", **labels):
    return {"name": name, "labels": dict({"kubernetes.io/os": os_name}, **labels), "ready": ready, "unschedulable": False,
            "kubelet": "v1.33.1"}


def fresh(cluster):
    """A cluster ready for a first install: nothing of the mesh on it, a default StorageClass, two Ready nodes."""
    crds = dict(("%s.gateway.networking.k8s.io" % n, {"present": False}) for n in GATEWAY_CRDS)
    crds.update(("%s.spire.spiffe.io" % n, {"present": False}) for n in SPIRE_CRDS)
    return {
        "cluster": cluster, "version": {"git_version": "v1.33.1", "major": "1", "minor": "33"}, "user": "admin",
        "namespace_names": dict(NAMESPACES), "expected_trust_domain": cluster,
        "access": {"checked": 111, "denied": [], "escalation": True, "grants_checked": 0, "grants_denied": []},
        "namespaces": {"default": {}, "kube-system": {}}, "namespaces_error": None,
        "nodes": [node("%s-node-1" % cluster), node("%s-node-2" % cluster)], "nodes_error": None,
        "storage_classes": [{"name": "standard", "provisioner": "rancher.io/local-path", "binding_mode": "WaitForFirstConsumer",
                             "default": True, "created": "2026-11-30T10:00:00Z"}], "storage_classes_error": None,
        "crds": crds, "istiods": [], "istiods_error": None, "smcs": [], "smcs_error": None,
        "cacerts": {"present": False, "namespace": "istio-system", "name": "cacerts"},
        "spire_upstream_ca": {"present": False, "namespace": "spire-server", "name": "spiffe-upstream-ca"},
        "spire_server": {"present": False}, "spire_pvc": {}, "requests": 130, "seconds": 0.5,
    }


def installed(cluster):
    """A cluster the collection installed: its own istiod, CRDs, CA material under the shared root, a bound claim."""
    p = pki()
    snap = fresh(cluster)
    snap["namespaces"].update({"spire-server": {}, "istio-system": {"topology.istio.io/network": cluster}, "gloo-mesh": {}})
    for name in GATEWAY_CRDS:
        snap["crds"]["%s.gateway.networking.k8s.io" % name] = {
            "present": True, "annotations": {"gateway.networking.k8s.io/bundle-version": "v1.2.1", "gateway.networking.k8s.io/channel": "standard"},
            "labels": {}, "versions": ["v1"]}
    for name in SPIRE_CRDS:
        snap["crds"]["%s.spire.spiffe.io" % name] = {
            "present": True, "annotations": {"meta.helm.sh/release-name": "spire-crds", "meta.helm.sh/release-namespace": "spire-server"},
            "labels": {"app.kubernetes.io/managed-by": "Helm"}, "versions": ["v1alpha1"]}
    snap["istiods"] = [{"name": "istiod-gloo", "namespace": "istio-system", "labels": {"istio.io/rev": "gloo"}, "owners": [], "images": []}]
    snap["smcs"] = [{"name": "managed-istio", "namespace": None, "install_namespace": "istio-system"}]
    snap["cacerts"] = {"present": True, "namespace": "istio-system", "name": "cacerts",
                       "certificates": {"root-cert.pem": pem(p["root"][0]), "ca-cert.pem": pem(p["istio-" + cluster][0])}}
    snap["spire_upstream_ca"] = {"present": True, "namespace": "spire-server", "name": "spiffe-upstream-ca",
                                 "certificates": {"bundle.crt": pem(p["root"][0]), "tls.crt": pem(p["spire-" + cluster][0])}}
    snap["spire_server"] = {"present": True, "trust_domain": cluster}
    snap["spire_pvc"] = {"name": "spire-data-spire-server-0", "phase": "Bound", "storage_class": "standard"}
    return snap


def jwt(claims):
    def part(doc):
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    return "%s.%s.%s" % (part({"alg": "ES256", "typ": "JWT"}), part(claims), "c2lnbmF0dXJl")


def options(**overrides):
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import license as lic
    result = {"istio_version": "1.27.3-patch0", "spire_chart_version": "0.24.2", "allow_unsupported_kubernetes": False,
              "spire_persistence": {"type": "pvc", "storage_class": None},
              "gateway_api": {"install": True, "version": "v1.2.1", "channel": "standard"},
              "spire_crds_release": {"name": "spire-crds", "namespace": "spire-server"},
              "pki_root_pem": pem(pki()["root"][0]),
              "license": lic.describe(jwt({"exp": int((NOW + datetime.timedelta(days=365)).timestamp()), "iat": 1})),
              "license_min_days": 30, "now": NOW}
    result.update(overrides)
    return result


def snaps(*clusters, **kind):
    """Ordered {cluster: snapshot}; kind='installed' for installed clusters."""
    build = installed if kind.get("kind") == "installed" else fresh
    return dict((c, copy.deepcopy(build(c))) for c in (clusters or ("cluster1", "cluster2")))


def levels(findings, check=None, cluster="*"):
    return sorted(set(f["level"] for f in findings if (check is None or f["check"] == check) and (cluster == "*" or f["cluster"] == cluster)))
