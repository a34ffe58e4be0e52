# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks 9-11: SPIRE upstream CA, delegates and trust domains, ClusterSPIFFEIDs. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    REMOTE_CLASS,
    TRUST_DOMAIN_ANNOTATION,
    finding,
    gateway_ref,
    gateways_of_class,
    istio_namespace,
    mesh_trust_domain,
    option,
    peer_target_cluster,
)

UPSTREAM_HINT = ("The SPIRE upstream authority secret (tls.crt, tls.key, bundle.crt) must hold an intermediate issued by the shared root, "
                 "with its key, and the spire-server config must contain bundle_file_path: set "
                 "spire-server.upstreamAuthority.disk.secret.data.bundle=<root PEM> (any non-empty value) in the SPIRE Helm values "
                 "and check `kubectl get cm spire-server -n spire-server -o yaml`.")
TD_HINT = ("SPIRE trust domain (global.spire.trustDomain), mesh trust domain (ServiceMeshController trustDomain / meshConfig.trustDomain) and "
           "the gateway.istio.io/trust-domain annotation of the peers must be equal, and spire-agent.authorizedDelegates must be exactly "
           "[spiffe://<td>/ns/istio-system/sa/ztunnel]. Fix the Helm values / SMC and re-run the link step.")
CSID_HINT = ("The SPIRE controller manager reconciles a ClusterSPIFFEID only if spec.className equals its className (chart default "
             "<release-namespace>-<release-name>, e.g. spire-server-spire) or it is classless and watchClassless is true: set spec.className "
             "or spire-server.controllerManager.watchClassless=true; then `kubectl get clusterspiffeids -o yaml` must show status.stats.podsSelected > 0.")


def _pki():
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509, _cert_chain
    return _x509, _cert_chain


def _certs(pem, x509mod):
    if not pem:
        return []
    try:
        return x509mod.load_pem_certificates(pem)
    except ValueError:
        return []


def shared_roots(snapshots, options, x509mod):
    """The roots of the mesh: every certificate of the configured root bundle (during a root rotation it holds the old root and
    the new one), else every root of every cluster's cacerts root-cert.pem."""
    configured = _certs(option(options, "root_ca_pem"), x509mod)
    if configured:
        return configured
    roots, seen = [], set()
    for snap in snapshots.values():
        for cert in _certs((snap.get("cacerts") or {}).get("root_cert"), x509mod):
            fp = x509mod.sha256_fingerprint(cert)
            if fp not in seen:
                seen.add(fp)
                roots.append(cert)
    return roots


def _pem(cert):
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store
    return _pki_store.cert_pem(cert)


