# -*- coding: utf-8 -*-
"""Seed a healthy ambient + SPIRE mesh into emulated clusters (plain objects, no simulated controllers), and the
faults of the check_failures scenario. Used by the mesh_check integration tests and bench/mesh_check.py.

Objects are what the real installation leaves behind (istiod-gloo Deployment with its env, ztunnel DaemonSet,
east-west Gateway + LoadBalancer Service, istio-remote peer Gateways with gloo.solo.io conditions, cacerts,
SPIRE ConfigMaps, upstream CA Secret and components (server, agent, CSI driver), ClusterSPIFFEIDs with status, autogenflat
WorkloadEntries).
"""

from __future__ import absolute_import, division, print_function

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

from emulator.mesh import pki as emulator_pki

MERGE = "application/merge-patch+json"


class Raw(object):
    """Minimal JSON requests through a kubernetes ApiClient (kubernetes >= 30 API)."""

    def __init__(self, api_client):
        self.api = api_client

    def call(self, method, path, body=None, content_type="application/json", query=None, ok=(200, 201)):
        headers = {"Accept": "application/json", "Content-Type": content_type}
        m, url, headers, body_s, dummy = self.api.param_serialize(method, path, query_params=list((query or {}).items()), header_params=headers,
                                                                  body=body, auth_settings=["BearerToken"])
        resp = self.api.call_api(m, url, header_params=headers, body=body_s)
        data = resp.read()
        if resp.status not in ok:
            raise RuntimeError("%s %s -> %s %s" % (method, path, resp.status, data[:300]))
        return json.loads(data) if data else None

    def get(self, path, query=None):
        return self.call("GET", path, query=query)

    def get_json(self, path, query=None):
        """(parsed document, size in bytes) of a GET; (None, 0) on HTTP errors."""
        m, url, headers, dummy, dummy2 = self.api.param_serialize("GET", path, query_params=list((query or {}).items()),
                                                                  header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        resp = self.api.call_api(m, url, header_params=headers)
        data = resp.read()
        if resp.status >= 400:
            return None, 0
        return json.loads(data), len(data)

    def post(self, path, body):
        return self.call("POST", path, body)

    def patch(self, path, body):
        return self.call("PATCH", path, body, MERGE)

    def delete(self, path):
        return self.call("DELETE", path, ok=(200, 202))


# ---------------------------------------------------------------- PKI
def make_ca(cn, issuer=None, pathlen=1):
    """(cert, key) of a CA, issued by the (cert, key) pair `issuer` or self-signed."""
    return emulator_pki.make_ca(cn, *(issuer or (None, None)), pathlen=pathlen)


cert_pem = emulator_pki.pem
key_pem = emulator_pki.key_pem


def b64(text):
    return base64.b64encode(text.encode()).decode()


def make_pki(clusters):
    root = make_ca("SPIRE Root CA", pathlen=2)
    pki = {"root": root, "foreign": make_ca("Foreign Root CA", pathlen=2)}
    pki["istio-foreign"] = make_ca("istio foreign", issuer=pki["foreign"], pathlen=0)
    for c in clusters:
        pki["istio-" + c] = make_ca("istiod %s" % c, issuer=root, pathlen=0)
        pki["spire-" + c] = make_ca("spire %s" % c, issuer=root, pathlen=1)
    return pki


# ---------------------------------------------------------------- objects
CRDS = [
    ("gateway.networking.k8s.io", "v1", "Gateway", "gateways", "Namespaced"),
    ("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses", "Cluster"),
    ("networking.istio.io", "v1", "WorkloadEntry", "workloadentries", "Namespaced"),
    ("spire.spiffe.io", "v1alpha1", "ClusterSPIFFEID", "clusterspiffeids", "Cluster"),
]


def crd(group, version, kind, plural, scope):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": kind + "List"},
                     "versions": [{"name": version, "served": True, "storage": True, "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


def deployment(name, ns, labels, container, env=None, replicas=1):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": container, "image": "example/%s:1" % container,
                                                           "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}]}}}}


def server_conf(td, bundle=True):
    data = {"cert_file_path": "/run/spire/upstream_ca/tls.crt", "key_file_path": "/run/spire/upstream_ca/tls.key"}
    if bundle:
        data["bundle_file_path"] = "/run/spire/upstream_ca/bundle.crt"
    return json.dumps({"server": {"trust_domain": td, "bind_port": 8081},
                       "plugins": {"UpstreamAuthority": [{"disk": {"plugin_data": data}}], "KeyManager": [{"disk": {"plugin_data": {}}}]}})


ISTIOD_ENV = {"ENABLE_PEERING_DISCOVERY": "true", "PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES": "true",
              "SOLO_LICENSE_KEY": "emu-license:GlooMesh:2099-12-31"}  # an emulator test license, never a real key


class MeshSeed(object):
    """Seed and break a mesh on an EmulatorHandle (tests/emulator/testing.py)."""

    def __init__(self, handle, clusters=None):
        self.handle = handle
        self.clusters = list(clusters or handle.clusters)
        self.pki = make_pki(self.clusters)
        self.raw = dict((c, Raw(handle.client(c))) for c in self.clusters)
        self.addresses = {}
        self.simulated = self._detect_simulated_mesh()
        self.bulk = False

    def _detect_simulated_mesh(self):
        """True when the emulator runs the simulated mesh (tests/emulator/mesh): it then writes the statuses itself."""
        try:
            self.handle.admin(self.clusters[0], "GET", "/_emulator/mesh/status")
        except Exception:  # pylint: disable=broad-except  # any failure: no simulated mesh
            return False
        return True

    def mesh_fault(self, cluster, body):
        """Set (dict) or clear (None) the simulated mesh faults of a cluster."""
        if body is None:
            return self.handle.admin(cluster, "DELETE", "/_emulator/mesh/faults")
        return self.handle.admin(cluster, "POST", "/_emulator/mesh/faults", body)

    # ---- seeding
    def create_objects(self, c, items, chunk=500):
        """Create many objects in one cluster through the test-only bulk admin route (tests/emulator/admin.py): the same
        validation, defaults, events and hooks as POSTs, without a request per object."""
        for start in range(0, len(items), chunk):
            self.handle.admin(c, "POST", "/_emulator/objects", {"items": items[start:start + chunk]})

    def seed(self, ambient_pods=2, workload_entries=0, threads=1, bulk=False):
        """The healthy mesh; the per-cluster objects with `threads` clusters in parallel. bulk: pods and WorkloadEntries
        through the bulk admin route (benchmark sizes)."""
        self.bulk = bulk
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda c: self._seed_cluster(c, ambient_pods, workload_entries), self.clusters))
        else:
            for c in self.clusters:
                self._seed_cluster(c, ambient_pods, workload_entries)
        for c in self.clusters:
            self._eastwest_gateway(c)
        for c in self.clusters:
            self._wait_address(c)
        for c in self.clusters:
            self._peer_gateways(c)
        for c in self.clusters:
            self._status(c)
        self.add_valid_autogenflat()

    def _seed_cluster(self, c, ambient_pods, workload_entries):
        r = self.raw[c]
        for group, version, kind, plural, scope in CRDS:
            r.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(group, version, kind, plural, scope))
        for ns, labels in (("istio-system", {"topology.istio.io/network": c}), ("istio-eastwest", {}), ("spire-server", {}),
                           ("bookinfo", {"istio.io/dataplane-mode": "ambient"})):
            r.post("/api/v1/namespaces", {"metadata": {"name": ns, "labels": labels}})
        p = self.pki
        istio = p["istio-" + c]
        r.post("/api/v1/namespaces/istio-system/secrets", {"metadata": {"name": "cacerts"}, "type": "Opaque", "data": {
            "ca-cert.pem": b64(cert_pem(istio[0])), "ca-key.pem": b64(key_pem(istio[1])), "root-cert.pem": b64(cert_pem(p["root"][0])),
            "cert-chain.pem": b64(cert_pem(istio[0]) + cert_pem(p["root"][0]))}})
        r.post("/api/v1/namespaces/istio-system/configmaps", {"metadata": {"name": "istio-ca-root-cert"}, "data": {"root-cert.pem": cert_pem(p["root"][0])}})
        r.post("/api/v1/namespaces/istio-system/configmaps", {"metadata": {"name": "istio-gloo"}, "data": {"mesh": "trustDomain: %s\n" % c}})
        r.post("/apis/apps/v1/namespaces/istio-system/deployments",
               deployment("istiod-gloo", "istio-system", {"app": "istiod"}, "discovery", dict(ISTIOD_ENV, CLUSTER_ID=c)))
        # no SPIRE_ENABLED: no SPIRE agent pods run here (the simulated mesh would keep such a ztunnel in CrashLoopBackOff)
        ds = deployment("ztunnel", "istio-system", {"app": "ztunnel"}, "istio-proxy", {"NETWORK": c})
        ds["kind"] = "DaemonSet"
        del ds["spec"]["replicas"]
        r.post("/apis/apps/v1/namespaces/istio-system/daemonsets", ds)
        self._eastwest_workload(r, c)
        self._seed_rest(r, c, ambient_pods, workload_entries)

    def _eastwest_workload(self, r, c):
        r.post("/apis/apps/v1/namespaces/istio-eastwest/deployments",
               deployment("istio-eastwest", "istio-eastwest", {"service.istio.io/canonical-name": "istio-eastwest",
                                                               "gateway.networking.k8s.io/gateway-name": "istio-eastwest"}, "istio-proxy"))
        r.post("/api/v1/namespaces/istio-eastwest/services", {"metadata": {"name": "istio-eastwest", "labels": {
            "istio.io/expose-istiod": "15012", "topology.istio.io/network": c, "topology.istio.io/cluster": c}},
            "spec": {"type": "LoadBalancer", "selector": {"service.istio.io/canonical-name": "istio-eastwest"},
                     "ports": [{"name": "tls-hbone", "port": 15008}, {"name": "tls-xds", "port": 15012}]}})

    def _seed_rest(self, r, c, ambient_pods, workload_entries):
        p = self.pki
        # bare pods: the emulator's Deployment controller costs ~0.1 s per replica, a POST ~2 ms
        pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "productpage-v1-%05d" % i, "namespace": "bookinfo", "labels": {"app": "productpage"}},
                 "spec": {"containers": [{"name": "productpage", "image": "example/productpage:1"}]}} for i in range(ambient_pods)]
        if self.bulk:
            self.create_objects(c, pods)
        else:
            for pod in pods:
                r.post("/api/v1/namespaces/bookinfo/pods", pod)
        # SPIRE
        spire = p["spire-" + c]
        r.post("/api/v1/namespaces/spire-server/configmaps", {"metadata": {"name": "spire-server"}, "data": {"server.conf": server_conf(c)}})
        r.post("/api/v1/namespaces/spire-server/configmaps", {"metadata": {"name": "spire-agent"}, "data": {"agent.conf": json.dumps(
            {"agent": {"trust_domain": c, "authorized_delegates": ["spiffe://%s/ns/istio-system/sa/ztunnel" % c]}})}})
        r.post("/api/v1/namespaces/spire-server/configmaps", {"metadata": {"name": "spire-controller-manager"}, "data": {
            "controller-manager-config.yaml": "apiVersion: spire.spiffe.io/v1alpha1\nkind: ControllerManagerConfig\nclusterName: %s\n"
                                              "trustDomain: %s\nclassName: spire-server-spire\nwatchClassless: false\n" % (c, c)}})
        r.post("/api/v1/namespaces/spire-server/secrets", {"metadata": {"name": "spiffe-upstream-ca"}, "type": "Opaque", "data": {
            "tls.crt": b64(cert_pem(spire[0])), "tls.key": b64(key_pem(spire[1])), "bundle.crt": b64(cert_pem(p["root"][0]))}})
        # the SPIRE components the chart runs (the SPIRE simulation acts only on containers named spire-server / spire-agent)
        r.post("/apis/apps/v1/namespaces/spire-server/statefulsets",
               dict(deployment("spire-server", "spire-server", {"app.kubernetes.io/name": "server"}, "server"), kind="StatefulSet"))
        for name, app in (("spire-agent", "agent"), ("spire-spiffe-csi-driver", "spiffe-csi-driver")):
            ds = deployment(name, "spire-server", {"app.kubernetes.io/name": app}, app)
            ds["kind"] = "DaemonSet"
            del ds["spec"]["replicas"]
            r.post("/apis/apps/v1/namespaces/spire-server/daemonsets", ds)
        for name, selector in (("istio-ztunnel-reg", {"app": "ztunnel"}), ("istio-ambient-reg", {"istio.io/dataplane-mode": "ambient"})):
            spec = {"className": "spire-server-spire", "podSelector": {"matchLabels": selector},
                    "spiffeIDTemplate": "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"}
            r.post("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids", {"apiVersion": "spire.spiffe.io/v1alpha1", "kind": "ClusterSPIFFEID",
                                                                       "metadata": {"name": name}, "spec": spec})
        entries = [{"apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry",
                    "metadata": {"name": "bulk-%05d" % i, "namespace": "istio-system", "labels": {"app": "bulk"}},
                    "spec": {"address": "10.%d.%d.%d" % (i // 65536 % 256, i // 256 % 256, i % 256), "network": c}} for i in range(workload_entries)]
        if self.bulk:
            self.create_objects(c, entries)
        else:
            for entry in entries:
                r.post("/apis/networking.istio.io/v1/namespaces/istio-system/workloadentries", entry)

    def _wait_address(self, c, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                svc = self.raw[c].get("/api/v1/namespaces/istio-eastwest/services/istio-eastwest")
            except RuntimeError:  # the simulated istiod has not deployed it yet
                svc = {}
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if ingress:
                self.addresses[c] = ingress[0]["ip"]
                return
            time.sleep(0.2)
        raise RuntimeError("no LoadBalancer address for %s" % c)

    LISTENERS = [{"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
                 {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}]

    def _eastwest_gateway(self, c):
        listeners = self.LISTENERS
        self.raw[c].post("/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways", {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "istio-eastwest", "labels": {
                "topology.istio.io/network": c, "topology.istio.io/cluster": c, "istio.io/expose-istiod": "15012"}},
            "spec": {"gatewayClassName": "istio-eastwest", "listeners": listeners}})

    def _peer_gateways(self, c):
        r = self.raw[c]
        listeners = self.LISTENERS
        for other in self.clusters:
            if other == c:
                continue
            r.post("/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways", {
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {
                    "name": "istio-remote-peer-%s" % other, "labels": {"topology.istio.io/network": other, "topology.istio.io/cluster": other},
                    "annotations": {"gateway.istio.io/trust-domain": other, "gateway.istio.io/service-account": "istio-eastwest"}},
                "spec": {"gatewayClassName": "istio-remote", "addresses": [{"type": "IPAddress", "value": self.addresses[other]}],
                         "listeners": listeners}})

    @staticmethod
    def _cond(type_name, status="True", reason="Programmed", message=""):
        return {"type": type_name, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2026-11-29T00:00:00Z"}

    def wait_peers(self, timeout=30):
        """Simulated mesh: wait until every peer Gateway reports PeerConnected=True."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            pending = []
            for c in self.clusters:
                for gw in self.raw[c].get("/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways")["items"]:
                    if gw["spec"].get("gatewayClassName") != "istio-remote":
                        continue
                    conds = dict((x.get("type"), x.get("status")) for x in (gw.get("status") or {}).get("conditions") or [])
                    if conds.get("gloo.solo.io/PeerConnected") != "True":
                        pending.append("%s/%s" % (c, gw["metadata"]["name"]))
            if not pending:
                return
            time.sleep(0.3)
        raise RuntimeError("peers not connected: %s" % pending)

    def _status(self, c):
        r = self.raw[c]
        for name, pods in (("istio-ztunnel-reg", 2), ("istio-ambient-reg", 2)):
            r.patch("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids/%s/status" % name, {"status": {"stats": {
                "namespacesSelected": 1, "podsSelected": pods, "entryFailures": 0, "podEntryRenderFailures": 0}}})
        r.patch("/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways/istio-eastwest/status", {"status": {
            "addresses": [{"type": "IPAddress", "value": self.addresses[c]}],
            "conditions": [self._cond("Accepted", reason="Accepted"), self._cond("Programmed")]}})
        for other in self.clusters:
            if other != c:
                self.set_peer(c, other, connected=True)

    def set_peer(self, c, other, connected=True):
        conds = [self._cond("Accepted", reason="Accepted"), self._cond("Programmed"),
                 self._cond("gloo.solo.io/PeerConnected", "True" if connected else "False", "Programmed" if connected else "Pending",
                            "" if connected else "not connected to peer"),
                 self._cond("gloo.solo.io/PeeringSucceeded", "True" if connected else "Unknown", "Programmed" if connected else "Pending",
                            "" if connected else "network not yet synced check istiod log for more details"),
                 self._cond("gloo.solo.io/PeerDataPlaneProgrammed")]
        self.raw[c].patch("/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways/istio-remote-peer-%s/status" % other, {"status": {
            "addresses": [{"type": "IPAddress", "value": self.addresses[other]}], "conditions": conds}})

    def pods(self, c, ns, selector):
        return self.raw[c].get("/api/v1/namespaces/%s/pods" % ns, {"labelSelector": selector})["items"]

    def add_valid_autogenflat(self):
        """One autogenflat entry per ordered pair, pointing to a live productpage pod of the source cluster."""
        for c in self.clusters:
            for src in self.clusters:
                if src == c:
                    continue
                pods = self.pods(src, "bookinfo", "app=productpage")
                if pods:
                    self.add_autogenflat(c, src, pods[0]["metadata"]["name"])

    def add_autogenflat(self, c, src, pod_name, ns="bookinfo"):
        name = "autogenflat.%s.%s.%s.ee508601917c" % (src, ns, pod_name)
        self.raw[c].post("/apis/networking.istio.io/v1/namespaces/istio-system/workloadentries", {
            "apiVersion": "networking.istio.io/v1", "kind": "WorkloadEntry", "metadata": {"name": name, "labels": {
                "solo.io/source-workload": "autogenflat.%s.%s.%s" % (src, ns, pod_name), "solo.io/source-cluster": src},
                "annotations": {"solo.io/peered-workload-uid": "%s//Pod/%s/%s" % (src, ns, pod_name)}},
            "spec": {"address": "10.244.9.9", "network": src}})
        return name

    # ---- faults: name -> (apply, clear, expected failing check, expected message fragment)
    def _istiod_env(self, c, env):
        self.raw[c].patch("/apis/apps/v1/namespaces/istio-system/deployments/istiod-gloo", {"spec": {"template": {"spec": {"containers": [
            {"name": "discovery", "image": "example/discovery:1", "env": [{"name": k, "value": v} for k, v in env.items()]}]}}}})

    def _set_istiod_ready(self, c, ready):
        for pod in self.pods(c, "istio-system", "app=istiod"):
            status = pod.get("status") or {}
            statuses = status.get("containerStatuses") or [{"name": "discovery", "image": "example/discovery:1", "restartCount": 0}]
            for s in statuses:
                s["ready"] = ready
            conds = [dict(x, status="True" if ready else "False") if x.get("type") in ("Ready", "ContainersReady") else x
                     for x in status.get("conditions") or []]
            self.raw[c].patch("/api/v1/namespaces/istio-system/pods/%s/status" % pod["metadata"]["name"],
                              {"status": {"containerStatuses": statuses, "conditions": conds}})

    def _csid_class(self, c, class_name):
        for name in ("istio-ztunnel-reg", "istio-ambient-reg"):
            self.raw[c].patch("/apis/spire.spiffe.io/v1alpha1/clusterspiffeids/%s" % name, {"spec": {"className": class_name}})

    def _cacerts(self, c, ca, root):
        self.raw[c].patch("/api/v1/namespaces/istio-system/secrets/cacerts", {"data": {
            "ca-cert.pem": b64(cert_pem(ca[0])), "ca-key.pem": b64(key_pem(ca[1])), "root-cert.pem": b64(cert_pem(root[0])),
            "cert-chain.pem": b64(cert_pem(ca[0]) + cert_pem(root[0]))}})
        self.raw[c].patch("/api/v1/namespaces/istio-system/configmaps/istio-ca-root-cert", {"data": {"root-cert.pem": cert_pem(root[0])}})

    def faults(self):
        """The check_failures faults: dicts name, apply, clear, check (the check that must fail), fragment (in its message),
        also (other checks allowed to fail as a consequence).
        The faults are written directly into the seeded objects; the simulated mesh (tests/emulator/mesh), when loaded,
        leaves these hand-seeded objects alone (its istiod is the one its ServiceMeshController deploys)."""
        a, b = self.clusters[0], self.clusters[1]
        p = self.pki
        stale = {}

        def add_stale():
            stale["name"] = self.add_autogenflat(b, a, "productpage-v1-deleted-pod")

        def clear_stale():
            self.raw[b].delete("/apis/networking.istio.io/v1/namespaces/istio-system/workloadentries/%s" % stale["name"])

        def label(value):
            return lambda: self.raw[b].patch("/api/v1/namespaces/istio-system", {"metadata": {"labels": {"topology.istio.io/network": value}}})

        def server(bundle):
            return lambda: self.raw[a].patch("/api/v1/namespaces/spire-server/configmaps/spire-server", {"data": {"server.conf": server_conf(a, bundle)}})

        def env(cluster, **extra):
            return lambda: self._istiod_env(cluster, dict(ISTIOD_ENV, CLUSTER_ID=cluster, **extra))

        def peer_address(value):
            def apply():
                path = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-eastwest/gateways/istio-remote-peer-%s" % b
                self.raw[a].patch(path, {"spec": {"addresses": [{"type": "IPAddress", "value": value}]}})
                self.raw[a].patch(path + "/status", {"status": {"addresses": [{"type": "IPAddress", "value": value}]}})
            return apply

        def fault(name, apply, clear, check, fragment, also=()):
            return {"name": name, "apply": apply, "clear": clear, "check": check, "fragment": fragment, "also": set(also)}

        return [
            fault("foreign_root", lambda: self._cacerts(b, p["istio-foreign"], p["foreign"]), lambda: self._cacerts(b, p["istio-" + b], p["root"]),
                  "intermediate_certs", "has incompatible intermediate certificates with cluster"),
            fault("cacerts_without_key", lambda: self.raw[b].patch("/api/v1/namespaces/istio-system/secrets/cacerts", {"data": {"ca-key.pem": None}}),
                  lambda: self._cacerts(b, p["istio-" + b], p["root"]), "intermediate_certs",
                  "cacerts has no ca-key.pem: istiod cannot sign workload certificates with the plugged-in CA"),
            fault("peer_address_of_no_cluster", peer_address("10.9.9.9"), peer_address(self.addresses[b]), "network",
                  "Remote gateway istio-eastwest/istio-remote-peer-%s address 10.9.9.9 belongs to no cluster in the inventory" % b),
            fault("network_label_mismatch", label("broken-" + b), label(b), "network", "has network label %s, expected broken-%s" % (b, b)),
            fault("peer_disconnected", lambda: self.set_peer(a, b, connected=False), lambda: self.set_peer(a, b, connected=True),
                  "peers", "peer %s (network %s, gateway istio-eastwest/istio-remote-peer-%s) is not connected" % (b, b, b)),
            fault("peering_discovery_off", env(a, ENABLE_PEERING_DISCOVERY="false"), env(a), "env_vars", 'ENABLE_PEERING_DISCOVERY is invalid ("false")'),
            fault("select_workload_entries_false", env(b, PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES="false"), env(b), "env_vars",
                  "peering discovery is incompatible with PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES=false"),
            fault("stale_workload_entry", add_stale, clear_stale, "stale_workloads",
                  "pod bookinfo/productpage-v1-deleted-pod no longer exists in cluster %s" % a),
            fault("classless_cluster_spiffe_ids", lambda: self._csid_class(a, ""), lambda: self._csid_class(a, "spire-server-spire"),
                  "cluster_spiffe_ids", 'is ignored by the SPIRE controller manager: className ""'),
            fault("spire_bundle_not_configured", server(False), server(True), "spire_upstream_ca", "SPIRE bundle not configured"),
            fault("istiod_not_ready", lambda: self._set_istiod_ready(a, False), lambda: self._set_istiod_ready(a, True), "pods_istiod",
                  "1 of 1 pods unhealthy: istio-system/istiod-gloo-"),
        ]
