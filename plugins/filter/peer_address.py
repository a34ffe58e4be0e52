# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter peer_address: the address istioctl multicluster link takes from an east-west Service."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: peer_address
short_description: Address of an east-west Service as istioctl multicluster link takes it
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Returns C({type, value}) for a Service labelled C(istio.io/expose-istiod), in the order of C(istioctl multicluster link)
    the annotation C(istio.io/expose-istiod-address) (an IP gives C(IPAddress), anything else C(Hostname)), else
    C(status.loadBalancer.ingress[0].ip) (C(IPAddress)), else C(status.loadBalancer.ingress[0].hostname) (C(Hostname)).
  - Returns null when the Service has none of them (no load balancer address yet).
options:
  _input:
    description: A Service object as returned by kubernetes.core.k8s_info.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Address of the east-west gateway
  ansible.builtin.debug:
    msg: "{{ service | meshops.ambient_spire.peer_address }}"
"""

RETURN = r"""
_value:
  description: A dict with C(type) (C(IPAddress) or C(Hostname)) and C(value), or null.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._peer_gateway import service_address


def peer_address(service):
    """The address of an east-west Service, or None."""
    if not isinstance(service, dict):
        raise AnsibleFilterError("peer_address expects a Service dict, got %s" % type(service).__name__)
    return service_address(service)


class FilterModule(object):
    """meshops.ambient_spire.peer_address"""

    def filters(self):
        return {"peer_address": peer_address}
