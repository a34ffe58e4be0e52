# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The naming rules of the mesh, in one place. PRIVATE to the collection: may change at any time.

- Cluster and network names are DNS-1123 labels (RFC 1123, as Kubernetes checks object names): they become
  object names (``istio-remote-peer-<cluster>``), label values and directory names of the PKI tree.
- Trust domains follow the SPIFFE specification (SPIFFE-ID.md, "Trust Domain"): lowercase letters, digits,
  '.', '-' and '_', no scheme, port or path, at most 255 characters.

Pure functions: used by the input validation, the mesh checks and the PKI plan.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

DNS1123_LABEL_MAX = 63
DNS1123_LABEL_PATTERN = r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_PATTERN)
DNS1123_LABEL_CHARS_RE = re.compile(r'[a-z0-9-]*')

TRUST_DOMAIN_MAX = 255
TRUST_DOMAIN_RE = re.compile(r'^[a-z0-9._-]+$')


def _is_text(value):
    return isinstance(value, str)


def is_dns1123_label(value):
    """True for a string of 1 to 63 lowercase letters, digits and '-' that starts and ends with a letter or digit."""
    return _is_text(value) and len(value) <= DNS1123_LABEL_MAX and bool(DNS1123_LABEL_RE.fullmatch(value))


def dns1123_label_violations(value):
    """Why the string ``value`` is not a DNS-1123 label: a list of reasons (empty for a valid label)."""
    if is_dns1123_label(value):
        return []
    reasons = []
    if len(value) > DNS1123_LABEL_MAX:
        reasons.append('is %d characters long (max %d)' % (len(value), DNS1123_LABEL_MAX))
    if not DNS1123_LABEL_CHARS_RE.fullmatch(value):
        reasons.append("contains characters other than lowercase letters, digits and '-'")
    if value[:1] == '-' or value[-1:] == '-':
        reasons.append("starts or ends with '-'")
    return reasons


def suggest_dns1123_label(value):
    """A DNS-1123 label close to ``value`` (for a fix hint); '' when nothing usable is left."""
    text = re.sub(r'[^a-z0-9-]+', '-', str(value).strip().lower())
    text = re.sub(r'-{2,}', '-', text).strip('-')
    return text[:DNS1123_LABEL_MAX].rstrip('-')


def is_trust_domain(value):
    """True for a SPIFFE trust domain: 1 to 255 lowercase letters, digits, '.', '-' and '_'."""
    return _is_text(value) and len(value) <= TRUST_DOMAIN_MAX and bool(TRUST_DOMAIN_RE.fullmatch(value))


def trust_domain_violations(value):
    """Why the string ``value`` is not a SPIFFE trust domain, and a close valid one.

    Returns ``(reasons, suggestion)``: reasons is empty for a valid trust domain; suggestion is '' when nothing usable is left.
    """
    if is_trust_domain(value):
        return [], value
    reasons = []
    rest = value
    if '://' in rest:
        reasons.append('has a scheme (%s://)' % rest.split('://', 1)[0])
        rest = rest.split('://', 1)[1]
    if '/' in rest:
        reasons.append('has a path')
        rest = rest.split('/', 1)[0]
    if ':' in rest:
        reasons.append('has a port')
        rest = rest.split(':', 1)[0]
    if rest != rest.lower():
        reasons.append('has uppercase letters')
    if re.search(r'[^A-Za-z0-9._-]', rest):
        reasons.append("has characters other than lowercase letters, digits, '.', '-' and '_'")
    if len(value) > TRUST_DOMAIN_MAX:
        reasons.append('is %d characters long (max %d)' % (len(value), TRUST_DOMAIN_MAX))
    suggestion = re.sub(r'[^a-z0-9._-]+', '-', rest.lower()).strip('-')[:TRUST_DOMAIN_MAX]
    return reasons or ['is malformed'], suggestion
