# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compact, read-only snapshot of one cluster for the mesh checks. PRIVATE to the collection.

About 17 GET requests, independent of object counts (no per-object requests). Secret material never leaves:
CA keys are only compared with their certificates, the license is reported as state and product only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import re
import time

try:
    from urllib.parse import quote, urlencode
except ImportError:  # pragma: no cover
    from urllib import quote, urlencode  # type: ignore

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover
    HAS_YAML = False

from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import (
    ADDRESS_ANNOTATION,
    EXPOSE_ISTIOD_LABEL,
    SERVICE_ACCOUNT_ANNOTATION,
    TRUST_DOMAIN_ANNOTATION,
)

AMBIENT_LABEL = "istio.io/dataplane-mode"
EASTWEST_POD_LABEL = "service.istio.io/canonical-name"
AUTOGENFLAT_LABEL = "solo.io/source-workload"
SOURCE_CLUSTER_LABEL = "solo.io/source-cluster"
PEERED_UID_ANNOTATION = "solo.io/peered-workload-uid"
KEPT_GATEWAY_ANNOTATIONS = (TRUST_DOMAIN_ANNOTATION, SERVICE_ACCOUNT_ANNOTATION,
                            "peering.solo.io/preferred-data-plane-service-type", ADDRESS_ANNOTATION)


LICENSE_ATTEMPTS = 3
LICENSE_RETRY_DELAY = 0.5


class SnapshotError(Exception):
    """An API error that makes the snapshot meaningless (auth, network, server errors)."""


class RawApi(object):
    """GET JSON documents through a ``_k8s_rest.Connection`` or a kubernetes ApiClient, counting requests; 404 -> None."""

    def __init__(self, api_client, cluster_label, timeout=30):
        self.api = api_client
        self.label = cluster_label
        self.timeout = timeout
        self.requests = 0
        self.log = []

    def _request(self, path, query):
        """(status, body, reason); kubernetes >= 30 (param_serialize) does not raise on HTTP errors, older clients do."""
        api = self.api
        if hasattr(api, "sender"):
            status, reason, body = api.send("GET", path + ("?" + urlencode(query) if query else ""), timeout=self.timeout)
            return status, body, reason
        headers = {"Accept": "application/json"}
        if hasattr(api, "param_serialize"):
            method, url, headers, dummy, dummy2 = api.param_serialize("GET", path, query_params=list((query or {}).items()),
                                                                      header_params=headers, auth_settings=["BearerToken"])
            resp = api.call_api(method, url, header_params=headers, _request_timeout=self.timeout)
            return resp.status, resp.read(), resp.reason
        resp = api.call_api(path, "GET", query_params=list((query or {}).items()), header_params=headers, auth_settings=["BearerToken"],
                            _preload_content=False, _return_http_data_only=True, _request_timeout=self.timeout)
        return 200, resp.data, None

    def get(self, path, query=None, parse=True, allow=(404,)):
        url = path + ("?" + urlencode(query) if query else "")
        self.requests += 1
        start = time.time()
        try:
            status, body, reason = self._request(path, query)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            status = getattr(exc, "status", None)
            body = getattr(exc, "body", None)
            reason = getattr(exc, "reason", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
        self.log.append({"path": url, "status": status, "seconds": round(time.time() - start, 4)})
        if not status or status >= 400:
            if status in allow:
                return status, None
            detail = status_message(body)
            detail = ": %s" % detail if detail and detail != reason else ""
            raise SnapshotError("cluster %s: GET %s failed: %s%s%s" % (self.label, url, "%s " % status if status else "", reason, detail))
        if not parse:
            return status, body
        try:
            return status, json.loads(body)
        except ValueError as exc:
            raise SnapshotError("cluster %s: GET %s returned invalid JSON: %s" % (self.label, url, exc))


def status_message(body):
    """The message of a Kubernetes Status error body (bytes or text), or None."""
    try:
        doc = json.loads(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    except (TypeError, ValueError, AttributeError):
        return None
    if isinstance(doc, dict) and doc.get("kind") == "Status" and doc.get("message"):
        return " ".join(str(doc["message"]).split())
    return None


def _items(doc):
    return (doc or {}).get("items") or []


def _meta(obj):
    return obj.get("metadata") or {}


def container_env(pod_spec, preferred=None):
    """env of the preferred container (or the first one) -> (dict name -> value, [names set via valueFrom])."""
    containers = (pod_spec or {}).get("containers") or []
    chosen = None
    for c in containers:
        if preferred and c.get("name") == preferred:
            chosen = c
            break
    if chosen is None and containers:
        chosen = containers[0]
    env = {}
    refs = []
    for item in (chosen or {}).get("env") or []:
        if "value" in item:
            env[item["name"]] = item.get("value")
        elif item.get("valueFrom"):
            refs.append(item["name"])
        else:
            env[item["name"]] = ""
    return env, refs


def _workload(obj, preferred=None):
    env, refs = container_env(((obj.get("spec") or {}).get("template") or {}).get("spec"), preferred)
    result = {"name": _meta(obj).get("name"), "namespace": _meta(obj).get("namespace"), "env": env}
    if refs:
        result["env_from_refs"] = refs
    return result


def compact_pod(pod):
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    total = max(len(containers), len(statuses))
    reason = status.get("reason")
    for s in statuses:
        waiting = (s.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    if _meta(pod).get("deletionTimestamp"):
        reason = "Terminating"
    return {"name": _meta(pod).get("name"), "namespace": _meta(pod).get("namespace"), "phase": status.get("phase"),
            "ready": bool(total) and ready == total, "ready_count": "%d/%d" % (ready, total),
            "restarts": sum(int(s.get("restartCount") or 0) for s in statuses), "reason": reason,
            "created": _meta(pod).get("creationTimestamp")}


def compact_gateway(gw):
    meta = _meta(gw)
    spec = gw.get("spec") or {}
    status = gw.get("status") or {}
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items() if k in KEPT_GATEWAY_ANNOTATIONS)
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "class": spec.get("gatewayClassName"),
            "labels": meta.get("labels") or {}, "annotations": annotations,
            "spec_addresses": [{"type": a.get("type"), "value": a.get("value")} for a in spec.get("addresses") or []],
            "status_addresses": [{"type": a.get("type"), "value": a.get("value")} for a in status.get("addresses") or []],
            "listeners": [{"name": li.get("name"), "port": li.get("port"), "protocol": li.get("protocol")} for li in spec.get("listeners") or []],
            "conditions": [{"type": c.get("type"), "status": c.get("status"), "reason": c.get("reason"), "message": c.get("message")}
                           for c in status.get("conditions") or []]}


def compact_service(svc):
    meta = _meta(svc)
    ingress = []
    for item in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        value = item.get("ip") or item.get("hostname")
        if value:
            ingress.append(value)
    annotations = dict((k, v) for k, v in (meta.get("annotations") or {}).items() if k in KEPT_GATEWAY_ANNOTATIONS)
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "type": (svc.get("spec") or {}).get("type"),
            "labels": meta.get("labels") or {}, "annotations": annotations, "ingress": ingress}


