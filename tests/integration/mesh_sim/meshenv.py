"""The procedure (gloo-ambient-spire-procedure.txt), step by step with helm and kubectl against emulated clusters,
using the stand-in charts; plus small polling/reading helpers for the mesh simulation tests."""

import json
import os
import time

from kubernetes import client

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CHARTS = os.path.join(ROOT, "tests", "charts")
LICENSE = "emu-license:GlooMesh:2099-12-31"
GW = ("gateway.networking.k8s.io", "v1")
LISTENERS = [{"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
             {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}]


def wait_for(predicate, timeout=15.0, interval=0.1, what="condition"):
    """Poll predicate() until truthy; returns its value or fails with the last value."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, value))


def apply(handle, context, docs):
    """kubectl apply -f - of a list of objects (a v1 List); raises with kubectl's stderr on failure."""
    result = handle.kubectl("apply", "--validate=false", "-f", "-", context=context, check=False,
                            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))
    if result.returncode:
        raise AssertionError("kubectl apply failed: %s" % result.stderr)
    return result


def values_file(handle, name, values):
    """A values file in the handle's directory."""
    path = os.path.join(handle.base_dir, name)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(values, out)
    return path


def spire_values(trust_domain, bundle=None, **server):
    """The procedure's SPIRE values (+ the bundle value that makes the chart render bundle_file_path)."""
    tolerations = [{"effect": "NoSchedule", "operator": "Exists"}, {"key": "CriticalAddonsOnly", "operator": "Exists"},
                   {"effect": "NoExecute", "operator": "Exists"}]
    disk = {"enabled": True, "secret": {"create": False, "name": "spiffe-upstream-ca"}}
    if bundle:
        disk["secret"]["data"] = {"bundle": bundle}
    return {"global": {"spire": {"trustDomain": trust_domain, "clusterName": trust_domain}},
            "spire-agent": {"authorizedDelegates": ["spiffe://%s/ns/istio-system/sa/ztunnel" % trust_domain],
                            "sockets": {"admin": {"enabled": True, "mountOnHost": True}, "hostBasePath": "/run/spire/agent/sockets"},
                            "tolerations": tolerations},
            "spire-server": dict({"upstreamAuthority": {"disk": disk}, "persistence": {"type": "emptyDir"}}, **server),
            "spiffe-csi-driver": {"tolerations": tolerations}}


def install_spire(handle, context, files, trust_domain, bundle=None, wait=True):
    """Namespace, upstream CA Secret (tls.crt, tls.key, bundle.crt), helm spire-crds and spire."""
    handle.kubectl("create", "namespace", "spire-server", context=context)
    handle.kubectl("-n", "spire-server", "create", "secret", "generic", "spiffe-upstream-ca", "--from-file=tls.crt=" + files["spire_crt"],
                   "--from-file=tls.key=" + files["spire_key"], "--from-file=bundle.crt=" + files["spire_chain"], context=context)
    handle.helm("upgrade", "-i", "spire-crds", os.path.join(CHARTS, "spire-crds"), "--namespace", "spire-server", "--create-namespace",
                "--version", "0.5.0", "--wait", context=context)
    vals = values_file(handle, "spire-%s.json" % context, spire_values(trust_domain, bundle))
    handle.helm("upgrade", "-i", "spire", os.path.join(CHARTS, "spire"), "--namespace", "spire-server", "--version", "0.24.2",
                "-f", vals, context=context)
    if wait:
        handle.kubectl("-n", "spire-server", "wait", "--for=condition=Ready", "pods", "--all", "--timeout=30s", context=context)


def cluster_spiffe_ids(class_name=None):
    """The procedure's three ClusterSPIFFEIDs (optionally with className, the collection's fix)."""
    docs = []
    for name, selector in (("istio-ztunnel-reg", {"app": "ztunnel"}), ("istio-waypoint-reg", {"istio.io/gateway-name": "waypoint"}),
                           ("istio-ambient-reg", {"istio.io/dataplane-mode": "ambient"})):
        spec = {"spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}",
                "podSelector": {"matchLabels": selector}}
        if class_name:
            spec["className"] = class_name
        docs.append({"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID", "metadata": {"name": name}, "spec": spec})
    return docs


def install_cacerts(handle, context, files):
    """istio-system and the cacerts Secret (the shared root for istiod)."""
    handle.kubectl("create", "namespace", "istio-system", context=context)
    handle.kubectl("-n", "istio-system", "create", "secret", "generic", "cacerts", "--from-file=ca-cert.pem=" + files["istio_ca"],
                   "--from-file=ca-key.pem=" + files["istio_key"], "--from-file=root-cert.pem=" + files["istio_root"],
                   "--from-file=cert-chain.pem=" + files["istio_chain"], context=context)


