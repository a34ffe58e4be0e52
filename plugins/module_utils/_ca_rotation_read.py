# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a CA rotation reads from one cluster, and the CA material Secrets read back. PRIVATE to the collection.

``read_secret_data`` returns a Secret's data as text (private keys included: only the material modules use it, their
tasks run with no_log). ``read_rotation_info`` returns public facts only: certificates as fingerprints, names and
expiry dates, the anchors' PEM (public certificates), whether keys match, the rotation state, istiod's pods (MULTIROOT,
version, and with ``metrics`` the CA it issues with, from its citadel metrics through the API server's pod proxy),
ztunnel, the east-west gateways, the SPIRE server pod, the trust stores (istio-ca-root-cert ConfigMaps, SPIRE's
published bundle) and the Gloo Operator's istiod values.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote  # type: ignore

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store
from ansible_collections.meshops.ambient_spire.plugins.module_utils._ca_rotation import RESTART_ANNOTATION, STATE_CONFIGMAP, STATE_KEY, load_state
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import RawApi

EASTWEST_CLASS_LABEL = 'gateway.networking.k8s.io/gateway-class-name'
METRIC_CHAIN = 'citadel_server_cert_chain_expiry_timestamp'
METRIC_ROOT = 'citadel_server_root_cert_expiry_timestamp'
DEFAULTS = {'istio_namespace': 'istio-system', 'spire_namespace': 'spire-server', 'cacerts_secret': 'cacerts',
            'spire_upstream_ca_secret': 'spiffe-upstream-ca', 'spire_bundle_configmap': 'spire-bundle', 'operator_namespace': 'gloo-mesh',
            'extensions_configmap': 'gloo-extensions-config', 'eastwest_namespace': None}


def _decode_data(secret):
    """{key: text} of a Secret (None when missing)."""
    if secret is None:
        return None
    out = {}
    for key, value in (secret.get('data') or {}).items():
        try:
            out[key] = base64.b64decode(value or '').decode('utf-8')
        except (ValueError, UnicodeDecodeError):
            out[key] = ''
    return out


def read_secret_data(api, namespace, name):
    """The data of a Secret as text, or None when it does not exist."""
    dummy, secret = api.get('/api/v1/namespaces/%s/secrets/%s' % (quote(namespace), quote(name)))
    return _decode_data(secret)


def read_state(api, namespace):
    """The rotation state of the cluster (None when there is none)."""
    dummy, cm = api.get('/api/v1/namespaces/%s/configmaps/%s' % (quote(namespace), STATE_CONFIGMAP))
    return load_state(((cm or {}).get('data') or {}).get(STATE_KEY))


def _items(doc):
    return (doc or {}).get('items') or []


def _ready(pod):
    statuses = (pod.get('status') or {}).get('containerStatuses') or []
    return (pod.get('status') or {}).get('phase') == 'Running' and bool(statuses) and all(s.get('ready') for s in statuses) and \
        not (pod.get('metadata') or {}).get('deletionTimestamp')


def _env(pod, container_name):
    for container in (pod.get('spec') or {}).get('containers') or []:
        if container.get('name') == container_name:
            return dict((e.get('name'), e.get('value')) for e in container.get('env') or [] if 'value' in e), container.get('image') or ''
    return {}, ''


def secret_view(kind, data):
    """Public view of a CA Secret: present, certificate, anchors (with their PEM), chain root, key match."""
    if data is None:
        return {'present': False}
    view = _pki_store.current(kind, data)
    anchors_key = _pki_store.SECRET_KEYS[kind][3]
    root = _pki_store.chain_root(view['cert'], view['chain'], view['anchors']) if view['cert'] is not None else None
    return {'present': True, 'certificate': _pki_store.info(view['cert']) if view['cert'] is not None else None,
            'anchors': [_pki_store.info(c) for c in view['anchors']], 'anchors_pem': data.get(anchors_key) or '',
            'chain_root': _pki_store.info(root) if root is not None else None, 'key_matches': view['key_matches'], 'problem': view['problem']}


def parse_metrics(text):
    """{metric name: float} of a Prometheus text exposition: the first finite sample of each metric (NaN and Inf left out)."""
    values = {}
    for line in (text or '').splitlines():
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+)\s*$', line.strip())
        if match and match.group(1) not in values:
            try:
                values[match.group(1)] = float(match.group(3))
            except ValueError:
                pass
    return values


def _roots(text):
    return [_pki_store.fingerprint(c) for c in _pki_store.load_certs(text)]


def _rollout(kind, obj):
    """Whether a Deployment or DaemonSet is still rolling out."""
    status, spec, meta = obj.get('status') or {}, obj.get('spec') or {}, obj.get('metadata') or {}
    if (status.get('observedGeneration') or 0) < (meta.get('generation') or 0):
        return True
    if kind == 'DaemonSet':
        desired = status.get('desiredNumberScheduled') or 0
        return (status.get('updatedNumberScheduled') or 0) < desired or (status.get('numberReady') or 0) < desired
    desired = spec.get('replicas', 1)
    return (status.get('updatedReplicas') or 0) < desired or (status.get('readyReplicas') or 0) < desired or \
        (status.get('replicas') or 0) > desired


def _workload(kind, obj, pods):
    meta = obj.get('metadata') or {}
    selector = ((obj.get('spec') or {}).get('selector') or {}).get('matchLabels') or {}
    own = [p for p in pods if (p.get('metadata') or {}).get('namespace') == meta.get('namespace') and
           all(((p.get('metadata') or {}).get('labels') or {}).get(k) == v for k, v in selector.items())]
    return {'kind': kind, 'namespace': meta.get('namespace'), 'name': meta.get('name'), 'rolling': _rollout(kind, obj),
            'restart_annotation': (((((obj.get('spec') or {}).get('template') or {}).get('metadata') or {}).get('annotations') or {})
                                   .get(RESTART_ANNOTATION)),
            'pods': [{'name': (p.get('metadata') or {}).get('name'), 'ready': _ready(p),
                      'annotation': ((p.get('metadata') or {}).get('annotations') or {}).get(RESTART_ANNOTATION)} for p in own
                     if (p.get('status') or {}).get('phase') not in ('Succeeded', 'Failed')]}