def check_spire_upstream_ca(snapshots, options=None):
    """Check 9: the SPIRE upstream CA secret chains to a shared root that its bundle.crt holds, matches its key; the server config
    has bundle_file_path. Several shared roots (a root rotation) are fine: the chain must reach one of them."""
    x509mod, chain = _pki()
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store
    now = option(options, "now")
    warning_days = option(options, "warning_days", 90)
    roots = shared_roots(snapshots, options, x509mod)
    root_fps = [x509mod.sha256_fingerprint(r) for r in roots]
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        server = spire.get("server") or {}
        upstream = spire.get("upstream_ca") or {}
        bad = 0
        unverified = 0  # what could not be checked gets a warning and no ok line
        reached = None
        if not server.get("present"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE server config (ConfigMap with server.conf) not found in namespace %s" % (
                spire.get("namespace") or "spire-server"), "Install SPIRE (spire role) before Istio."))
        elif not server.get("bundle_file_path"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error",
                                    "SPIRE bundle not configured: the spire-server UpstreamAuthority disk config has no bundle_file_path, "
                                    "bundle.crt is ignored",
                                    UPSTREAM_HINT))
        if not upstream.get("present"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA secret %s/%s not found" % (
                spire.get("namespace") or "spire-server", upstream.get("secret") or "spiffe-upstream-ca"), UPSTREAM_HINT))
        else:
            certs = _certs(upstream.get("certificate"), x509mod)
            bundle = _certs(upstream.get("bundle"), x509mod)
            bundle_fps = [x509mod.sha256_fingerprint(c) for c in bundle]
            usable = [c for c in bundle if x509mod.sha256_fingerprint(c) in root_fps]
            if not certs:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA tls.crt is missing or not a PEM certificate", UPSTREAM_HINT))
            elif not roots:
                unverified += 1
                findings.append(finding("spire_upstream_ca", cluster, "warning",
                                        "no shared root known (no cacerts root, no root bundle given): the upstream CA chain and "
                                        "bundle.crt are not verified", UPSTREAM_HINT))
            elif not bundle:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA secret has no bundle.crt (the shared root)",
                                        UPSTREAM_HINT))
            elif not usable:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE bundle.crt (SHA256 %s) is not the shared root (SHA256 %s)" % (
                    ", ".join(bundle_fps), ", ".join(root_fps)), UPSTREAM_HINT))
            else:
                reached = _pki_store.chain_root(certs[0], certs[1:], usable) or usable[0]
                root_pem = _pem(reached)
                chain_pem = upstream.get("certificate")
                if x509mod.sha256_fingerprint(certs[-1]) != x509mod.sha256_fingerprint(reached):
                    chain_pem = chain_pem.rstrip("\n") + "\n" + root_pem
                result = chain.check_cluster_chain(cluster, root_pem, upstream.get("certificate"), chain_pem, key_pem=None, now=now,
                                                   warning_days=warning_days)
                for item in result or []:
                    if item.get("level") == "error":
                        bad += 1
                    if item.get("level") in ("warning", "error"):
                        findings.append(finding("spire_upstream_ca", cluster, item.get("level"), "SPIRE upstream CA: " + (item.get("message") or ""),
                                                item.get("hint") or UPSTREAM_HINT))
            if upstream.get("key_matches") is False:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA tls.key does not match tls.crt", UPSTREAM_HINT))
            elif upstream.get("key_matches") is None:
                unverified += 1
                findings.append(finding("spire_upstream_ca", cluster, "warning", "SPIRE upstream CA secret has no tls.key to compare", UPSTREAM_HINT))
        if not bad and not unverified:
            findings.append(finding("spire_upstream_ca", cluster, "ok",
                                    "SPIRE upstream CA chains to the shared root (SHA256 %s), key matches, bundle configured" % (
                                        x509mod.sha256_fingerprint(reached) if reached is not None else "")[:16]))
    return findings


def check_spire_trust_domain(snapshots, options=None):
    """Check 10: authorizedDelegates exactly the ztunnel SPIFFE ID; SPIRE td = mesh td = trust-domain annotation of the peers."""
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        bad = 0
        mesh_td = mesh_trust_domain(snap)
        if not mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "mesh trust domain unknown: ConfigMap istio-gloo / istio not found in %s" % (
                istio_namespace(snap)), TD_HINT))
        tds = {}
        for part in ("server", "agent", "controller_manager"):
            value = (spire.get(part) or {}).get("trust_domain")
            if value:
                tds[part] = value
        spire_td = tds.get("server") or tds.get("agent")
        if not spire_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE trust domain unknown (no spire-server / spire-agent config found)", TD_HINT))
        elif len(set(tds.values())) > 1:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE components disagree on the trust domain: %s" % (
                ", ".join("%s=%s" % kv for kv in sorted(tds.items()))), TD_HINT))
        if spire_td and mesh_td and spire_td != mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE trust domain %s differs from the mesh trust domain %s" % (spire_td, mesh_td),
                                    TD_HINT))
        expected = (snap.get("expected") or {}).get("trust_domain")
        if expected and mesh_td and expected != mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "mesh trust domain %s differs from the declared mesh_trust_domain %s" % (
                mesh_td, expected), TD_HINT))
        for other, osnap in snapshots.items():
            if other == cluster:
                continue
            for gw in gateways_of_class(osnap, REMOTE_CLASS):
                if peer_target_cluster(gw) != cluster:
                    continue
                annotation = (gw.get("annotations") or {}).get(TRUST_DOMAIN_ANNOTATION)
                if mesh_td and annotation != mesh_td:
                    bad += 1
                    findings.append(finding("spire_trust_domain", cluster, "error",
                                            "peer gateway %s in cluster %s uses trust domain %s for this cluster, expected %s" % (
                                                gateway_ref(gw), other, annotation or "(no annotation)", mesh_td), TD_HINT))
        agent = spire.get("agent") or {}
        if agent.get("present"):
            ztunnel_ns = istio_namespace(snap)
            for ds in snap.get("ztunnel_daemonsets") or []:
                ztunnel_ns = ds.get("namespace") or ztunnel_ns
                break
            wanted = ["spiffe://%s/ns/%s/sa/ztunnel" % (spire_td, ztunnel_ns)] if spire_td else None
            delegates = list(agent.get("authorized_delegates") or [])
            if wanted and delegates != wanted:
                bad += 1
                findings.append(finding("spire_trust_domain", cluster, "error", "spire-agent authorized_delegates is %s, expected exactly %s" % (
                    delegates or "[]", wanted), TD_HINT))
        if not bad:
            findings.append(finding("spire_trust_domain", cluster, "ok",
                                    "trust domain %s is consistent (SPIRE, mesh, peers) and authorizedDelegates is exact" % mesh_td))
    return findings


