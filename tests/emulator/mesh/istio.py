"""Simulated Gloo Operator (ServiceMeshController -> istiod-gloo, ztunnel, istio-cni, mesh config) and the parts of
istiod that write objects: istio-ca-root-cert ConfigMaps, built-in GatewayClasses, east-west gateway deployments."""

import base64

import yaml

from emulator.errors import ApiError
from emulator.mesh import pki
from emulator.mesh.versions import image_version, istio_labels
from emulator.mesh.util import condition, ensure, owner_ref, pod_ready, quietly, served, set_pod_readiness, set_status

SIMULATED = "emulator.meshops/simulated"   # marks what the simulated operator installed: only that is simulated
NETWORK_LABEL = "topology.istio.io/network"
CLUSTER_LABEL = "topology.istio.io/cluster"
SMC = ("operator.gloo.solo.io/v1", "ServiceMeshController")
GATEWAY = "gateway.networking.k8s.io/v1"
ROOT_CERT_EXCLUDED = ("kube-public", "kube-node-lease", "local-path-storage")
DEFAULT_ADMIN_SOCK = "/run/spire/agent/sockets/csi.spiffe.io/admin"
REPLICAS = {"Demo": 1, "Default": 2, "Large": 3}
ISTIO_CRDS = (("workloadentries", "WorkloadEntry", ["we"]), ("serviceentries", "ServiceEntry", ["se"]),
              ("workloadgroups", "WorkloadGroup", ["wg"]), ("destinationrules", "DestinationRule", ["dr"]),
              ("peerauthentications", "PeerAuthentication", ["pa"]), ("authorizationpolicies", "AuthorizationPolicy", ["ap"]))
_self_signed = {}   # cluster name -> (cert, key) of istiod's self-signed CA
# the update strategies of the Istio charts (kubectl rollout status needs one; the emulator does not default them)
ROLLING = {"istiod": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
           "ztunnel": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
           "istio-cni": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}


def env_of(container):
    """{name: value} of a container's env (valueFrom entries map to None)."""
    return {e["name"]: e.get("value") for e in (container or {}).get("env") or []}


def discovery_container(deployment):
    """The `discovery` container of an istiod Deployment (or None)."""
    containers = ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    return next((c for c in containers if c.get("name") == "discovery"), None)


def _values(text):
    try:
        doc = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _crd(group, plural, kind, short_names, versions):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group), "labels": {"app": "istio-pilot", "chart": "istio"}},
            "spec": {"group": group, "scope": "Namespaced", "names": {
                "kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List", "shortNames": short_names,
                "categories": ["istio-io", "networking-istio-io"]},
                "versions": [{"name": v, "served": True, "storage": i == 0, "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
                             for i, v in enumerate(versions)]}}


# ---- Gloo Operator -----------------------------------------------------------------------------------------------
def operator(cluster):
    """(namespace, env) of a ready gloo-operator Deployment, or None."""
    for dep in cluster.list("apps/v1", "Deployment", label_selector="app.kubernetes.io/name=gloo-operator"):
        if (dep.get("status") or {}).get("readyReplicas"):
            containers = dep["spec"]["template"]["spec"].get("containers") or []
            return dep["metadata"]["namespace"], env_of(containers[0] if containers else {})
    return None


# Mesh settings, per cluster (POST /_emulator/mesh/settings; unlike the faults, clearing the faults keeps them):
#   operator_enables_peering_discovery: the simulated operator sets ENABLE_PEERING_DISCOVERY=true on istiod by itself, as
#       it did before the collection set it (whether the real operator does is NOT CONFIRMED). Default: false, istiod
#       gets it only from the istiod values of gloo-extensions-config (pilot.env).
SETTINGS = {"operator_enables_peering_discovery": bool}


def check_settings(body):
    """Validate a settings body (ApiError 400)."""
    if not isinstance(body, dict) or not set(body) <= set(SETTINGS):
        raise ApiError(400, "unknown mesh setting(s); known: %s" % ", ".join(sorted(SETTINGS)))
    for key, value in body.items():
        if value is not None and not isinstance(value, SETTINGS[key]):
            raise ApiError(400, "mesh setting %s must be a %s" % (key, SETTINGS[key].__name__))


