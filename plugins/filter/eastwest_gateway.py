# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter eastwest_gateway: the east-west Gateway of one cluster."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: eastwest_gateway
short_description: Build the east-west Gateway of one cluster
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - >-
    Returns the C(gateway.networking.k8s.io/v1) C(Gateway) that C(istioctl multicluster expose) applies: class
    C(istio-eastwest), the labels C(topology.istio.io/network), C(topology.istio.io/cluster), C(istio.io/expose-istiod=15012),
    optional C(topology.kubernetes.io/region) and C(topology.kubernetes.io/zone), and the listeners C(cross-network)
    (HBONE 15008) and C(xds-tls) (TLS 15012), the same as the peer Gateways of the peer_gateways filter.
options:
  _input:
    description: The cluster, as a dict with C(cluster), C(network) and optional C(region) and C(zone) (empty values are left out).
    type: dict
    required: true
  name:
    description: Name of the Gateway (also the name of its Service and service account).
    type: str
    default: istio-eastwest
  namespace:
    description: Namespace of the Gateway; the peer Gateways live in the same one.
    type: str
    default: istio-eastwest
"""

EXAMPLES = r"""
- name: East-west Gateway of this cluster
  kubernetes.core.k8s:
    definition: "{{ {'cluster': 'cluster1', 'network': 'net1'} | meshops.ambient_spire.eastwest_gateway }}"
"""

RETURN = r"""
_value:
  description: The Gateway manifest.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import eastwest_gateway as _eastwest_gateway


def eastwest_gateway(cluster, name=DEFAULT_SERVICE_ACCOUNT, namespace=DEFAULT_NAMESPACE):
    """The east-west Gateway of one cluster."""
    if not isinstance(cluster, dict):
        raise AnsibleFilterError("eastwest_gateway expects a dict with cluster and network, got %s" % type(cluster).__name__)
    missing = [key for key in ("cluster", "network") if not cluster.get(key)]
    if missing:
        raise AnsibleFilterError("eastwest_gateway: %s missing" % ", ".join(missing))
    return _eastwest_gateway(cluster["cluster"], cluster["network"], name=name, namespace=namespace,
                             region=cluster.get("region"), zone=cluster.get("zone"))


class FilterModule(object):
    """meshops.ambient_spire.eastwest_gateway"""

    def filters(self):
        return {"eastwest_gateway": eastwest_gateway}
