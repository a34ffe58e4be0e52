# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What versions a cluster runs, read-only: the ServiceMeshController, the Istio components and their pods, the Helm releases,
the roots in use and the peers; and whether expected versions are in use. PRIVATE to the collection.

About 10 GET requests per cluster. Nothing secret leaves a read: of the ``cacerts`` Secret only the certificates of
``root-cert.pem`` are counted, of a Helm release record only its chart name, version and app version (never its values).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import gzip
import json

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import RawApi
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import REMOTE_CLASS

VERSION_LABEL = "app.kubernetes.io/version"
# The annotation of the ServiceMeshController where an upgrade keeps the versions a cluster had (see _upgrade_rules).
RECORD_ANNOTATION = "upgrade.meshops.io/record"
SMC_PATH = "/apis/operator.gloo.solo.io/v1/servicemeshcontrollers"
# Istio components of an ambient install: workload kind, label selector.
COMPONENTS = (
    ("istiod", "deployments", "app=istiod"),
    ("ztunnel", "daemonsets", "app=ztunnel"),
    ("istio-cni", "daemonsets", "k8s-app=istio-cni-node"),
)
_COMPONENT_LABELS = {"istiod": ("app", "istiod"), "ztunnel": ("app", "ztunnel"), "istio-cni": ("k8s-app", "istio-cni-node")}
CERT_BEGIN = "-----BEGIN CERTIFICATE-----"
_IMAGE_SUFFIXES = ("-solo", "-distroless", "-debug")


def _meta(obj):
    return (obj or {}).get("metadata") or {}


def _items(doc):
    return (doc or {}).get("items") or []


def istio_version_of(version):
    """The Istio version of an image tag or label: 1.26.1-patch0-solo -> 1.26.1-patch0 (the -solo, -distroless flavours dropped)."""
    version = str(version or "")
    changed = True
    while changed:
        changed = False
        for suffix in _IMAGE_SUFFIXES:
            if version.endswith(suffix):
                version = version[:-len(suffix)]
                changed = True
    return version


def image_tag(pod_spec):
    """The tag of the first container's image, or ''."""
    containers = (pod_spec or {}).get("containers") or []
    image = (containers[0].get("image") or "") if containers else ""
    last = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.rsplit(":", 1)[-1] if ":" in last else ""


def version_of(obj, pod_spec):
    """The Istio version a pod or a workload template runs: its version label, else its image tag."""
    return istio_version_of((_meta(obj).get("labels") or {}).get(VERSION_LABEL) or image_tag(pod_spec))


def pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def pod_reason(pod):
    """Why a pod is not ready: the waiting reason and last termination message of its first container that has one."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            message = ((status.get("lastState") or {}).get("terminated") or {}).get("message") or waiting.get("message")
            return "%s%s" % (waiting["reason"], (": %s" % message) if message else "")
    return (pod.get("status") or {}).get("phase") or "not ready"


def count_certificates(pem):
    return (pem or "").count(CERT_BEGIN)


def _env(pod_spec, name):
    for container in (pod_spec or {}).get("containers") or []:
        for item in container.get("env") or []:
            if item.get("name") == name and "value" in item:
                return item.get("value")
    return None


def component_state(kind, workloads, pods):
    """One Istio component: the versions its workloads roll out, its pods per version, and whether the rollout is complete."""
    templates = []
    desired = 0
    complete = True
    for workload in workloads:
        template = (workload.get("spec") or {}).get("template") or {}
        templates.append(version_of(template, template.get("spec")))
        status = workload.get("status") or {}
        if kind == "deployments":
            want = int((workload.get("spec") or {}).get("replicas", 1) or 0)
            updated = int(status.get("updatedReplicas") or 0)
            ready = int(status.get("readyReplicas") or 0)
            total = int(status.get("replicas") or 0)
        else:
            want = int(status.get("desiredNumberScheduled") or 0)
            updated = int(status.get("updatedNumberScheduled") or 0)
            ready = int(status.get("numberReady") or 0)
            total = int(status.get("currentNumberScheduled") or 0)
        desired += want
        observed = int(status.get("observedGeneration") or 0) >= int(_meta(workload).get("generation") or 0)
        if not (observed and updated >= want and ready >= want and total <= want):
            complete = False
    by_version = {}
    for pod in pods:
        if _meta(pod).get("deletionTimestamp"):
            continue
        version = version_of(pod, pod.get("spec"))
        entry = by_version.setdefault(version, {"pods": 0, "ready": 0, "not_ready": []})
        entry["pods"] += 1
        if pod_ready(pod):
            entry["ready"] += 1
        else:
            entry["not_ready"].append("%s (%s)" % (_meta(pod).get("name"), pod_reason(pod)))
    return {"present": bool(workloads), "template_versions": sorted(set(v for v in templates if v)), "desired": desired,
            "rollout_complete": complete and bool(workloads), "pods": by_version,
            "versions": sorted(by_version) if by_version else sorted(set(v for v in templates if v))}


def decode_release(secret):
    """(name, chart, version, app_version) of a Helm release Secret; the release's values are dropped unread."""
    raw = ((secret or {}).get("data") or {}).get("release")
    if not raw:
        return None
    try:
        payload = base64.b64decode(base64.b64decode(raw))
        if payload[:2] == b"\x1f\x8b":
            payload = gzip.decompress(payload)
        record = json.loads(payload.decode("utf-8"))
    except (ValueError, TypeError, OSError, UnicodeDecodeError):
        return None
    metadata = ((record.get("chart") or {}).get("metadata") or {})
    result = {"chart": metadata.get("name"), "version": metadata.get("version"), "app_version": metadata.get("appVersion")}
    del record
    return result