def reconcile_operator(cluster, faults, settings=None):
    """Reconcile every ServiceMeshController when the operator runs."""
    if not served(cluster, *SMC):
        return
    found = operator(cluster)
    if found is None:
        return
    op_ns, op_env = found
    for smc in cluster.list(*SMC):
        reconcile_smc(cluster, smc, op_ns, op_env, faults, settings or {})


def pilot_env(istiod_values):
    """[{name, value}] of the istiod chart's pilot.env values, as the chart renders them (strings; booleans lowercase)."""
    env = (istiod_values.get("pilot") or {}).get("env") or {}
    if not isinstance(env, dict):
        return []
    return [{"name": str(name), "value": str(value).lower() if isinstance(value, bool) else str(value)}
            for name, value in env.items() if value is not None]


def merge_env(env, extra):
    """env with the entries of extra replacing same-named ones (appended otherwise)."""
    names = {e["name"] for e in extra}
    return [e for e in env if e["name"] not in names] + list(extra)


def reconcile_smc(cluster, smc, op_ns, op_env, faults, settings):  # pylint: disable=too-many-locals,too-many-statements,too-many-arguments
    """Install what the SMC asks for; NOT CONFIRMED mapping documented in README.md."""
    spec = smc.get("spec") or {}
    ns = spec.get("installNamespace") or "istio-system"
    cluster_id = spec.get("cluster") or "Kubernetes"
    network = spec.get("network") or ""
    version = spec.get("version") or "1.27.0"
    trust_domain = spec.get("trustDomain") or "cluster.local"
    ext = cluster.get("v1", "ConfigMap", "gloo-extensions-config", op_ns)
    ext_data = (ext or {}).get("data") or {}
    ztunnel_values = _values(ext_data.get("values.istio-ztunnel"))
    istiod_values = _values(ext_data.get("values.istiod"))
    owner = [owner_ref(smc)]
    labels = {"app.kubernetes.io/managed-by": "gloo-operator", "operator.gloo.solo.io/servicemeshcontroller": smc["metadata"]["name"],
              **istio_labels(version)}
    ns_obj = cluster.get("v1", "Namespace", ns)
    ns_labels = {}
    if network:
        ns_labels[NETWORK_LABEL] = ("broken-" + network) if faults.get("break_network_label") else network
    if ns_obj is None:
        quietly(cluster.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": ns_labels}})
    elif ns_labels and any((ns_obj["metadata"].get("labels") or {}).get(k) != v for k, v in ns_labels.items()):
        quietly(cluster.patch, "v1", "Namespace", ns, {"metadata": {"labels": ns_labels}})
    for plural, kind, short in ISTIO_CRDS:
        if cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "%s.networking.istio.io" % plural) is None:
            versions = ["v1", "v1beta1", "v1alpha3"] if kind != "WorkloadGroup" else ["v1", "v1beta1", "v1alpha3"]
            group = "security.istio.io" if kind in ("PeerAuthentication", "AuthorizationPolicy") else "networking.istio.io"
            if cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "%s.%s" % (plural, group)) is None:
                quietly(cluster.create, _crd(group, plural, kind, short, versions if group == "networking.istio.io" else ["v1", "v1beta1"]))
    for sa in ("istiod-gloo", "ztunnel", "istio-cni"):
        ensure(cluster, {"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": sa, "namespace": ns, "labels": labels, "ownerReferences": owner}})
    mesh = {"trustDomain": trust_domain, "rootNamespace": ns, "enablePrometheusMerge": True,
            "defaultConfig": {"discoveryAddress": "istiod-gloo.%s.svc:15012" % ns, "proxyMetadata": {"ISTIO_META_DNS_CAPTURE": "true"}}}
    ensure(cluster, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "istio-gloo", "namespace": ns, "labels": dict(labels, **{"istio.io/rev": "gloo", "app": "istiod"}), "ownerReferences": owner},
        "data": {"mesh": yaml.safe_dump(mesh, sort_keys=True), "meshNetworks": "networks: {}\n"}})
    env = [{"name": "REVISION", "value": "gloo"}, {"name": "CLUSTER_ID", "value": cluster_id},
           {"name": "PILOT_ENABLE_AMBIENT", "value": str(spec.get("dataplaneMode", "Ambient") == "Ambient").lower()}]
    if settings.get("operator_enables_peering_discovery"):
        env.append({"name": "ENABLE_PEERING_DISCOVERY", "value": "true"})
    if op_env.get("SOLO_ISTIO_LICENSE_KEY"):
        env.append({"name": "SOLO_LICENSE_KEY", "value": op_env["SOLO_ISTIO_LICENSE_KEY"]})
    if op_env.get("SOLO_ISTIO_LICENSE_KEY_SECRET_REF"):
        env.append({"name": "SOLO_LICENSE_SECRET", "value": op_env["SOLO_ISTIO_LICENSE_KEY_SECRET_REF"]})
    if (istiod_values.get("gateways") or {}).get("spire", {}).get("workloads"):
        env.append({"name": "SPIRE_WORKLOADS", "value": "true"})
    env = apply_env_faults(merge_env(env, pilot_env(istiod_values)), faults)
    image_tag = version if version.endswith("-solo") else version + "-solo"
    pod_labels = {"app": "istiod", "istio": "pilot", "istio.io/rev": "gloo", "sidecar.istio.io/inject": "false", **istio_labels(version)}
    ensure(cluster, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "istiod-gloo", "namespace": ns, "labels": dict(labels, app="istiod", istio="pilot", **{"istio.io/rev": "gloo"}),
        "annotations": {SIMULATED: "true"}, "ownerReferences": owner},
        "spec": {"replicas": REPLICAS.get(spec.get("scalingProfile") or "Default", 2),
                 "selector": {"matchLabels": {"app": "istiod", "istio.io/rev": "gloo"}}, "strategy": ROLLING["istiod"],
                 "template": {"metadata": {"labels": pod_labels, "annotations": {SIMULATED: "true"}}, "spec": {
                     "serviceAccountName": "istiod-gloo",
                     "containers": [{"name": "discovery", "image": "us-docker.pkg.dev/gloo-mesh/istio/pilot:%s" % image_tag,
                                     "args": ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info"],
                                     "ports": [{"containerPort": p, "protocol": "TCP"} for p in (8080, 15010, 15012, 15014, 15017)],
                                     "env": env,
                                     "volumeMounts": [{"name": "cacerts", "mountPath": "/etc/cacerts", "readOnly": True}]}],
                     "volumes": [{"name": "cacerts", "secret": {"secretName": "cacerts", "optional": True}}]}}}})
    ensure(cluster, {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "istiod-gloo", "namespace": ns, "labels": dict(labels, app="istiod", istio="pilot", **{"istio.io/rev": "gloo"}),
        "ownerReferences": owner},
        "spec": {"type": "ClusterIP", "selector": {"app": "istiod", "istio.io/rev": "gloo"}, "ports": [
            {"name": n, "port": p, "targetPort": t, "protocol": "TCP"}
            for n, p, t in (("grpc-xds", 15010, 15010), ("https-dns", 15012, 15012), ("https-webhook", 443, 15017), ("http-monitoring", 15014, 15014))]}})
    spire = bool((ztunnel_values.get("spire") or {}).get("enabled"))
    z_env = [{"name": "CLUSTER_ID", "value": cluster_id}, {"name": "NETWORK", "value": network},
             {"name": "TRUST_DOMAIN", "value": trust_domain}, {"name": "REVISION", "value": "gloo"}]
    mounts, volumes = [{"name": "cni-ztunnel-sock-dir", "mountPath": "/var/run/ztunnel"}], [
        {"name": "cni-ztunnel-sock-dir", "hostPath": {"path": "/var/run/ztunnel", "type": "DirectoryOrCreate"}}]
    if spire:
        z_env += [{"name": "SPIRE_ENABLED", "value": "true"}, {"name": "CA_ADDRESS", "value": "unix:///var/run/spire/admin.sock"}]
        sock = (ztunnel_values.get("spire") or {}).get("adminSockHostPath") or DEFAULT_ADMIN_SOCK
        mounts += [{"name": "spire-admin-socket", "mountPath": "/var/run/spire"}, {"name": "host-proc", "mountPath": "/host/proc", "readOnly": True}]
        volumes += [{"name": "spire-admin-socket", "hostPath": {"path": sock, "type": "DirectoryOrCreate"}},
                    {"name": "host-proc", "hostPath": {"path": "/proc", "type": "Directory"}}]
    else:
        z_env.append({"name": "CA_ADDRESS", "value": "istiod-gloo.%s.svc:15012" % ns})
    ensure(cluster, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {
        "name": "ztunnel", "namespace": ns, "labels": dict(labels, app="ztunnel"), "ownerReferences": owner},
        "spec": {"selector": {"matchLabels": {"app": "ztunnel"}}, "updateStrategy": ROLLING["ztunnel"], "template": {
            "metadata": {"labels": {"app": "ztunnel", "sidecar.istio.io/inject": "false", "istio.io/dataplane-mode": "none",
                                    **istio_labels(version)},
                         "annotations": {SIMULATED: "true"}},
            "spec": {"serviceAccountName": "ztunnel", "containers": [{
                "name": "istio-proxy", "image": "us-docker.pkg.dev/gloo-mesh/istio/ztunnel:%s" % image_tag, "args": ["proxy", "ztunnel"],
                "env": z_env, "volumeMounts": mounts, "securityContext": {"privileged": spire}}], "volumes": volumes}}}})
    ensure(cluster, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {
        "name": "istio-cni-node", "namespace": ns, "labels": dict(labels, **{"k8s-app": "istio-cni-node"}), "ownerReferences": owner},
        "spec": {"selector": {"matchLabels": {"k8s-app": "istio-cni-node"}}, "updateStrategy": ROLLING["istio-cni"], "template": {
            "metadata": {"labels": {"k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false", **istio_labels(version)}},
            "spec": {"serviceAccountName": "istio-cni", "containers": [{
                "name": "install-cni", "image": "us-docker.pkg.dev/gloo-mesh/istio/install-cni:%s" % image_tag,
                "env": [{"name": "AMBIENT_ENABLED", "value": "true"}]}]}}}})
    smc_status(cluster, smc, ns)


