# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check 6: intermediate certificate compatibility (istiod cacerts). PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import finding, option

CERT_HINT = ("Every cluster needs a cacerts Secret in istio-system whose ca-cert.pem chains to the SHARED root in root-cert.pem "
             "(`kubectl get secret cacerts -n istio-system -o jsonpath='{.data.root-cert\\.pem}' | base64 -d | openssl x509 -noout "
             "-fingerprint -sha256`); istiod logs 'tls: unknown certificate authority' otherwise. Regenerate the intermediates "
             "from the shared root (pki role) and restart istiod.")


def _pki():
    # imported lazily: the pki module_utils need the cryptography library
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509, _cert_chain
    return _x509, _cert_chain


def root_fingerprints(pem, x509mod):
    """SHA-256 fingerprints of the certificates in a PEM text (empty on missing or bad PEM)."""
    if not pem:
        return []
    try:
        return [x509mod.sha256_fingerprint(c) for c in x509mod.load_pem_certificates(pem)]
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


def check_intermediate_certs(snapshots, options=None):
    """Check 6: per cluster root SHA-256; all equal; each cacerts chain verifies to its root; istio-ca-root-cert
    equals cacerts root-cert.pem; ca-key.pem is present and matches ca-cert.pem; expiry horizon warning."""
    x509mod, chain = _pki()
    now = option(options, "now")
    warning_days = option(options, "warning_days", 90)
    findings = []
    roots = {}
    problem = {}  # cluster -> why its cacerts cannot be used (None: they can)
    fingerprints = {}
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
        roots[cluster] = root_pem
        fingerprints[cluster] = fps[0]
        findings.append(finding("intermediate_certs", cluster, "info", "cluster %s root certificate SHA256 sum: %s" % (cluster, fps[0])))
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
            message = "istio-ca-root-cert root-cert.pem (SHA256 %s) differs from cacerts root-cert.pem (SHA256 %s)" % (cm_fps[0], fps[0])
            problem[cluster] = problem[cluster] or message
            findings.append(finding("intermediate_certs", cluster, "error", message,
                                    "istiod has not picked up the current cacerts: restart istiod (`kubectl rollout restart deploy -n istio-system "
                                    "-l app=istiod`)."))
    if len(roots) > 1:
        findings.extend(f for f in _remap(chain.check_shared_root(roots), "intermediate_certs", None, "") if f["level"] in ("warning", "error"))
    clusters = list(roots)
    for a in clusters:
        for b in clusters:
            if a == b:
                continue
            if fingerprints[a] != fingerprints[b]:
                findings.append(finding("intermediate_certs", a, "error",
                                        "cluster %s has incompatible intermediate certificates with cluster %s (root SHA256 %s vs %s)" % (
                                            a, b, fingerprints[a][:16], fingerprints[b][:16]), CERT_HINT))
            elif problem[a] or problem[b]:
                broken = a if problem[a] else b
                findings.append(finding("intermediate_certs", a, "error",
                                        "cluster %s has incompatible intermediate certificates with cluster %s: the cacerts of cluster %s "
                                        "cannot be used: %s" % (a, b, broken, problem[broken]), CERT_HINT))
            else:
                findings.append(finding("intermediate_certs", a, "ok", "cluster %s has compatible intermediate certificates with cluster %s" % (a, b)))
    for cluster in snapshots:
        own = [f for f in findings if f["cluster"] == cluster]
        if cluster in roots and not any(f["level"] in ("error", "warning") for f in own):
            findings.append(finding("intermediate_certs", cluster, "ok",
                                    "all clusters have compatible intermediate certificates" if len(snapshots) > 1 else
                                    "cacerts intermediate chains to its root"))
    return findings