def read_rotation_info(api, options, metrics=False):
    """The public facts a rotation plans and gates with (see the module docstring)."""
    opts = dict(DEFAULTS, **dict((k, v) for k, v in (options or {}).items() if v is not None))
    ins, sns = opts['istio_namespace'], opts['spire_namespace']
    info = {'istio_namespace': ins, 'spire_namespace': sns}
    info['istio'] = secret_view('istio', read_secret_data(api, ins, opts['cacerts_secret']))
    info['spire'] = secret_view('spire', read_secret_data(api, sns, opts['spire_upstream_ca_secret']))
    info['state'] = read_state(api, ins)

    dummy, doc = api.get('/api/v1/namespaces/%s/pods' % quote(ins))
    istio_pods = _items(doc)
    istiod = []
    for pod in istio_pods:
        labels = (pod.get('metadata') or {}).get('labels') or {}
        if labels.get('app') != 'istiod' or (pod.get('status') or {}).get('phase') in ('Succeeded', 'Failed'):
            continue
        env, image = _env(pod, 'discovery')
        entry = {'name': pod['metadata']['name'], 'ready': _ready(pod), 'multiroot': str(env.get('ISTIO_MULTIROOT_MESH', '')).lower() == 'true',
                 'version': labels.get('app.kubernetes.io/version') or image}
        if metrics and entry['ready']:
            status, body = api.get('/api/v1/namespaces/%s/pods/%s:15014/proxy/metrics' % (quote(ins), quote(entry['name'])), parse=False,
                                   allow=(404, 500, 502, 503))
            if body is None:
                entry['metrics_error'] = 'HTTP %s' % status
            else:
                values = parse_metrics(body.decode('utf-8', 'replace') if isinstance(body, bytes) else body)
                entry['ca_not_after'] = int(values[METRIC_CHAIN]) if METRIC_CHAIN in values else None
                entry['root_not_after'] = int(values[METRIC_ROOT]) if METRIC_ROOT in values else None
        istiod.append(entry)
    running = [p for p in istiod if p['ready']] or istiod
    info['istiod'] = {'pods': istiod, 'multiroot': bool(running) and all(p['multiroot'] for p in running),
                      'version': running[0]['version'] if running else None}

    dummy, doc = api.get('/apis/apps/v1/namespaces/%s/daemonsets' % quote(ins), {'labelSelector': 'app=ztunnel'})
    daemonsets = _items(doc)
    workloads = [_workload('DaemonSet', ds, istio_pods) for ds in daemonsets]
    ztunnel_version = None
    for ds in daemonsets:
        labels = (ds.get('metadata') or {}).get('labels') or {}
        containers = (((ds.get('spec') or {}).get('template') or {}).get('spec') or {}).get('containers') or [{}]
        ztunnel_version = labels.get('app.kubernetes.io/version') or containers[0].get('image')
    info['ztunnel'] = {'version': ztunnel_version, 'daemonsets': [d['name'] for d in workloads]}

    query = {'labelSelector': EASTWEST_CLASS_LABEL + '=istio-eastwest'}
    path = '/apis/apps/v1/namespaces/%s/deployments' % quote(opts['eastwest_namespace']) if opts['eastwest_namespace'] else '/apis/apps/v1/deployments'
    dummy, doc = api.get(path, query)
    gateways = _items(doc)
    if gateways:
        dummy, doc = api.get('/api/v1/pods', query)
        workloads.extend(_workload('Deployment', d, _items(doc)) for d in gateways)
    info['workloads'] = workloads

    dummy, doc = api.get('/api/v1/namespaces/%s/pods' % quote(sns), {'labelSelector': 'app.kubernetes.io/name=server'})
    servers = [p for p in _items(doc) if any(c.get('name') == 'spire-server' for c in (p.get('spec') or {}).get('containers') or [])]
    ready = [p for p in servers if _ready(p)]
    image = _env((ready or servers or [{}])[0], 'spire-server')[1] if servers else ''
    info['spire_server'] = {'namespace': sns, 'pod': ready[0]['metadata']['name'] if ready else None, 'image': image}

    dummy, doc = api.get('/api/v1/configmaps', {'fieldSelector': 'metadata.name=istio-ca-root-cert'})
    info['root_configmaps'] = dict(((cm.get('metadata') or {}).get('namespace'), _roots((cm.get('data') or {}).get('root-cert.pem')))
                                   for cm in _items(doc))
    dummy, cm = api.get('/api/v1/namespaces/%s/configmaps/%s' % (quote(sns), quote(opts['spire_bundle_configmap'])))
    info['spire_bundle'] = _roots(((cm or {}).get('data') or {}).get('bundle.crt')) if cm is not None else None

    dummy, cm = api.get('/api/v1/namespaces/%s/configmaps/%s' % (quote(opts['operator_namespace']), quote(opts['extensions_configmap'])))
    info['extensions'] = {'namespace': opts['operator_namespace'], 'name': opts['extensions_configmap'], 'present': cm is not None,
                          'values_istiod': ((cm or {}).get('data') or {}).get('values.istiod')}
    info['requests'] = api.requests
    return info


def new_api(api_client, label, timeout=30):
    """A RawApi over a kubernetes ApiClient."""
    return RawApi(api_client, label, timeout)
