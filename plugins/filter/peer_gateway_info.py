# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter peer_gateway_info: what the istio-remote-peer Gateways among some Gateway objects say."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: peer_gateway_info
short_description: Read the istio-remote-peer Gateways back
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Keeps the peer Gateways among C(Gateway) objects (class C(istio-remote), name C(istio-remote-peer-<cluster>), as the
    peer_gateways filter and C(istioctl multicluster link) make them) and says, for each, which cluster it names, the
    network, trust domain and service account it announces, its addresses, and whether Gloo's peering reports it
    connected (condition C(gloo.solo.io/PeerConnected) is C(True)).
options:
  _input:
    description: Gateway objects, as kubernetes.core.k8s_info returns them in C(resources).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Peers that are connected
  ansible.builtin.debug:
    msg: "{{ gateways.resources | meshops.ambient_spire.peer_gateway_info | selectattr('connected') | map(attribute='cluster') }}"
"""

RETURN = r"""
_value:
  description: One item per peer Gateway, in the order of the input.
  type: list
  elements: dict
  contains:
    name:
      description: Gateway name, C(istio-remote-peer-<cluster>).
      type: str
    namespace:
      description: Gateway namespace.
      type: str
    cluster:
      description: The cluster its name names.
      type: str
    network:
      description: The C(topology.istio.io/network) label.
      type: str
    trust_domain:
      description: The C(gateway.istio.io/trust-domain) annotation.
      type: str
    service_account:
      description: The C(gateway.istio.io/service-account) annotation.
      type: str
    addresses:
      description: The C(spec.addresses) values.
      type: list
      elements: str
    connected:
      description: Whether the condition C(gloo.solo.io/PeerConnected) is C(True).
      type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import peer_gateway_info as _peer_gateway_info


def peer_gateway_info(gateways):
    """The peer Gateways among ``gateways``, read back."""
    if not isinstance(gateways, (list, tuple)):
        raise AnsibleFilterError("peer_gateway_info expects a list of Gateway objects, got %s" % type(gateways).__name__)
    infos = (_peer_gateway_info(gateway) for gateway in gateways if isinstance(gateway, dict))
    return [info for info in infos if info is not None]


class FilterModule(object):
    """meshops.ambient_spire.peer_gateway_info"""

    def filters(self):
        return {"peer_gateway_info": peer_gateway_info}
