# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The east-west and peer Gateways of the mesh, in one place. PRIVATE to the collection: may change at any time.

Built as ``istioctl multicluster expose --namespace istio-eastwest`` and ``istioctl multicluster link`` make them
(istio/istio, istioctl/pkg/multicluster): every cluster has one east-west Gateway (class ``istio-eastwest``, labelled
with its network and cluster, ``istio.io/expose-istiod``), and one ``istio-remote-peer-<cluster>`` Gateway (class
``istio-remote``) for every other cluster, annotated with the peer's trust domain and service account, labelled with
its network and cluster, pointing at the peer's east-west address. Both have the listeners ``cross-network`` (HBONE
15008) and ``xds-tls`` (TLS 15012). Gloo's peering sets the condition ``gloo.solo.io/PeerConnected`` on a peer Gateway.

Also reads them back: from Kubernetes objects (``peer_gateway_info``) and from the snapshot records of the mesh
checks (``peer_target_cluster``, ``gateway_addresses``, where a Gateway is flattened to name, labels, annotations,
spec_addresses and status_addresses).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
EASTWEST_CLASS = "istio-eastwest"
REMOTE_CLASS = "istio-remote"
PEER_PREFIX = "istio-remote-peer-"
DEFAULT_NAMESPACE = "istio-eastwest"
DEFAULT_SERVICE_ACCOUNT = "istio-eastwest"

NETWORK_LABEL = "topology.istio.io/network"
CLUSTER_LABEL = "topology.istio.io/cluster"
REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
EXPOSE_ISTIOD_LABEL = "istio.io/expose-istiod"
EXPOSE_ISTIOD_PORT = "15012"
ADDRESS_ANNOTATION = "istio.io/expose-istiod-address"
TRUST_DOMAIN_ANNOTATION = "gateway.istio.io/trust-domain"
SERVICE_ACCOUNT_ANNOTATION = "gateway.istio.io/service-account"
PEER_CONNECTED = "gloo.solo.io/PeerConnected"
PEERING_SUCCEEDED = "gloo.solo.io/PeeringSucceeded"
LISTENERS = (("cross-network", 15008, "HBONE"), ("xds-tls", 15012, "TLS"))

PEER_FACTS = ("cluster", "network", "trust_domain")


def _text(value):
    return value if isinstance(value, str) else str(value)


def peer_gateway_name(cluster):
    """istio-remote-peer-<cluster>."""
    return PEER_PREFIX + _text(cluster)


def _listeners():
    return [{"name": name, "port": port, "protocol": protocol, "tls": {"mode": "Passthrough"}} for name, port, protocol in LISTENERS]


def _topology_labels(labels, region, zone):
    if region:
        labels[REGION_LABEL] = region
    if zone:
        labels[ZONE_LABEL] = zone
    return labels


def eastwest_gateway(cluster, network, name=DEFAULT_SERVICE_ACCOUNT, namespace=DEFAULT_NAMESPACE, region=None, zone=None):
    """The east-west Gateway of one cluster (``istioctl multicluster expose``)."""
    labels = _topology_labels({NETWORK_LABEL: network, CLUSTER_LABEL: cluster, EXPOSE_ISTIOD_LABEL: EXPOSE_ISTIOD_PORT}, region, zone)
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"gatewayClassName": EASTWEST_CLASS, "listeners": _listeners()},
    }


def peer_gateway(peer, namespace=DEFAULT_NAMESPACE):
    """The istio-remote Gateway that points at one peer (east-west facts: cluster, network, trust_domain, address, ...)."""
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": {
            "name": peer_gateway_name(peer["cluster"]),
            "namespace": namespace,
            "annotations": {
                SERVICE_ACCOUNT_ANNOTATION: peer.get("service_account") or DEFAULT_SERVICE_ACCOUNT,
                TRUST_DOMAIN_ANNOTATION: peer["trust_domain"],
            },
            "labels": _topology_labels({NETWORK_LABEL: peer["network"], CLUSTER_LABEL: peer["cluster"]}, peer.get("region"), peer.get("zone")),
        },
        "spec": {
            "gatewayClassName": REMOTE_CLASS,
            "addresses": [{"type": peer["address"]["type"], "value": peer["address"]["value"]}],
            "listeners": _listeners(),
        },
    }


