#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: cert_chain_check
short_description: Verify the CA certificate chains of one or more clusters and that they share one root
version_added: 0.1.0
description:
  - For each cluster, checks the signing (intermediate) CA certificate against the root certificate and the chain file,
    as used by the SPIRE upstream authority (C(ca.crt), C(ca-chain.pem)) and by the istiod C(cacerts) secret
    (C(ca-cert.pem), C(cert-chain.pem), C(root-cert.pem)).
  - "Verifies: the signature chain to the root, issuer/subject and authorityKeyIdentifier/subjectKeyIdentifier linkage,
    the validity windows (expiry warning within O(warning_days)), CA basicConstraints and path length constraints,
    keyUsage keyCertSign, the chain order (signing CA first, root last), that the private key matches the certificate,
    and that all clusters share one root (the SHA-256 of each root is reported)."
  - Bad input (empty, garbage or truncated PEM, a leaf certificate instead of a CA, a reversed chain) gives a finding of
    level C(error) with a message and a hint, never a traceback.
  - Read-only. Private keys are never returned or logged.
author:
  - meshops platform engineering (@meshops)
requirements:
  - cryptography >= 3.1
extends_documentation_fragment:
  - meshops.ambient_spire._attributes
  - meshops.ambient_spire._attributes.info_module
options:
  clusters:
    description:
      - The CA material of each cluster. Give each item as PEM text or as a path on the managed node (the controller
        for this collection); C(*_pem) and C(*_path) of the same item are mutually exclusive.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Cluster name used in the findings; must be unique.
        type: str
        required: true
      root_pem:
        description: The root certificate(s) (trust anchors), for example C(root-cert.pem) or C(root-ca-bundle.pem).
        type: str
      root_path:
        description: Path of the root certificate file.
        type: path
      ca_cert_pem:
        description: The signing CA certificate, for example C(ca-cert.pem) or the SPIRE upstream C(ca.crt).
        type: str
      ca_cert_path:
        description: Path of the signing CA certificate file.
        type: path
      chain_pem:
        description:
          - The chain from the signing CA to the root, for example C(cert-chain.pem) or C(ca-chain.pem).
          - When neither O(clusters[].chain_pem) nor O(clusters[].chain_path) is given, the chain-order checks are skipped.
        type: str
      chain_path:
        description: Path of the chain file.
        type: path
      key_pem:
        description:
          - The private key of the signing CA (unencrypted PEM). Only whether it matches the certificate is reported.
        type: str
      key_path:
        description: Path of the private key of the signing CA. The key is read, compared and never returned.
        type: path
  warning_days:
    description: Report a C(warning) for every certificate that expires within this many days.
    type: int
    default: 90
  fail_on_error:
    description: Fail when any finding has level C(error). With V(false), the findings are only returned.
    type: bool
    default: true
  emit_warnings:
    description: Show every C(warning) finding (for example an upcoming expiry) as an Ansible warning.
    type: bool
    default: true
notes:
  - The findings of the chain checks are C(pem), C(key_match), C(root), C(ca), C(signature), C(linkage), C(pathlen),
    C(validity), C(chain_order), and C(shared_root) across clusters; C(input) reports unreadable files.
seealso:
  - name: Istio plug-in CA certificates
    description: The cacerts secret layout checked by this module.
    link: https://istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/
'''

EXAMPLES = r'''
- name: Check the PKI tree written by the pki role
  meshops.ambient_spire.cert_chain_check:
    clusters:
      - name: cluster1
        root_path: "{{ pki_dir }}/root-ca-bundle.pem"
        ca_cert_path: "{{ pki_dir }}/clusters/cluster1/istio/ca-cert.pem"
        chain_path: "{{ pki_dir }}/clusters/cluster1/istio/cert-chain.pem"
        key_path: "{{ pki_dir }}/clusters/cluster1/istio/ca-key.pem"
      - name: cluster2
        root_path: "{{ pki_dir }}/root-ca-bundle.pem"
        ca_cert_path: "{{ pki_dir }}/clusters/cluster2/istio/ca-cert.pem"
        chain_path: "{{ pki_dir }}/clusters/cluster2/istio/cert-chain.pem"
    warning_days: 60
  register: chains

- name: Only report (do not fail), for example on material read from the clusters
  meshops.ambient_spire.cert_chain_check:
    clusters: "{{ cacerts_by_cluster }}"
    fail_on_error: false
  register: report

- name: Show the root fingerprints
  ansible.builtin.debug:
    var: report.root_fingerprints
'''

RETURN = r'''
findings:
  description: Every finding, cluster by cluster, then the shared-root comparison.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The check, for example V(signature), V(pathlen), V(chain_order) or V(shared_root).
      type: str
      sample: signature
    cluster:
      description: The cluster name; V(null) for the mesh-wide shared-root result.
      type: str
      sample: cluster1
    level:
      description: One of V(ok), V(info), V(warning), V(error).
      type: str
      sample: ok
    message:
      description: What was found.
      type: str
      sample: "'SPIRE cluster1 CA' chains to root 'SPIRE Root CA' (2 certificate(s) in the path)"
    hint:
      description: How to fix it (empty for V(ok)).
      type: str
      sample: ""
clusters:
  description: Per cluster, the worst level, the findings and public metadata of the signing CA certificate.
  returned: always
  type: dict
  sample:
    cluster1:
      level: ok
      root_sha256: 5f2c...
      ca:
        subject: CN=SPIRE cluster1 CA
        issuer: CN=SPIRE Root CA
        serial: 3a1f...
        not_before: "2026-11-29T03:20:00+00:00"
        not_after: "2031-11-28T03:20:00+00:00"
        sha256: 9b0e...
        ca: true
        pathlen: 1
        subject_key_identifier: 1a2b...
        authority_key_identifier: 3c4d...
      findings: []
