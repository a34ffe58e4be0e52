# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter peer_address: the address istioctl multicluster link takes from an east-west Service."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: peer_address
short_description: Address of an east-west Service as istioctl multicluster link takes it
version_added: 1.0.0
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

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

ADDRESS_ANNOTATION = "istio.io/expose-istiod-address"


def _typed(value):
    value = to_text(value).strip()
    try:
        ipaddress.ip_address(value)
        return {"type": "IPAddress", "value": value}
    except ValueError:
        return {"type": "Hostname", "value": value}


def peer_address(service):
    """The address of an east-west Service, or None."""
    if not isinstance(service, dict):
        raise AnsibleFilterError("peer_address expects a Service dict, got %s" % type(service).__name__)
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    if annotations.get(ADDRESS_ANNOTATION):
        return _typed(annotations[ADDRESS_ANNOTATION])
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        if ingress[0].get("ip"):
            return {"type": "IPAddress", "value": to_text(ingress[0]["ip"])}
        if ingress[0].get("hostname"):
            return {"type": "Hostname", "value": to_text(ingress[0]["hostname"])}
    return None


class FilterModule(object):
    """meshops.ambient_spire.peer_address"""

    def filters(self):
        return {"peer_address": peer_address}
