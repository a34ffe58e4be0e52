"""Helpers of the trust-model tests: a linked mesh of N emulated clusters walked with helm and kubectl (the
procedure), CA material written the way an operator (or a rotation role) would write it, the spire-server CLI through
`kubectl exec`, and reads of the trust model (/_emulator/mesh/status) and the probe."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "mesh_sim"))

import meshenv  # noqa: E402  pylint: disable=wrong-import-position
from meshenv import wait_for  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
from emulator.mesh import pki  # noqa: E402  pylint: disable=wrong-import-position

MULTIROOT = {"istiod_env": {"ISTIO_MULTIROOT_MESH": "true"}}


class Ca:
    """A CA certificate and its key."""

    def __init__(self, name, issuer=None, pathlen=1):
        self.cert, self.key = pki.make_ca(name, issuer.cert if issuer else None, issuer.key if issuer else None, pathlen=pathlen)
        self.pem = pki.pem(self.cert)
        self.key_pem = pki.key_pem(self.key)
        self.fingerprint = pki.fingerprint(self.cert)


class Mesh:
    """N linked clusters with SPIRE (upstream intermediates under root A), cacerts (istiod intermediates under A)."""

    def __init__(self, handle, root_name="Root A"):
        self.handle = handle
        self.clusters = list(handle.clusters)
        self.root_a = Ca(root_name, pathlen=2)
        self.spire = {c: Ca("SPIRE %s A" % c, self.root_a) for c in self.clusters}
        self.istio = {c: Ca("Istio %s A" % c, self.root_a, pathlen=0) for c in self.clusters}
        self.address = {}

    # ---- the procedure ------------------------------------------------------------------------------------------
    def walk(self, multiroot=True):
        """SPIRE (bundle.crt = root), cacerts, Gloo Operator + SMC, east-west gateway, links both ways; waits until linked."""
        h = self.handle
        for c in self.clusters:
            h.kubectl("create", "namespace", "spire-server", context=c)
            self.set_upstream(c, self.spire[c], [self.root_a])
            h.helm("upgrade", "-i", "spire-crds", os.path.join(meshenv.CHARTS, "spire-crds"), "-n", "spire-server", "--wait", context=c)
            values = meshenv.values_file(h, "spire-%s.json" % c, meshenv.spire_values(c, bundle=self.root_a.pem))
            h.helm("upgrade", "-i", "spire", os.path.join(meshenv.CHARTS, "spire"), "-n", "spire-server", "-f", values, context=c)
            h.kubectl("create", "namespace", "istio-system", context=c)
            self.set_cacerts(c, self.istio[c], [self.root_a])
            if multiroot:
                h.admin(c, "POST", "/_emulator/mesh/faults", MULTIROOT)
            self.install_gloo(c, multiroot)
            meshenv.expose(h, c, c, c)
            self.address[c] = meshenv.eastwest_address(h, c)
        for src in self.clusters if len(self.clusters) > 1 else ():
            meshenv.apply(h, src, [meshenv.remote_gateway(dst, dst, dst, self.address[dst]) for dst in self.clusters if dst != src])
        wait_for(lambda: len(self.probe()["pairs"]) == len(self.clusters) * (len(self.clusters) - 1), timeout=30, what="every pair probed")
        wait_for(lambda: all(p["ok"] > 0 for p in self.probe()["pairs"].values()), timeout=30, what="every pair answered")
        return self

    def install_gloo(self, cluster, multiroot):
        """The Gloo Operator and the ServiceMeshController as meshenv.install_gloo, with istiod's env in the operator's
        values too (pilot.env: ENABLE_PEERING_DISCOVERY, and ISTIO_MULTIROOT_MESH when asked): where a simulated operator
        reads them from; the istiod_env fault sets MULTIROOT for one that does not."""
        h = self.handle
        h.helm("upgrade", "-i", "gloo-operator", os.path.join(meshenv.CHARTS, "gloo-operator"), "-n", "gloo-mesh", "--create-namespace",
               "--set", "manager.env.SOLO_ISTIO_LICENSE_KEY=" + meshenv.LICENSE, context=cluster)
        h.kubectl("-n", "gloo-mesh", "wait", "--for=condition=Available", "deployment/gloo-operator", "--timeout=20s", context=cluster)
        env = {"ENABLE_PEERING_DISCOVERY": "true"}
        if multiroot:
            env["ISTIO_MULTIROOT_MESH"] = "true"
        istiod = {"gateways": {"spire": {"workloads": True}}, "pilot": {"env": env}}
        docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gloo-extensions-config", "namespace": "gloo-mesh"},
                 "data": {"values.istiod": json.dumps(istiod), "values.istio-ztunnel": json.dumps({"spire": {"enabled": True}})}},
                {"apiVersion": "operator.gloo.solo.io/v1", "kind": "ServiceMeshController",
                 "metadata": {"name": "managed-istio", "labels": {"app.kubernetes.io/name": "managed-istio"}},
                 "spec": {"cluster": cluster, "network": cluster, "trustDomain": cluster, "dataplaneMode": "Ambient",
                          "installNamespace": "istio-system", "version": "1.27.3-patch0"}}]
        meshenv.apply(h, cluster, docs)
        wait_for(lambda: h.kubectl("get", "deployment", "-n", "istio-system", "istiod-gloo", context=cluster, check=False).returncode == 0,
                 what="istiod-gloo in " + cluster)
        h.kubectl("-n", "istio-system", "rollout", "status", "deployment/istiod-gloo", "--timeout=30s", context=cluster)

    # ---- writing CA material (one update per Secret, as istio#49648 requires) ------------------------------------
    def _secret(self, cluster, namespace, name, files):
        doc = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": name, "namespace": namespace},
               "stringData": files}
        result = self.handle.kubectl("apply", "-f", "-", context=cluster, stdin=json.dumps(doc), check=False)
        assert result.returncode == 0, result.stderr

    def set_cacerts(self, cluster, ca, roots, chain_roots=None):
        """cacerts: ca-cert.pem, its key, cert-chain.pem = CA + its root, root-cert.pem = the roots (bytes in order)."""
        chain_roots = chain_roots if chain_roots is not None else [r for r in roots if pki.verify(ca.cert, [], [r.cert])][:1]
        self._secret(cluster, "istio-system", "cacerts", {
            "ca-cert.pem": ca.pem, "ca-key.pem": ca.key_pem, "root-cert.pem": "".join(r.pem for r in roots),
            "cert-chain.pem": ca.pem + "".join(r.pem for r in chain_roots)})

    def set_upstream(self, cluster, ca, bundle):
        """spiffe-upstream-ca: tls.crt = the SPIRE upstream intermediate, bundle.crt = the given roots."""
        files = {"tls.crt": ca.pem, "tls.key": ca.key_pem, "bundle.crt": "".join(r.pem for r in bundle)}
        self._secret(cluster, "spire-server", "spiffe-upstream-ca", files)

    # ---- running things -----------------------------------------------------------------------------------------
    def spire_cli(self, cluster, *args):
        """`spire-server ARGS` in the spire-server container through kubectl exec: (exit code, stdout, stderr)."""
        result = self.handle.kubectl("-n", "spire-server", "exec", "spire-server-0", "-c", "spire-server", "--", "spire-server", *args,
                                     context=cluster, check=False)
        return result.returncode, result.stdout, result.stderr

    def prepare(self, cluster):
        """localauthority x509 prepare; the prepared authority ID."""
        rc, out, err = self.spire_cli(cluster, "localauthority", "x509", "prepare", "-output", "json")
        assert rc == 0, err
        return json.loads(out)["prepared_authority"]["authority_id"]

    def activate(self, cluster, authority_id):
        """localauthority x509 activate -authorityID ID."""
        rc, _out, err = self.spire_cli(cluster, "localauthority", "x509", "activate", "-authorityID", authority_id)
        assert rc == 0, err

    def restart(self, cluster, kind, name, namespace):
        """kubectl rollout restart (new pods: ztunnel and gateways fetch new certificates)."""
        self.handle.kubectl("-n", namespace, "rollout", "restart", "%s/%s" % (kind, name), context=cluster)

    def roll_workloads(self, cluster):
        """Restart ztunnel and the east-west gateway, and wait until every new pod holds a certificate."""
        before = set(self.trust(cluster)["ztunnel"]) | set(self.trust(cluster)["gateways"])
        self.restart(cluster, "daemonset", "ztunnel", "istio-system")
        self.restart(cluster, "deployment", "istio-eastwest", "istio-eastwest")

        def rolled():
            trust = self.trust(cluster)
            pods = dict(trust["ztunnel"], **trust["gateways"])
            return len(trust["ztunnel"]) == 2 and len(trust["gateways"]) == 1 and not set(pods) & before and \
                all(p["ready"] and p["chain"] for p in pods.values())
        wait_for(rolled, timeout=30, what="ztunnel and gateway of %s rolled" % cluster)

    # ---- reading --------------------------------------------------------------------------------------------------
    def status(self, cluster):
        """/_emulator/mesh/status of a cluster."""
        return self.handle.admin(cluster, "GET", "/_emulator/mesh/status")

    def trust(self, cluster):
        """The trust model's view of a cluster."""
        return self.status(cluster)["trust"]

    def probe(self):
        """The probe counters."""
        return self.handle.admin(self.clusters[0], "GET", "/_emulator/mesh/probe")

    def reset_probe(self):
        """Zero the probe counters."""
        return self.handle.admin(self.clusters[0], "DELETE", "/_emulator/mesh/probe")

    def wait_probe_rounds(self, rounds=5):
        """Let the probe run a few more rounds (so that a bad state is seen)."""
        start = self.probe()["ticks"]
        wait_for(lambda: self.probe()["ticks"] >= start + rounds, timeout=30, what="%d probe rounds" % rounds)

    def istiod_roots(self, cluster):
        """Fingerprints of the roots the leading istiod holds."""
        return [c["sha256"] for c in self.trust(cluster)["istiod"]["root_cert_pem"]]

    def istiod_issuer(self, cluster):
        """Fingerprint of istiod's issuing CA."""
        return self.trust(cluster)["istiod"]["issuing_chain"][0]["sha256"]

    def spire_bundle(self, cluster):
        """Fingerprints of SPIRE's bundle."""
        return [c["sha256"] for c in self.trust(cluster)["spire"]["spire-server"]["bundle"]]

    def configmap_roots(self, cluster, namespace="default"):
        """Fingerprints of the roots in an istio-ca-root-cert ConfigMap."""
        result = self.handle.kubectl("-n", namespace, "get", "configmap", "istio-ca-root-cert", "-o", "json", context=cluster)
        return [pki.fingerprint(c) for c in pki.load_certs(json.loads(result.stdout)["data"]["root-cert.pem"])]