def apply_env_faults(env, faults):
    """Env overrides of the mesh faults (ENABLE_PEERING_DISCOVERY, PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES, istiod_env)."""
    env = [dict(e) for e in env]
    named = (("enable_peering_discovery", "ENABLE_PEERING_DISCOVERY"), ("k8s_select_workload_entries", "PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES"))
    forced = [(key, name, faults.get(key)) for key, name in named]
    forced += [("istiod_env", name, value) for name, value in sorted((faults.get("istiod_env") or {}).items())]
    for _key, name, value in forced:
        if value is None:
            continue
        value = str(value).lower() if isinstance(value, bool) else str(value)
        item = next((e for e in env if e["name"] == name), None)
        if item is None:
            env.append({"name": name, "value": value})
        else:
            item.clear()
            item.update(name=name, value=value)
    return env


def smc_status(cluster, smc, ns):
    """Conditions and phase of an SMC from what runs (NOT CONFIRMED names, see README.md)."""
    dep = cluster.get("apps/v1", "Deployment", "istiod-gloo", ns) or {}
    ready_cp = bool(dep) and (dep.get("status") or {}).get("readyReplicas", 0) >= (dep.get("spec") or {}).get("replicas", 1)
    parts = [("ControlPlaneDeployed", ready_cp, "istiod-gloo")]
    for name, ctype in (("ztunnel", "ZtunnelDeployed"), ("istio-cni-node", "CNIDeployed")):
        ds = cluster.get("apps/v1", "DaemonSet", name, ns) or {}
        st = ds.get("status") or {}
        parts.append((ctype, bool(ds) and st.get("desiredNumberScheduled", 0) > 0 and st.get("numberReady", 0) == st.get("desiredNumberScheduled"), name))
    old = (smc.get("status") or {}).get("conditions")
    gen = smc["metadata"].get("generation")
    conds = [condition(old, t, "True" if ok else "False", "Deployed" if ok else "Pending",
                       "%s is ready" % what if ok else "waiting for %s to become ready" % what, gen) for t, ok, what in parts]
    ready = all(ok for _t, ok, _w in parts)
    conds.append(condition(old, "Ready", "True" if ready else "False", "Ready" if ready else "Pending",
                           "all components are ready" if ready else "some components are not ready", gen))
    set_status(cluster, smc, {"observedGeneration": gen, "phase": "SUCCEEDED" if ready else "PENDING", "conditions": conds})


