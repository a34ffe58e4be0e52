# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate-chain compatibility checks as pure functions.

This module util is PRIVATE to the collection. It can have breaking changes at any time.
Used by the ``cert_chain_check`` module, the ``pki`` role (through that module) and the mesh check.

A finding is a dict ``{check, cluster, level, message, hint}`` (optionally ``details``), ``level`` one of
``ok``, ``info``, ``warning``, ``error``. Functions never raise on bad input: garbage or truncated PEM,
a leaf instead of a CA or a reversed chain become ``error`` findings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509

LEVELS = ("ok", "info", "warning", "error")
_RANK = {"ok": 0, "info": 0, "warning": 1, "error": 2}
_MAX_DEPTH = 10

HINT_REISSUE = ("Re-issue the intermediate from the shared root (role meshops.ambient_spire.pki with pki_rotate_intermediates=true), "
                "then roll the new material out to the cluster.")
HINT_CHAIN = "The chain must be the signing CA certificate followed by its issuers, ending with the root: cat ca-cert.pem root-cert.pem > cert-chain.pem."
HINT_PEM = "Give PEM text ('-----BEGIN CERTIFICATE-----' ... '-----END CERTIFICATE-----'); check for a cut-off copy or a wrong file."
HINT_CA = "A signing CA needs basicConstraints critical CA:TRUE (with a pathlen that allows the CAs below it) and keyUsage keyCertSign."
HINT_KEY = "Use the private key generated together with this CA certificate (ca.key / ca-key.pem), or re-issue both."
HINT_ROOT = ("All clusters must trust one root: distribute the same root-cert.pem/root-ca-bundle.pem and re-issue every intermediate from it "
             "(ambient ztunnel accepts no extra trust anchors).")


def finding(check, cluster, level, message, hint="", details=None):
    """Build one finding dict."""
    if level not in LEVELS:
        raise ValueError("unknown level %r" % (level,))
    result = {"check": check, "cluster": cluster, "level": level, "message": message, "hint": hint or ""}
    if details:
        result["details"] = list(details)
    return result


def worst(findings):
    """Worst level of a list of findings ('ok' when empty; 'info' counts as 'ok')."""
    level = "ok"
    for item in findings:
        if _RANK.get(item.get("level"), 0) > _RANK[level]:
            level = item["level"]
    return level


def summary(findings):
    """Counts per level plus the worst level."""
    counts = dict((level, 0) for level in LEVELS)
    for item in findings:
        counts[item["level"]] = counts.get(item["level"], 0) + 1
    counts["level"] = worst(findings)
    return counts


def _now(now):
    if now is None:
        return datetime.datetime.now(_x509.UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=_x509.UTC)
    return now


def _name(cert):
    for attr in cert.subject:
        if attr.oid.dotted_string == "2.5.4.3":
            return "'%s'" % attr.value
    return "'%s'" % _x509.subject(cert)


def _short(fp):
    return fp[:16]


def _contains(certs, cert):
    return any(_x509.same_certificate(c, cert) for c in certs)


def fingerprints(pem):
    """SHA-256 fingerprints of the certificates of a PEM text; raises ``_x509.PEMError`` on bad PEM."""
    return [_x509.sha256_fingerprint(c) for c in _x509.load_pem_certificates(pem)]


def _parse(cluster, label, pem, findings):
    try:
        return _x509.load_pem_certificates(pem)
    except _x509.PEMError as exc:
        findings.append(finding("pem", cluster, "error", "%s: %s" % (label, exc), HINT_PEM))
        return None


def _check_root(cluster, roots, findings):
    problems = []
    for root in roots:
        present, ca, dummy, dummy2 = _x509.basic_constraints(root)
        if not (_x509.is_self_issued(root) and _x509.signature_verifies(root, root)):
            problems.append(finding("root", cluster, "warning",
                                    "root %s is not self-signed (issuer %s): it is an intermediate, not a trust anchor" % (
                                        _name(root), _x509.issuer(root)), "Give the self-signed root certificate as root."))
        if not ca:
            problems.append(finding("root", cluster, "error", "root %s is not a CA certificate (basicConstraints CA:TRUE missing)" % _name(root), HINT_CA))
        usage = _x509.key_usage(root)
        if usage is not None and not usage["key_cert_sign"]:
            problems.append(finding("root", cluster, "error", "root %s lacks keyUsage keyCertSign" % _name(root), HINT_CA))
    findings.extend(problems)
    if not problems:
        extra = " (+%d more root(s) in the bundle)" % (len(roots) - 1) if len(roots) > 1 else ""
        findings.append(finding("root", cluster, "ok", "root %s SHA256 %s%s" % (_name(roots[0]), _x509.sha256_fingerprint(roots[0]), extra)))