def helm_release_state(secrets):
    """The latest revision of a release and its last deployed one, from its release Secrets (labels name, status, version)."""
    revisions = []
    for secret in secrets:
        labels = _meta(secret).get("labels") or {}
        try:
            revisions.append((int(labels.get("version") or 0), labels.get("status") or "", secret))
        except ValueError:
            continue
    if not revisions:
        return None
    revisions.sort(key=lambda item: item[0])
    latest = revisions[-1]
    state = {"revision": latest[0], "status": latest[1]}
    state.update(decode_release(latest[2]) or {})
    deployed = [item for item in revisions if item[1] == "deployed"]
    if deployed:
        last = deployed[-1]
        state["deployed_revision"] = last[0]
        state["deployed_version"] = state.get("version") if last[0] == latest[0] else (decode_release(last[2]) or {}).get("version")
    else:
        state["deployed_revision"] = None
        state["deployed_version"] = None
    return state


def parse_record(annotations):
    """The upgrade record kept in the ServiceMeshController's annotation, or None."""
    text = (annotations or {}).get(RECORD_ANNOTATION)
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return {"invalid": True}
    return record if isinstance(record, dict) else {"invalid": True}


def read_versions(api_client, cluster_name=None, context=None, istio_namespace="istio-system", spire_namespace="spire-server",
                  smc_name="managed-istio", releases=(), timeout=30):
    """Everything an upgrade needs to know about one cluster (see the module RETURN of mesh_versions_info)."""
    api = RawApi(api_client, cluster_name or context or "(current context)", timeout)
    ns = quote(istio_namespace)
    status, doc = api.get(SMC_PATH)
    smcs = _items(doc)
    smc = next((s for s in smcs if _meta(s).get("name") == smc_name), None)
    smc_state = {"name": smc_name, "present": smc is not None, "crd": status != 404}
    if smc is not None:
        smc_state.update(version=str(((smc.get("spec") or {}).get("version")) or ""), record=parse_record(_meta(smc).get("annotations")),
                         phase=((smc.get("status") or {}).get("phase")))
    dummy, doc = api.get("/api/v1/namespaces/%s/pods" % ns)
    pods = _items(doc)
    istio = {}
    multiroot_env = False
    for name, kind, selector in COMPONENTS:
        dummy, doc = api.get("/apis/apps/v1/namespaces/%s/%s" % (ns, kind), {"labelSelector": selector})
        workloads = _items(doc)
        key, value = _COMPONENT_LABELS[name]
        own = [p for p in pods if (_meta(p).get("labels") or {}).get(key) == value]
        istio[name] = component_state(kind, workloads, own)
        if name == "istiod":
            multiroot_env = any(str(_env(((w.get("spec") or {}).get("template") or {}).get("spec"), "ISTIO_MULTIROOT_MESH")).lower() == "true"
                                for w in workloads)
    dummy, secret = api.get("/api/v1/namespaces/%s/secrets/cacerts" % ns)
    cacerts_roots = None
    if secret is not None:
        data = secret.get("data") or {}
        root = data.get("root-cert.pem") or data.get("ca.crt")
        try:
            cacerts_roots = count_certificates(base64.b64decode(root).decode("utf-8", "replace")) if root else 0
        except (ValueError, TypeError):
            cacerts_roots = 0
    secret = None
    dummy, cm = api.get("/api/v1/namespaces/%s/configmaps/istio-ca-root-cert" % ns)
    root_cm = count_certificates(((cm or {}).get("data") or {}).get("root-cert.pem")) if cm is not None else None
    dummy, cm = api.get("/api/v1/namespaces/%s/configmaps/spire-bundle" % quote(spire_namespace))
    spire_bundle = count_certificates(((cm or {}).get("data") or {}).get("bundle.crt")) if cm is not None else None
    status, doc = api.get("/apis/gateway.networking.k8s.io/v1/gateways")
    peers = sum(1 for g in _items(doc) if ((g.get("spec") or {}).get("gatewayClassName")) == REMOTE_CLASS)
    helm = {}
    for release in releases:
        dummy, doc = api.get("/api/v1/namespaces/%s/secrets" % quote(release["namespace"]),
                             {"labelSelector": "owner=helm,name=%s" % release["name"]})
        state = helm_release_state(_items(doc))
        doc = None
        key = "%s/%s" % (release["namespace"], release["name"])
        helm[key] = dict(state, present=True) if state else {"present": False}
    return {"cluster": cluster_name or context, "smc": smc_state, "istio": istio, "helm": helm,
            "roots": {"cacerts": cacerts_roots, "istio_ca_root_cert": root_cm, "spire_bundle": spire_bundle},
            "multiroot_env": multiroot_env, "peers": peers, "requests": api.requests}


