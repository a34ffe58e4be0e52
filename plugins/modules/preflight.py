#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: preflight
short_description: Check, read-only, that every cluster can take the ambient + SPIRE install before anything is written
version_added: 0.1.0
description:
  - Reads every cluster of O(clusters) in parallel (one module run for all of them) into a compact snapshot, then evaluates each
    check once as a pure function of all snapshots, like M(meshops.ambient_spire.mesh_check) does for an installed mesh.
  - "The checks, in report order: the cluster is reachable and accepts the credentials; RBAC: every request the install makes is
    allowed (SelfSubjectAccessReview), and so is creating the SPIRE chart's roles; the Kubernetes version is within the pinned SPIRE
    chart's C(kubeVersion) and the versions the Istio release supports (the istio.io supported releases table); Ready Linux nodes
    for ztunnel and the SPIRE agent; a StorageClass for the spire-server datastore claim (or persistence that needs none); Pod
    Security admission lets the privileged SPIRE agent, CSI driver, ztunnel and istio-cni in; no istiod outside the Gloo Operator's;
    no Gateway API CRDs of another channel or a newer version; no SPIRE CRDs owned by another Helm release and no SPIRE server of
    another trust domain; no C(cacerts) or SPIRE upstream CA under another root than the PKI's; a license key that is set and not
    expiring within O(license_min_days) days (when its expiry can be read: see O(license_key))."
  - Each finding names its cluster and, when it is not ok, says what to fix (its hint). A cluster that cannot be read is an error
    of the C(reachable) check and is left out of the others.
  - Writes nothing to any cluster (GETs, and review requests that the API server answers without storing anything). Returns the
    findings, a summary, the istioctl-like report lines and the RBAC rules the install needs; writes JSON, JUnit XML and text
    reports to O(reports_dir).
  - O(clusters[].expected_network) is not used by this module.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._mesh_read.clusters
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the clusters are read and the checks run, no report file is written, and RV(changed) says whether one would change.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  request_timeout:
    description: Timeout of each API request, in seconds.
    type: int
    default: 30
  namespaces:
    description: The namespaces the install uses.
    type: dict
    default: {}
    suboptions:
      spire:
        description: Namespace of the SPIRE releases (server, agent, CSI driver, OIDC discovery provider).
        type: str
        default: spire-server
      gloo:
        description: Namespace of the Gloo Operator.
        type: str
        default: gloo-mesh
      istio:
        description: Namespace of istiod, ztunnel and the C(cacerts) Secret.
        type: str
        default: istio-system
      eastwest:
        description: Namespace of the east-west and peer Gateways.
        type: str
        default: istio-eastwest
  spire_upstream_ca_secret:
    description: Name of the SPIRE upstream authority Secret in the SPIRE namespace.
    type: str
    default: spiffe-upstream-ca
  spire_release_name:
    description: Name of the SPIRE Helm release (its server's claim is C(spire-data-<name>-server-0)).
    type: str
    default: spire
  spire_crds_release_name:
    description: Name of the Helm release of the SPIRE CRDs, in the SPIRE namespace.
    type: str
    default: spire-crds
  spire_chart_version:
    description: Version of the SPIRE chart the install pins; its C(kubeVersion) is known for the versions this collection pins.
    type: str
    default: 0.24.2
  spire_values:
    description:
      - Helm values given to the SPIRE chart beyond the role's own (C(spire_extra_values)). Only C(spire-server.persistence),
        C(spire-server.kind) and C(global.spire.persistence.storageClass) are read, to know which volume the server's datastore
        uses (the chart's default is a claim of the default StorageClass).
    type: dict
    default: {}
  istio_version:
    description: The Istio (Solo) version to install, for example C(1.27.3-patch0). Without it, only the SPIRE chart's range is checked.
    type: str
  allow_unsupported_kubernetes:
    description: A Kubernetes version outside the Istio release's supported range is a warning instead of an error.
    type: bool
    default: false
  gateway_api_install:
    description: Whether the install applies the Gateway API CRDs (C(gloo_operator_gateway_api_install)).
    type: bool
    default: true
  gateway_api_version:
    description: The Gateway API release the install applies.
    type: str
    default: v1.2.1
  gateway_api_channel:
    description: The Gateway API channel the install applies.
    type: str
    default: standard
  pki_root_ca_cert:
    description:
      - PEM of the PKI's root certificate(s) (the trust bundle). An existing C(cacerts) or SPIRE upstream CA must be under one of them.
      - Empty when the PKI has no root yet (a first install). Any existing one is then reported, as the install would replace it.
    type: str
    default: ''
  license_key:
    description:
      - The Gloo license key. Never returned nor printed.
      - Its format is not public. When it is a JSON Web Token, its C(exp) claim is read (the signature is not verified); otherwise only
        its presence is checked, and the finding says so.
    type: str
  license_min_days:
    description: Fail when the license expires within this many days.
    type: int
    default: 30
  checks:
    description: Run only these checks (ids such as C(rbac), C(storage)); default all. Without C(rbac), no access review is made.
    type: list
    elements: str
  skip_checks:
    description: Check ids not to run.
    type: list
    elements: str
  verbose:
    description: Whether RV(report_lines) holds the verbose report (every finding, details and hints).
    type: bool
    default: false
  reports_dir:
    description: Directory to write the reports to (created 0755 when missing); no file is written when unset. A file is replaced only when its content changes.
    type: path
  report_formats:
    description: Report files to write to O(reports_dir).
    type: list
    elements: str
    choices: [json, junit, text]
    default: [json, junit, text]
  report_basename:
    description: Base name of the report files.
    type: str
    default: preflight
  fail_on_error:
    description: Fail the task when a check reports an error. The result is returned either way.
    type: bool
    default: true
requirements:
  - PyYAML
  - kubernetes >= 24.2.0 (Python library), for connections other than a kubeconfig with a token or a client certificate
seealso:
  - module: meshops.ambient_spire.mesh_check
  - name: Istio supported releases
    description: The Kubernetes versions each Istio release supports.
    link: https://istio.io/latest/docs/releases/supported-releases/#support-status-of-istio-releases
'''

EXAMPLES = r'''
- name: Check every cluster before installing
  meshops.ambient_spire.preflight:
    clusters:
      - {name: cluster1, context: cluster1, expected_trust_domain: cluster1}
      - {name: cluster2, context: cluster2, expected_trust_domain: cluster2}
    istio_version: 1.27.3-patch0
    pki_root_ca_cert: "{{ lookup('ansible.builtin.file', pki_dir ~ '/root-ca-bundle.pem') }}"
    license_key: "{{ mesh_license_key }}"
    reports_dir: "{{ inventory_dir }}/reports"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
findings:
  description: Every finding, in report order (check, cluster or null for the license, level ok/info/warning/error, message, hint).
  returned: always
  type: list
  elements: dict
  sample:
    - check: storage
      cluster: cluster2
      level: error
      message: "no default StorageClass (classes: none) and spire-server persistence is a claim without a class: it would never bind"
      hint: "The SPIRE chart keeps the server's datastore on a PersistentVolumeClaim: ..."
summary:
  description: Status per check and cluster, counts per level, the failed and warning check ids, the verdict, the unread clusters.
  returned: always
  type: dict
report_lines:
  description: The report, one line per item (C(=== Cluster <name> ===) sections, ✅ ⚠️ ❌).
  returned: always
  type: list
  elements: str
clusters:
  description: One entry per cluster, in the order given; C(failed) and C(msg) for one that could not be read.
  returned: always
  type: list
  elements: dict
failures:
  description:
    - The errors, one per item with C(cluster) (null for the license, which concerns every cluster), C(check), C(summary) (the check
      and what is wrong) and C(text) (the summary and the fix).
  returned: always
  type: list
  elements: dict
rbac_rules:
  description:
    - The RBAC rules that allow every request the install makes and the creation of the SPIRE chart's roles, for the namespaces given.
    - C(cluster_role) for a ClusterRole (bound with a ClusterRoleBinding), C(roles) per namespace (each bound with a RoleBinding).
  returned: always
  type: dict
changed:
  description: Whether a report file was (in check mode, would be) written with a new content.
  returned: always
  type: bool
report_files:
  description: Paths of the report files.
  returned: when O(reports_dir) is set and not in check mode
  type: dict
'''


from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sAuthModule
from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_read import clusters_problem, clusters_spec
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import access, license as _license, registry
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight.checks import spire_persistence
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight.snapshot import read_clusters

NAMESPACE_DEFAULTS = {"spire": "spire-server", "gloo": "gloo-mesh", "istio": "istio-system", "eastwest": "istio-eastwest"}


def argument_spec():
    spec = clusters_spec()
    spec.update({
        "request_timeout": {"type": "int", "default": 30},
        "namespaces": {"type": "dict", "default": {}, "options": dict(
            (key, {"type": "str", "default": value}) for key, value in NAMESPACE_DEFAULTS.items())},
        "spire_upstream_ca_secret": {"type": "str", "default": "spiffe-upstream-ca", "no_log": False},
        "spire_release_name": {"type": "str", "default": "spire"},
        "spire_crds_release_name": {"type": "str", "default": "spire-crds"},
        "spire_chart_version": {"type": "str", "default": "0.24.2"},
        "spire_values": {"type": "dict", "default": {}},
        "istio_version": {"type": "str"},
        "allow_unsupported_kubernetes": {"type": "bool", "default": False},
        "gateway_api_install": {"type": "bool", "default": True},
        "gateway_api_version": {"type": "str", "default": "v1.2.1"},
        "gateway_api_channel": {"type": "str", "default": "standard"},
        "pki_root_ca_cert": {"type": "str", "default": ""},
        "license_key": {"type": "str", "no_log": True},
        "license_min_days": {"type": "int", "default": 30},
        "checks": {"type": "list", "elements": "str"},
        "skip_checks": {"type": "list", "elements": "str"},
        "verbose": {"type": "bool", "default": False},
        "reports_dir": {"type": "path"},
        "report_formats": {"type": "list", "elements": "str", "choices": ["json", "junit", "text"], "default": ["json", "junit", "text"]},
        "report_basename": {"type": "str", "default": "preflight"},
        "fail_on_error": {"type": "bool", "default": True},
    })
    return spec


def check_options(params):
    """The options of the checks (no secret: the license is described, never passed on)."""
    namespaces = dict(NAMESPACE_DEFAULTS, **dict((k, v) for k, v in (params["namespaces"] or {}).items() if v))
    return {
        "istio_version": params["istio_version"],
        "spire_chart_version": params["spire_chart_version"],
        "allow_unsupported_kubernetes": params["allow_unsupported_kubernetes"],
        "spire_persistence": spire_persistence(params["spire_values"]),
        "gateway_api": {"install": params["gateway_api_install"], "version": params["gateway_api_version"],
                        "channel": params["gateway_api_channel"]},
        "spire_crds_release": {"name": params["spire_crds_release_name"], "namespace": namespaces["spire"]},
        "pki_root_pem": params["pki_root_ca_cert"] or "",
        "license": _license.describe(params["license_key"]),
        "license_min_days": params["license_min_days"],
    }, namespaces


def failures(findings):
    """The errors, each as one line that names the check and says what to fix; cluster None for the license (every cluster)."""
    result = []
    for f in findings:
        if f["level"] != "error":
            continue
        summary = "%s: %s" % (registry.CATALOG.titles.get(f["check"], f["check"]), f["message"].rstrip("."))
        result.append({"cluster": f["cluster"], "check": f["check"], "summary": summary,
                       "text": summary + ((". Fix: %s" % f["hint"]) if f.get("hint") else "")})
    return result


def execute(params, check_mode=False, warn=None):
    unknown = sorted(set((params["checks"] or []) + (params["skip_checks"] or [])) - set(registry.CHECK_IDS))
    if unknown:
        raise ModuleFailure("unknown check ids %s; valid: %s" % (", ".join(unknown), ", ".join(registry.CHECK_IDS)))
    if not params["clusters"]:
        raise ModuleFailure("clusters: no cluster given")
    problem = clusters_problem(params["clusters"])
    if problem:
        raise ModuleFailure(problem)
    options, namespaces = check_options(params)
    wanted = [cid for cid in registry.CHECK_IDS if (not params["checks"] or cid in params["checks"]) and cid not in (params["skip_checks"] or [])]
    entries = read_clusters(params["clusters"], {
        "namespaces": namespaces, "upstream_ca_secret": params["spire_upstream_ca_secret"],
        "spire_server_claim": "spire-data-%s-server-0" % params["spire_release_name"], "check_access": "rbac" in wanted,
        "timeout": params["request_timeout"]}, attempts=params["attempts"], delay=params["attempt_delay"])
    for entry in entries:
        if not entry.get("failed") and entry.get("attempts", 1) > 1:
            if warn is not None:
                warn("cluster %s: read after %d attempts (transient API errors)" % (entry["name"], entry["attempts"]))
    snapshots = registry.index_snapshots([entry.pop("snapshot") for entry in entries if "snapshot" in entry])
    unread = [(next(c.get("cluster_name") or c["name"] for c in params["clusters"] if c["name"] == entry["name"]), entry["msg"])
              for entry in entries if entry.get("failed")]
    findings = registry.unread_findings(unread) + (registry.run_checks(snapshots, options, only=params["checks"], skip=params["skip_checks"])
                                                   if snapshots else [])
    summary = registry.summarize(findings, list(snapshots), [name for name, dummy in unread])
    lines_verbose = _report.text_lines(findings, summary, verbose=True, catalog=registry.CATALOG)
    lines = lines_verbose if params["verbose"] else _report.text_lines(findings, summary, catalog=registry.CATALOG)
    result = {"changed": False, "findings": findings, "summary": summary, "report_lines": lines, "clusters": entries,
              "failures": failures(findings), "rbac_rules": access.rbac_rules(namespaces)}
    if params["reports_dir"]:
        contents = {}
        for fmt in params["report_formats"]:
            if fmt == "json":
                contents[fmt] = _report.to_json(findings, summary)
            elif fmt == "junit":
                contents[fmt] = _report.to_junit(findings, summary, suite_name="preflight", catalog=registry.CATALOG)
            else:
                contents[fmt] = "\n".join(lines_verbose) + "\n"
        try:
            files, result["changed"] = _report.write_files(params["reports_dir"], params["report_basename"], contents, check_mode=check_mode)
        except (IOError, OSError) as exc:
            raise ModuleFailure("cannot write reports to %s: %s" % (params["reports_dir"], exc), **result)
        if not check_mode:
            result["report_files"] = files
    if (summary["failed_checks"] or summary["unread_clusters"]) and params["fail_on_error"]:
        raise ModuleFailure("preflight found issues: %s" % ", ".join(summary["failed_checks"]), **result)
    return result


def main():
    run_as_module(K8sAuthModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == "__main__":
    main()
