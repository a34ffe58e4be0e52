# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one cluster for the preflight: a compact, secret-free dict. PRIVATE to the collection.

Read-only: GETs, and the SelfSubjectReview and SelfSubjectAccessReviews, which the API server answers without storing
anything. A read the identity may not make (403) is recorded in the snapshot and reported by the check that needed it; it
does not stop the other reads. Secrets are read only for their certificates: keys never leave this module.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import time

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import (
    RawApi,
    SnapshotError,
    _decode,
    spire_server_config,
    status_message,
)
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import access

GATEWAY_API_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
SPIRE_CRDS = ("clusterspiffeids", "clusterstaticentries", "clusterfederatedtrustdomains")
SPIRE_GROUP = "spire.spiffe.io"
SMC_CRD = "servicemeshcontrollers.operator.gloo.solo.io"
KEPT_CRD_ANNOTATIONS = ("gateway.networking.k8s.io/bundle-version", "gateway.networking.k8s.io/channel",
                        "meta.helm.sh/release-name", "meta.helm.sh/release-namespace")
KEPT_CRD_LABELS = ("app.kubernetes.io/managed-by",)
KEPT_NODE_LABELS = ("kubernetes.io/os", "type", "eks.amazonaws.com/compute-type", "node.kubernetes.io/instance-type")
KEPT_ISTIOD_LABELS = ("app.kubernetes.io/managed-by", "istio.io/rev", "operator.gloo.solo.io/servicemeshcontroller",
                      "install.operator.istio.io/owning-resource", "helm.sh/chart")
PSA_PREFIX = "pod-security.kubernetes.io/"
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