def peer_gateways(peers, local_cluster, namespace=DEFAULT_NAMESPACE):
    """The peer Gateways of ``local_cluster``, sorted by name: one per other cluster that has an address.

    Raises ValueError for an item that is not a dict or lacks cluster, network or trust_domain.
    """
    result = []
    seen = set()
    for peer in peers:
        if not isinstance(peer, dict):
            raise ValueError("every item must be a dict, got %s" % type(peer).__name__)
        missing = [key for key in PEER_FACTS if not peer.get(key)]
        if missing:
            raise ValueError("east-west facts of %s lack %s" % (peer.get("cluster", "?"), ", ".join(missing)))
        cluster = peer["cluster"]
        if cluster == local_cluster or cluster in seen:
            continue
        seen.add(cluster)
        address = peer.get("address")
        if not isinstance(address, dict) or not address.get("value"):
            continue
        result.append(peer_gateway(peer, namespace))
    return sorted(result, key=lambda gw: gw["metadata"]["name"])


def _typed_address(value):
    value = _text(value).strip()
    try:
        ipaddress.ip_address(value)
        return {"type": "IPAddress", "value": value}
    except ValueError:
        return {"type": "Hostname", "value": value}


def service_address(service):
    """The address of an east-west Service as ``istioctl multicluster link`` takes it, or None.

    The ``istio.io/expose-istiod-address`` annotation (an IP gives IPAddress, anything else Hostname), else the first
    load balancer ingress IP, else its hostname.
    """
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    if annotations.get(ADDRESS_ANNOTATION):
        return _typed_address(annotations[ADDRESS_ANNOTATION])
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        if ingress[0].get("ip"):
            return {"type": "IPAddress", "value": _text(ingress[0]["ip"])}
        if ingress[0].get("hostname"):
            return {"type": "Hostname", "value": _text(ingress[0]["hostname"])}
    return None


def is_condition_true(obj, condition_type):
    """Whether the Kubernetes object has status.conditions[type=condition_type].status == 'True'."""
    for cond in ((obj.get("status") or {}).get("conditions") or []):
        if isinstance(cond, dict) and cond.get("type") == condition_type and cond.get("status") == "True":
            return True
    return False


def peer_gateway_info(gateway):
    """What a Gateway object says as a peer Gateway, or None when it is not one (class istio-remote, name istio-remote-peer-*).

    Keys: name, namespace, cluster (the one its name names), network, trust_domain, service_account, addresses
    (spec.addresses values) and connected (PeerConnected is True).
    """
    metadata = gateway.get("metadata") or {}
    name = metadata.get("name") or ""
    if (gateway.get("spec") or {}).get("gatewayClassName") != REMOTE_CLASS or not name.startswith(PEER_PREFIX):
        return None
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    return {
        "name": name,
        "namespace": metadata.get("namespace"),
        "cluster": name[len(PEER_PREFIX):],
        "network": labels.get(NETWORK_LABEL),
        "trust_domain": annotations.get(TRUST_DOMAIN_ANNOTATION),
        "service_account": annotations.get(SERVICE_ACCOUNT_ANNOTATION),
        "addresses": [addr.get("value") for addr in (gateway.get("spec") or {}).get("addresses") or [] if isinstance(addr, dict)],
        "connected": is_condition_true(gateway, PEER_CONNECTED),
    }


def peer_target_cluster(gw):
    """The cluster an istio-remote Gateway (snapshot record) points to: cluster label, else name suffix, else network."""
    labels = gw.get("labels") or {}
    if labels.get(CLUSTER_LABEL):
        return labels[CLUSTER_LABEL]
    name = gw.get("name") or ""
    if name.startswith(PEER_PREFIX):
        return name[len(PEER_PREFIX):]
    return labels.get(NETWORK_LABEL)


def gateway_addresses(gw):
    """Address values of a Gateway (snapshot record): spec.addresses first, then status.addresses."""
    values = []
    for key in ("spec_addresses", "status_addresses"):
        for addr in gw.get(key) or []:
            value = addr.get("value") if isinstance(addr, dict) else addr
            if value and value not in values:
                values.append(value)
    return values
