"""Simulated SPIRE server (disk UpstreamAuthority validation, k8sbundle notifier), agent readiness, the
spire-controller-manager sidecar (ClusterSPIFFEID class filtering and status.stats) and the OIDC discovery provider's
readiness, for both the stand-in chart (tests/charts/spire) and the real spire 0.24.2 chart (config from a subPath mount,
the controller manager's relative --config path)."""

import base64
import json
import posixpath
import re

import yaml

from emulator.mesh import pki, spire_ca
from emulator.selectors import labels_match
from emulator.mesh.util import pod_ready, quietly, set_pod_readiness, set_status

SERVER_LABEL = "app.kubernetes.io/name=server"
AGENT_LABEL = "app.kubernetes.io/name=agent"
OIDC_LABEL = "app.kubernetes.io/name=spiffe-oidc-discovery-provider"
OIDC_CONTAINER = "spiffe-oidc-discovery-provider"
_self_signed = {}   # cluster name -> SPIRE's own self-signed root (no UpstreamAuthority)


def _container(pod, name):
    return next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == name), None)


def _mount_at(pod, container, path):
    """(volume, mount) of the pod volume mounted (by container) at path, or (None, None)."""
    for mount in (container or {}).get("volumeMounts") or []:
        if mount.get("mountPath", "").rstrip("/") == path.rstrip("/"):
            volume = next((v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name") == mount.get("name")), None)
            return volume, mount
    return None, None


def _volume_for(pod, container, path):
    """The pod volume mounted (by container) at path, or None."""
    return _mount_at(pod, container, path)[0]


def _configmap_text(cluster, pod, container, path):
    """(text, error) of a file path inside a configMap volume mount: the mount is the file's directory (the key is the
    file name), or the file itself (the key is the mount's subPath, e.g. the real chart's controller-manager config)."""
    directory, filename = posixpath.split(path)
    volume = _volume_for(pod, container, directory)
    if volume is None:
        volume, mount = _mount_at(pod, container, path)
        if mount is not None and mount.get("subPath"):
            filename = mount["subPath"]
    if not volume or "configMap" not in volume:
        return None, "open %s: no such file or directory" % path
    cm = cluster.get("v1", "ConfigMap", volume["configMap"].get("name"), pod["metadata"]["namespace"])
    if cm is None:
        return None, 'MountVolume.SetUp failed for volume "%s" : configmap "%s" not found' % (volume["name"], volume["configMap"].get("name"))
    text = (cm.get("data") or {}).get(filename)
    if text is None:
        return None, "open %s: no such file or directory" % path
    return text, None


def _secret_file(cluster, pod, container, path):
    """(bytes, error) of a file inside a Secret volume mount."""
    directory, filename = posixpath.split(path)
    volume = _volume_for(pod, container, directory)
    if not volume or "secret" not in volume:
        return None, "open %s: no such file or directory" % path
    name = volume["secret"].get("secretName")
    secret = cluster.get("v1", "Secret", name, pod["metadata"]["namespace"])
    if secret is None:
        return None, 'MountVolume.SetUp failed for volume "%s" : secret "%s" not found' % (volume["name"], name)
    value = (secret.get("data") or {}).get(filename)
    if value is None:
        return None, "open %s: no such file or directory" % path
    try:
        return base64.b64decode(value), None
    except ValueError:
        return b"", None


def _plugin(conf, kind):
    """(name, plugin_data) of the first plugin of a kind in a JSON server.conf."""
    entries = (conf.get("plugins") or {}).get(kind) or []
    if isinstance(entries, dict):
        entries = [entries]
    for entry in entries:
        for name, body in (entry or {}).items():
            return name, (body or {}).get("plugin_data") or {}
    return None, None


def evaluate_server(cluster, pod):
    """(ready, message, trust bundle certs, server conf) of a spire-server pod, validating like SPIRE 1.11's disk plugin."""
    container = _container(pod, "spire-server")
    args = container.get("args") or []
    conf_path = args[args.index("-config") + 1] if "-config" in args[:-1] else "/run/spire/config/server.conf"
    text, error = _configmap_text(cluster, pod, container, conf_path)
    if error:
        return False, error, [], {}
    try:
        conf = json.loads(text)
    except ValueError as exc:
        return False, "unable to parse %s: %s" % (conf_path, exc), [], {}
    name, data = _plugin(conf, "UpstreamAuthority")
    if name is None:
        if cluster.name not in _self_signed:
            _self_signed[cluster.name] = pki.make_ca("SPIRE self-signed root %s" % cluster.name)[0]
        return True, "", [_self_signed[cluster.name]], conf
    if name != "disk":
        return True, "", [], conf
    prefix = 'failed to configure plugin "disk": rpc error: code = InvalidArgument desc = '
    raw_key, error = _secret_file(cluster, pod, container, data.get("key_file_path", ""))
    if error:
        return False, error, [], conf
    key = pki.load_key(raw_key)
    if key is None:
        return False, prefix + "unable to load upstream CA key: no PEM private key found", [], conf
    raw_cert, error = _secret_file(cluster, pod, container, data.get("cert_file_path", ""))
    if error:
        return False, error, [], conf
    certs = pki.load_certs(raw_cert)
    if not certs:
        return False, prefix + "unable to load upstream CA cert: no PEM blocks", [], conf
    ca_cert = certs[0]
    if not data.get("bundle_file_path"):
        if len(certs) > 1:
            return False, prefix + "with no bundle_file_path configured only self-signed CAs are supported", [], conf
        bundle, intermediates = certs, []
    else:
        raw_bundle, error = _secret_file(cluster, pod, container, data["bundle_file_path"])
        if error:
            return False, error, [], conf
        bundle = pki.load_certs(raw_bundle)
        if not bundle:
            return False, prefix + "unable to load upstream CA bundle: no PEM blocks", [], conf
        intermediates = certs
    if not pki.key_matches(ca_cert, key):
        return False, prefix + "unable to load upstream CA: certificate and private key do not match", [], conf
    if not pki.verify(ca_cert, intermediates, bundle):
        return False, prefix + "unable to load upstream CA: certificate cannot be validated with the provided bundle or is not self signed", [], conf
    return True, "", bundle, conf


def reconcile_server_pod(cluster, pod):
    """Readiness of one spire-server pod; the k8sbundle notifier's ConfigMap when ready."""
    ready, message, bundle, conf = evaluate_server(cluster, pod)
    set_pod_readiness(cluster, pod, ready, "CrashLoopBackOff", message, "spire-server")
    bundle = spire_ca.published_bundle(cluster, pod, ready, conf, bundle)
    name, data = _plugin(conf, "Notifier")
    if ready and name == "k8sbundle" and bundle:
        namespace = data.get("namespace") or pod["metadata"]["namespace"]
        cm_name = data.get("config_map") or "spire-bundle"
        cm = cluster.get("v1", "ConfigMap", cm_name, namespace)
        text = "".join(pki.pem(c) for c in bundle)
        if cm is not None and (cm.get("data") or {}).get(data.get("config_map_key") or "bundle.crt") != text:
            cm.setdefault("data", {})[data.get("config_map_key") or "bundle.crt"] = text
            quietly(cluster.update, cm)
    return ready


def server_pods(cluster):
    """Pods that run a spire-server container."""
    return [p for p in cluster.list("v1", "Pod", label_selector=SERVER_LABEL) if _container(p, "spire-server")]


def reconcile_agent_pod(cluster, pod, servers_ready):
    """A spire-agent cannot attest (and crashes) while no SPIRE server of its namespace is ready."""
    if not _container(pod, "spire-agent"):
        return
    ready = servers_ready.get(pod["metadata"]["namespace"], False)
    set_pod_readiness(cluster, pod, ready, "CrashLoopBackOff",
                      "" if ready else "failed to attest: no SPIRE server ready (rpc error: code = Unavailable)", "spire-agent")


def _cm_config(cluster, pod):
    container = _container(pod, "spire-controller-manager")
    if container is None:
        return None
    args = container.get("args") or []
    path = next((a.split("=", 1)[1] for a in args if a.startswith("--config=")), "/controller-manager-config.yaml")
    text, error = _configmap_text(cluster, pod, container, posixpath.join("/", path))   # relative to the image's workdir, /
    if error:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return doc if isinstance(doc, dict) else None


def reconcile_cluster_spiffe_ids(cluster, config):
    """Set status.stats of the ClusterSPIFFEIDs this controller manager reconciles (SCM v0.6.0 reconcileClass)."""
    class_name = config.get("className") or ""
    watch_classless = bool(config.get("watchClassless"))
    ignored = [re.compile(p) for p in config.get("ignoreNamespaces") or []]
    namespaces = cluster.list("v1", "Namespace")
    pods = [p for p in cluster.list("v1", "Pod") if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and p["spec"].get("nodeName")]
    ids = [c for c in cluster.list("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID")
           if (not (c.get("spec") or {}).get("className") and watch_classless) or (c.get("spec") or {}).get("className") == class_name and class_name]
    selected = {}
    for csid in ids:
        spec = csid.get("spec") or {}
        ns_sel = [n for n in namespaces if labels_match(spec.get("namespaceSelector"), n["metadata"].get("labels"))]
        ns_ignored = [n for n in ns_sel if any(r.fullmatch(n["metadata"]["name"]) for r in ignored)]
        ns_names = {n["metadata"]["name"] for n in ns_sel} - {n["metadata"]["name"] for n in ns_ignored}
        chosen = [p for p in pods if p["metadata"]["namespace"] in ns_names and labels_match(spec.get("podSelector"), p["metadata"].get("labels"))]
        selected[csid["metadata"]["name"]] = (csid, len(ns_names), len(ns_ignored), {p["metadata"]["uid"] for p in chosen})
    regular = set()
    for csid, _n, _i, uids in selected.values():
        if not (csid.get("spec") or {}).get("fallback"):
            regular |= uids
    for csid, n_sel, n_ign, uids in selected.values():
        masked = len(uids & regular) if (csid.get("spec") or {}).get("fallback") else 0
        stats = {"namespacesSelected": n_sel, "namespacesIgnored": n_ign, "podsSelected": len(uids),
                 "podEntryRenderFailures": 0, "entryFailures": 0, "entriesMasked": masked, "entriesToSet": len(uids) - masked}
        status = dict(csid.get("status") or {}, stats=stats)
        set_status(cluster, csid, status)


def reconcile_oidc_pod(cluster, pod):
    """The real chart's spiffe-oidc-discovery-provider reads the Workload API of the node's agent (through the SPIFFE
    CSI driver): Ready only while a Ready spire-agent pod runs on its node."""
    if not _container(pod, OIDC_CONTAINER) or not pod["spec"].get("nodeName"):
        return
    node = pod["spec"]["nodeName"]
    ready = any(pod_ready(a) and a["spec"].get("nodeName") == node for a in cluster.list("v1", "Pod", label_selector=AGENT_LABEL)
                if _container(a, "spire-agent"))
    set_pod_readiness(cluster, pod, ready, "CrashLoopBackOff", "" if ready else
                      "the Workload API is unavailable: no ready spire-agent on node %s (simulated)" % node, OIDC_CONTAINER)


def reconcile(cluster):
    """Every SPIRE server pod, agent pod, OIDC discovery provider pod, and the controller managers of ready servers."""
    servers_ready = {}
    for pod in server_pods(cluster):
        ready = reconcile_server_pod(cluster, pod)
        namespace = pod["metadata"]["namespace"]
        servers_ready[namespace] = servers_ready.get(namespace, False) or ready
        if ready and cluster.registry.by_kind("spire.spiffe.io/v1alpha1", "ClusterSPIFFEID") is not None:
            config = _cm_config(cluster, pod)
            if config is not None:
                reconcile_cluster_spiffe_ids(cluster, config)
    for pod in cluster.list("v1", "Pod", label_selector=AGENT_LABEL):
        reconcile_agent_pod(cluster, pod, servers_ready)
    for pod in cluster.list("v1", "Pod", label_selector=OIDC_LABEL):
        reconcile_oidc_pod(cluster, pod)


def on_pod(cluster, pod):
    """A new/changed SPIRE pod gets its readiness at once (same write cascade: clients never see it flip)."""
    labels = pod["metadata"].get("labels") or {}
    if labels.get("app.kubernetes.io/name") == "server" and _container(pod, "spire-server"):
        reconcile_server_pod(cluster, pod)
    elif labels.get("app.kubernetes.io/name") == "agent" and _container(pod, "spire-agent"):
        ready = any(pod_ready(p) for p in server_pods(cluster) if p["metadata"]["namespace"] == pod["metadata"]["namespace"])
        reconcile_agent_pod(cluster, pod, {pod["metadata"]["namespace"]: ready})
    elif labels.get("app.kubernetes.io/name") == "spiffe-oidc-discovery-provider":
        reconcile_oidc_pod(cluster, pod)