def _decode(data, key):
    value = (data or {}).get(key)
    if not value:
        return None
    try:
        return base64.b64decode(value).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def key_matches(cert_pem, key_pem):
    """True/False when both are present and parse; None otherwise. The key is never returned."""
    if not cert_pem or not key_pem:
        return None
    try:
        from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509
        certs = _x509.load_pem_certificates(cert_pem)
        if not certs:
            return None
        return bool(_x509.key_matches_certificate(certs[0], key_pem))
    except ImportError:
        return None
    except ValueError:
        return False


def cacerts_from_secret(secret):
    if secret is None:
        return {"present": False}
    data = secret.get("data") or {}
    if "ca-cert.pem" in data or "root-cert.pem" in data:
        ca, key, root, chain, fmt = "ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem", "istio"
    else:
        ca, key, root, chain, fmt = "tls.crt", "tls.key", "ca.crt", "tls.crt", "tls"
    ca_pem = _decode(data, ca)
    key_pem = _decode(data, key)
    result = {"present": True, "format": fmt, "ca_cert": ca_pem, "root_cert": _decode(data, root), "cert_chain": _decode(data, chain),
              "key_present": bool(key_pem), "key_matches": key_matches(ca_pem, key_pem)}
    del key_pem
    return result


def upstream_ca_from_secret(secret, name):
    if secret is None:
        return {"present": False, "secret": name}
    data = secret.get("data") or {}
    cert = _decode(data, "tls.crt")
    key_pem = _decode(data, "tls.key")
    result = {"present": True, "secret": name, "certificate": cert, "bundle": _decode(data, "bundle.crt"), "key_matches": key_matches(cert, key_pem)}
    del key_pem
    return result