def several_roots(read):
    """Whether this cluster trusts several roots (a CA rotation in progress or done): any root store holds more than one."""
    roots = read.get("roots") or {}
    return bool(read.get("multiroot_env")) or any((count or 0) > 1 for count in roots.values())


def _same_version(found, wanted):
    """A version in use equals the wanted one; '1.26.1' matches '1.26.1' and the '-solo' flavour of its images."""
    return istio_version_of(found) == istio_version_of(wanted)


def _grouped(not_ready):
    """'<reason>: <pod>[, <pod> and N more]' per reason, from '<pod> (<reason>)' items."""
    by_reason = {}
    order = []
    for item in not_ready:
        name, dummy, reason = item.partition(" (")
        reason = reason[:-1] if reason.endswith(")") else reason
        if reason not in by_reason:
            order.append(reason)
            by_reason[reason] = []
        by_reason[reason].append(name)
    parts = []
    for reason in order:
        names = by_reason[reason]
        parts.append("%s: %s%s" % (reason, ", ".join(names[:2]), " and %d more" % (len(names) - 2) if len(names) > 2 else ""))
    return "; ".join(parts)


def in_use_problems(read, expect):
    """What keeps the expected versions from being in use on this cluster ([] when they all are).

    expect: {"istio": version (optional), "releases": {"<namespace>/<release>": chart version}}. Istio is in use when the
    ServiceMeshController asks for it and every istiod, ztunnel and istio-cni pod runs it, Ready, with each rollout complete.
    A release is in use when its last revision is deployed with that chart version.
    """
    problems = []
    wanted = (expect or {}).get("istio")
    if wanted:
        smc = read.get("smc") or {}
        if not smc.get("present"):
            problems.append("ServiceMeshController %s not found" % smc.get("name"))
        elif not _same_version(smc.get("version"), wanted):
            problems.append("ServiceMeshController %s asks for %s, not %s" % (smc.get("name"), smc.get("version"), wanted))
        for name, dummy, dummy2 in COMPONENTS:
            state = (read.get("istio") or {}).get(name) or {}
            if not state.get("present"):
                problems.append("%s: no workload found" % name)
                continue
            pods = state.get("pods") or {}
            own = dict((v, p) for v, p in pods.items() if _same_version(v, wanted))
            others = sorted(v for v in pods if not _same_version(v, wanted))
            ready = sum(p["ready"] for p in own.values())
            total = sum(p["pods"] for p in own.values())
            not_ready = [item for p in own.values() for item in p["not_ready"]]
            if not own or ready < total or not_ready:
                detail = _grouped(not_ready)
                problems.append("%s: %d/%d pods at %s Ready%s" % (name, ready, total, wanted, (" (%s)" % detail) if detail else ""))
            elif others:
                problems.append("%s: pods still at %s" % (name, ", ".join(others)))
            elif not state.get("rollout_complete"):
                problems.append("%s: rollout to %s not complete (%d desired)" % (name, wanted, state.get("desired") or 0))
    for key, version in sorted(((expect or {}).get("releases") or {}).items()):
        state = (read.get("helm") or {}).get(key) or {}
        if not state.get("present"):
            problems.append("Helm release %s not found" % key)
        elif state.get("status") != "deployed":
            problems.append("Helm release %s: last revision %s is %s (chart %s-%s)" % (
                key, state.get("revision"), state.get("status"), state.get("chart"), state.get("version")))
        elif str(state.get("version")) != str(version):
            problems.append("Helm release %s runs chart version %s, not %s" % (key, state.get("version"), version))
    return problems
