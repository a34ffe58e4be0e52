# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks 7-8: network configuration and stale autogenflat WorkloadEntries. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    EASTWEST_CLASS,
    NETWORK_LABEL,
    REMOTE_CLASS,
    exposed_addresses,
    finding,
    gateway_addresses,
    gateway_ref,
    gateways_of_class,
    istio_namespace,
    namespace_network,
    option,
    peer_target_cluster,
)

NETWORK_HINT = ("Use one unique network per cluster, set on the istio-system namespace, the east-west Gateway and the ztunnel NETWORK env: "
                "`kubectl label namespace istio-system --context <ctx> topology.istio.io/network=<cluster> --overwrite`; relabel the "
                "east-west gateway and the remote peer gateways in the other clusters. Mismatches show as ztunnel timeouts to 240.x.x.x "
                "addresses (`kubectl logs -l app=ztunnel -n istio-system --tail=10 | grep -iE 'error|warn'`).")
STALE_HINT = ("List the entries with `kubectl get workloadentries -n istio-system --context <ctx> | grep autogenflat`, compare with "
              "`kubectl get pods -n <ns> --context <source ctx>` and delete the stale ones: `kubectl delete workloadentry -n istio-system <name>`.")


def _ztunnel_networks(snap):
    values = []
    for ds in snap.get("ztunnel_daemonsets") or []:
        values.append(((ds.get("namespace"), ds.get("name")), (ds.get("env") or {}).get("NETWORK")))
    return values


def check_network(snapshots, options=None):
    """Check 7: istio-system label = east-west gateway label = ztunnel NETWORK; remote gateways' network = network of the
    cluster their address belongs to (an address of no cluster is an error); duplicate networks flagged unless flat networking
    is declared."""
    flat = option(options, "flat_network", False)
    precheck = option(options, "precheck", False)
    findings = []
    bad_clusters = set()
    networks = {}
    address_owner = {}
    for cluster, snap in snapshots.items():
        for value in exposed_addresses(snap):
            address_owner.setdefault(value, set()).add(cluster)
    for cluster, snap in snapshots.items():
        bad = 0
        net = namespace_network(snap)
        if not net:
            bad += 1
            findings.append(finding("network", cluster, "error", "namespace %s has no %s label" % (istio_namespace(snap), NETWORK_LABEL), NETWORK_HINT))
        else:
            networks.setdefault(net, []).append(cluster)
            findings.append(finding("network", cluster, "info", "Cluster %s has network: %s" % (cluster, net)))
        expected = (snap.get("expected") or {}).get("network")
        if expected and net and expected != net:
            bad += 1
            findings.append(finding("network", cluster, "error", "network label %s on namespace %s differs from the declared mesh_network %s" % (
                net, istio_namespace(snap), expected), NETWORK_HINT))
        for gw in gateways_of_class(snap, EASTWEST_CLASS):
            label = (gw.get("labels") or {}).get(NETWORK_LABEL)
            if net and label == net:
                findings.append(finding("network", cluster, "info", "Eastwest gateway %s has correct network label: %s" % (gateway_ref(gw), label)))
            else:
                bad += 1
                findings.append(finding("network", cluster, "error", "Eastwest gateway %s has network label %s, expected %s" % (
                    gateway_ref(gw), label or "(none)", net or "(namespace label missing)"), NETWORK_HINT))
        ztunnels = _ztunnel_networks(snap)
        if not ztunnels:
            findings.append(finding("network", cluster, "warning", "no ztunnel DaemonSet (label app=ztunnel) found", NETWORK_HINT))
        for ref, value in ztunnels:
            if net and value == net:
                findings.append(finding("network", cluster, "info", "ztunnel %s/%s has NETWORK=%s" % (ref[0], ref[1], value)))
            else:
                bad += 1
                findings.append(finding("network", cluster, "error", "ztunnel %s/%s has NETWORK=%s, expected %s" % (
                    ref[0], ref[1], value or "(unset)", net or "(namespace label missing)"), NETWORK_HINT))
        if bad:
            bad_clusters.add(cluster)
    # remote gateways: label = network of the cluster owning the address (never guessed from the gateway's name)
    for cluster, snap in snapshots.items():
        for gw in gateways_of_class(snap, REMOTE_CLASS):
            label = (gw.get("labels") or {}).get(NETWORK_LABEL)
            addresses = gateway_addresses(gw)
            owners = set()
            for value in addresses:
                owners.update(address_owner.get(value, ()))
            target = peer_target_cluster(gw)
            if not addresses:
                bad_clusters.add(cluster)
                findings.append(finding("network", cluster, "warning" if precheck else "error",
                                        "Remote gateway %s (for cluster %s) has no address: its network cannot be verified" % (
                                            gateway_ref(gw), target or "(unknown)"), NETWORK_HINT))
                continue
            if not owners and target and target not in snapshots:
                # a peer of a cluster outside this run (--limit, target_clusters): nothing to compare its address with
                findings.append(finding("network", cluster, "warning",
                                        "Remote gateway %s address %s belongs to no cluster in the inventory (it names cluster %s, which is not "
                                        "checked in this run): its network is not verified" % (gateway_ref(gw), ", ".join(addresses), target),
                                        NETWORK_HINT))
                continue
            if not owners:
                bad_clusters.add(cluster)
                findings.append(finding("network", cluster, "warning" if precheck else "error",
                                        "Remote gateway %s address %s belongs to no cluster in the inventory (no east-west gateway of %s has it)" % (
                                            gateway_ref(gw), ", ".join(addresses), "cluster %s" % target if target else "any cluster"),
                                        NETWORK_HINT))
                continue
            owner_nets = sorted(set(namespace_network(snapshots[o]) or "" for o in owners))
            if label and owner_nets == [label]:
                findings.append(finding("network", cluster, "info", "Remote gateway %s references network %s (clusters: [%s])" % (
                    gateway_ref(gw), label, " ".join(sorted(networks.get(label, owners))))))
            else:
                bad_clusters.add(cluster)
                findings.append(finding("network", cluster, "warning" if precheck else "error",
                                        "Remote gateway %s has network label %s but its address belongs (by address) to cluster %s with network %s" % (
                                            gateway_ref(gw), label or "(none)", ", ".join(sorted(owners)), ", ".join(owner_nets) or "(none)"),
                                        NETWORK_HINT))
    for net, clusters in networks.items():
        if len(clusters) > 1:
            if flat:
                findings.append(finding("network", None, "info", "clusters %s share network %s (flat networking declared)" % (", ".join(clusters), net)))
            else:
                for cluster in clusters:
                    bad_clusters.add(cluster)
                    findings.append(finding("network", cluster, "error", "network %s is used by several clusters (%s) but flat networking is not declared" % (
                        net, ", ".join(clusters)), "Give each cluster a unique network, or set mesh_flat_network: true if a flat network is intended."))
    for cluster in snapshots:
        # ok only for what was verified: a warning (ztunnel missing, a peer outside the run) leaves something unchecked
        if cluster not in bad_clusters and not any(f["cluster"] == cluster and f["level"] == "warning" for f in findings):
            findings.append(finding("network", cluster, "ok", "all network configurations are valid"))
    return findings


