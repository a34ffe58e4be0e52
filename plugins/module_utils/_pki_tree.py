# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files half of ``pki_store: files``: the intermediates of the plan issued and the chain files written, in one process.
PRIVATE to the collection.

``converge_tree(plan, options, check_mode)`` takes the parts of the ``pki_plan`` lookup's plan that write (``dir``, ``dirs``,
``root``, ``intermediates``, ``files``, ``signing_cert``, ``signing_key``) and

- creates the tree's directories (0700; an existing sub-directory gets its mode back, the tree's own directory is left as the
  operator made it);
- creates the root CA when the plan has a ``root`` (it is not brought in) and its certificate is missing: a new key (0600)
  unless one exists (a key is never regenerated), a self-signed certificate (0644);
- issues every intermediate marked ``issue`` from the signing CA (``_pki_store.issue_ca``: a new key each time, so a rotation
  never reuses one) and writes its key (0600) and certificate (0644);
- writes each file assembled from certificates (``dest`` from ``srcs`` read in order, or only their last certificate, the
  root, for an ``anchor``) where its certificates differ;
- gives every existing file of ``modes`` its mode back (keys 0600, certificates 0644), where someone changed it.

Files are replaced atomically (a temporary file in the same directory, then a rename), keys never exist with a wider mode.
In check mode nothing is written and the result says what would be. No message or result ever holds key material.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import stat
import tempfile

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store, _x509

CERT_RE = re.compile(r'-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----')


class TreeError(ValueError):
    """The tree cannot be converged: the message names the file and the fix, never key material."""


def _read(path):
    try:
        with open(path, 'r') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def write_file(path, content, mode):
    """Replace path with content, atomically; the new file has ``mode`` from its creation on."""
    directory = os.path.dirname(path) or '.'
    fd, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _directories(plan, check_mode, result):
    for path in plan.get('dirs') or []:
        if os.path.isdir(path):
            if path == plan['dir'] or _mode(path) == 0o700:
                continue
            result['dirs'].append(path)
            if not check_mode:
                os.chmod(path, 0o700)
            continue
        result['dirs'].append(path)
        if not check_mode:
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)  # whatever the umask


def _modes(plan, check_mode, result):
    """The mode of each existing file of plan['modes'] ({path, mode: '0600'}) where it differs (files written here have theirs)."""
    for item in plan.get('modes') or []:
        wanted = int(item['mode'], 8)
        try:
            current = stat.S_IMODE(os.stat(item['path']).st_mode)
        except (IOError, OSError):
            continue
        if current == wanted:
            continue
        result['modes'].append(item['path'])
        if not check_mode:
            os.chmod(item['path'], wanted)


def _root(plan, options, check_mode, result):
    """The root CA of the tree when it is not brought in: its key when missing (never regenerated), its certificate when missing."""
    root = plan.get('root')
    if not root or os.path.isfile(root['cert']):
        return
    key_text = _read(root['key'])
    result['issued'].append('root')
    if check_mode:
        return
    key = None
    if key_text:
        try:
            key = _x509.load_private_key(key_text)
        except _x509.PEMError as exc:
            raise TreeError('the root CA key %s cannot be used: %s; remove it to have a new root issued' % (root['key'], exc))
    key_options = dict((name, options[name]) for name in ('key_type', 'key_size', 'key_curve'))
    cert, key = _pki_store.issue_root(root['common_name'], root['days'], root['pathlen'], key_options, options['digest'], key=key)
    if not key_text:
        write_file(root['key'], _pki_store.key_pem(key), 0o600)
        result['written'].append(root['key'])
    write_file(root['cert'], _pki_store.cert_pem(cert), 0o644)
    result['written'].append(root['cert'])


def _signing_ca(plan):
    cert_text, key_text = _read(plan['signing_cert']), _read(plan['signing_key'])
    if not cert_text or not key_text:
        raise TreeError('the signing CA %s or its key %s cannot be read: create the root first (the pki role does), or give readable '
                        'files in pki_root_ca_cert_path / pki_root_ca_key_path' % (plan['signing_cert'], plan['signing_key']))
    try:
        cert = _x509.load_pem_certificates(cert_text)[0]
        key = _x509.load_private_key(key_text)
    except _x509.PEMError as exc:
        raise TreeError('the signing CA %s or its key cannot be used: %s' % (plan['signing_cert'], exc))
    return _pki_store.SigningCA(cert, key)


def _issue(plan, options, check_mode, result):
    wanted = [item for item in plan.get('intermediates') or [] if item.get('issue')]
    if not wanted:
        return
    for item in wanted:
        result['issued'].append('%s/%s' % (item['cluster'], item['kind']))
    if check_mode:
        return
    signing = _signing_ca(plan)
    key_options = dict((name, options[name]) for name in ('key_type', 'key_size', 'key_curve'))
    for item in wanted:
        try:
            cert, key = _pki_store.issue_ca(signing, item['cn'], item['pathlen'], item['days'], key_options, options['digest'])
        except _pki_store.StoreError as exc:
            raise TreeError('%s/%s: %s' % (item['cluster'], item['kind'], exc))
        # the key first: a certificate is never left without its key
        write_file(item['key'], _pki_store.key_pem(key), 0o600)
        write_file(item['cert'], _pki_store.cert_pem(cert), 0o644)
        result['written'].extend([item['key'], item['cert']])


def assembled(item, read=_read):
    """The content of a file assembled from certificates (None when a source cannot be read yet)."""
    texts = [read(src) for src in item['srcs']]
    if any(text is None for text in texts):
        return None
    certs = CERT_RE.findall('\n'.join(texts))
    if item.get('anchor'):
        certs = certs[-1:]
    return '\n'.join(certs) + '\n'


def _files(plan, check_mode, result):
    # in check mode the certificates this run would issue are still the old ones (or missing): their files would change
    issuing = set(item['cert'] for item in plan.get('intermediates') or [] if item.get('issue')) if check_mode else set()
    for item in plan.get('files') or []:
        content = assembled(item)
        current = _read(item['dest'])
        unchanged = content is not None and current is not None and current.strip() == content.strip()
        if unchanged and not issuing.intersection(item['srcs']):
            continue
        if check_mode:
            result['files'].append(item['dest'])
            continue
        if content is None:
            raise TreeError('%s cannot be assembled: a source of %s is missing' % (item['dest'], ', '.join(item['srcs'])))
        write_file(item['dest'], content, 0o644)
        result['files'].append(item['dest'])
        result['written'].append(item['dest'])


def converge_tree(plan, options, check_mode=False):
    """{changed, dirs, issued, files, written} (see the module); raises TreeError."""
    result = {'dirs': [], 'issued': [], 'files': [], 'written': [], 'modes': []}
    _directories(plan, check_mode, result)
    _root(plan, options, check_mode, result)
    _issue(plan, options, check_mode, result)
    _files(plan, check_mode, result)
    _modes(plan, check_mode, result)
    result['changed'] = bool(result['dirs'] or result['issued'] or result['files'] or result['modes'])
    return result
