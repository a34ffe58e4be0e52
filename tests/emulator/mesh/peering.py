"""Simulated Solo istiod peering: istio-remote Gateway status (Accepted/Programmed, gloo.solo.io/* conditions) and
flat-network autogenflat WorkloadEntries. Connectivity is decided from the state of both emulated clusters."""

import hashlib

import yaml

from emulator.mesh import licensing, pki
from emulator.mesh.istio import (CLUSTER_LABEL, GATEWAY, NETWORK_LABEL, ca_material, discovery_container, env_of,
                                 istiod_deployments, istiod_ready)
from emulator.mesh.util import condition, ensure, quietly, served, set_status

CONNECTED = "gloo.solo.io/PeerConnected"
SUCCEEDED = "gloo.solo.io/PeeringSucceeded"
DATAPLANE = "gloo.solo.io/PeerDataPlaneProgrammed"
WE = ("networking.istio.io/v1", "WorkloadEntry")
AMBIENT = "istio.io/dataplane-mode"


def cluster_info(cluster):
    """What peering needs to know about one cluster (None when no istiod is installed)."""
    deployments = istiod_deployments(cluster)
    if not deployments:
        return None
    dep = deployments[0]
    ns = dep["metadata"]["namespace"]
    env = env_of(discovery_container(dep))
    ns_obj = cluster.get("v1", "Namespace", ns) or {"metadata": {}}
    mesh_cm = cluster.get("v1", "ConfigMap", "istio-gloo", ns) or cluster.get("v1", "ConfigMap", "istio", ns) or {}
    try:
        mesh = yaml.safe_load((mesh_cm.get("data") or {}).get("mesh") or "") or {}
    except yaml.YAMLError:
        mesh = {}
    lic = licensing.decode(licensing.istiod_license_key(cluster, env))
    roots, chain, plugged = istiod_trust(cluster, ns)
    chain_ok = bool(roots and chain) and pki.verify(chain[0], chain[1:], roots)
    info = {"cluster": cluster, "name": cluster.name, "namespace": ns, "env": env, "ready": istiod_ready(cluster),
            "cluster_id": env.get("CLUSTER_ID") or "Kubernetes",
            "network": (ns_obj["metadata"].get("labels") or {}).get(NETWORK_LABEL, ""),
            "trust_domain": (mesh.get("trustDomain") if isinstance(mesh, dict) else None) or "cluster.local",
            "license": lic, "multicluster": licensing.allows_multicluster(lic),
            "peering": env.get("ENABLE_PEERING_DISCOVERY") == "true",
            "select_we": str(env.get("PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES", "true")).lower() != "false",
            "flat": str(env.get("PEERING_ENABLE_FLAT_NETWORKS", "true")).lower() != "false",
            "root": pki.fingerprint(roots[-1]) if roots else None, "chain_ok": chain_ok, "plugged": plugged,
            "roots": roots, "chain": chain, "eastwest": {}}
    if served(cluster, GATEWAY, "Gateway"):
        gateways = {(g["metadata"]["namespace"], g["metadata"]["name"]): g for g in cluster.list(GATEWAY, "Gateway")
                    if (g.get("spec") or {}).get("gatewayClassName") == "istio-eastwest"}
    else:
        gateways = {}
    for svc in cluster.list("v1", "Service", label_selector="istio.io/expose-istiod"):
        meta = svc["metadata"]
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        address = (meta.get("annotations") or {}).get("istio.io/expose-istiod-address") or \
            (ingress[0].get("ip") or ingress[0].get("hostname") if ingress else None)
        if not address:
            continue
        gw = gateways.get((meta["namespace"], meta["name"]))
        xds = next((li for li in ((gw or {}).get("spec") or {}).get("listeners") or [] if li.get("name") == "xds-tls"), None)
        pods = cluster.list("v1", "Pod", meta["namespace"], label_selector="gateway.networking.k8s.io/gateway-name=%s" % meta["name"])
        info["eastwest"][address] = {"namespace": meta["namespace"], "service": meta["name"], "xds_port": (xds or {}).get("port"),
                                     "ready": any(_ready(p) for p in pods)}
    return info