def parse_peered_uid(uid):
    """'<cluster>//Pod/<ns>/<name>' -> (cluster, ns, name) or None."""
    parts = (uid or "").split("/")
    if len(parts) != 5 or parts[1] != "" or parts[2] != "Pod":
        return None
    return parts[0], parts[3], parts[4]


def check_stale_workloads(snapshots, options=None):
    """Check 8: autogenflat WorkloadEntries whose source pod no longer exists in the source cluster."""
    findings = []
    if len(snapshots) < 2:
        for cluster in snapshots:
            findings.append(finding("stale_workloads", cluster, "info", "skipped: needs more than one cluster"))
        return findings
    pod_sets = {}
    for cluster, snap in snapshots.items():
        pod_sets[cluster] = set(snap.get("pod_index") or [])
    total = 0
    for cluster, snap in snapshots.items():
        entries = (snap.get("workload_entries") or {}).get("autogenflat") or []
        total += len(entries)
        stale = []
        for we in entries:
            parsed = parse_peered_uid(we.get("peered_uid"))
            source = we.get("source_cluster") or (parsed[0] if parsed else None)
            if parsed is None:
                findings.append(finding("stale_workloads", cluster, "warning", "WorkloadEntry %s has no valid solo.io/peered-workload-uid (%s)" % (
                    we.get("name"), we.get("peered_uid") or "missing"), STALE_HINT))
                continue
            if source not in snapshots:
                findings.append(finding("stale_workloads", cluster, "warning",
                                        "Cluster %s has resources from cluster %s, but cluster %s is not in the inventory" % (cluster, source, source),
                                        "Add the cluster to the inventory (or --limit) to validate these entries."))
                continue
            if "%s/%s" % (parsed[1], parsed[2]) not in pod_sets[source]:
                stale.append(we)
        for we in stale:
            parsed = parse_peered_uid(we.get("peered_uid"))
            findings.append(finding("stale_workloads", cluster, "error", "stale WorkloadEntry %s/%s: pod %s/%s no longer exists in cluster %s" % (
                istio_namespace(snap), we.get("name"), parsed[1], parsed[2], we.get("source_cluster") or parsed[0]), STALE_HINT))
        if entries and not stale:
            findings.append(finding("stale_workloads", cluster, "ok", "no stale workload entries (%d autogenflat entries checked)" % len(entries)))
    if not total:
        for cluster in snapshots:
            findings.append(finding("stale_workloads", cluster, "warning", "no autogenflat workload entries found"))
    else:
        for cluster, snap in snapshots.items():
            if not (snap.get("workload_entries") or {}).get("autogenflat"):
                findings.append(finding("stale_workloads", cluster, "ok", "no autogenflat workload entries in this cluster"))
    return findings