# ---- istiod ------------------------------------------------------------------------------------------------------
def istiod_deployments(cluster):
    """Deployments labelled app=istiod that the simulated operator installed (others are left alone)."""
    return [d for d in cluster.list("apps/v1", "Deployment", label_selector="app=istiod")
            if (d["metadata"].get("annotations") or {}).get(SIMULATED) == "true"]


def istiod_ready(cluster):
    """Whether some simulated istiod pod is Ready (istiod 'runs')."""
    return any(pod_ready(p) for p in cluster.list("v1", "Pod", label_selector="app=istiod")
               if (p["metadata"].get("annotations") or {}).get(SIMULATED) == "true")


def self_signed_ca(cluster, ns):
    """(cert, key) of istiod's self-signed CA (no cacerts plugged in), kept in Secret istio-ca-secret."""
    if cluster.name not in _self_signed:
        _self_signed[cluster.name] = pki.make_ca("Istio self-signed CA %s" % cluster.name, pathlen=None)
    cert, key = _self_signed[cluster.name]
    if cluster.get("v1", "Secret", "istio-ca-secret", ns) is None:
        quietly(cluster.create, {"apiVersion": "v1", "kind": "Secret", "type": "istio.io/ca-root", "metadata": {"name": "istio-ca-secret", "namespace": ns},
                                 "data": {k: base64.b64encode(v.encode()).decode() for k, v in (
                                     ("ca-cert.pem", pki.pem(cert)), ("ca-key.pem", pki.key_pem(key)), ("cert-chain.pem", ""), ("root-cert.pem", ""))}})
    return cert, key