def istiod_trust(cluster, ns):
    """(roots, issuing chain, plugged) of the running istiod (trust model), else read from Secret cacerts."""
    mesh = getattr(cluster.emulator, "mesh", None)
    view = mesh.trust.istiod_view(cluster) if mesh is not None else None
    if view is not None:
        return list(view[0]), list(view[1]), True
    root_pem, ca_pem, chain_pem, plugged = ca_material(cluster, ns)
    ca = pki.load_certs(ca_pem)
    return pki.load_certs(root_pem), ca[:1] + [c for c in pki.load_certs(chain_pem) if ca and c != ca[0]], plugged


def trusts_each_other(local, peer):
    """The peering control stream's mTLS: each istiod's chain verifies against the other's roots (several roots during
    a rotation are fine)."""
    return bool(local["chain_ok"] and peer["chain_ok"] and pki.verify(local["chain"][0], local["chain"][1:], peer["roots"])
                and pki.verify(peer["chain"][0], peer["chain"][1:], local["roots"]))


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def validate(gw):
    """ValidatePeerGateway: None or the error text."""
    meta, spec = gw["metadata"], gw.get("spec") or {}
    labels = meta.get("labels") or {}
    if spec.get("gatewayClassName") != "istio-remote":
        return "gateway class must be istio-remote"
    if not labels.get(NETWORK_LABEL):
        return 'no "%s" label found' % NETWORK_LABEL
    if not spec.get("addresses"):
        if (gw.get("status") or {}).get("addresses"):
            return "no spec.addresses found in gateway (but found status.addresses)"
        return "no spec.addresses found in gateway"
    if (meta.get("annotations") or {}).get("peering.solo.io/preferred-data-plane-service-type", "").lower() == "nodeport":
        if not (meta.get("annotations") or {}).get("gateway.istio.io/service-account") or not labels.get(CLUSTER_LABEL):
            return "nodeport peering requires the gateway.istio.io/service-account annotation and the %s label" % CLUSTER_LABEL
    return None


def _disconnected(faults, peer):
    value = faults.get("disconnect_peer")
    if value in (None, False, "", []):
        return False
    if value is True or value == "all":
        return True
    return peer in (value if isinstance(value, list) else [value])


def peer_problems(local, gw, infos, faults):  # pylint: disable=too-many-branches
    """(peer info or None, [reasons the control stream cannot connect]) for one valid istio-remote Gateway."""
    meta, spec = gw["metadata"], gw.get("spec") or {}
    address = spec["addresses"][0].get("value")
    port = next((li.get("port") for li in spec.get("listeners") or [] if li.get("name") == "xds-tls"), 15012)
    problems = []
    if not local["peering"]:
        problems.append("local istiod: ENABLE_PEERING_DISCOVERY is not true")
    if not local["select_we"]:
        problems.append("local istiod: peering discovery is incompatible with PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES=false")
    if not local["multicluster"]:
        problems.append("local istiod: license %s/%s does not allow MultiCluster" % (local["license"]["State"], local["license"]["Product"] or "-"))
    peer, ew = None, None
    for info in infos.values():
        if info is not None and info["name"] != local["name"] and address in info["eastwest"]:
            peer, ew = info, info["eastwest"][address]
    if peer is None:
        problems.append("%s:%s is not the east-west address of another emulated cluster" % (address, port))
        return None, problems
    if _disconnected(faults, peer["name"]):
        problems.append("disconnected from %s by the disconnect_peer fault" % peer["name"])
    if ew["xds_port"] is None:
        problems.append("peer east-west gateway %s/%s has no xds-tls listener (istiod not exposed)" % (ew["namespace"], ew["service"]))
    elif ew["xds_port"] != port:
        problems.append("peer exposes istiod on port %s, not %s" % (ew["xds_port"], port))
    if not ew["ready"]:
        problems.append("peer east-west gateway pods are not ready")
    if not peer["ready"]:
        problems.append("peer istiod is not ready")
    if not peer["peering"]:
        problems.append("peer istiod: ENABLE_PEERING_DISCOVERY is not true")
    if not peer["multicluster"]:
        problems.append("peer istiod: license %s/%s does not allow MultiCluster" % (peer["license"]["State"], peer["license"]["Product"] or "-"))
    if not trusts_each_other(local, peer):
        problems.append("tls: unknown certificate authority (the CAs of %s and %s do not chain to a root the other trusts)" % (
            local["name"], peer["name"]))
    annotations = meta.get("annotations") or {}
    expected = "spiffe://%s/ns/%s/sa/%s" % (
        annotations.get("gateway.istio.io/trust-domain") or local["trust_domain"], meta["namespace"],
        annotations.get("gateway.istio.io/service-account") or meta["name"] + "-istio-remote")
    actual = "spiffe://%s/ns/%s/sa/%s" % (peer["trust_domain"], ew["namespace"], ew["service"])
    if expected != actual:
        problems.append("peer did not present the expected SAN: expected %s, got %s" % (expected, actual))
    return peer, problems


