# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input validation for the inventory of clusters. PRIVATE to the collection.

Pure functions: no Ansible, no I/O. Each check returns a list of problem strings shaped
``"<host>: <variable> <what is wrong>. Fix: <how to fix it>"``; ``validate()`` runs them all and
collects every problem so that one run reports everything at once.

A cluster record (``normalize_cluster``) carries only what the checks need. The license is never
part of it: only whether it is set (``license_set``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.meshops.ambient_spire.plugins.module_utils._mesh_identity import derive_identity
from ansible_collections.meshops.ambient_spire.plugins.module_utils._naming import (  # noqa: F401 pylint: disable=unused-import
    DNS1123_LABEL_MAX,
    dns1123_label_violations,
    is_dns1123_label,
    suggest_dns1123_label,
    trust_domain_violations,
)

# 1.25.5, 1.25.5-patch1, 1.27.0-solo, 1.29.2-patch0, 1.26.0-beta.1
ISTIO_VERSION_RE = re.compile(r'^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9a-z]+([.-][0-9a-z]+)*)?$')
MIN_MULTICLUSTER_ISTIO_VERSION = '1.24.3'
FORBIDDEN_ENV = ('K8S_AUTH_HOST', 'K8S_AUTH_API_KEY')

_TRUE = ('true', 'yes', 'on', '1', 'y')
_FALSE = ('false', 'no', 'off', '0', 'n', '')


def problem(host, variable, what, fix):
    """One refusal line: names the host, the variable and the fix."""
    return '%s: %s %s. Fix: %s' % (host, variable, what, fix)


def merge_hosts(problems):
    """Join the hosts of identical per-host problems (typically a group var): 'c1, c2: ...', in first-seen order."""
    order = []
    hosts = {}
    for line in problems:
        host, rest = line.split(': ', 1)
        if rest not in hosts:
            order.append(rest)
            hosts[rest] = []
        hosts[rest].append(host)
    return ['%s: %s' % (', '.join(hosts[rest]), rest) for rest in order]


def _is_text(value):
    return isinstance(value, str)


def _quoted(value):
    return "'%s'" % (value,) if _is_text(value) else '%r' % (value,)


def check_dns1123_label(host, variable, value):
    """Cluster and network names end up in object names (istio-remote-peer-<cluster>) and labels."""
    if value is None or (_is_text(value) and not value.strip()):
        return [problem(host, variable, 'is empty', 'set %s to a DNS-1123 label (lowercase letters, digits and \'-\')' % variable)]
    if not _is_text(value):
        return [problem(host, variable, '%s is a %s, not a string' % (_quoted(value), type(value).__name__),
                        "quote it in the inventory (e.g. %s: '%s')" % (variable, suggest_dns1123_label(value) or 'cluster1'))]
    reasons = dns1123_label_violations(value)
    if not reasons:
        return []
    suggestion = suggest_dns1123_label(value)
    fix = "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most %d characters" % DNS1123_LABEL_MAX
    if suggestion and suggestion != value:
        fix += ' (e.g. %s)' % suggestion
    return [problem(host, variable, '%s is not a DNS-1123 label (%s)' % (_quoted(value), '; '.join(reasons)), fix)]


def check_kube_context(host, value, as_san):
    """kube_context is required; with ``as_san`` it must not contain '_' (not allowed in a DNS SAN)."""
    if value is None or (_is_text(value) and not value.strip()):
        return [problem(host, 'kube_context', 'is not set',
                        'set kube_context for %s in the inventory (host_vars) to its kubeconfig context (kubectl config get-contexts)' % host)]
    if not _is_text(value):
        return [problem(host, 'kube_context', '%s is a %s, not a string' % (_quoted(value), type(value).__name__),
                        'quote it in the inventory')]
    if as_san and '_' in value:
        new = value.replace('_', '-')
        return [problem(host, 'kube_context', '%s contains \'_\', and in a multicluster setup the context name becomes a certificate SAN '
                                              '(underscores are not allowed in DNS names)' % _quoted(value),
                        'rename the context with `kubectl config rename-context "%s" %s` and set kube_context: %s '
                        '(or set validate_context_as_san: false when no management plane uses context names)' % (value, new, new))]
    return []


def check_trust_domain(host, variable, value):
    """SPIFFE trust domain: lowercase letters, digits, '.', '-', '_'; no scheme, port or path; 1..255 characters."""
    if value is None or (_is_text(value) and not value.strip()):
        return [problem(host, variable, 'is empty',
                        "set %s to a trust domain such as the cluster name (lowercase letters, digits, '.', '-', '_')" % variable)]
    if not _is_text(value):
        return [problem(host, variable, '%s is a %s, not a string' % (_quoted(value), type(value).__name__), 'quote it in the inventory')]
    reasons, suggestion = trust_domain_violations(value)
    if not reasons:
        return []
    fix = "give the bare trust domain: lowercase letters, digits, '.', '-' and '_', no spiffe:// scheme, port or path"
    if suggestion and suggestion != value:
        fix += ' (e.g. %s)' % suggestion
    return [problem(host, variable, '%s is not a valid SPIFFE trust domain (%s)' % (_quoted(value), '; '.join(reasons)), fix)]


def parse_istio_version(value):
    """(major, minor, patch) of a Solo Istio version string, or None when malformed."""
    if not _is_text(value):
        return None
    match = ISTIO_VERSION_RE.fullmatch(value)
    if not match:
        return None
    return tuple(int(part) for part in match.groups()[:3])


def check_istio_version(host, value, multicluster, required=False, minimum=MIN_MULTICLUSTER_ISTIO_VERSION):
    """mesh_istio_version like 1.25.5, 1.25.5-patch1 or 1.27.0-solo; >= ``minimum`` for a multicluster mesh."""
    example = '1.25.5-patch1'
    if value is None or (_is_text(value) and not value.strip()):
        if required:
            return [problem(host, 'mesh_istio_version', 'is not set', "set mesh_istio_version in group_vars (e.g. mesh_istio_version: '%s')" % example)]
        return []
    if not _is_text(value):
        what = '%s is a %s, not a version string (YAML reads an unquoted %s as a number)' % (_quoted(value), type(value).__name__, value)
        return [problem(host, 'mesh_istio_version', what,
                        "quote a full version: mesh_istio_version: '%s'" % example)]
    parsed = parse_istio_version(value)
    if parsed is None:
        hint = ''
        if value.strip()[:1] in ('v', 'V'):
            hint = ' without the leading v'
        return [problem(host, 'mesh_istio_version', '%s is not an Istio version' % _quoted(value),
                        'use MAJOR.MINOR.PATCH with an optional lowercase suffix%s (e.g. 1.25.5, %s, 1.27.0-solo)' % (hint, example))]
    floor = parse_istio_version(minimum)
    if multicluster and floor is not None and parsed < floor:
        return [problem(host, 'mesh_istio_version', '%s is below %s, the minimum for a multicluster mesh' % (_quoted(value), minimum),
                        'use %s or later (e.g. %s)' % (minimum, example))]
    return []


def check_license(host, license_set, required):
    """The license value never comes here: only whether it is a non-empty string."""
    if required and not license_set:
        return [problem(host, 'mesh_license_key', 'is missing or empty, and the gloo_operator role needs the Gloo license',
                        'provide it from Ansible Vault (vault_gloo_mesh_license_key in an encrypted group_vars file) '
                        'or export GLOO_MESH_LICENSE_KEY; never write it in plain text')]
    return []


def parse_bool(value):
    """True/False for YAML or string booleans; None when not a boolean."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if _is_text(value) and value.strip().lower() in _TRUE:
        return True
    if _is_text(value) and value.strip().lower() in _FALSE:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def normalize_cluster(raw):
    """A cluster record with the inventory defaults applied (CONTRIBUTING.md, inventory model).

    ``raw`` keys: host (required), kube_context, kubeconfig_path, cluster_name, network, trust_domain,
    istio_version, license_set. Unset values are None. ``*_defaulted`` records where a default was used.
    """
    identity = derive_identity(raw['host'], raw.get('cluster_name'), raw.get('network'), raw.get('trust_domain'))
    record = dict(raw)
    for key, name in (('cluster', 'cluster_name'), ('network', 'network'), ('trust_domain', 'trust_domain')):
        record[name] = identity[key]
        record[name + '_defaulted'] = identity[key + '_defaulted']
    record['license_set'] = bool(raw.get('license_set'))
    return record


def _name_of(record):
    return 'mesh_cluster_name' if not record['cluster_name_defaulted'] else 'mesh_cluster_name (default: the inventory host name)'


def check_cluster(record, multicluster, context_as_san, require_license, require_istio_version=False,
                  minimum_istio_version=MIN_MULTICLUSTER_ISTIO_VERSION):
    """Every per-host rule. Values defaulted from an invalid cluster name are not reported twice."""
    host = record['host']
    problems = []
    problems += check_kube_context(host, record.get('kube_context'), context_as_san)
    name_problems = check_dns1123_label(host, _name_of(record), record['cluster_name'])
    problems += name_problems
    if not (record['network_defaulted'] and name_problems):
        problems += check_dns1123_label(host, 'mesh_network' if not record['network_defaulted'] else 'mesh_network (default: the cluster name)',
                                        record['network'])
    if not (record['trust_domain_defaulted'] and name_problems):
        problems += check_trust_domain(host, 'mesh_trust_domain' if not record['trust_domain_defaulted'] else 'mesh_trust_domain (default: the cluster name)',
                                       record['trust_domain'])
    problems += check_istio_version(host, record.get('istio_version'), multicluster, required=require_istio_version, minimum=minimum_istio_version)
    problems += check_license(host, record['license_set'], require_license)
    return problems


def _hashable(value):
    return value if _is_text(value) or isinstance(value, (int, float, bool)) else repr(value)


def _groups(records, key):
    """{value: [records]} for values shared by two or more records, in host order."""
    seen = {}
    for record in records:
        value = record.get(key)
        if value is None or (_is_text(value) and not value):
            continue
        seen.setdefault(_hashable(value), []).append(record)
    return [(value, members) for value, members in seen.items() if len(members) > 1]


def check_duplicate_cluster_names(records):
    """Two hosts mapping to one mesh_cluster_name would share istiod CLUSTER_ID and peer names."""
    problems = []
    for value, members in _groups(records, 'cluster_name'):
        hosts = [m['host'] for m in members]
        problems.append(problem(', '.join(hosts), 'mesh_cluster_name',
                                "%s is used by %d hosts (%s); cluster names must be unique in the mesh" % (_quoted(value), len(hosts), ', '.join(hosts)),
                                'give each host its own mesh_cluster_name (or remove it to default to the inventory host name)'))
    return problems


def check_duplicate_networks(records, flat_network):
    """Two clusters on one network only with mesh_flat_network: true."""
    if flat_network:
        return []
    problems = []
    duplicated_names = set(v for v, _members in _groups(records, 'cluster_name'))
    for value, members in _groups(records, 'network'):
        # Networks defaulted from a duplicate cluster name: already reported as a duplicate cluster name.
        if all(m['network_defaulted'] for m in members) and value in duplicated_names:
            continue
        hosts = [m['host'] for m in members]
        problems.append(problem(', '.join(hosts), 'mesh_network',
                                "%s is shared by %s while mesh_flat_network is not true" % (_quoted(value), ', '.join(hosts)),
                                'give each cluster its own mesh_network, or set mesh_flat_network: true when the pods of these '
                                'clusters reach each other directly (flat network)'))
    return problems


def check_duplicate_contexts(records):
    """Two hosts with one kube_context in one kubeconfig would both act on the same cluster."""
    problems = []
    for _value, members in _groups([dict(r, _ctx=(r.get('kubeconfig_path'), r.get('kube_context'))) for r in records if r.get('kube_context')], '_ctx'):
        hosts = [m['host'] for m in members]
        problems.append(problem(', '.join(hosts), 'kube_context',
                                "%s is used by %s with the same kubeconfig, so they would all act on one cluster"
                                % (_quoted(members[0]['kube_context']), ', '.join(hosts)),
                                'point each host at the context of its own cluster (kubectl config get-contexts)'))
    return problems


def check_environment(environ, targeted, names=FORBIDDEN_ENV):
    """K8S_AUTH_HOST / K8S_AUTH_API_KEY make kubernetes.core ignore kube_context: one API server for all clusters.

    ``environ`` maps names to values; only the names appear in the message (the API key is a secret).
    """
    if len(targeted) < 2:
        return []
    found = [name for name in names if (environ.get(name) or '').strip()]
    if not found:
        return []
    return [problem('environment', ' and '.join(found),
                    '%s set while %d clusters are targeted (%s): kubernetes.core and helm would send every cluster\'s tasks to that one '
                    'API server and silently ignore kube_context' % ('are' if len(found) > 1 else 'is', len(targeted), ', '.join(targeted)),
                    'unset %s (give each cluster a context in a kubeconfig file via kubeconfig_path or K8S_AUTH_KUBECONFIG), '
                    'or target one cluster per run with --limit' % ' and '.join(found))]


def validate(clusters, flat_network=False, multicluster=None, require_license=False, context_as_san=None,
             require_istio_version=False, minimum_istio_version=MIN_MULTICLUSTER_ISTIO_VERSION,
             environ=None, forbidden_env=FORBIDDEN_ENV):
    """Run every rule over all clusters; return (problems, records).

    ``multicluster`` None means "more than one cluster given"; ``context_as_san`` None means ``multicluster``.
    """
    records = [normalize_cluster(raw) for raw in clusters]
    if multicluster is None:
        multicluster = len(records) > 1
    if context_as_san is None:
        context_as_san = multicluster
    problems = []
    flat = parse_bool(flat_network)
    if flat is None:
        problems.append(problem('all', 'mesh_flat_network', '%s is not a boolean' % _quoted(flat_network), 'set mesh_flat_network: true or false'))
        flat = False
    per_host = []
    for record in records:
        per_host += check_cluster(record, multicluster, context_as_san, require_license, require_istio_version, minimum_istio_version)
    problems += merge_hosts(per_host)
    problems += check_duplicate_cluster_names(records)
    problems += check_duplicate_networks(records, flat)
    problems += check_duplicate_contexts(records)
    problems += check_environment(environ or {}, [r['host'] for r in records], forbidden_env)
    return problems, records


def summary(problems):
    """The failure message: every problem, numbered."""
    head = 'Input validation refused the run (%d problem%s); nothing was touched:' % (len(problems), '' if len(problems) == 1 else 's')
    return '\n'.join([head] + ['(%d) %s' % (i + 1, p) for i, p in enumerate(problems)])
