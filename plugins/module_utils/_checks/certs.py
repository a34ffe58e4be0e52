# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check 6: intermediate certificate compatibility, as a trust graph. PRIVATE to the collection.

Per cluster: the cacerts chain verifies to its root-cert.pem, ca-key.pem is there and matches, istiod published what cacerts
holds (istio-ca-root-cert), expiry. Across clusters, for every ordered pair (X, Y): every chain X presents - istiod's plug-in
CA (cacerts) and SPIRE's upstream intermediate (spiffe-upstream-ca tls.crt) - verifies against every trust store of Y - istiod's
published roots (istio-ca-root-cert: what its east-west gateway and its peers' control plane verify with) and SPIRE's published
bundle (the ConfigMap of its k8sbundle notifier: what ztunnel verifies with). An error names the pair and the direction.
Several roots in use while every pair verifies is a rotation in progress (info); roots only SPIRE still trusts are reported too:
SPIRE only ever adds roots to its bundle and prunes them once they expired, so the old root of a finished root rotation stays in
its bundle until then.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import finding, option

CERT_HINT = ("Every cluster needs a cacerts Secret in istio-system whose ca-cert.pem chains to the SHARED root in root-cert.pem "
             "(`kubectl get secret cacerts -n istio-system -o jsonpath='{.data.root-cert\\.pem}' | base64 -d | openssl x509 -noout "
             "-fingerprint -sha256`); istiod logs 'tls: unknown certificate authority' otherwise. Regenerate the intermediates "
             "from the shared root (pki role) and restart istiod.")
GRAPH_HINT = ("Every chain of every cluster must verify against the trust stores of every other cluster: istiod's root-cert.pem "
              "(ConfigMap istio-ca-root-cert) and SPIRE's bundle (ConfigMap spire-bundle). During a root rotation the new root must be in "
              "every trust store of every cluster before any cluster issues from it (playbooks/rotate_ca.yml does it in that order); "
              "resume an interrupted rotation with the same rotate_ca_id.")
SPIRE_KEEPS_HINT = ("SPIRE's bundle only grows (SyncX509Roots adds upstream roots, never removes them); a root leaves it when it has been "
                    "expired for the prune grace (24 h). Until then SPIRE, and the ztunnels that read its bundle, still accept chains of it.")


def _pki():
    # imported lazily: the pki module_utils need the cryptography library
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509, _cert_chain, _pki_store
    return _x509, _cert_chain, _pki_store


def root_fingerprints(pem, x509mod):
    """SHA-256 fingerprints of the certificates in a PEM text (empty on missing or bad PEM)."""
    if not pem:
        return []
    try:
        return [x509mod.sha256_fingerprint(c) for c in x509mod.load_pem_certificates(pem)]
    except ValueError:
        return []


def _certs(pem, x509mod):
    if not pem:
        return []
    try:
        return x509mod.load_pem_certificates(pem)
    except ValueError:
        return []


def _remap(items, check_id, cluster, prefix):
    out = []
    for item in items or []:
        out.append(finding(check_id, item.get("cluster") or cluster, item.get("level") or "error",
                           prefix + (item.get("message") or ""), item.get("hint") or CERT_HINT, item.get("details")))
    return out


def _key_name(cacerts):
    return "tls.key" if cacerts.get("format") == "tls" else "ca-key.pem"


def _name(cert, store):
    return store.describe(cert)


def _chains(snap, x509mod):
    """[(label, certificate, intermediates)] a cluster presents: istiod's plug-in CA and SPIRE's upstream intermediate."""
    chains = []
    cacerts = snap.get("cacerts") or {}
    cas = _certs(cacerts.get("ca_cert"), x509mod)
    if cacerts.get("present") and cas:
        chains.append(("istiod chain", cas[0], _certs(cacerts.get("cert_chain"), x509mod)))
    upstream = ((snap.get("spire") or {}).get("upstream_ca") or {})
    ups = _certs(upstream.get("certificate"), x509mod)
    if upstream.get("present") and ups:
        chains.append(("SPIRE chain", ups[0], ups[1:]))
    return chains


def _stores(snap, x509mod):
    """[(label, roots)] a cluster verifies peers with: istiod's published roots, SPIRE's published bundle (when read)."""
    stores = []
    published = _certs(snap.get("istio_ca_root_cert"), x509mod) or _certs((snap.get("cacerts") or {}).get("root_cert"), x509mod)
    if published:
        stores.append(("istiod root-cert.pem", published))
    bundle = ((snap.get("spire") or {}).get("bundle") or {})
    spire_roots = _certs(bundle.get("pem"), x509mod)
    if spire_roots:
        stores.append(("SPIRE bundle", spire_roots))
    return stores


def _edge_problems(a, b, chains, stores, store):
    """Why the chains of cluster a do not verify against the trust stores of cluster b (empty when they all do)."""
    problems = []
    for label, cert, intermediates in chains.get(a, []):
        for store_label, roots in stores.get(b, []):
            if store.chain_root(cert, intermediates, roots) is None:
                problems.append("%s -> %s: the %s of %s (%s) does not verify against the %s of %s, which trusts [%s]: %s rejects %s" % (
                    a, b, label, a, _name(cert, store), store_label, b, ", ".join(_name(r, store) for r in roots), b, a))
    return problems


def _graph(snapshots, chains, stores, problem, findings, store):
    clusters = [c for c in snapshots if c in problem]
    broken = False
    for a in clusters:
        for b in clusters:
            if a == b:
                continue
            if problem[a] or problem[b]:
                bad = a if problem[a] else b
                broken = True
                findings.append(finding("intermediate_certs", a, "error",
                                        "cluster %s has incompatible intermediate certificates with cluster %s: the cacerts of cluster %s "
                                        "cannot be used: %s" % (a, b, bad, problem[bad]), CERT_HINT))
                continue
            problems = _edge_problems(a, b, chains, stores, store)
            if problems:
                broken = True
                findings.append(finding("intermediate_certs", a, "error",
                                        "cluster %s has incompatible intermediate certificates with cluster %s: %s" % (a, b, problems[0]),
                                        GRAPH_HINT, problems[1:]))
            else:
                findings.append(finding("intermediate_certs", a, "ok", "cluster %s has compatible intermediate certificates with cluster %s" % (a, b)))
    return broken


def _roots_report(snapshots, chains, stores, broken, findings, store, now):
    """Mesh-wide: several roots in use (a rotation in progress), roots only SPIRE still trusts."""
    in_use, spire_only = [], {}
    for cluster in snapshots:
        for label, cert, intermediates in chains.get(cluster, []):
            roots = [r for label_, rs in stores.get(cluster, []) for r in rs]
            root = store.chain_root(cert, intermediates, roots)
            if root is not None and not store.contains(in_use, root):
                in_use.append(root)
        for label, roots in stores.get(cluster, []):
            if label == "istiod root-cert.pem":
                for root in roots:
                    if not store.contains(in_use, root):
                        in_use.append(root)
    for cluster in snapshots:
        for label, roots in stores.get(cluster, []):
            if label == "SPIRE bundle":
                for root in roots:
                    if not store.contains(in_use, root):
                        spire_only.setdefault(store.fingerprint(root), (root, []))[1].append(cluster)
    if len(in_use) > 1 and not broken:
        findings.append(finding("intermediate_certs", None, "info", "rotation in progress: roots %s; every chain verifies against every "
                                "trust store of every other cluster" % ", ".join(_name(r, store) for r in in_use)))
    for root, clusters in spire_only.values():
        expired = store.expires_within(root, 0, now)
        findings.append(finding("intermediate_certs", None, "info",
                                "SPIRE on %s still trusts root %s%s (SPIRE only adds roots to its bundle and prunes them once expired): "
                                "ztunnel there accepts chains of it until then" % (
                                    ", ".join(clusters), _name(root, store), " although it expired" if expired else
                                    " until it expires on %s" % store.info(root)["not_after"][:10]), SPIRE_KEEPS_HINT))


def check_intermediate_certs(snapshots, options=None):
    """Check 6: per cluster root SHA-256, chain, key and publication; the trust graph across clusters (module docstring)."""
    x509mod, chain, store = _pki()
    now = option(options, "now")
    warning_days = option(options, "warning_days", 90)
    findings = []
    problem = {}  # cluster -> why its cacerts cannot be used (None: they can); only clusters with a readable root-cert.pem
    for cluster, snap in snapshots.items():
        cacerts = snap.get("cacerts") or {}
        if not cacerts.get("present"):
            findings.append(finding("intermediate_certs", cluster, "error", "no cacerts Secret in %s: istiod uses a self-signed root" % (
                snap.get("istio_namespace") or "istio-system"), CERT_HINT))
            continue
        root_pem = cacerts.get("root_cert")
        fps = root_fingerprints(root_pem, x509mod)
        if not fps:
            findings.append(finding("intermediate_certs", cluster, "error", "cacerts root-cert.pem is missing or not a PEM certificate", CERT_HINT))
            continue
        findings.append(finding("intermediate_certs", cluster, "info", "cluster %s root certificate SHA256 sum: %s" % (cluster, ", ".join(fps))))
        result = chain.check_cluster_chain(cluster, root_pem, cacerts.get("ca_cert"), cacerts.get("cert_chain"), key_pem=None,
                                           now=now, warning_days=warning_days)
        remapped = _remap(result, "intermediate_certs", cluster, "cacerts: ")
        findings.extend(f for f in remapped if f["level"] in ("warning", "error"))
        errors = [item.get("message") or "" for item in result or [] if (item.get("level") or "error") == "error"]
        if cacerts.get("key_present") is False:
            errors.append("cacerts has no %s: istiod cannot sign workload certificates with the plugged-in CA" % _key_name(cacerts))
            findings.append(finding("intermediate_certs", cluster, "error", errors[-1], CERT_HINT))
        elif cacerts.get("key_matches") is False:
            errors.append("cacerts ca-key.pem does not match ca-cert.pem")
            findings.append(finding("intermediate_certs", cluster, "error", errors[-1], CERT_HINT))
        problem[cluster] = errors[0] if errors else None
        cm_fps = root_fingerprints(snap.get("istio_ca_root_cert"), x509mod)
        if not cm_fps:
            findings.append(finding("intermediate_certs", cluster, "warning", "ConfigMap istio-ca-root-cert (root-cert.pem) not found or empty in %s" % (
                snap.get("istio_namespace") or "istio-system"), "istiod writes it once it runs with the plugged-in CA; restart istiod."))
        elif set(cm_fps) != set(fps):
            message = "istio-ca-root-cert root-cert.pem (SHA256 %s) differs from cacerts root-cert.pem (SHA256 %s)" % (
                ", ".join(cm_fps), ", ".join(fps))
            problem[cluster] = problem[cluster] or message
            findings.append(finding("intermediate_certs", cluster, "error", message,
                                    "istiod has not picked up the current cacerts: with ISTIO_MULTIROOT_MESH=true it takes a root-cert.pem that "
                                    "contains the old one (or the reverse) within a minute; otherwise restart istiod (`kubectl rollout restart "
                                    "deploy -n istio-system -l app=istiod`)."))
    chains = dict((c, _chains(s, x509mod)) for c, s in snapshots.items())
    stores = dict((c, _stores(s, x509mod)) for c, s in snapshots.items())
    broken = _graph(snapshots, chains, stores, problem, findings, store)
    if len(problem) > 1 or any(stores.values()):
        _roots_report(dict((c, s) for c, s in snapshots.items() if c in problem), chains, stores, broken, findings, store, _now(now, x509mod))
    for cluster in snapshots:
        own = [f for f in findings if f["cluster"] == cluster]
        if cluster in problem and not any(f["level"] in ("error", "warning") for f in own):
            findings.append(finding("intermediate_certs", cluster, "ok",
                                    "all clusters have compatible intermediate certificates" if len(snapshots) > 1 else
                                    "cacerts intermediate chains to its root"))
    return findings


def _now(now, x509mod):
    import datetime
    if now is None:
        return datetime.datetime.now(x509mod.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=x509mod.UTC)
