# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter k8s_digest: a digest of Secret data or Helm values, as the k8s_apply module compares them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: k8s_digest
short_description: Digest of Secret data or Helm values, as the k8s_apply module compares them
version_added: 1.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Returns C(sha256:<hex>) of the data in one canonical JSON form (sorted keys, integral numbers as integers; null and an
    empty dict are the same). M(meshops.ambient_spire.k8s_apply) computes the same digest of a live Secret's C(data) and of
    a Helm release's values, so a task can say which Secret or release differs without carrying the data.
options:
  _input:
    description: A Secret's C(data) (base64 values) or a release's values.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Compare the cacerts Secret without passing its data
  meshops.ambient_spire.k8s_apply:
    secrets:
      - name: cacerts
        namespace: istio-system
        data_digest: "{{ cacerts_data | meshops.ambient_spire.k8s_digest }}"
"""

RETURN = r"""
_value:
  description: C(sha256:) followed by 64 hexadecimal digits.
  type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_state import content_digest


def k8s_digest(data):
    """sha256:<hex> of the data in canonical JSON form."""
    if data is not None and not isinstance(data, (dict, list)):
        raise AnsibleFilterError("k8s_digest expects a dict (Secret data, Helm values) or a list, got %s" % type(data).__name__)
    return content_digest(data)


class FilterModule(object):
    """meshops.ambient_spire.k8s_digest"""

    def filters(self):
        return {"k8s_digest": k8s_digest}