def _check_ca(cluster, ca, findings):
    problems = []
    present, is_ca, pathlen, critical = _x509.basic_constraints(ca)
    if not is_ca:
        problems.append(finding("ca", cluster, "error",
                                "%s is not a CA certificate (basicConstraints %s): a leaf certificate cannot sign" % (
                                    _name(ca), "CA:FALSE" if present else "absent"), HINT_CA))
    elif not critical:
        problems.append(finding("ca", cluster, "warning", "basicConstraints of %s is not marked critical" % _name(ca), HINT_CA))
    usage = _x509.key_usage(ca)
    if usage is None:
        problems.append(finding("ca", cluster, "warning", "%s has no keyUsage extension (keyCertSign expected)" % _name(ca), HINT_CA))
    elif not usage["key_cert_sign"]:
        problems.append(finding("ca", cluster, "error", "%s lacks keyUsage keyCertSign: it cannot sign certificates" % _name(ca), HINT_CA))
    findings.extend(problems)
    if not problems:
        findings.append(finding("ca", cluster, "ok", "%s is a CA (pathlen %s, keyCertSign)" % (_name(ca), "unlimited" if pathlen is None else pathlen)))


def _build_path(ca, roots, chain):
    """Walk from ``ca`` to a root: ``(path, reached)``; path[0] is ca, path[-1] the root when reached."""
    pool = [c for c in (chain or []) if not _x509.same_certificate(c, ca) and not _contains(roots, c)]
    path = [ca]
    current = ca
    for dummy in range(_MAX_DEPTH):
        if _contains(roots, current):
            return path, True
        parent = next((r for r in roots if _x509.signature_verifies(current, r)), None)
        if parent is not None:
            path.append(parent)
            return path, True
        parent = next((p for p in pool if not _contains(path, p) and _x509.signature_verifies(current, p)), None)
        if parent is None:
            return path, False
        path.append(parent)
        current = parent
    return path, False


def _check_signature(cluster, ca, roots, path, reached, findings):
    if reached:
        findings.append(finding("signature", cluster, "ok", "%s chains to root %s (%d certificate(s) in the path)" % (
            _name(ca), _name(path[-1]), len(path))))
        return
    top = path[-1]
    same_name = [r for r in roots if r.subject == top.issuer]
    if same_name:
        message = ("signature of %s does not verify with the key of root %s (SHA256 %s): it was signed by another CA "
                   "with the same name (a foreign root)" % (_name(top), _name(same_name[0]), _short(_x509.sha256_fingerprint(same_name[0]))))
    else:
        message = "%s is issued by '%s', which is neither the root %s nor a certificate of the chain" % (
            _name(top), _x509.issuer(top), _name(roots[0]))
    findings.append(finding("signature", cluster, "error", message, HINT_REISSUE))


def _link_problems(cluster, child, parent):
    problems = []
    if child.issuer != parent.subject:
        problems.append(finding("linkage", cluster, "error", "issuer of %s is '%s' but the subject of %s is '%s'" % (
            _name(child), _x509.issuer(child), _name(parent), _x509.subject(parent)), HINT_REISSUE))
    aki = _x509.authority_key_identifier(child)
    ski = _x509.subject_key_identifier(parent)
    if aki and ski and aki != ski:
        problems.append(finding("linkage", cluster, "error",
                                "authorityKeyIdentifier of %s (%s) differs from the subjectKeyIdentifier of %s (%s): issued by another key" % (
                                    _name(child), aki, _name(parent), ski), HINT_REISSUE))
    elif not aki and not _x509.is_self_issued(child):
        problems.append(finding("linkage", cluster, "warning", "%s has no authorityKeyIdentifier" % _name(child), HINT_REISSUE))
    if not ski:
        problems.append(finding("linkage", cluster, "warning", "%s has no subjectKeyIdentifier" % _name(parent), HINT_CA))
    return problems


def _check_linkage(cluster, roots, path, reached, findings):
    pairs = list(zip(path, path[1:]))
    if not reached:
        pairs.append((path[-1], roots[0]))
    problems = []
    for child, parent in pairs:
        problems.extend(_link_problems(cluster, child, parent))
    findings.extend(problems)
    if not problems:
        findings.append(finding("linkage", cluster, "ok", "issuer/subject and AKI/SKI link every certificate to its issuer"))