def ca_material(cluster, ns):
    """(root PEM, ca-cert PEM, cert-chain PEM, plugged) of istiod's CA: Secret cacerts, else a self-signed CA (istio-ca-secret)."""
    secret = cluster.get("v1", "Secret", "cacerts", ns)
    data = (secret or {}).get("data") or {}

    def text(key):
        try:
            return base64.b64decode(data.get(key) or "").decode()
        except ValueError:
            return ""
    if secret is not None:
        if "ca-cert.pem" in data or "root-cert.pem" in data:
            return text("root-cert.pem"), text("ca-cert.pem"), text("cert-chain.pem"), True
        return text("ca.crt"), text("tls.crt"), text("tls.crt"), True
    cert, _key = self_signed_ca(cluster, ns)
    return pki.pem(cert), pki.pem(cert), "", False


def istiod_root_cert(cluster, ns):
    """The root-cert.pem the running istiod holds (trust model: what it loaded and accepted, fact 4), else the Secret's."""
    mesh = getattr(cluster.emulator, "mesh", None)
    held = mesh.trust.istiod_root_pem(cluster) if mesh is not None else None
    return held if held is not None else ca_material(cluster, ns)[0]


def reconcile_root_cert(cluster, ns):
    """istio-ca-root-cert in every namespace but the excluded ones (istiod's NamespaceController)."""
    root = istiod_root_cert(cluster, ns)
    for namespace in cluster.list("v1", "Namespace"):
        name = namespace["metadata"]["name"]
        if name in ROOT_CERT_EXCLUDED:
            continue
        ensure(cluster, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "istio-ca-root-cert", "namespace": name, "labels": {"istio.io/config": "true"}}, "data": {"root-cert.pem": root}})