def reconcile_remote(cluster, gw, local, infos, faults, report):
    """Status of one istio-remote Gateway (written by the local istiod)."""
    meta = gw["metadata"]
    gen = meta.get("generation")
    old = (gw.get("status") or {}).get("conditions")
    key = "%s/%s" % (meta["namespace"], meta["name"])
    conds = [condition(old, "Accepted", "True", "Accepted", "Resource accepted", gen),
             condition(old, "Programmed", "True", "Programmed", "This Gateway is remote; Istio will not program it", gen)]
    status = {"conditions": conds}
    if (gw.get("spec") or {}).get("addresses"):
        status["addresses"] = [{"type": a.get("type", "IPAddress"), "value": a.get("value")} for a in gw["spec"]["addresses"]]
    error = validate(gw)
    labels = meta.get("labels") or {}
    if error:
        message = "no network started, encountered error validating gateway: %s" % error
        conds += [condition(old, t, "False", "Invalid", message, gen) for t in (CONNECTED, SUCCEEDED, DATAPLANE)]
        report[key] = {"valid": False, "error": error}
    elif (labels.get(CLUSTER_LABEL) or labels.get(NETWORK_LABEL)) == local["cluster_id"]:
        report[key] = {"valid": True, "ignored": "peer gateway is for local cluster network, ignoring"}
    else:
        peer, problems = peer_problems(local, gw, infos, faults)
        connected = not problems
        flat = bool(peer) and local["flat"] and labels.get(NETWORK_LABEL) == local["network"]
        conds.append(condition(old, CONNECTED, "True" if connected else "False", "Programmed" if connected else "Pending",
                               "connected to peer" if connected else "not connected to peer", gen))
        conds.append(condition(old, SUCCEEDED, "True" if connected else "Unknown", "Programmed" if connected else "Pending",
                               "network synced" if connected else "network not yet synced check istiod log for more details", gen))
        nodeport = (meta.get("annotations") or {}).get("peering.solo.io/preferred-data-plane-service-type", "").lower() == "nodeport"
        hbone = any(li.get("protocol") == "HBONE" for li in (gw.get("spec") or {}).get("listeners") or [])
        if nodeport:
            conds.append(condition(old, DATAPLANE, "False", "Pending", "NodePort data plane peering is not simulated by the emulator", gen))
        else:
            conds.append(condition(old, DATAPLANE, "True" if hbone else "False", "Programmed" if hbone else "Pending",
                                   "data plane programmed" if hbone else "no listener with protocol HBONE found in gateway", gen))
        report[key] = {"valid": True, "peer": peer["name"] if peer else None, "connected": connected, "flat": flat, "problems": problems,
                       "eastwest": _eastwest_of(gw, peer)}
    set_status(cluster, gw, status)


def _eastwest_of(gw, peer):
    """namespace/service of the peer's east-west gateway this istio-remote Gateway points at."""
    if not peer:
        return None
    ew = peer["eastwest"].get(((gw.get("spec") or {}).get("addresses") or [{}])[0].get("value"))
    return "%s/%s" % (ew["namespace"], ew["service"]) if ew else None


def _short(value):
    if len(value) > 63:
        return "autogenflat.%s" % hashlib.sha256(value.encode()).hexdigest()[:8]
    return value