def _check_pathlen(cluster, path, findings):
    problems = []
    for index, cert in enumerate(path):
        if index == 0:
            continue
        present, is_ca, pathlen, dummy = _x509.basic_constraints(cert)
        if not is_ca:
            problems.append(finding("pathlen", cluster, "error", "%s signs %s but is not a CA" % (_name(cert), _name(path[index - 1])), HINT_CA))
        elif pathlen is not None and pathlen < index:
            problems.append(finding("pathlen", cluster, "error",
                                    "path length violated: %s has pathlen:%d but %d CA certificate(s) follow it (%s)" % (
                                        _name(cert), pathlen, index, ", ".join(_name(c) for c in reversed(path[:index]))),
                                    "Issue the root with a larger pathlen (the procedure uses pathlen:2 on the root, 1 on the intermediate)."))
    findings.extend(problems)
    if not problems:
        findings.append(finding("pathlen", cluster, "ok", "basicConstraints and path length constraints are respected"))


def _check_validity(cluster, certs, path, now, warning_days, findings):
    problems = []
    horizon = now + datetime.timedelta(days=warning_days)
    for cert in certs:
        start, end = _x509.not_before(cert), _x509.not_after(cert)
        if start > now:
            problems.append(finding("validity", cluster, "error", "%s is not valid before %s" % (_name(cert), start.isoformat()),
                                    "Check the clock of the issuing machine, or wait."))
        elif end < now:
            problems.append(finding("validity", cluster, "error", "%s expired on %s" % (_name(cert), end.isoformat()), HINT_REISSUE))
        elif end < horizon:
            problems.append(finding("validity", cluster, "warning", "%s expires in %d day(s), on %s" % (
                _name(cert), (end - now).days, end.date().isoformat()), HINT_REISSUE))
    for child, parent in zip(path, path[1:]):
        if _x509.not_after(child) > _x509.not_after(parent):
            problems.append(finding("validity", cluster, "warning", "%s is valid until %s, after its issuer %s (%s)" % (
                _name(child), _x509.not_after(child).date().isoformat(), _name(parent), _x509.not_after(parent).date().isoformat()),
                "Issue intermediates with a shorter lifetime than their issuer."))
    findings.extend(problems)
    if not problems:
        end = min(_x509.not_after(c) for c in certs)
        findings.append(finding("validity", cluster, "ok", "every certificate is valid; the first expiry is on %s" % end.date().isoformat()))


def _check_chain_order(cluster, ca, roots, chain, findings):
    problems = []
    first, last = chain[0], chain[-1]
    if len(chain) > 1 and _x509.same_certificate(last, ca) and _contains(roots, first):
        problems.append(finding("chain_order", cluster, "error", "the chain is in the wrong order: it starts with the root %s and ends with %s" % (
            _name(first), _name(ca)), HINT_CHAIN))
    else:
        if not _x509.same_certificate(first, ca):
            where = next((i for i, c in enumerate(chain) if _x509.same_certificate(c, ca)), None)
            problems.append(finding("chain_order", cluster, "error", "the chain starts with %s instead of the signing CA %s%s" % (
                _name(first), _name(ca), " (found at position %d: wrong order)" % (where + 1) if where is not None else " (not in the chain)"),
                HINT_CHAIN))
        if not _contains(roots, last):
            problems.append(finding("chain_order", cluster, "error", "the last certificate of the chain, %s (SHA256 %s), is not the root %s (SHA256 %s)" % (
                _name(last), _short(_x509.sha256_fingerprint(last)), _name(roots[0]), _short(_x509.sha256_fingerprint(roots[0]))), HINT_CHAIN))
        if not problems:
            for child, parent in zip(chain, chain[1:]):
                if not _x509.signature_verifies(child, parent):
                    problems.append(finding("chain_order", cluster, "error", "in the chain, %s is not issued by the next certificate %s" % (
                        _name(child), _name(parent)), HINT_CHAIN))
                    break
    findings.extend(problems)
    if not problems:
        findings.append(finding("chain_order", cluster, "ok", "the chain holds %d certificate(s), from the signing CA to the root" % len(chain)))


