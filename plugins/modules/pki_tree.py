#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pki_tree
short_description: Issue the intermediates of a PKI tree and write its chain files, in one process
version_added: 0.1.0
description:
  - The files half of C(pki_store=files) of the C(meshops.ambient_spire.pki) role, given the plan of the
    C(meshops.ambient_spire.pki_plan) lookup. It creates the tree's directories (mode C(0700)) and, unless it is brought in, the
    root CA (O(root)), issues every intermediate CA of
    O(intermediates) marked C(issue) from the signing CA (a new key each time), and writes the files assembled from certificates
    (O(files)) whose certificates differ.
  - One module run for the whole tree, where the role ran three C(community.crypto) modules per intermediate and one
    M(ansible.builtin.copy) per file; the certificates are the same kind (basicConstraints and keyUsage critical, subject and
    authority key identifiers).
  - Keys are written with mode C(0600) from their creation on, certificates with C(0644); every file is replaced atomically.
  - No option holds key material (only paths), and no result or message does.
author:
  - meshops platform engineering (@meshops)
extends_documentation_fragment:
  - meshops.ambient_spire._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written; RV(dirs), RV(issued) and RV(files) say what would be.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Once the intermediates exist (C(issue) false in the next plan), the files hold their certificates and have their modes,
        C(changed=false).