def desired_entries(peer):
    """autogenflat WorkloadEntries for the pods of the peer's ambient namespaces."""
    pcluster = peer["cluster"]
    ambient = {n["metadata"]["name"] for n in pcluster.list("v1", "Namespace") if (n["metadata"].get("labels") or {}).get(AMBIENT) == "ambient"}
    nodes = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in pcluster.list("v1", "Node")}
    entries = {}
    for ns in sorted(ambient):
        services = pcluster.list("v1", "Service", ns)
        for pod in pcluster.list("v1", "Pod", ns):
            labels = pod["metadata"].get("labels") or {}
            ip = (pod.get("status") or {}).get("podIP")
            if labels.get(AMBIENT) == "none" or not ip or (pod.get("status") or {}).get("phase") != "Running":
                continue
            names = sorted(s["metadata"]["name"] for s in services if (s.get("spec") or {}).get("selector") and
                           all(labels.get(k) == v for k, v in s["spec"]["selector"].items()))
            group = "autogenflat.%s.%s.%s" % (peer["cluster_id"], ns, pod["metadata"]["name"])
            name = "%s.%s" % (group, hashlib.sha256(",".join(names).encode()).hexdigest()[:12])
            node = nodes.get(pod["spec"].get("nodeName"), {})
            locality = "/".join(x for x in (node.get("topology.kubernetes.io/region"), node.get("topology.kubernetes.io/zone")) if x)
            spec = {"address": ip, "network": peer["network"], "labels": dict(labels), "serviceAccount": pod["spec"].get("serviceAccountName") or "default"}
            if locality:
                spec["locality"] = locality
            entries[name] = {"apiVersion": WE[0], "kind": WE[1], "metadata": {
                "name": name, "labels": dict(labels, **{"solo.io/source-workload": _short(group), "solo.io/source-cluster": peer["cluster_id"],
                                                        CLUSTER_LABEL: peer["cluster_id"], NETWORK_LABEL: peer["network"]}),
                "annotations": {"solo.io/peered-workload-uid": "%s//Pod/%s/%s" % (peer["cluster_id"], ns, pod["metadata"]["name"])}},
                "spec": spec}
    return entries


def reconcile_flat(cluster, local, infos, report):
    """Write autogenflat entries for connected flat peers; keep them (possibly stale) while a peering is down; delete
    the entries of source clusters no istio-remote Gateway peers with any more."""
    if not served(cluster, *WE):
        return
    ns = local["namespace"]
    peers = {}
    for item in report.values():
        if item.get("peer") and item.get("flat"):
            peers[item["peer"]] = peers.get(item["peer"], False) or item["connected"]
    existing = [w for w in cluster.list(*WE, namespace=ns)
                if str((w["metadata"].get("labels") or {}).get("solo.io/source-workload", "")).startswith("autogenflat.")]
    ids = {infos[p]["cluster_id"]: p for p in peers if infos.get(p)}
    for peer_name, connected in peers.items():
        if not connected:
            continue
        want = desired_entries(infos[peer_name])
        for name, obj in want.items():
            obj["metadata"]["namespace"] = ns
            ensure(cluster, obj, keep_labels=False)
        for we in existing:
            if we["metadata"]["labels"].get("solo.io/source-cluster") == infos[peer_name]["cluster_id"] and we["metadata"]["name"] not in want:
                quietly(cluster.delete, *WE, name=we["metadata"]["name"], namespace=ns)
    for we in existing:
        if we["metadata"]["labels"].get("solo.io/source-cluster") not in ids:
            quietly(cluster.delete, *WE, name=we["metadata"]["name"], namespace=ns)


def reconcile(emulator, faults_of, reports):
    """Peering status and flat entries in every cluster whose istiod runs."""
    infos = {name: cluster_info(c) for name, c in emulator.clusters.items()}
    for name, cluster in emulator.clusters.items():
        local = infos[name]
        if local is None or not local["ready"] or not served(cluster, GATEWAY, "Gateway"):
            continue
        report = {}
        for gw in cluster.list(GATEWAY, "Gateway"):
            if (gw.get("spec") or {}).get("gatewayClassName") == "istio-remote":
                reconcile_remote(cluster, gw, local, infos, faults_of(name), report)
        reports[name] = report
        reconcile_flat(cluster, local, infos, report)
    return infos
