# -*- coding: utf-8 -*-
"""What a CA rotation reads from a cluster: public facts only (no key), istiod's CA from its metrics, the workloads' rollouts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_mesh_k8s_snapshot import FakeApi7  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _ca_rotation_read as read  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _pki_store as store  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_snapshot import RawApi  # noqa: E402

ROOT = store.issue_root('Root A', 3650, key_options={'key_type': 'ECC'})
SIGNING = store.SigningCA(*ROOT)
OPTIONS = store.common_names({'istio_common_name': 'Istio {cluster} CA', 'istio_pathlen': 0, 'istio_days': 10, 'spire_common_name': 'S',
                              'spire_pathlen': 1, 'spire_days': 10, 'key_type': 'ECC'}, 'c1')


def b64(text):
    return base64.b64encode(text.encode()).decode()


def secret(data):
    return {'data': dict((k, b64(v)) for k, v in data.items())}


def pod(name, labels, ready=True, annotations=None, env=None, image='img:1.25.5'):
    return {'metadata': {'name': name, 'namespace': 'istio-system', 'labels': labels, 'annotations': annotations or {}},
            'spec': {'containers': [{'name': 'discovery', 'image': image, 'env': [{'name': k, 'value': v} for k, v in (env or {}).items()]}]},
            'status': {'phase': 'Running', 'containerStatuses': [{'ready': ready}]}}


def docs():
    istio = store.keep_or_issue('istio', None, SIGNING, 'c1', 'istio-system', OPTIONS)[0]
    spire = store.keep_or_issue('spire', None, SIGNING, 'c1', 'spire-server', OPTIONS)[0]
    restart = {'kubectl.kubernetes.io/restartedAt': 'meshops.ambient_spire ca-rotation r issue'}
    ca = store.load_certs(istio['ca-cert.pem'])[0]
    return {
        '/api/v1/namespaces/istio-system/secrets/cacerts': secret(istio),
        '/api/v1/namespaces/spire-server/secrets/spiffe-upstream-ca': secret(spire),
        '/api/v1/namespaces/istio-system/configmaps/meshops-ca-rotation': {'data': {'state.json': json.dumps({'id': 'r', 'scope': 'intermediates'})}},
        '/api/v1/namespaces/istio-system/pods': {'items': [
            pod('istiod-1', {'app': 'istiod', 'app.kubernetes.io/version': '1.25.5'}, env={'ISTIO_MULTIROOT_MESH': 'true'}),
            pod('ztunnel-a', {'app': 'ztunnel'}, annotations=restart), pod('ztunnel-b', {'app': 'ztunnel'})]},
        '/apis/apps/v1/namespaces/istio-system/daemonsets': {'items': [{
            'metadata': {'name': 'ztunnel', 'namespace': 'istio-system', 'generation': 2, 'labels': {'app.kubernetes.io/version': '1.25.5'}},
            'spec': {'selector': {'matchLabels': {'app': 'ztunnel'}}, 'template': {'metadata': {'annotations': restart}, 'spec': {'containers': [{}]}}},
            'status': {'observedGeneration': 2, 'desiredNumberScheduled': 2, 'updatedNumberScheduled': 2, 'numberReady': 2}}]},
        '/apis/apps/v1/deployments': {'items': []},
        '/api/v1/namespaces/spire-server/pods': {'items': [dict(
            pod('spire-server-0', {'app.kubernetes.io/name': 'server'}, image='x'),
            spec={'containers': [{'name': 'spire-server', 'image': 'ghcr.io/spiffe/spire-server:1.11.2'}]})]},
        '/api/v1/configmaps': {'items': [
            {'metadata': {'name': 'istio-ca-root-cert', 'namespace': 'default'}, 'data': {'root-cert.pem': istio['root-cert.pem']}}]},
        '/api/v1/namespaces/spire-server/configmaps/spire-bundle': {'data': {'bundle.crt': spire['bundle.crt']}},
        '/api/v1/namespaces/gloo-mesh/configmaps/gloo-extensions-config': {'data': {'values.istiod': 'pilot:\n  env: {}\n'}},
        '/api/v1/namespaces/istio-system/pods/istiod-1:15014/proxy/metrics': (
            '# HELP citadel_server_cert_chain_expiry_timestamp x\n# TYPE citadel_server_cert_chain_expiry_timestamp gauge\n'
            'citadel_server_cert_chain_expiry_timestamp %.9e\n' % store.info(ca)['not_after_epoch']).encode(),
    }, istio, spire


def test_rotation_info_is_public_and_complete():
    documents, istio, spire = docs()
    api = RawApi(FakeApi7(documents), 'c1')
    info = read.read_rotation_info(api, {}, metrics=True)
    text = json.dumps(info)
    assert 'PRIVATE KEY' not in text
    root_fp = store.fingerprint(ROOT[0])
    assert info['istio']['anchors'][0]['sha256'] == root_fp and info['istio']['chain_root']['sha256'] == root_fp
    assert info['istio']['anchors_pem'] == istio['root-cert.pem'] and info['istio']['key_matches'] is True
    assert info['spire']['certificate']['subject'] == 'S' and info['state']['id'] == 'r'
    pods = info['istiod']['pods']
    assert info['istiod']['multiroot'] is True and pods[0]['ca_not_after'] == store.info(store.load_certs(istio['ca-cert.pem'])[0])['not_after_epoch']
    assert info['ztunnel']['version'] == '1.25.5'
    assert info['spire_server'] == {'namespace': 'spire-server', 'pod': 'spire-server-0', 'image': 'ghcr.io/spiffe/spire-server:1.11.2'}
    assert info['root_configmaps'] == {'default': [root_fp]} and info['spire_bundle'] == [root_fp]
    workload = info['workloads'][0]
    assert workload['kind'] == 'DaemonSet' and not workload['rolling']
    assert [p['annotation'] for p in workload['pods']] == ['meshops.ambient_spire ca-rotation r issue', None]
    assert info['extensions']['values_istiod'] == 'pilot:\n  env: {}\n'


def test_metrics_text():
    assert read.parse_metrics('# HELP a b\nfoo 1.5e+09\nbar{x="y"} 2\nbaz NaN\n') == {'foo': 1.5e9, 'bar': 2.0}
