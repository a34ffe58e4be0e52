# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter pki_paths: where the files of the PKI tree live under pki_dir."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: pki_paths
short_description: Paths of the PKI tree that the pki role writes
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - The layout of the PKI tree under C(pki_dir), the same that the C(meshops.ambient_spire.pki) role writes. Pure path
    arithmetic on the controller; nothing is read.
  - "C(<pki_dir>/root/root-ca.crt) and C(root-ca.key): the root CA; C(<pki_dir>/root-ca-bundle.pem): the trust bundle;
    C(<pki_dir>/clusters/<cluster>/spire/{ca.crt,ca.key,ca-chain.pem}): the SPIRE upstream authority of a cluster;
    C(<pki_dir>/clusters/<cluster>/istio/{ca-cert.pem,ca-key.pem,cert-chain.pem,root-cert.pem}): the istiod plug-in CA
    (the C(cacerts) Secret) of a cluster."
options:
  _input:
    description: The root of the PKI tree (C(pki_dir)).
    type: path
    required: true
  cluster:
    description:
      - A cluster name. Adds C(cluster_dir), C(spire) and C(istio) to the result.
      - It must name one directory (not empty, no C(/), not C(.) or C(..)).
    type: str
"""

EXAMPLES = r"""
- name: SPIRE upstream authority of this cluster
  ansible.builtin.debug:
    msg: "{{ (pki_dir | meshops.ambient_spire.pki_paths((vars | meshops.ambient_spire.mesh_identity(inventory_hostname)).cluster)).spire.cert }}"

- name: The trust bundle
  ansible.builtin.debug:
    msg: "{{ (pki_dir | meshops.ambient_spire.pki_paths).root_bundle }}"
"""

RETURN = r"""
_value:
  description: The paths (C(pki_dir) without a trailing C(/), joined with C(/)).
  type: dict
  contains:
    dir:
      description: C(<pki_dir>).
      type: path
    root_dir:
      description: C(<pki_dir>/root).
      type: path
    root_cert:
      description: C(<pki_dir>/root/root-ca.crt), the root CA certificate (or the signing CA brought in).
      type: path
    root_key:
      description: C(<pki_dir>/root/root-ca.key), the key of the generated root CA.
      type: path
    root_bundle:
      description: C(<pki_dir>/root-ca-bundle.pem), the trust bundle (the root certificate).
      type: path
    clusters_dir:
      description: C(<pki_dir>/clusters).
      type: path
    rotations_dir:
      description: C(<pki_dir>/rotations), where each CA rotation keeps its own tree and state (C(rotations/<id>/)).
      type: path
      version_added: 0.1.0
    archive_dir:
      description: C(<pki_dir>/archive), where each root rotation keeps the root it replaced, with its key (C(archive/<id>/)).
      type: path
      version_added: 0.1.0
    cluster_dir:
      description: C(<pki_dir>/clusters/<cluster>) (with O(cluster)).
      type: path
    spire:
      description: The SPIRE upstream authority intermediate of the cluster (with O(cluster)).
      type: dict
      contains:
        dir:
          description: C(<cluster_dir>/spire).
          type: path
        cert:
          description: C(ca.crt), the intermediate certificate (Secret key C(tls.crt)).
          type: path
        key:
          description: C(ca.key), its private key (Secret key C(tls.key)).
          type: path
        chain:
          description: C(ca-chain.pem), the certificate followed by the signing CA up to the root.
          type: path
    istio:
      description: The istiod plug-in CA of the cluster (with O(cluster)); the file names are the keys of the C(cacerts) Secret.
      type: dict
      contains:
        dir:
          description: C(<cluster_dir>/istio).
          type: path
        cert:
          description: C(ca-cert.pem), the intermediate certificate.
          type: path
        key:
          description: C(ca-key.pem), its private key.
          type: path
        chain:
          description: C(cert-chain.pem), the certificate followed by the signing CA up to the root.
          type: path
        root_cert:
          description: C(root-cert.pem), the root certificate.
          type: path
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.meshops.ambient_spire.plugins.module_utils._pki_layout import pki_paths as _pki_paths


def pki_paths(pki_dir, cluster=None):
    """The paths of the tree under pki_dir, with those of one cluster when given."""
    if pki_dir is None or str(pki_dir) == '':
        raise AnsibleFilterError("pki_paths: pki_dir is empty; set pki_dir (the root of the PKI tree the pki role writes)")
    try:
        return _pki_paths(pki_dir, cluster)
    except ValueError as exc:
        raise AnsibleFilterError("pki_paths: %s" % to_native(exc))


class FilterModule(object):
    """meshops.ambient_spire.pki_paths"""

    def filters(self):
        return {"pki_paths": pki_paths}