root_fingerprints:
  description: SHA-256 (DER, lowercase hex) of the first root certificate of each cluster; V(null) when unreadable.
  returned: always
  type: dict
  sample:
    cluster1: 5f2c0d...
    cluster2: 5f2c0d...
shared_root:
  description: Whether every cluster has the same root certificate(s).
  returned: always
  type: bool
  sample: true
summary:
  description: Number of findings per level, and the worst level.
  returned: always
  type: dict
  sample: {ok: 17, info: 2, warning: 0, error: 0, level: ok}
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _cert_chain, _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module

ITEMS = ("root", "ca_cert", "chain", "key")


def argument_spec():
    cluster = dict(
        name=dict(type="str", required=True),
        root_pem=dict(type="str"),
        root_path=dict(type="path"),
        ca_cert_pem=dict(type="str"),
        ca_cert_path=dict(type="path"),
        chain_pem=dict(type="str"),
        chain_path=dict(type="path"),
        key_pem=dict(type="str", no_log=True),
        key_path=dict(type="path", no_log=False),
    )
    return dict(
        clusters=dict(type="list", elements="dict", required=True, options=cluster,
                      mutually_exclusive=[["%s_pem" % i, "%s_path" % i] for i in ITEMS],
                      required_one_of=[["root_pem", "root_path"], ["ca_cert_pem", "ca_cert_path"]]),
        warning_days=dict(type="int", default=90),
        fail_on_error=dict(type="bool", default=True),
        emit_warnings=dict(type="bool", default=True),
    )


def _read(path):
    with open(path, "rb") as handle:
        return to_text(handle.read(), errors="surrogate_or_strict")


def load_cluster(item):
    """The PEM texts of one cluster item: ``(texts, findings)``; unreadable files become findings."""
    texts = {}
    findings = []
    for name in ITEMS:
        texts[name] = item.get("%s_pem" % name)
        path = item.get("%s_path" % name)
        if path is None:
            continue
        try:
            texts[name] = _read(path)
        except (IOError, OSError) as exc:
            findings.append(_cert_chain.finding("input", item["name"], "error", "cannot read %s_path %s: %s" % (name, path, exc.strerror or exc),
                                                "Check the path (the pki role writes the tree under pki_dir)."))
        except UnicodeError:
            findings.append(_cert_chain.finding("input", item["name"], "error", "%s_path %s is not PEM text" % (name, path), _cert_chain.HINT_PEM))
    return texts, findings


def _ca_metadata(pem):
    try:
        return _x509.describe(_x509.load_pem_certificates(pem)[0])
    except (ValueError, TypeError):
        return None


def run(params):
    """Evaluate every cluster; returns the result dict (no side effects)."""
    per_cluster = {}
    roots = {}
    findings = []
    for item in params["clusters"]:
        name = item["name"]
        texts, cluster_findings = load_cluster(item)
        if not cluster_findings:
            cluster_findings = _cert_chain.check_cluster_chain(name, texts["root"], texts["ca_cert"], texts["chain"], key_pem=texts["key"],
                                                               warning_days=params["warning_days"])
            roots[name] = texts["root"]
        per_cluster[name] = {"findings": cluster_findings, "ca": _ca_metadata(texts["ca_cert"]), "root_sha256": None}
        findings.extend(cluster_findings)
    shared = _cert_chain.check_shared_root(roots) if roots else []
    findings.extend(shared)
    fingerprints = {}
    for name in per_cluster:
        try:
            fingerprints[name] = _cert_chain.fingerprints(roots[name])[0] if name in roots else None
        except ValueError:
            fingerprints[name] = None
        per_cluster[name]["root_sha256"] = fingerprints[name]
        own = per_cluster[name]["findings"] + [f for f in shared if f["cluster"] == name]
        per_cluster[name]["level"] = _cert_chain.worst(own)
    distinct = set(fp for fp in fingerprints.values())
    return dict(
        changed=False,
        findings=findings,
        clusters=per_cluster,
        root_fingerprints=fingerprints,
        shared_root=len(distinct) == 1 and None not in distinct and not any(f["level"] == "error" for f in shared),
        summary=_cert_chain.summary(findings),
    )


def execute(params, check_mode=False, warn=None):  # pylint: disable=unused-argument
    if not _x509.HAS_CRYPTOGRAPHY:
        raise ModuleFailure(missing_required_lib("cryptography"), exception=_x509.CRYPTOGRAPHY_IMPORT_ERROR)
    names = [item["name"] for item in params["clusters"]]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ModuleFailure("clusters: duplicate name(s) %s; every cluster item needs a unique name" % ", ".join(duplicates))
    try:
        result = run(params)
    except Exception as exc:  # pylint: disable=broad-except
        raise ModuleFailure("cert_chain_check: unexpected error: %s" % to_text(exc), exception=traceback.format_exc())
    if params["emit_warnings"] and warn is not None:
        for item in result["findings"]:
            if item["level"] == "warning":
                warn("%s: %s" % (item["cluster"] or "all clusters", item["message"]))
    errors = [f for f in result["findings"] if f["level"] == "error"]
    if errors and params["fail_on_error"]:
        raise ModuleFailure("%d certificate chain error(s): %s" % (len(errors), "; ".join(
            "%s: %s" % (f["cluster"] or "all clusters", f["message"]) for f in errors)), **result)
    return result


def main():
    run_as_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == "__main__":
    main()