class Reader(RawApi):
    """RawApi with POST for the review APIs (they create nothing: the answer is the review itself); posts may come from threads."""

    def __init__(self, api_client, cluster_label, timeout=30):
        super(Reader, self).__init__(api_client, cluster_label, timeout)
        self._lock = threading.Lock()

    def post(self, path, body, allow=(404,)):
        api = self.api
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        with self._lock:
            self.requests += 1
        start = time.time()
        try:
            if hasattr(api, "sender"):
                status, reason, raw = api.send("POST", path, json.dumps(body).encode("utf-8"), timeout=self.timeout)
            elif hasattr(api, "param_serialize"):
                method, url, headers, data, dummy = api.param_serialize("POST", path, header_params=headers, body=body,
                                                                        auth_settings=["BearerToken"])
                resp = api.call_api(method, url, header_params=headers, body=data, _request_timeout=self.timeout)
                status, raw, reason = resp.status, resp.read(), resp.reason
            else:  # pragma: no cover - kubernetes < 30
                resp = api.call_api(path, "POST", header_params=headers, body=body, auth_settings=["BearerToken"],
                                    _preload_content=False, _return_http_data_only=True, _request_timeout=self.timeout)
                status, raw, reason = 201, resp.data, None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            status = getattr(exc, "status", None)
            raw = getattr(exc, "body", None)
            reason = getattr(exc, "reason", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        self.log.append({"path": path, "method": "POST", "status": status, "seconds": round(time.time() - start, 4)})
        if not status or status >= 400:
            if status in allow:
                return status, None
            detail = status_message(raw)
            detail = ": %s" % detail if detail and detail != reason else ""
            raise SnapshotError("cluster %s: POST %s failed: %s%s%s" % (self.label, path, "%s " % status if status else "", reason, detail))
        try:
            return status, json.loads(raw)
        except ValueError as exc:
            raise SnapshotError("cluster %s: POST %s returned invalid JSON: %s" % (self.label, path, exc))


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _items(doc):
    return (doc or {}).get("items") or []


def _subset(mapping, keys):
    return dict((k, v) for k, v in (mapping or {}).items() if k in keys)


def _denied(what, status):
    return "%s: %s" % (what, "forbidden (403)" if status == 403 else "HTTP %s" % status)


def _read_list(api, path, what, query=None):
    """(items, None) or (None, why not)."""
    status, doc = api.get(path, query, allow=(403, 404))
    if status == 403:
        return None, _denied("list " + what, status)
    if status == 404:
        return [], None
    return _items(doc), None


def _detail(exc, label):
    text = str(exc)
    prefix = "cluster %s: " % label
    return text[len(prefix):] if text.startswith(prefix) else text


def _rejected(exc, label):
    return SnapshotError("cluster %s: the credentials were rejected (%s). The token or client certificate of this context is invalid or "
                         "expired; refresh the kubeconfig (or the AWX kubeconfig credential)." % (label, _detail(exc, label)))


def reachability(api):
    """/version, then who the credentials are (SelfSubjectReview). Raises SnapshotError naming the cluster, what failed and the fix."""
    label = api.label
    try:
        dummy, version = api.get("/version", allow=())
    except SnapshotError as exc:
        if " 401 " in str(exc):
            raise _rejected(exc, label)
        raise SnapshotError("cluster %s is not reachable (%s). Check the API server address of its context, the network path (VPN, "
                            "proxy, firewall) and that the API server is up." % (label, _detail(exc, label)))
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        status, doc = api.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", review, allow=(403, 404))
    except SnapshotError as exc:
        if " 401 " in str(exc):
            raise _rejected(exc, label)
        raise
    user = ((doc or {}).get("status") or {}).get("userInfo") or {}
    if status in (403, 404):
        # SelfSubjectReview is GA since Kubernetes 1.28: an older server answers 404; then an access review proves the credentials
        status, doc = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": "get", "resource": "namespaces"}}}, allow=())
    return version, user.get("username")


REVIEW_WORKERS = 8


def access_reviews(api, namespaces):
    """{"checked": n, "denied": [attributes], "escalation": bool, "grants_checked": n, "grants_denied": [attributes], "everything": bool}.

    The reviews are independent requests: up to REVIEW_WORKERS at a time (over a real API server's round trip, a hundred of them
    one after the other would take seconds).
    """
    from concurrent.futures import ThreadPoolExecutor

    def allowed(attributes):
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": attributes}}
        dummy, doc = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, allow=())
        return bool(((doc or {}).get("status") or {}).get("allowed"))

    def answers(reviews):
        with ThreadPoolExecutor(max_workers=REVIEW_WORKERS) as pool:
            return list(pool.map(allowed, reviews))

    reviews = access.need_reviews(namespaces)
    # An identity that may do everything (cluster-admin) may make every request: one review instead of all of them.
    if allowed({"verb": "*", "group": "*", "resource": "*"}):
        return {"checked": len(reviews), "denied": [], "escalation": True, "grants_checked": 0, "grants_denied": [], "everything": True}
    escalation = access.escalation_reviews(namespaces)
    results = answers(reviews + escalation)
    result = {"checked": len(reviews), "denied": [a for a, ok in zip(reviews, results) if not ok], "grants_checked": 0, "grants_denied": [],
              "escalation": all(results[len(reviews):])}
    if not result["escalation"]:
        grants = access.grant_reviews(namespaces)
        result["grants_checked"] = len(grants)
        result["grants_denied"] = [a for a, ok in zip(grants, answers(grants)) if not ok]
    return result


def read_namespaces(api, wanted):
    """({name: labels} of every namespace, or of the wanted ones when the list is forbidden; None, why) and absent ones are missing."""
    items, error = _read_list(api, "/api/v1/namespaces", "namespaces")
    if items is not None:
        return dict((_meta(n).get("name"), _meta(n).get("labels") or {}) for n in items), None
    found = {}
    for name in wanted:
        status, doc = api.get("/api/v1/namespaces/%s" % quote(name), allow=(403, 404))
        if status == 403:
            return None, error + "; get namespace %s: forbidden (403)" % name
        if status != 404:
            found[name] = _meta(doc).get("labels") or {}
    return found, None


def compact_node(node):
    status = node.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return {"name": _meta(node).get("name"), "labels": _subset(_meta(node).get("labels"), KEPT_NODE_LABELS),
            "ready": bool(ready) and ready[0].get("status") == "True",
            "unschedulable": bool((node.get("spec") or {}).get("unschedulable")),
            "kubelet": (status.get("nodeInfo") or {}).get("kubeletVersion")}


