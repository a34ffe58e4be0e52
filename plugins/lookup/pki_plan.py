# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup pki_plan: what the pki role checks, creates and writes on the controller."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: pki_plan
short_description: Plan of the PKI tree on the controller (paths, what exists, what to issue, input errors)
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Computes, once per run, the plan that the C(meshops.ambient_spire.pki) role carries out, from its options and what
    exists on the controller; it writes nothing.
  - The tree is the one of the pki_paths filter under the resolved (real) O(pki_dir).
  - Reports input errors instead of failing (the role fails with all of them before anything is written) - no cluster,
    a cluster name that is not a DNS-1123 label (no path is planned for it), duplicate names, a bring-your-own CA with a
    missing part or file, a chain without its CA, a root certificate whose key is missing.
  - A lookup, because it runs where the files are, on the controller, and costs no module run.
options:
  pki_dir:
    description: Root of the PKI tree; resolved with C(os.path.realpath) on the controller.
    type: str
    required: true
  clusters:
    description: The cluster names (the pki role passes C(pki_clusters), else the clusters of the inventory group).
    type: list
    elements: str
    default: []
  cluster_group:
    description: The inventory group the clusters came from (for the message when there is none).
    type: str
    default: k8s_clusters
  root_ca_cert_path:
    description: Brought-in root or signing CA certificate; empty to generate the root. Resolved like O(pki_dir).
    type: str
    default: ""
  root_ca_key_path:
    description: Key of O(root_ca_cert_path).
    type: str
    default: ""
  root_ca_chain_path:
    description: The certificates above O(root_ca_cert_path), ending with the root.
    type: str
    default: ""
  spire_ca_common_name:
    description: Common name of the SPIRE intermediates; C({cluster}) is replaced.
    type: str
    default: SPIRE {cluster} CA
  spire_ca_pathlen:
    description: pathlen of the SPIRE intermediates.
    type: int
    default: 1
  spire_ca_days:
    description: Validity of the SPIRE intermediates.
    type: int
    default: 1825
  istio_ca_common_name:
    description: Common name of the istiod intermediates; C({cluster}) is replaced.
    type: str
    default: Istio {cluster} CA
  istio_ca_pathlen:
    description: pathlen of the istiod intermediates.
    type: int
    default: 0
  istio_ca_days:
    description: Validity of the istiod intermediates.
    type: int
    default: 1825
  rotate_intermediates:
    description: Issue every intermediate again.
    type: bool
    default: false
  active_rotations:
    description:
      - Ids of CA rotations in progress (refused as errors). Default - read from the tree (C(rotations/<id>/state.json) without C(finished)).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Compute the PKI plan
  ansible.builtin.set_fact:
    plan: "{{ lookup('meshops.ambient_spire.pki_plan', pki_dir='/srv/pki', clusters=['cluster1', 'cluster2']) }}"
"""

RETURN = r"""
_raw:
  description: One plan.
  type: list
  elements: dict
  contains:
    dir:
      description: The real path of O(pki_dir).
      type: path
    clusters:
      description: The cluster names.
      type: list
      elements: str
    errors:
      description: Input errors (empty when the plan can be carried out).
      type: list
      elements: str
    byo:
      description: Whether the signing CA is brought in.
      type: bool
    root_cert:
      description: C(<dir>/root/root-ca.crt).
      type: path
    root_key:
      description: C(<dir>/root/root-ca.key).
      type: path
    bundle:
      description: C(<dir>/root-ca-bundle.pem).
      type: path
    signing_cert:
      description: The certificate of the CA that signs the intermediates.
      type: path
    signing_key:
      description: Its key.
      type: path
    signing_cert_exists:
      description: Whether O(root_ca_cert_path) or the generated root certificate exists.
      type: bool
    signing_key_exists:
      description: Whether its key exists.
      type: bool
    upstream:
      description: The signing CA certificate followed by O(root_ca_chain_path) when given.
      type: list
      elements: path
    dirs:
      description: Every directory of the tree, parents first.
      type: list
      elements: path
    intermediates:
      description: One per cluster and kind (C(spire), C(istio)) with C(cluster), C(kind), C(cn), C(pathlen), C(days), C(cert),
        C(key), C(key_exists) and C(issue) (missing, or O(rotate_intermediates)).
      type: list
      elements: dict
    files:
      description: Files assembled from certificates, with C(dest), C(srcs) (files read in order) and C(anchor) (keep the last
        certificate only).
      type: list
      elements: dict
    modes:
      description: C(path) and C(mode) of every file of the tree.
      type: list
      elements: dict
    checks:
      description: The M(meshops.ambient_spire.cert_chain_check) items of every intermediate.
      type: list
      elements: dict
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation import load_state
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_layout import rotation_paths, tree_paths
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_plan import DEFAULTS, pki_plan


def active_rotations(pki_dir):
    """Ids of the CA rotations of the tree that have not finished."""
    rotations = tree_paths(pki_dir)['rotations_dir']
    found = []
    if os.path.isdir(rotations):
        for name in sorted(os.listdir(rotations)):
            try:
                with open(rotation_paths(pki_dir, name)['state']) as handle:
                    state = load_state(handle.read())
            except (IOError, OSError, ValueError):
                continue
            if state and not state.get('finished'):
                found.append(state['id'])
    return found


class LookupModule(LookupBase):
    """meshops.ambient_spire.pki_plan"""

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("pki_plan takes options only (pki_dir=..., clusters=...), no terms")
        self.set_options(var_options=variables, direct=kwargs)
        options = dict((name, self.get_option(name)) for name in DEFAULTS)
        if not options['pki_dir']:
            raise AnsibleLookupError("pki_plan: pki_dir is empty; set pki_dir (the root of the PKI tree)")
        if options['active_rotations'] is None:
            options['active_rotations'] = active_rotations(os.path.realpath(str(options['pki_dir'])))
        try:
            return [pki_plan(options, isfile=os.path.isfile, realpath=os.path.realpath)]
        except (TypeError, ValueError) as exc:
            raise AnsibleLookupError("pki_plan: %s" % to_native(exc))
