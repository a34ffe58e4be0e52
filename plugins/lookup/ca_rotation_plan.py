# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup ca_rotation_plan: what a CA rotation does now, from what the clusters and the PKI store hold."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: ca_rotation_plan
short_description: Plan of a rolling CA rotation (start, resume or nothing), from the clusters' state and the PKI store
version_added: 0.1.0
author:
  - meshops platform engineering (@meshops)
description:
  - Used by the C(meshops.ambient_spire.rotate_ca) role. Decides from the rotation state on every cluster (what
    M(meshops.ambient_spire.ca_rotation_info) read) and in the PKI store whether the rotation O(id) starts, resumes (the phases and
    clusters left) or is finished, and refuses what must not happen - another rotation unfinished, a root rotation on part of the
    mesh, a new root that differs from the one an interrupted rotation started with (never a third root), clusters under another
    root.
  - With O(store=files) it reads the rotations under O(pki_dir) (C(rotations/<id>/state.json), the new root of C(rotations/<id>/root/))
    and the current root (C(root-ca-bundle.pem)); with O(store=inventory) the current root is O(root_ca_cert).
  - A rotation that starts or resumes is refused on versions that cannot hold several roots (ztunnel before 1.24.6, 1.25.3, 1.26.0;
    istiod before 1.24.5, 1.25.2; a SPIRE server image before 1.11) and without a ready SPIRE server pod.
  - Writes nothing. A lookup, because it runs where the store is, on the controller.
options:
  infos:
    description: "{host: the RV(meshops.ambient_spire.ca_rotation_info#module:info) of its cluster} for every targeted host, in order."
    type: dict
    required: true
  id:
    description: The rotation's id (C(rotate_ca_id)).
    type: str
    required: true
  scope:
    description: C(intermediates) or C(root).
    type: str
    required: true
  confirm_root:
    description: C(rotate_ca_confirm_root).
    type: bool
    default: false
  batch:
    description: Clusters per batch (C(rotate_ca_batch)), for the plan's text.
    type: int
    default: 1
  expiring_within_days:
    description: Only the clusters whose intermediates expire within that many days (scope C(intermediates)); empty for all.
    type: str
    default: ""
  mesh_hosts:
    description: Every host of the mesh (a root rotation must cover them all).
    type: list
    elements: str
    default: []
  store:
    description: The PKI store, C(files) or C(inventory).
    type: str
    default: files
  pki_dir:
    description: The tree of the files store.
    type: str
    default: ""
  root_ca_cert:
    description: The inventory store's root (C(pki_root_ca_cert)); with O(root_ca_chain), the root is the chain's last certificate.
    type: str
    default: ""
  root_ca_chain:
    description: The certificates above O(root_ca_cert) (C(pki_root_ca_chain)).
    type: str
    default: ""
  new_root_cert:
    description: The new root given for a root rotation (C(rotate_ca_new_root_cert)); empty to use (or make) the files store's.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Plan the rotation
  ansible.builtin.set_fact:
    plan: >-
      {{ lookup('meshops.ambient_spire.ca_rotation_plan', infos=infos, id='chg-42', scope='intermediates', store='files', pki_dir='/srv/pki') }}