def install_gloo(handle, context, cluster, network, trust_domain, version="1.27.3-patch0", license_key=LICENSE, spire=True):
    """helm gloo-operator, gloo-extensions-config and the ServiceMeshController; waits for istiod-gloo. The procedure's
    values do not set ENABLE_PEERING_DISCOVERY: the simulated operator is told to set it on istiod by itself (the mesh
    setting operator_enables_peering_discovery, the emulator's behaviour before the collection set it)."""
    handle.admin(context, "POST", "/_emulator/mesh/settings", {"operator_enables_peering_discovery": True})
    handle.helm("upgrade", "-i", "gloo-operator", os.path.join(CHARTS, "gloo-operator"), "--version", "0.4.3", "-n", "gloo-mesh",
                "--create-namespace", "--set", "manager.env.SOLO_ISTIO_LICENSE_KEY=" + license_key, context=context)
    handle.kubectl("-n", "gloo-mesh", "wait", "--for=condition=Available", "deployment/gloo-operator", "--timeout=20s", context=context)
    spec = {"cluster": cluster, "network": network, "dataplaneMode": "Ambient", "installNamespace": "istio-system", "version": version}
    if trust_domain:
        spec["trustDomain"] = trust_domain
    docs = [{"apiVersion": "operator.gloo.solo.io/v1", "kind": "ServiceMeshController",
             "metadata": {"name": "managed-istio", "labels": {"app.kubernetes.io/name": "managed-istio"}}, "spec": spec}]
    if spire:
        docs.insert(0, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gloo-extensions-config", "namespace": "gloo-mesh"},
                        "data": {"values.istiod": "gateways:\n  spire:\n    workloads: true\n",
                                 "values.istio-ztunnel": "spire:\n  enabled: true\n"}})
    handle.kubectl("apply", "-n", "gloo-mesh", "-f", "-", context=context, stdin="\n---\n".join(json.dumps(d) for d in docs))
    wait_for(lambda: handle.kubectl("get", "deployment", "-n", "istio-system", "istiod-gloo", context=context, check=False).returncode == 0,
             what="istiod-gloo in " + context)
    handle.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=20s", context=context)


def expose(handle, context, cluster, network, namespace="istio-eastwest"):
    """What `istioctl multicluster expose --namespace istio-eastwest --generate | kubectl apply -f -` does."""
    handle.kubectl("apply", "-f", os.path.join(CHARTS, "gateway-api", "standard-install.yaml"), context=context)
    handle.kubectl("create", "namespace", namespace, context=context, check=False)
    apply(handle, context, [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {
        "name": "istio-eastwest", "namespace": namespace, "labels": {
            "topology.istio.io/network": network, "topology.istio.io/cluster": cluster, "istio.io/expose-istiod": "15012"}},
        "spec": {"gatewayClassName": "istio-eastwest", "listeners": LISTENERS}}])
    handle.kubectl("-n", namespace, "wait", "--for=condition=Programmed", "gateway/istio-eastwest", "--timeout=20s", context=context)


def eastwest_address(handle, context, namespace="istio-eastwest"):
    """The east-west Service's LoadBalancer IP (what `link` reads)."""
    def address():
        return handle.kubectl("get", "svc", "-n", namespace, "-l", "istio.io/expose-istiod", "-o",
                              "jsonpath={.items[0].status.loadBalancer.ingress[0].ip}", context=context).stdout.strip()
    return wait_for(address, what="east-west address in " + context)


def remote_gateway(remote_cluster, remote_network, trust_domain, address, namespace="istio-eastwest", listeners=None, **extra):
    """What `istioctl multicluster link` applies in the source cluster for one remote cluster."""
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {
        "name": "istio-remote-peer-%s" % remote_cluster, "namespace": namespace,
        "annotations": {"gateway.istio.io/service-account": "istio-eastwest", "gateway.istio.io/trust-domain": trust_domain},
        "labels": {"topology.istio.io/network": remote_network, "topology.istio.io/cluster": remote_cluster}},
        "spec": {"gatewayClassName": "istio-remote", "addresses": [{"type": "IPAddress", "value": address}],
                 "listeners": LISTENERS if listeners is None else listeners}}
    for key, value in extra.items():
        gw[key].update(value)
    return gw


class Reader:
    """Python-client reads of one emulated cluster."""

    def __init__(self, handle, context):
        api = handle.client(context)
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.api = api

    def gateway(self, name, namespace="istio-eastwest"):
        """A Gateway (dict)."""
        return self.custom.get_namespaced_custom_object(GW[0], GW[1], namespace, "gateways", name)

    def conditions(self, name, namespace="istio-eastwest"):
        """{type: (status, reason, message)} of a Gateway."""
        status = self.gateway(name, namespace).get("status") or {}
        return {c["type"]: (c["status"], c.get("reason"), c.get("message")) for c in status.get("conditions") or []}

    def peer_state(self, name, namespace="istio-eastwest"):
        """(PeerConnected, PeeringSucceeded, PeerDataPlaneProgrammed) statuses of an istio-remote Gateway."""
        conds = self.conditions(name, namespace)
        return tuple((conds.get("gloo.solo.io/" + t) or (None,))[0] for t in ("PeerConnected", "PeeringSucceeded", "PeerDataPlaneProgrammed"))

    def istiod_env(self):
        """env of the discovery container of istiod-gloo."""
        dep = self.apps.read_namespaced_deployment("istiod-gloo", "istio-system")
        container = [c for c in dep.spec.template.spec.containers if c.name == "discovery"][0]
        return {e.name: e.value for e in container.env or []}

    def pods(self, namespace, selector):
        """Pods of a label selector."""
        return self.core.list_namespaced_pod(namespace, label_selector=selector).items

    def license(self, pod=None):
        """(HTTP status, body) of GET /debug/license on an istiod pod through the API pod proxy."""
        pod = pod or self.pods("istio-system", "app=istiod")[0].metadata.name
        method, url, headers, _body, _p = self.api.param_serialize(
            "GET", "/api/v1/namespaces/istio-system/pods/%s:15014/proxy/debug/license" % pod, auth_settings=["BearerToken"])
        resp = self.api.call_api(method, url, header_params=headers)
        return resp.status, resp.read().decode()
