# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks 1-3: istiod environment variables, license, pod health. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    finding,
    istio_namespace,
    parse_go_bool,
)

ENV_HINT = ("Check the istiod environment, e.g. `kubectl get deploy -n {ns} -l app=istiod -o yaml --context <ctx>` or "
            "`helm get values --kube-context <ctx> istiod -n {ns} -o yaml`, and fix the ServiceMeshController / Helm values.")
LICENSE_HINT = ("Multicluster needs an Enterprise Gloo Mesh license. Check the istiod logs for 'licensing' and the license "
                "secret; contact your Solo account representative if the product does not include MultiCluster.")
POD_HINT = ("Inspect the pods: `kubectl get po -n {ns} --context <ctx>`, `kubectl describe po <pod>` and "
            "`kubectl logs <pod>`; see the Istio debugging guide.")

PRODUCTS_WITHOUT_MULTICLUSTER = ("GlooCore", "IstioSupportBasic")
VALID_LICENSE_STATES = ("OK", "BYPASSED")


def check_env_vars(snapshots, options=None):
    """Check 1: ENABLE_PEERING_DISCOVERY, K8S_SELECT_WORKLOAD_ENTRIES, PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES."""
    findings = []
    for cluster, snap in snapshots.items():
        hint = ENV_HINT.format(ns=istio_namespace(snap))
        deployments = snap.get("istiod_deployments") or []
        if not deployments:
            findings.append(finding("env_vars", cluster, "error",
                                    "no istiod Deployment (label app=istiod) found in namespace %s" % istio_namespace(snap), hint))
            continue
        bad = 0
        for dep in deployments:
            env = dep.get("env") or {}
            prefix = "" if len(deployments) == 1 else "%s/%s: " % (dep.get("namespace"), dep.get("name"))
            value = env.get("K8S_SELECT_WORKLOAD_ENTRIES")
            if value is None or value == "true":
                findings.append(finding("env_vars", cluster, "ok", '%sK8S_SELECT_WORKLOAD_ENTRIES is valid ("%s")' % (prefix, value or "")))
            else:
                bad += 1
                findings.append(finding("env_vars", cluster, "error",
                                        '%sK8S_SELECT_WORKLOAD_ENTRIES is invalid ("%s"): must be unset or "true"' % (prefix, value), hint))
            value = env.get("PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES")
            if parse_go_bool(value) is False:
                bad += 1
                findings.append(finding(
                    "env_vars", cluster, "error",
                    '%sPILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES is invalid ("%s"): peering discovery is incompatible with '
                    'PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES=false' % (prefix, value), hint))
            elif value is not None and parse_go_bool(value) is None:
                bad += 1
                findings.append(finding("env_vars", cluster, "error",
                                        '%sPILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES is invalid ("%s"): not a boolean' % (prefix, value), hint))
            else:
                findings.append(finding("env_vars", cluster, "ok",
                                        '%sPILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES is valid ("%s")' % (prefix, value or "")))
            value = env.get("ENABLE_PEERING_DISCOVERY")
            if value == "true":
                findings.append(finding("env_vars", cluster, "ok", '%sENABLE_PEERING_DISCOVERY is valid ("true")' % prefix))
            else:
                bad += 1
                findings.append(finding("env_vars", cluster, "error",
                                        '%sENABLE_PEERING_DISCOVERY is invalid ("%s"): must be enabled for multicluster service discovery'
                                        % (prefix, value or ""), hint))
            for name in dep.get("env_from_refs") or []:
                findings.append(finding("env_vars", cluster, "warning",
                                        "%s%s is set from a reference (valueFrom) and could not be verified" % (prefix, name), hint))
        if not bad:
            findings.append(finding("env_vars", cluster, "ok", "all relevant environment variables are valid"))
    return findings


def check_license(snapshots, options=None):
    """Check 2: the license state reported by istiod /debug/license (never the key itself)."""
    findings = []
    for cluster, snap in snapshots.items():
        lic = snap.get("license") or {}
        status = lic.get("status")
        if status == "not_supported":
            findings.append(finding("license", cluster, "warning", "License Check is not supported on this Istio version (<1.27): /debug/license returned 404",
                                    "Upgrade istiod to 1.27+ to verify the license, or check the istiod logs for 'SKIPPING FEATURE'."))
        elif status == "skipped":
            findings.append(finding("license", cluster, "info", "license check skipped (license_check: false)"))
        elif status == "no_pod":
            findings.append(finding("license", cluster, "warning", "no running and ready istiod pod to query the license",
                                    "See the Pod Check (istiod) for the istiod pods."))
        elif status == "ok":
            state = lic.get("state")
            product = lic.get("product")
            if state not in VALID_LICENSE_STATES:
                findings.append(finding("license", cluster, "error", "license is not valid for multicluster (state %s, product %s)" % (state, product),
                                        LICENSE_HINT))
            elif product in PRODUCTS_WITHOUT_MULTICLUSTER:
                findings.append(finding("license", cluster, "error",
                                        "license product %s does not include the MultiCluster feature (state %s)" % (product, state), LICENSE_HINT))
            else:
                findings.append(finding("license", cluster, "ok", "license is valid for multicluster",
                                        details=["State: %s" % state, "Product: %s" % product]))
        else:
            findings.append(finding("license", cluster, "error",
                                    "could not read the license from istiod: %s" % (lic.get("error") or "no license information in the snapshot"),
                                    "Check that istiod serves /debug/license on port 15014 and that you may use the pods/proxy API."))
    return findings


POD_GROUPS = (
    ("pods_istiod", "istiod"),
    ("pods_ztunnel", "ztunnel"),
    ("pods_eastwest", "eastwest"),
)


def pod_row(pod):
    return "%-48s %-7s %-18s %s" % (pod.get("name"), pod.get("ready_count") or ("1/1" if pod.get("ready") else "0/1"),
                                    pod.get("reason") or pod.get("phase") or "Unknown", pod.get("restarts", 0))


def _check_pod_group(check_id, key, snapshots):
    findings = []
    for cluster, snap in snapshots.items():
        pods = (snap.get("pods") or {}).get(key) or []
        hint = POD_HINT.format(ns=istio_namespace(snap))
        if not pods:
            findings.append(finding(check_id, cluster, "warning", "no pods found", hint))
            continue
        details = ["%-48s %-7s %-18s %s" % ("NAME", "READY", "STATUS", "RESTARTS")] + [pod_row(p) for p in pods]
        unhealthy = [p for p in pods if p.get("phase") != "Running" or not p.get("ready")]
        if unhealthy:
            names = ", ".join("%s/%s (%s, %s ready)" % (p.get("namespace"), p.get("name"), p.get("reason") or p.get("phase"),
                                                        p.get("ready_count") or "0/1") for p in unhealthy)
            findings.append(finding(check_id, cluster, "error", "%d of %d pods unhealthy: %s" % (len(unhealthy), len(pods), names),
                                    hint, details))
        else:
            findings.append(finding(check_id, cluster, "ok", "all pods healthy", details=details))
    return findings


def check_pods_istiod(snapshots, options=None):
    """Check 3a: app=istiod pods Running and Ready."""
    return _check_pod_group("pods_istiod", "istiod", snapshots)


def check_pods_ztunnel(snapshots, options=None):
    """Check 3b: app=ztunnel pods Running and Ready."""
    return _check_pod_group("pods_ztunnel", "ztunnel", snapshots)


def check_pods_eastwest(snapshots, options=None):
    """Check 3c: service.istio.io/canonical-name=istio-eastwest pods Running and Ready."""
    return _check_pod_group("pods_eastwest", "eastwest", snapshots)