def check_cluster_spiffe_ids(snapshots, options=None):
    """Check 11: ClusterSPIFFEIDs reconciled by the controller manager; podsSelected > 0 where ambient pods exist."""
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        manager = spire.get("controller_manager") or {}
        ids = spire.get("cluster_spiffe_ids")
        bad = 0
        if ids is None:
            findings.append(finding("cluster_spiffe_ids", cluster, "error", "ClusterSPIFFEID CRD (spire.spiffe.io/v1alpha1) not installed", CSID_HINT))
            continue
        if not manager.get("present"):
            findings.append(finding("cluster_spiffe_ids", cluster, "error", "SPIRE controller manager config not found in namespace %s" % (
                spire.get("namespace") or "spire-server"), CSID_HINT))
            continue
        class_name = manager.get("class_name") or ""
        watch = bool(manager.get("watch_classless"))
        selected = 0
        for item in ids:
            name = item.get("name")
            own = item.get("class_name") or ""
            if (own == "" and watch) or (own and own == class_name):
                stats = item.get("stats")
                if not stats:
                    findings.append(finding("cluster_spiffe_ids", cluster, "warning", "ClusterSPIFFEID %s has no status yet" % name, CSID_HINT))
                    continue
                pods = int(stats.get("podsSelected") or 0)
                selected += pods
                failures = int(stats.get("entryFailures") or 0) + int(stats.get("podEntryRenderFailures") or 0)
                if failures:
                    bad += 1
                    findings.append(finding("cluster_spiffe_ids", cluster, "error", "ClusterSPIFFEID %s reports %d entry failures" % (name, failures),
                                            CSID_HINT))
                else:
                    findings.append(finding("cluster_spiffe_ids", cluster, "info", "ClusterSPIFFEID %s reconciled (className %s): podsSelected %d" % (
                        name, own or '""', pods)))
            else:
                bad += 1
                findings.append(finding("cluster_spiffe_ids", cluster, "error",
                                        'ClusterSPIFFEID %s is ignored by the SPIRE controller manager: className "%s", '
                                        'controller className "%s", watchClassless %s' % (
                                            name, own, class_name, str(watch).lower()), CSID_HINT))
        ambient = int((snap.get("ambient") or {}).get("pods") or 0)
        if ambient and not selected:
            bad += 1
            findings.append(finding("cluster_spiffe_ids", cluster, "error",
                                    "%d ambient pods exist but no reconciled ClusterSPIFFEID selects any pod (podsSelected 0)" % ambient, CSID_HINT))
        if not ids:
            findings.append(finding("cluster_spiffe_ids", cluster, "warning", "no ClusterSPIFFEIDs found", CSID_HINT))
        elif not bad:
            findings.append(finding("cluster_spiffe_ids", cluster, "ok", "all ClusterSPIFFEIDs reconciled (className %s), %d pods selected" % (
                class_name or '""', selected)))
    return findings