GATEWAY_CLASSES = (("istio", "istio.io/gateway-controller"), ("istio-waypoint", "istio.io/mesh-controller"),
                   ("istio-remote", "istio.io/unmanaged-gateway"), ("istio-eastwest", "istio.io/eastwest-controller"))


def reconcile_gateway_classes(cluster):
    """istiod creates its built-in GatewayClasses once the Gateway API CRDs exist."""
    if not served(cluster, GATEWAY, "GatewayClass"):
        return
    for name, controller in GATEWAY_CLASSES:
        current = ensure(cluster, {"apiVersion": GATEWAY, "kind": "GatewayClass", "metadata": {"name": name},
                                   "spec": {"controllerName": controller, "description": "The %s GatewayClass" % name}})
        if current is not None:
            old = (current.get("status") or {}).get("conditions")
            set_status(cluster, current, {"conditions": [condition(old, "Accepted", "True", "Accepted", "Handled by Istio controller",
                                                                   current["metadata"].get("generation"))]})


def reconcile_eastwest(cluster, gw, proxy_tag="solo"):
    """Deployment, Service (LoadBalancer) and ServiceAccount for an istio-eastwest Gateway, and its status; the proxy
    image follows istiod's version (proxy_tag), so an upgrade rolls the gateway."""
    meta = gw["metadata"]
    name, ns = meta["name"], meta["namespace"]
    infra = ((gw.get("spec") or {}).get("infrastructure") or {})
    labels = dict(meta.get("labels") or {}, **(infra.get("labels") or {}))
    labels.update({"gateway.networking.k8s.io/gateway-name": name, "gateway.networking.k8s.io/gateway-class-name": "istio-eastwest",
                   "gateway.istio.io/managed": "istio.io-eastwest-controller"})
    owner = [owner_ref(gw)]
    pod_labels = dict(labels, **{"service.istio.io/canonical-name": name, "service.istio.io/canonical-revision": "latest",
                                 "istio.io/gateway-name": name, "istio.io/dataplane-mode": "none", "sidecar.istio.io/inject": "false"})
    listeners = (gw.get("spec") or {}).get("listeners") or []
    ports = [{"name": "status-port", "port": 15021, "targetPort": 15021, "protocol": "TCP"}]
    ports += [{"name": li.get("name") or "p%s" % li.get("port"), "port": li.get("port"), "targetPort": li.get("port"), "protocol": "TCP"}
              for li in listeners if li.get("port")]
    ensure(cluster, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owner}})
    ensure(cluster, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owner},
                     "spec": {"replicas": 1, "selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": name}},
                              "template": {"metadata": {"labels": pod_labels}, "spec": {"serviceAccountName": name, "containers": [
                                  {"name": "istio-proxy", "image": "us-docker.pkg.dev/gloo-mesh/istio/proxyv2:%s" % proxy_tag,
                                   "args": ["proxy", "waypoint"], "ports": [{"containerPort": p["port"]} for p in ports]}]}}}})
    annotations = meta.get("annotations") or {}
    svc_meta = {"name": name, "namespace": ns, "labels": labels, "ownerReferences": owner}
    if annotations.get("istio.io/expose-istiod-address"):
        svc_meta["annotations"] = {"istio.io/expose-istiod-address": annotations["istio.io/expose-istiod-address"]}
    svc = ensure(cluster, {"apiVersion": "v1", "kind": "Service", "metadata": svc_meta,
                           "spec": {"type": "LoadBalancer", "selector": {"gateway.networking.k8s.io/gateway-name": name}, "ports": ports}})
    ingress = (((svc or {}).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [{"type": "IPAddress", "value": i["ip"]} if i.get("ip") else {"type": "Hostname", "value": i["hostname"]}
                 for i in ingress if i.get("ip") or i.get("hostname")]
    old = (gw.get("status") or {}).get("conditions")
    gen = meta.get("generation")
    conds = [condition(old, "Accepted", "True", "Accepted", "Resource accepted", gen)]
    if addresses:
        conds.append(condition(old, "Programmed", "True", "Programmed",
                               "Resource programmed, assigned to service(s) %s.%s.svc.cluster.local:%s" % (
                                   name, ns, (listeners[0].get("port") if listeners else 15008)), gen))
    else:
        conds.append(condition(old, "Programmed", "False", "AddressNotAssigned",
                               "Assigned to service(s) %s.%s.svc.cluster.local, but failed to assign to all requested addresses: "
                               "address pending for hostname \"%s.%s.svc.cluster.local\"" % (name, ns, name, ns), gen))
    status = {"conditions": conds, "listeners": [
        {"name": li.get("name"), "attachedRoutes": 0, "supportedKinds": [],
         "conditions": [condition(_listener_old(gw, li.get("name")), t, "True", t, "No errors found", gen)
                        for t in ("Accepted", "NoConflicts", "Programmed", "ResolvedRefs")]} for li in listeners]}
    if addresses:
        status["addresses"] = addresses
    set_status(cluster, gw, status)


def _listener_old(gw, name):
    for li in (gw.get("status") or {}).get("listeners") or []:
        if li.get("name") == name:
            return li.get("conditions")
    return None


def reconcile_istiod(cluster):
    """What a running istiod writes: root certs, GatewayClasses, east-west deployments (not while no istiod is ready)."""
    deployments = istiod_deployments(cluster)
    if not deployments or not istiod_ready(cluster):
        return
    ns = deployments[0]["metadata"]["namespace"]
    reconcile_root_cert(cluster, ns)
    reconcile_gateway_classes(cluster)
    if served(cluster, GATEWAY, "Gateway"):
        tag = proxy_tag(deployments[0])
        for gw in cluster.list(GATEWAY, "Gateway"):
            if (gw.get("spec") or {}).get("gatewayClassName") == "istio-eastwest":
                reconcile_eastwest(cluster, gw, tag)


def proxy_tag(istiod_deployment):
    """The proxyv2 tag of istiod's version (what istiod renders into the gateway deployments it manages)."""
    version = image_version(istiod_deployment["spec"]["template"])
    return version + "-solo" if version else "solo"


def ztunnel_socket_ok(cluster, pod):
    """A SPIRE-enabled ztunnel needs a ready spire-agent whose admin socket is mounted on the host at its path."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    sock = ((volumes.get("spire-admin-socket") or {}).get("hostPath") or {}).get("path")
    container = next(iter((pod.get("spec") or {}).get("containers") or []), {})
    if env_of(container).get("SPIRE_ENABLED") != "true":
        return True, ""
    for agent in cluster.list("v1", "Pod", label_selector="app.kubernetes.io/name=agent"):
        if not pod_ready(agent) or agent["spec"].get("nodeName") != pod["spec"].get("nodeName"):
            continue
        paths = {((v.get("hostPath") or {}).get("path") or "").rstrip("/") for v in agent["spec"].get("volumes") or []}
        if sock and sock.rstrip("/") in paths:
            return True, ""
    return False, "failed to connect to the SPIRE agent admin socket unix:///var/run/spire/admin.sock (host path %s): no such file or directory" % sock


def reconcile_pod(cluster, pod, faults):
    """Readiness of istiod pods (kill fault) and ztunnel pods (SPIRE admin socket)."""
    labels = pod["metadata"].get("labels") or {}
    if (pod["metadata"].get("annotations") or {}).get(SIMULATED) != "true":
        return
    if labels.get("app") == "istiod":
        killed = bool(faults.get("kill_istiod"))
        set_pod_readiness(cluster, pod, not killed, "CrashLoopBackOff", "killed by the emulator's kill_istiod fault" if killed else "", "discovery")
    elif labels.get("app") == "ztunnel":
        ok, message = ztunnel_socket_ok(cluster, pod)
        set_pod_readiness(cluster, pod, ok, "CrashLoopBackOff", message, "istio-proxy")