def _find_key(node, wanted):
    """First value of a key anywhere in a JSON/YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == wanted:
                return value
            found = _find_key(value, wanted)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _find_key(item, wanted)
            if found is not None:
                return found
    return None


def _load_doc(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    if HAS_YAML:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            pass
    return None


def _hcl_value(text, key):
    match = re.search(r'\b%s\s*=\s*"([^"]*)"' % re.escape(key), text or "")
    return match.group(1) if match else None


def _hcl_list(text, key):
    match = re.search(r"\b%s\s*=\s*\[([^\]]*)\]" % re.escape(key), text or "", re.S)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else None


def spire_server_config(text):
    doc = _load_doc(text)
    if isinstance(doc, dict):
        bundle = _find_key(doc.get("plugins") or doc, "bundle_file_path")
        upstream = _find_key(doc.get("plugins") or doc, "UpstreamAuthority")
        kind = None
        if isinstance(upstream, list) and upstream and isinstance(upstream[0], dict):
            kind = list(upstream[0])[0]
        elif isinstance(upstream, dict) and upstream:
            kind = list(upstream)[0]
        return {"present": True, "trust_domain": _find_key(doc.get("server") or doc, "trust_domain"), "bundle_file_path": bool(bundle),
                "upstream_authority": kind}
    return {"present": True, "trust_domain": _hcl_value(text, "trust_domain"), "bundle_file_path": bool(_hcl_value(text, "bundle_file_path")),
            "upstream_authority": "disk" if re.search(r'UpstreamAuthority\s+"disk"', text or "") else None}


def spire_agent_config(text):
    doc = _load_doc(text)
    if isinstance(doc, dict):
        agent = doc.get("agent") or doc
        return {"present": True, "trust_domain": agent.get("trust_domain"), "authorized_delegates": list(agent.get("authorized_delegates") or [])}
    return {"present": True, "trust_domain": _hcl_value(text, "trust_domain"), "authorized_delegates": _hcl_list(text, "authorized_delegates") or []}


def controller_manager_config(text):
    doc = _load_doc(text)
    if not isinstance(doc, dict):
        return {"present": True, "class_name": None, "watch_classless": False, "trust_domain": None, "parse_error": True}
    ignored = doc.get("ignoreNamespaces")
    return {"present": True, "class_name": doc.get("className"), "watch_classless": bool(doc.get("watchClassless")), "trust_domain": doc.get("trustDomain"),
            "ignore_namespaces": [str(n) for n in ignored] if isinstance(ignored, list) else [],
            "webhook": doc.get("validatingWebhookConfigurationName")}


def spire_configs(configmaps):
    """server / agent / controller manager configs found in a list of ConfigMaps, recognised by their data keys."""
    found = {"server": {"present": False}, "agent": {"present": False}, "controller_manager": {"present": False}}
    for cm in configmaps:
        for key, text in (cm.get("data") or {}).items():
            if key == "server.conf" and not found["server"]["present"]:
                found["server"] = dict(spire_server_config(text), configmap=_meta(cm).get("name"))
            elif key == "agent.conf" and not found["agent"]["present"]:
                found["agent"] = dict(spire_agent_config(text), configmap=_meta(cm).get("name"))
            elif ("controller-manager" in key or "ControllerManagerConfig" in (text or "")) and not found["controller_manager"]["present"]:
                found["controller_manager"] = dict(controller_manager_config(text), configmap=_meta(cm).get("name"))
    return found


def spire_bundle(configmaps, preferred="spire-bundle"):
    """SPIRE's published trust bundle: the ConfigMap its k8sbundle notifier writes (key bundle.crt; the chart's spire-bundle), as
    {configmap, pem}; None when there is none."""
    found = [cm for cm in configmaps if (cm.get("data") or {}).get("bundle.crt")]
    found.sort(key=lambda cm: _meta(cm).get("name") != preferred)
    if not found:
        return None
    return {"configmap": _meta(found[0]).get("name"), "pem": found[0]["data"]["bundle.crt"]}


def mesh_config(configmaps, revision_names=("istio-gloo", "istio")):
    by_name = dict((_meta(cm).get("name"), cm) for cm in configmaps)
    for name in revision_names:
        cm = by_name.get(name)
        if cm is None:
            continue
        doc = _load_doc((cm.get("data") or {}).get("mesh")) or {}
        return {"name": name, "trust_domain": (doc.get("trustDomain") if isinstance(doc, dict) else None) or "cluster.local"}
    return None


def compact_cluster_spiffe_id(obj):
    spec = obj.get("spec") or {}
    stats = (obj.get("status") or {}).get("stats")
    return {"name": _meta(obj).get("name"), "class_name": spec.get("className") or "", "fallback": bool(spec.get("fallback")),
            "pod_selector": spec.get("podSelector"), "namespace_selector": spec.get("namespaceSelector"), "stats": stats or None}


def _pod_matches(pod, key, value):
    return ((_meta(pod).get("labels") or {}).get(key)) == value


# SPIRE components by the app.kubernetes.io/name label of their pods (the spire chart's subcharts)
SPIRE_COMPONENTS = {"server": "server", "agent": "agent", "spiffe-csi-driver": "csi_driver", "spiffe-oidc-discovery-provider": "oidc"}


def host_paths(pod):
    """{volume name: host path} of a pod's hostPath volumes."""
    return dict((v.get("name"), (v.get("hostPath") or {}).get("path")) for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("hostPath"))