def _check_key(cluster, ca, key_pem, findings):
    try:
        key = _x509.load_private_key(key_pem)
    except _x509.PEMError as exc:
        findings.append(finding("key_match", cluster, "error", "key: %s" % exc, HINT_KEY))
        return
    matches = _x509.key_matches_certificate(ca, key_pem) if key is not None else False
    if matches:
        findings.append(finding("key_match", cluster, "ok", "the private key matches %s" % _name(ca)))
    else:
        findings.append(finding("key_match", cluster, "error", "the private key does not match the certificate %s" % _name(ca), HINT_KEY))


def check_cluster_chain(cluster, root_pem, ca_cert_pem, chain_pem, key_pem=None, now=None, warning_days=90):
    """Check one cluster's CA material.

    ``root_pem``: the trust anchor(s); ``ca_cert_pem``: the signing (intermediate) CA; ``chain_pem``: the chain
    from the signing CA to the root, or ``None`` to skip the chain-order checks; ``key_pem``: the signing CA's key,
    or ``None`` (never echoed); ``now``: a datetime (default: the current time); ``warning_days``: expiry horizon.
    Returns a list of findings.
    """
    findings = []
    roots = _parse(cluster, "root", root_pem, findings)
    cas = _parse(cluster, "ca_cert", ca_cert_pem, findings)
    chain = _parse(cluster, "chain", chain_pem, findings) if chain_pem is not None else None
    if key_pem is not None and cas:
        _check_key(cluster, cas[0], key_pem, findings)
    if not roots or not cas:
        return findings
    now = _now(now)
    ca = cas[0]
    if len(cas) > 1:
        findings.append(finding("ca", cluster, "warning", "ca_cert holds %d certificates; only the first, %s, is checked" % (len(cas), _name(ca)),
                                "The signing CA file holds one certificate; the chain goes into the chain file."))
    _check_root(cluster, roots, findings)
    _check_ca(cluster, ca, findings)
    path, reached = _build_path(ca, roots, chain)
    _check_signature(cluster, ca, roots, path, reached, findings)
    _check_linkage(cluster, roots, path, reached, findings)
    _check_pathlen(cluster, path, findings)
    certs = list(path)
    for root in roots:
        if not _contains(certs, root):
            certs.append(root)
    _check_validity(cluster, certs, path, now, warning_days, findings)
    if chain is not None:
        _check_chain_order(cluster, ca, roots, chain, findings)
    order = dict((name, i) for i, name in enumerate(("pem", "key_match", "root", "ca", "signature", "linkage", "pathlen", "validity", "chain_order")))
    findings.sort(key=lambda f: order.get(f["check"], len(order)))
    return findings


def check_shared_root(roots):
    """Compare the roots of several clusters (``dict cluster -> root PEM``).

    One ``info`` finding per cluster with its root's SHA-256, then one mesh-wide finding (cluster ``None``):
    ``ok`` when all clusters hold the same root(s), ``warning`` when they share a root but some bundles hold
    extra roots, ``error`` otherwise. Unreadable roots are ``error`` findings of their cluster.
    """
    findings = []
    sets = {}
    for cluster, pem in roots.items():
        try:
            fps = fingerprints(pem)
        except _x509.PEMError as exc:
            findings.append(finding("shared_root", cluster, "error", "root: %s" % exc, HINT_PEM))
            continue
        sets[cluster] = fps
        findings.append(finding("shared_root", cluster, "info", "cluster %s root certificate SHA256: %s" % (cluster, ", ".join(fps))))
    if not sets:
        return findings
    distinct = set(frozenset(fps) for fps in sets.values())
    first = next(iter(sets.values()))[0]
    if len(distinct) == 1:
        findings.append(finding("shared_root", None, "ok", "all %d cluster(s) share the root SHA256 %s" % (len(sets), first)))
        return findings
    common = set.intersection(*[set(fps) for fps in sets.values()])
    if common:
        findings.append(finding("shared_root", None, "warning", "the clusters share the root SHA256 %s but some bundles hold extra roots: %s" % (
            sorted(common)[0], "; ".join("%s: %d" % (c, len(fps)) for c, fps in sets.items())),
            "Normal during a root rotation; otherwise remove the extra roots."))
        return findings
    groups = {}
    for cluster, fps in sets.items():
        groups.setdefault(fps[0], []).append(cluster)
    findings.append(finding("shared_root", None, "error", "the clusters do not share one root: %s" % "; ".join(
        "%s: %s" % (_short(fp), ", ".join(clusters)) for fp, clusters in groups.items()), HINT_ROOT))
    return findings
