# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks 4-5: east-west gateway and remote peer gateways. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    EASTWEST_CLASS,
    NETWORK_LABEL,
    PEER_CONNECTED,
    PEER_PREFIX,
    PEERING_SUCCEEDED,
    REMOTE_CLASS,
    condition,
    finding,
    gateway_ref,
    gateways_of_class,
    option,
    peer_target_cluster,
)

GATEWAY_HINT = ("Check the east-west gateway and its Service: `kubectl get gateway,svc -n istio-eastwest --context <ctx>`; "
                "the Service needs a load-balancer address (or the istio.io/expose-istiod-address annotation). "
                "Create the gateway with `istioctl multicluster expose --namespace istio-eastwest` (or the eastwest role).")
PEER_HINT = ("A peer that is not connected points to a misconfigured link or a blocked network path: check the peer Gateway "
             "(`kubectl get gateway -n istio-eastwest -o yaml --context <ctx>`), re-run the link step, allow ports 15008 and "
             "15012 to the remote east-west gateway, and read the istiod logs for 'peering'.")
PEER_CONDITIONS = (PEER_CONNECTED, PEERING_SUCCEEDED)
SHOWN_CONDITIONS = ("Accepted", "Programmed") + PEER_CONDITIONS + ("gloo.solo.io/PeerDataPlaneProgrammed",)


def _addresses(gw, key):
    return [a.get("value") if isinstance(a, dict) else a for a in gw.get(key) or []]


def check_gateways(snapshots, options=None):
    """Check 4: every istio-eastwest Gateway Programmed=True with addresses; none is an error (precheck: warning)."""
    precheck = option(options, "precheck", False)
    findings = []
    for cluster, snap in snapshots.items():
        gateways = gateways_of_class(snap, EASTWEST_CLASS)
        if not gateways:
            findings.append(finding("gateways", cluster, "warning" if precheck else "error",
                                    "no eastwest gateway (gatewayClassName %s) found" % EASTWEST_CLASS, GATEWAY_HINT))
            continue
        bad = 0
        for gw in gateways:
            addresses = _addresses(gw, "status_addresses")
            programmed = condition(gw, "Programmed")
            ok = (programmed is None or programmed.get("status") == "True") and bool(addresses)
            details = ["Gateway: %s" % gateway_ref(gw), "Addresses:"] + ["- %s" % a for a in addresses] + [
                "Status: %s" % ("programmed ✅" if ok else "not programmed ❌")]
            if programmed is not None and programmed.get("status") != "True":
                bad += 1
                findings.append(finding("gateways", cluster, "error", "eastwest gateway %s is not programmed (%s: %s)" % (
                    gateway_ref(gw), programmed.get("reason") or programmed.get("status"), programmed.get("message") or ""), GATEWAY_HINT, details))
            elif not addresses:
                bad += 1
                findings.append(finding("gateways", cluster, "error", "eastwest gateway %s has no addresses" % gateway_ref(gw), GATEWAY_HINT, details))
            else:
                findings.append(finding("gateways", cluster, "info", "eastwest gateway %s programmed (%s)" % (gateway_ref(gw), ", ".join(addresses)),
                                        details=details))
        if not bad:
            findings.append(finding("gateways", cluster, "ok", "all eastwest gateways programmed"))
    return findings


def check_peers(snapshots, options=None):
    """Check 5: istio-remote Gateways PeerConnected and PeeringSucceeded True; every other cluster peered.

    In precheck mode nothing here fails (errors become warnings).
    """
    precheck = option(options, "precheck", False)
    err = "warning" if precheck else "error"
    findings = []
    for cluster, snap in snapshots.items():
        peers = gateways_of_class(snap, REMOTE_CLASS)
        bad = 0
        seen = set()
        for gw in peers:
            target = peer_target_cluster(gw)
            seen.add(target)
            label = (gw.get("labels") or {}).get(NETWORK_LABEL) or target
            details = ["Cluster: %s" % target, "Gateway: %s" % gateway_ref(gw), "Addresses:"]
            details += ["- %s" % a for a in _addresses(gw, "spec_addresses") or _addresses(gw, "status_addresses")]
            details.append("Conditions:")
            for cond in gw.get("conditions") or []:
                if cond.get("type") in SHOWN_CONDITIONS:
                    details.append("- %s: %s" % (cond.get("type"), cond.get("status")))
            problems = []
            for type_name in PEER_CONDITIONS:
                cond = condition(gw, type_name)
                if cond is None:
                    problems.append("%s not reported" % type_name)
                elif cond.get("status") != "True":
                    problems.append("%s=%s (%s%s)" % (type_name, cond.get("status"), cond.get("reason") or "",
                                                      ": " + cond["message"] if cond.get("message") else ""))
            if problems:
                bad += 1
                details.append("Status: disconnected ❌")
                findings.append(finding("peers", cluster, err, "peer %s (network %s, gateway %s) is not connected: %s" % (
                    target, label, gateway_ref(gw), "; ".join(problems)), PEER_HINT, details))
            else:
                details.append("Status: connected ✅")
                findings.append(finding("peers", cluster, "info", "peer %s (network %s) connected" % (target, label), details=details))
        for other in snapshots:
            if other != cluster and other not in seen:
                bad += 1
                findings.append(finding("peers", cluster, err, "no remote peer gateway for cluster %s (expected %s%s)" % (other, PEER_PREFIX, other),
                                        "Link the clusters: `istioctl multicluster link --contexts <ctx1>,<ctx2> --namespace istio-eastwest` "
                                        "or the eastwest role."))
        if not peers and len(snapshots) <= 1:
            bad += 1
            findings.append(finding("peers", cluster, err, "no remote peer gateways (gatewayClassName %s) found" % REMOTE_CLASS, PEER_HINT))
        if not bad:
            findings.append(finding("peers", cluster, "ok", "all clusters connected"))
        elif precheck:
            findings.append(finding("peers", cluster, "info", "precheck: peers are not evaluated as failures before linking"))
    return findings