def compact_storage_class(sc):
    annotations = _meta(sc).get("annotations") or {}
    return {"name": _meta(sc).get("name"), "provisioner": sc.get("provisioner"), "binding_mode": sc.get("volumeBindingMode"),
            "default": any(str(annotations.get(a, "")).lower() == "true" for a in DEFAULT_CLASS_ANNOTATIONS),
            "created": _meta(sc).get("creationTimestamp")}


def compact_crd(crd):
    meta = _meta(crd)
    spec = crd.get("spec") or {}
    return {"present": True, "annotations": _subset(meta.get("annotations"), KEPT_CRD_ANNOTATIONS),
            "labels": _subset(meta.get("labels"), KEPT_CRD_LABELS),
            "versions": [v.get("name") for v in spec.get("versions") or [] if v.get("served", True)]}


def read_crd(api, name):
    status, doc = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s" % quote(name), allow=(403, 404))
    if status == 403:
        return {"present": None, "error": _denied("get customresourcedefinition " + name, status)}
    if status == 404:
        return {"present": False}
    return compact_crd(doc)


def compact_istiod(deployment):
    meta = _meta(deployment)
    containers = ((((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "labels": _subset(meta.get("labels"), KEPT_ISTIOD_LABELS),
            "owners": ["%s/%s" % (o.get("kind"), o.get("name")) for o in meta.get("ownerReferences") or []],
            "images": [c.get("image") for c in containers if c.get("image")]}


def read_ca_secret(api, namespace, name, keys):
    """The certificates (never the keys) of a CA Secret: {"present", "certificates": {key: PEM}} or {"present": None, "error"}."""
    status, secret = api.get("/api/v1/namespaces/%s/secrets/%s" % (quote(namespace), quote(name)), allow=(403, 404))
    if status == 403:
        return {"present": None, "namespace": namespace, "name": name, "error": _denied("get secret %s/%s" % (namespace, name), status)}
    if status == 404:
        return {"present": False, "namespace": namespace, "name": name}
    data = (secret or {}).get("data") or {}
    certificates = dict((key, _decode(data, key)) for key in keys if _decode(data, key))
    del secret, data
    return {"present": True, "namespace": namespace, "name": name, "certificates": certificates}


def read_spire_server(api, namespace):
    """The trust domain of an existing SPIRE server (ConfigMap spire-server, server.conf), if any."""
    status, cm = api.get("/api/v1/namespaces/%s/configmaps/spire-server" % quote(namespace), allow=(403, 404))
    if status == 403:
        return {"present": None, "error": _denied("get configmap %s/spire-server" % namespace, status)}
    if status == 404 or "server.conf" not in ((cm or {}).get("data") or {}):
        return {"present": False}
    conf = spire_server_config(cm["data"]["server.conf"])
    return {"present": True, "trust_domain": conf.get("trust_domain")}


def read_claim(api, namespace, name):
    """phase and class of a PersistentVolumeClaim: {"name", "phase", "storage_class"}, or {} when absent or not readable."""
    status, pvc = api.get("/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (quote(namespace), quote(name)), allow=(403, 404))
    if status in (403, 404):
        return {}
    return {"name": name, "phase": (pvc.get("status") or {}).get("phase"), "storage_class": (pvc.get("spec") or {}).get("storageClassName")}


def take_snapshot(api_client, cluster, namespaces, upstream_ca_secret="spiffe-upstream-ca", spire_server_claim="spire-data-spire-server-0",
                  expected_trust_domain=None, check_access=True, timeout=30):
    """The preflight snapshot of one cluster. namespaces: {spire, gloo, istio, eastwest} -> name.

    Raises SnapshotError (naming the cluster, what failed and what to do) when the cluster cannot be reached or its credentials
    are rejected; every other failure is recorded in the snapshot.
    """
    start = time.time()
    api = Reader(api_client, cluster, timeout)
    version, user = reachability(api)
    snap = {"cluster": cluster, "version": {"git_version": version.get("gitVersion"), "major": version.get("major"),
                                            "minor": version.get("minor")},
            "user": user, "namespace_names": dict(namespaces), "expected_trust_domain": expected_trust_domain}
    snap["access"] = access_reviews(api, namespaces) if check_access else None
    snap["namespaces"], snap["namespaces_error"] = read_namespaces(api, sorted(set(namespaces.values())))
    items, snap["nodes_error"] = _read_list(api, "/api/v1/nodes", "nodes")
    snap["nodes"] = None if items is None else [compact_node(n) for n in items]
    items, snap["storage_classes_error"] = _read_list(api, "/apis/storage.k8s.io/v1/storageclasses", "storageclasses.storage.k8s.io")
    snap["storage_classes"] = None if items is None else [compact_storage_class(s) for s in items]
    snap["crds"] = dict(("%s.%s" % (name, GATEWAY_API_GROUP), read_crd(api, "%s.%s" % (name, GATEWAY_API_GROUP))) for name in GATEWAY_API_CRDS)
    snap["crds"].update(("%s.%s" % (name, SPIRE_GROUP), read_crd(api, "%s.%s" % (name, SPIRE_GROUP))) for name in SPIRE_CRDS)
    items, snap["istiods_error"] = _read_list(api, "/apis/apps/v1/deployments", "deployments.apps (labelSelector app=istiod)",
                                              {"labelSelector": "app=istiod"})
    snap["istiods"] = None if items is None else [compact_istiod(d) for d in items]
    smc_crd = read_crd(api, SMC_CRD)
    if smc_crd.get("present"):
        items, snap["smcs_error"] = _read_list(api, "/apis/operator.gloo.solo.io/v1/servicemeshcontrollers", "servicemeshcontrollers")
        snap["smcs"] = None if items is None else [{"name": _meta(s).get("name"), "namespace": _meta(s).get("namespace"),
                                                    "install_namespace": (s.get("spec") or {}).get("installNamespace")} for s in items]
    else:
        snap["smcs"], snap["smcs_error"] = ([] if smc_crd.get("present") is False else None), smc_crd.get("error")
    snap["cacerts"] = read_ca_secret(api, namespaces["istio"], "cacerts", ("root-cert.pem", "ca-cert.pem", "ca.crt", "tls.crt"))
    snap["spire_upstream_ca"] = read_ca_secret(api, namespaces["spire"], upstream_ca_secret, ("bundle.crt", "tls.crt"))
    snap["spire_server"] = read_spire_server(api, namespaces["spire"])
    snap["spire_pvc"] = read_claim(api, namespaces["spire"], spire_server_claim)
    snap["requests"] = api.requests
    snap["seconds"] = round(time.time() - start, 3)
    return snap


def read_clusters(clusters, read_options, attempts=1, delay=3):
    """Every cluster (dicts with name, cluster_name and kubernetes.core's auth options), in parallel threads, each up to attempts
    times. read_options: the keyword arguments of take_snapshot other than api_client, cluster and expected_trust_domain.

    -> one entry per cluster, in the order given: {name, attempts, summary, snapshot} for a cluster that was read,
    {name, attempts, failed: True, msg} (the message names the cluster) for one that could not be.
    """
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sClientError
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest import connect
    from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import for_each_cluster

    by_name = dict((cluster["name"], cluster) for cluster in clusters)

    def read(name):
        cluster = by_name[name]
        label = cluster.get("cluster_name") or name
        try:
            connection = connect(cluster)
        except K8sClientError as exc:
            raise K8sClientError("cluster %s: %s" % (label, exc))
        return take_snapshot(connection, label, expected_trust_domain=cluster.get("expected_trust_domain"), **read_options)

    outcome = for_each_cluster(by_name, read, attempts=attempts, delay=delay)
    entries = []
    for cluster in clusters:
        done = outcome[cluster["name"]]
        entry = {"name": cluster["name"], "attempts": done["attempts"]}
        if "error" in done:
            entry.update(failed=True, msg=done["error"])
        else:
            snap = done["result"]
            entry.update(summary={"cluster": snap["cluster"], "requests": snap["requests"], "seconds": snap["seconds"]}, snapshot=snap)
        entries.append(entry)
    return entries
