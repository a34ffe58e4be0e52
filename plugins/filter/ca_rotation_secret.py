# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ca_rotation_secret: the patch of a Secret's data from PEM text."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: ca_rotation_secret
short_description: The patch of a Secret's data from text values
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - From a dict of Secret keys to PEM text, the list with the one Secret patch that sets those keys (base64-encoded), to write the keys of a CA
    Secret in a single update; an empty dict gives an empty list (nothing to write).
  - The C(rotate_ca) role uses it in tasks that run with C(no_log) and C(diff=false), as the data may hold private keys.
options:
  _input:
    description: The Secret keys and their text.
    type: dict
    required: true
  name:
    description: The Secret's name.
    type: str
    required: true
  namespace:
    description: Its namespace.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The new root joins root-cert.pem
  kubernetes.core.k8s:
    state: patched
    definition: "{{ {'root-cert.pem': old_pem ~ new_pem} | meshops.ambient_spire.ca_rotation_secret('cacerts', 'istio-system') }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: An empty list, or a list with one Secret (apiVersion, kind, metadata name and namespace, data).
  type: list
  elements: dict
"""

import base64

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text


def ca_rotation_secret(data, name, namespace):
    """The patch of a Secret's data from {key: text} (base64-encoded here); an empty data gives an empty list."""
    if not isinstance(data, dict):
        raise AnsibleFilterError("ca_rotation_secret: expects a dict of Secret keys and PEM text")
    if not data:
        return []
    encoded = dict((key, to_text(base64.b64encode(to_bytes(value or '')))) for key, value in data.items())
    return [{'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name, 'namespace': namespace}, 'data': encoded}]


class FilterModule(object):
    """meshops.ambient_spire.ca_rotation_secret"""

    def filters(self):
        return {'ca_rotation_secret': ca_rotation_secret}