"""

RETURN = r"""
_raw:
  description: One plan.
  type: list
  elements: dict
  contains:
    action:
      description: C(start), C(resume), C(finished), C(nothing_due) or C(refuse).
      type: str
    errors:
      description: Why it is refused (nothing may be written then).
      type: list
      elements: str
    hosts:
      description: The hosts of the rotation.
      type: list
      elements: str
    phases:
      description: "{phase: [hosts left]} for the phases of the scope (C(trust), C(issue), C(drop); C(issue) only for intermediates)."
      type: dict
    states:
      description: "{host: the state to write on its cluster now} (a rotation that starts, or hosts whose state is missing)."
      type: dict
    before:
      description: "{host: {istio, spire}}: the fingerprints of the intermediates the rotation replaces."
      type: dict
    root_from:
      description: The root the rotation starts from (public facts).
      type: dict
    root_to:
      description: The root it ends with (the same for an intermediate rotation; unset until a new root is made).
      type: dict
    root_to_pem:
      description: The certificate (PEM) of the root the rotation ends with, when known.
      type: str
    root_from_pem:
      description: The certificate (PEM) of the root it starts from (the store's current root).
      type: str
    store_state_next:
      description: The files store's state of this rotation to write now (start or resume), else null.
      type: dict
    generate_root:
      description: Whether the files store must make the new root first.
      type: bool
    finish:
      description: Whether the finish step runs (store updated, states finished).
      type: bool
    lines:
      description: The plan as text (what --check prints).
      type: list
      elements: str
    paths:
      description: The files store's paths of this rotation (C(dir), C(state), C(archive_*)) and of its tree (C(tree)).
      type: dict
    store_state:
      description: The files store's state of this rotation, if any.
      type: dict
"""

import json
import os
import time

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _ca_rotation, _pki_layout, _pki_store

OPTIONS = ('infos', 'id', 'scope', 'confirm_root', 'batch', 'expiring_within_days', 'mesh_hosts', 'store', 'pki_dir', 'root_ca_cert',
           'root_ca_chain', 'new_root_cert')


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _store_states(pki_dir):
    """{id: state} of the rotations under pki_dir/rotations."""
    rotations = _pki_layout.tree_paths(pki_dir)['rotations_dir']
    states = {}
    if os.path.isdir(rotations):
        for name in sorted(os.listdir(rotations)):
            try:
                text = _read(_pki_layout.rotation_paths(pki_dir, name)['state'])
            except ValueError:
                continue
            state = _ca_rotation.load_state(text)
            if state:
                states[state['id']] = state
    return states


def _root_info(text, what):
    certs = _pki_store.load_certs(text)
    if text and str(text).strip() and not certs:
        raise AnsibleLookupError("ca_rotation_plan: %s is not a PEM certificate" % what)
    return certs


def build(options, now=None):
    """The plan with the store's part (paths, states, roots) filled in."""
    now = time.time() if now is None else now
    store = options['store']
    plan_options = dict(id=options['id'], scope=options['scope'], confirm_root=options['confirm_root'], batch=options['batch'],
                        expiring_within_days=options['expiring_within_days'], mesh_hosts=options['mesh_hosts'] or [], store=store, now=now,
                        now_iso=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now)))
    store_states, paths, root_certs = {}, {}, []
    new_root_pem = options['new_root_cert'] or ''
    if store == 'files':
        if not options['pki_dir']:
            raise AnsibleLookupError("ca_rotation_plan: pki_dir is empty; set pki_dir (the files store)")
        pki_dir = os.path.realpath(options['pki_dir'])
        tree = _pki_layout.tree_paths(pki_dir)
        store_states = _store_states(pki_dir)
        root_certs = _root_info(_read(tree['root_bundle']), tree['root_bundle'])
        if options['id'] and _ca_rotation.ID_PATTERN.match(str(options['id'])):
            paths = dict(_pki_layout.rotation_paths(pki_dir, options['id']), tree=_pki_layout.tree_paths(pki_dir))
            paths['new_root_cert'] = _pki_layout.pki_paths(paths['dir'])['root_cert']
            paths['new_root_key'] = _pki_layout.pki_paths(paths['dir'])['root_key']
            if not new_root_pem:
                new_root_pem = _read(paths['new_root_cert']) or ''
    else:
        chain = _root_info(options['root_ca_chain'], 'root_ca_chain')
        root_certs = chain[-1:] or _root_info(options['root_ca_cert'], 'root_ca_cert')[:1]
    if store == 'files' and len(root_certs) > 1:
        active = [i for i, s in store_states.items() if not s.get('finished')]
        if not active:
            raise AnsibleLookupError("ca_rotation_plan: %s holds %d roots outside any rotation; leave the one in use" % (
                _pki_layout.tree_paths(options['pki_dir'])['root_bundle'], len(root_certs)))
        root_certs = root_certs[:1]
    plan_options['root'] = _pki_store.info(root_certs[0]) if root_certs else None
    new_root = _root_info(new_root_pem, 'the new root (rotate_ca_new_root_cert)')
    plan_options['new_root'] = _pki_store.info(new_root[0]) if new_root else None
    plan_options['new_root_pem'] = _pki_store.cert_pem(new_root[0]) if new_root else None
    result = _ca_rotation.plan(options['infos'], plan_options, store_states)
    if result['action'] in ('start', 'resume'):
        # the versions read in the infos: ztunnel and istiod (their version labels or image tags), the SPIRE server's image tag
        problems = _ca_rotation.precheck(dict((h, options['infos'][h]) for h in result['hosts']))
        if problems:
            result['errors'].extend(problems)
            result['action'] = 'refuse'
    state = store_states.get(options['id'])
    known = [s for s in [state] + [i.get('state') for i in options['infos'].values()] if s and s.get('id') == options['id']]
    result['root_to_pem'] = next((s.get('root_to_pem') for s in known if s.get('root_to_pem')), None) or plan_options['new_root_pem'] or \
        next((s.get('root_to_pem') for s in result['states'].values() if s.get('root_to_pem')), None)
    if options['scope'] == 'intermediates' and root_certs:
        result['root_to_pem'] = _pki_store.cert_pem(root_certs[0])
    result['root_from_pem'] = _pki_store.cert_pem(root_certs[0]) if root_certs else None
    result['paths'] = paths
    result['store_state'] = state
    result['store_state_next'] = None
    if store == 'files' and result['action'] in ('start', 'resume'):
        existing = state or {}
        result['store_state_next'] = {
            'id': options['id'], 'scope': options['scope'], 'finished': None,
            'clusters': existing.get('clusters') or [options['infos'][h].get('cluster') or h for h in result['hosts']],
            'root_from': existing.get('root_from') or result['root_from'], 'root_to': result['root_to'], 'root_to_pem': result['root_to_pem'],
            'started': existing.get('started') or plan_options['now_iso']}
    return result


class LookupModule(LookupBase):
    """meshops.ambient_spire.ca_rotation_plan"""

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("ca_rotation_plan takes options only (infos=..., id=..., scope=...), no terms")
        self.set_options(var_options=variables, direct=kwargs)
        options = dict((name, self.get_option(name)) for name in OPTIONS)
        try:
            return [json.loads(json.dumps(build(options)))]
        except (TypeError, ValueError) as exc:
            raise AnsibleLookupError("ca_rotation_plan: %s" % to_native(exc))