def compact_claim(pvc):
    return {"name": _meta(pvc).get("name"), "phase": (pvc.get("status") or {}).get("phase"),
            "storage_class": (pvc.get("spec") or {}).get("storageClassName")}


def compact_job(job):
    """A Job's outcome, and the Helm hook it runs for (if any)."""
    conditions = (job.get("status") or {}).get("conditions") or []
    failed = [c for c in conditions if c.get("type") == "Failed" and c.get("status") == "True"]
    return {"name": _meta(job).get("name"), "hook": (_meta(job).get("annotations") or {}).get("helm.sh/hook"),
            "failed": bool(failed), "reason": failed[0].get("reason") if failed else None, "message": failed[0].get("message") if failed else None,
            "complete": any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)}


def compact_daemonset(ds):
    status = ds.get("status") or {}
    return {"name": _meta(ds).get("name"), "app": (_meta(ds).get("labels") or {}).get("app.kubernetes.io/name"),
            "desired": int(status.get("desiredNumberScheduled") or 0), "ready": int(status.get("numberReady") or 0)}


def take_snapshot(api_client, cluster_name=None, context=None, istio_namespace="istio-system", spire_namespace="spire-server",
                  spire_agent_namespace=None, upstream_ca_secret="spiffe-upstream-ca", expected_network=None, expected_trust_domain=None,
                  license_check=True, timeout=30):
    """The snapshot dict (see _checks/_common.py). Raises SnapshotError on API errors other than 404."""
    start = time.time()
    api = RawApi(api_client, cluster_name or context or "(current context)", timeout)
    missing = []
    ns = istio_namespace

    dummy, doc = api.get("/api/v1/namespaces")
    namespaces = dict((_meta(n).get("name"), _meta(n).get("labels") or {}) for n in _items(doc))

    dummy, doc = api.get("/apis/apps/v1/deployments", {"labelSelector": "app=istiod"})
    istiod = [_workload(d, "discovery") for d in _items(doc)]
    dummy, doc = api.get("/apis/apps/v1/daemonsets", {"labelSelector": "app=ztunnel"})
    ztunnel = [_workload(d, "istio-proxy") for d in _items(doc)]

    cluster_ids = [d["env"].get("CLUSTER_ID") for d in istiod if d["env"].get("CLUSTER_ID")]
    cluster = cluster_name or (cluster_ids[0] if cluster_ids else None) or context
    api.label = cluster

    dummy, doc = api.get("/api/v1/pods")
    pods = {"istiod": [], "ztunnel": [], "eastwest": []}
    pod_index = []
    ambient_pods = 0
    ambient_pod_ns = set()
    ambient_ns = sorted(n for n, labels in namespaces.items() if labels.get(AMBIENT_LABEL) == "ambient")
    ambient_ns_set = set(ambient_ns)
    spire_ns_set = set([spire_namespace, spire_agent_namespace or spire_namespace])
    spire_pods = dict((part, []) for part in SPIRE_COMPONENTS.values())
    paths = {}
    for pod in _items(doc):
        meta = _meta(pod)
        labels = meta.get("labels") or {}
        pod_index.append("%s/%s" % (meta.get("namespace"), meta.get("name")))
        if labels.get("app") == "istiod":
            pods["istiod"].append(compact_pod(pod))
        if labels.get("app") == "ztunnel":
            pods["ztunnel"].append(compact_pod(pod))
            if host_paths(pod):
                paths.setdefault("ztunnel", host_paths(pod))
        if labels.get(EASTWEST_POD_LABEL) == "istio-eastwest":
            pods["eastwest"].append(compact_pod(pod))
        part = SPIRE_COMPONENTS.get(labels.get("app.kubernetes.io/name"))
        if part and meta.get("namespace") in spire_ns_set:
            spire_pods[part].append(compact_pod(pod))
            if host_paths(pod):
                paths.setdefault(part, host_paths(pod))
        mode = labels.get(AMBIENT_LABEL)
        if mode == "ambient" or (meta.get("namespace") in ambient_ns_set and mode != "none"):
            if (pod.get("status") or {}).get("phase") == "Running":
                ambient_pods += 1
                ambient_pod_ns.add(meta.get("namespace"))

    status, doc = api.get("/apis/gateway.networking.k8s.io/v1/gateways")
    if status == 404:
        missing.append("gateways.gateway.networking.k8s.io/v1 (Gateway API CRDs not installed)")
    gateways = [compact_gateway(g) for g in _items(doc)]

    dummy, doc = api.get("/api/v1/services", {"labelSelector": EXPOSE_ISTIOD_LABEL})
    services = [compact_service(s) for s in _items(doc)]

    status, doc = api.get("/apis/networking.istio.io/v1/namespaces/%s/workloadentries" % quote(ns))
    if status == 404:
        missing.append("workloadentries.networking.istio.io/v1 in %s" % ns)
    entries = _items(doc)
    autogenflat = []
    for we in entries:
        meta = _meta(we)
        labels = meta.get("labels") or {}
        if str(labels.get(AUTOGENFLAT_LABEL) or "").startswith("autogenflat."):
            autogenflat.append({"name": meta.get("name"), "source_workload": labels.get(AUTOGENFLAT_LABEL),
                                "source_cluster": labels.get(SOURCE_CLUSTER_LABEL),
                                "peered_uid": (meta.get("annotations") or {}).get(PEERED_UID_ANNOTATION)})

    status, secret = api.get("/api/v1/namespaces/%s/secrets/cacerts" % quote(ns))
    cacerts = cacerts_from_secret(secret)
    secret = None
    if not cacerts["present"]:
        missing.append("secret %s/cacerts" % ns)

    dummy, doc = api.get("/api/v1/namespaces/%s/configmaps" % quote(ns))
    istio_cms = _items(doc)
    root_cm = [cm for cm in istio_cms if _meta(cm).get("name") == "istio-ca-root-cert"]
    istio_ca_root_cert = (root_cm[0].get("data") or {}).get("root-cert.pem") if root_cm else None
    mesh = mesh_config(istio_cms)
    if mesh is None:
        missing.append("configmap %s/istio-gloo (or istio)" % ns)

    spire_ns = spire_namespace
    dummy, doc = api.get("/api/v1/namespaces/%s/configmaps" % quote(spire_ns))
    spire_cms = _items(doc)
    agent_ns = spire_agent_namespace or spire_ns
    if agent_ns != spire_ns:
        dummy, doc = api.get("/api/v1/namespaces/%s/configmaps" % quote(agent_ns))
        spire_cms = spire_cms + _items(doc)
    spire = spire_configs(spire_cms)
    spire["namespace"] = spire_ns
    spire["bundle"] = spire_bundle(spire_cms)
    status, secret = api.get("/api/v1/namespaces/%s/secrets/%s" % (quote(spire_ns), quote(upstream_ca_secret)))
    spire["upstream_ca"] = upstream_ca_from_secret(secret, upstream_ca_secret)
    secret = None
    status, doc = api.get("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids")
    if status == 404:
        missing.append("clusterspiffeids.spire.spiffe.io/v1alpha1 (SPIRE CRDs not installed)")
        spire["cluster_spiffe_ids"] = None
    else:
        spire["cluster_spiffe_ids"] = [compact_cluster_spiffe_id(c) for c in _items(doc)]
    # What the real chart renders beyond the configs: the components' pods (from the pod list above), the server's claim, the
    # Helm hook Jobs, the agent and CSI driver DaemonSets, the controller manager's webhook configuration, the host paths of the
    # sockets that the agent, the CSI driver and ztunnel share.
    spire["pods"] = spire_pods
    spire["host_paths"] = paths
    dummy, doc = api.get("/api/v1/namespaces/%s/persistentvolumeclaims" % quote(spire_ns))
    spire["claims"] = [compact_claim(c) for c in _items(doc)]
    dummy, doc = api.get("/apis/batch/v1/namespaces/%s/jobs" % quote(spire_ns))
    spire["jobs"] = [compact_job(j) for j in _items(doc)]
    dummy, doc = api.get("/apis/apps/v1/namespaces/%s/daemonsets" % quote(agent_ns))
    spire["daemonsets"] = [compact_daemonset(d) for d in _items(doc)]
    webhook = (spire.get("controller_manager") or {}).get("webhook")
    if webhook:
        status, doc = api.get("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/%s" % quote(webhook))
        spire["webhook"] = {"name": webhook, "present": status != 404,
                            "webhooks": [w.get("name") for w in (doc or {}).get("webhooks") or []]}

    license_info = {"status": "skipped"}
    if license_check:
        ready = [p for p in pods["istiod"] if p["phase"] == "Running" and p["ready"] and p["namespace"] == ns] or \
                [p for p in pods["istiod"] if p["phase"] == "Running" and p["ready"]]
        if not ready:
            license_info = {"status": "no_pod"}
        else:
            target = ready[0]
            path = "/api/v1/namespaces/%s/pods/%s:15014/proxy/debug/license" % (quote(target["namespace"]), quote(target["name"]))
            # A 5xx here is either the API server's own transient error or the proxy failing to reach istiod: ask again
            # before reporting it, so that one lost request does not fail the license check.
            for attempt in range(LICENSE_ATTEMPTS):
                status, body = api.get(path, parse=False, allow=(404, 500, 502, 503))
                if status not in (500, 502, 503):
                    break
                if attempt + 1 < LICENSE_ATTEMPTS:
                    time.sleep(LICENSE_RETRY_DELAY)
            if status == 404:
                license_info = {"status": "not_supported", "status_code": 404, "pod": target["name"]}
            elif body is None:
                license_info = {"status": "error", "error": "HTTP %s from %s" % (status, target["name"]), "pod": target["name"]}
            else:
                try:
                    data = json.loads(body)
                    license_info = {"status": "ok", "state": data.get("State"), "product": data.get("Product"), "pod": target["name"]}
                except (ValueError, AttributeError):
                    license_info = {"status": "error", "error": "unexpected /debug/license response", "pod": target["name"]}

    return {
        "cluster": cluster,
        "context": context,
        "istio_namespace": ns,
        "expected": {"network": expected_network, "trust_domain": expected_trust_domain},
        "namespaces": namespaces,
        "istiod_deployments": istiod,
        "ztunnel_daemonsets": ztunnel,
        "pods": pods,
        "pod_index": pod_index,
        "ambient": {"namespaces": ambient_ns, "pods": ambient_pods, "pod_namespaces": sorted(ambient_pod_ns)},
        "gateways": gateways,
        "eastwest_services": services,
        "workload_entries": {"total": len(entries), "autogenflat": autogenflat},
        "cacerts": cacerts,
        "istio_ca_root_cert": istio_ca_root_cert,
        "mesh_config": mesh,
        "spire": spire,
        "license": license_info,
        "missing": missing,
        "requests": api.requests,
        "request_log": api.log,
        "seconds": round(time.time() - start, 3),
    }


def for_each_cluster(names, work, attempts=1, delay=0, workers=None, sleep=time.sleep):
    """Run work(name) for every name in parallel threads, up to `attempts` times each until it returns without raising.

    The reads are network-bound, so threads overlap them in one process (one client import and one module start for the
    whole mesh). Returns {name: {"result": value, "attempts": n}} or {name: {"error": text, "attempts": n}}; one cluster's
    failure never stops the others.
    """
    from concurrent.futures import ThreadPoolExecutor

    attempts = max(1, int(attempts))

    def one(name):
        error = None
        for attempt in range(1, attempts + 1):
            try:
                return name, {"result": work(name), "attempts": attempt}
            except Exception as exc:  # pylint: disable=broad-exception-caught
                error = str(exc) or type(exc).__name__
            if attempt < attempts and delay:
                sleep(delay)
        return name, {"error": error, "attempts": attempts}

    names = list(names)
    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(names), workers or 16)) as pool:
        return dict(pool.map(one, names))
