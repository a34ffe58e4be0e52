# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter peer_gateways: the istio-remote-peer-<cluster> Gateways of one cluster from the east-west facts of all."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: peer_gateways
short_description: Build the istio-remote-peer Gateways of one cluster
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Returns, for one local cluster, one C(gateway.networking.k8s.io/v1) C(Gateway) named C(istio-remote-peer-<cluster>)
    for every other cluster, identical to what C(istioctl multicluster link) applies (class C(istio-remote), annotations
    C(gateway.istio.io/service-account) and C(gateway.istio.io/trust-domain), network and cluster labels, one
    C(spec.addresses) entry and the C(cross-network) and C(xds-tls) listeners).
  - Pure data shaping; the addresses come from the peers' east-west Services (see the peer_address filter).
  - Peers without an address are left out (and reported by the caller); a peer equal to the local cluster is skipped.
options:
  _input:
    description:
      - East-west facts of every cluster, each a dict with C(cluster), C(network), C(trust_domain),
        C(service_account) (the east-west Service name), C(address) (a dict with C(type) and C(value), or null),
        optional C(region) and C(zone).
    type: list
    elements: dict
    required: true
  local_cluster:
    description: Name of the cluster that gets the Gateways.
    type: str
    required: true
  namespace:
    description: Namespace of the Gateways; must equal the namespace of the peers' east-west Gateways.
    type: str
    default: istio-eastwest
"""

EXAMPLES = r"""
- name: Peer Gateways of this cluster
  kubernetes.core.k8s:
    definition: "{{ all_eastwest_facts | meshops.ambient_spire.peer_gateways(local_cluster='cluster1') }}"
"""

RETURN = r"""
_value:
  description: The Gateway manifests, sorted by peer cluster name.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import DEFAULT_NAMESPACE
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import peer_gateways as _peer_gateways


def peer_gateways(peers, local_cluster, namespace=DEFAULT_NAMESPACE):
    """Gateways for every peer of local_cluster that has an address."""
    if not isinstance(peers, (list, tuple)):
        raise AnsibleFilterError("peer_gateways expects a list of east-west facts, got %s" % type(peers).__name__)
    try:
        return _peer_gateways(peers, local_cluster, namespace)
    except ValueError as exc:
        raise AnsibleFilterError("peer_gateways: %s" % to_native(exc))


class FilterModule(object):
    """meshops.ambient_spire.peer_gateways"""

    def filters(self):
        return {"peer_gateways": peer_gateways}