options:
  dir:
    description: The tree's own directory (created when missing, its mode left as it is).
    type: path
    required: true
  dirs:
    description: Every directory of the tree, parents first; the sub-directories get mode C(0700).
    type: list
    elements: path
    default: []
  root:
    description:
      - The tree's own root CA, when it is not brought in. Created when its certificate is missing - with a new key unless
        the key file exists (a key is never regenerated) - self-signed, basicConstraints (critical, with its pathlen) and
        keyUsage keyCertSign and cRLSign (critical).
    type: dict
    suboptions:
      cert:
        description: Path of the root certificate.
        type: path
        required: true
      key:
        description: Path of the root private key.
        type: path
        required: true
      common_name:
        description: Common name.
        type: str
        required: true
      pathlen:
        description: basicConstraints pathlen.
        type: int
        default: 2
      days:
        description: Validity in days.
        type: int
        required: true
  signing_cert:
    description: Certificate of the CA that signs the intermediates (PEM file).
    type: path
    required: true
  signing_key:
    description: Its unencrypted private key (PEM file). Read only when an intermediate is issued.
    type: path
    required: true
  intermediates:
    description: The intermediates of the plan; those with C(issue) true are issued.
    type: list
    elements: dict
    default: []
    suboptions:
      cluster:
        description: Cluster of the intermediate (for RV(issued)).
        type: str
        required: true
      kind:
        description: C(spire) or C(istio).
        type: str
        required: true
      cn:
        description: Common name.
        type: str
        required: true
      pathlen:
        description: basicConstraints pathlen.
        type: int
        required: true
      days:
        description: Validity in days (not beyond the signing CA's).
        type: int
        required: true
      cert:
        description: Path of the certificate.
        type: path
        required: true
      key:
        description: Path of the private key.
        type: path
        required: true
      key_exists:
        description: Whether the key existed when the plan was made (informative).
        type: bool
        default: false
      issue:
        description: Whether to issue it (missing, or a rotation was asked).
        type: bool
        default: false
  files:
    description: The files assembled from certificates.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: The file to write.
        type: path
        required: true
      srcs:
        description: PEM files whose certificates it holds, in order.
        type: list
        elements: path
        required: true
      anchor:
        description: Keep only the last certificate of O(files[].srcs) (the root).
        type: bool
        default: false
  modes:
    description:
      - The mode of every file of the tree (the plan's C(modes)). An existing file whose mode differs gets it back; a missing
        one is left to be written (with its mode).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      mode:
        description: Its octal mode, for example C('0600').
        type: str
        required: true
  key_type:
    description: Algorithm of the new keys.
    type: str
    choices: [RSA, ECC]
    default: RSA
  key_size:
    description: Bits of a new RSA key.
    type: int
    default: 2048
  key_curve:
    description: Curve of a new ECC key.
    type: str
    choices: [secp256r1, secp384r1, secp521r1]
    default: secp256r1
  digest:
    description: Signature digest.
    type: str
    choices: [sha256, sha384, sha512]
    default: sha256
requirements:
  - cryptography
'''

EXAMPLES = r'''
- name: Issue the new or rotated intermediates and write the chain files (one process)
  meshops.ambient_spire.pki_tree:
    dir: "{{ plan.dir }}"
    dirs: "{{ plan.dirs }}"
    signing_cert: "{{ plan.signing_cert }}"
    signing_key: "{{ plan.signing_key }}"
    intermediates: "{{ plan.intermediates }}"
    files: "{{ plan.files }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
dirs:
  description: The directories created or whose mode was restored (or would be, in check mode).
  returned: always
  type: list
  elements: str
issued:
  description: The CAs issued, C(root) and the intermediates as C(<cluster>/<kind>) (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [cluster1/spire, cluster1/istio]
files:
  description: The assembled files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
modes:
  description: The existing files whose mode was (in check mode, would be) given back.
  returned: always
  type: list
  elements: str
written:
  description: Every file written (keys, certificates, assembled files); empty in check mode.
  returned: always
  type: list
  elements: str
'''

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_tree, _x509
from ansible_collections.meshops.ambient_spire.plugins.module_utils._module_run import ModuleFailure, run_as_module


def argument_spec():
    return dict(
        dir=dict(type='path', required=True),
        dirs=dict(type='list', elements='path', default=[]),
        root=dict(type='dict', options=dict(
            cert=dict(type='path', required=True),
            key=dict(type='path', required=True, no_log=False),
            common_name=dict(type='str', required=True),
            pathlen=dict(type='int', default=2),
            days=dict(type='int', required=True),
        )),
        signing_cert=dict(type='path', required=True),
        signing_key=dict(type='path', required=True, no_log=False),
        intermediates=dict(type='list', elements='dict', default=[], options=dict(
            cluster=dict(type='str', required=True),
            kind=dict(type='str', required=True),
            cn=dict(type='str', required=True),
            pathlen=dict(type='int', required=True),
            days=dict(type='int', required=True),
            cert=dict(type='path', required=True),
            key=dict(type='path', required=True, no_log=False),
            key_exists=dict(type='bool', default=False),
            issue=dict(type='bool', default=False),
        )),
        files=dict(type='list', elements='dict', default=[], options=dict(
            dest=dict(type='path', required=True),
            srcs=dict(type='list', elements='path', required=True),
            anchor=dict(type='bool', default=False),
        )),
        modes=dict(type='list', elements='dict', default=[], options=dict(
            path=dict(type='path', required=True),
            mode=dict(type='str', required=True),
        )),
        key_type=dict(type='str', choices=['RSA', 'ECC'], default='RSA'),
        key_size=dict(type='int', default=2048),
        key_curve=dict(type='str', choices=['secp256r1', 'secp384r1', 'secp521r1'], default='secp256r1'),
        digest=dict(type='str', choices=['sha256', 'sha384', 'sha512'], default='sha256'),
    )


def execute(params, check_mode=False, warn=None):  # pylint: disable=unused-argument
    if not _x509.HAS_CRYPTOGRAPHY:
        raise ModuleFailure(missing_required_lib('cryptography'), exception=_x509.CRYPTOGRAPHY_IMPORT_ERROR)
    plan = dict((name, params[name]) for name in ('dir', 'dirs', 'root', 'signing_cert', 'signing_key', 'intermediates', 'files', 'modes'))
    try:
        return _pki_tree.converge_tree(plan, params, check_mode=check_mode)
    except _pki_tree.TreeError as exc:
        raise ModuleFailure(str(exc))
    except (IOError, OSError) as exc:
        raise ModuleFailure('writing the PKI tree failed: %s' % exc, exception=traceback.format_exc())


def main():
    run_as_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True), execute)


if __name__ == '__main__':
    main()
