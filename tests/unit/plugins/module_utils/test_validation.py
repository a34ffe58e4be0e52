# -*- coding: utf-8 -*-
"""Unit tests of the pure input validation rules (plugins/module_utils/_validation.py): pass and fail per rule."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _validation as v


def cluster(host, **kwargs):
    item = dict(host=host, kube_context=host, istio_version='1.25.5-patch1', license_set=True)
    item.update(kwargs)
    return item


def run(clusters, **kwargs):
    problems, _records = v.validate(clusters, **kwargs)
    return problems


def one(problems):
    assert len(problems) == 1, problems
    return problems[0]


# --- DNS-1123 labels: cluster and network names --------------------------------------------------------------

@pytest.mark.parametrize('value', ['cluster1', 'a', '0', 'prod-eu1', 'a' * 63, '1-2-3'])
def test_dns1123_label_ok(value):
    assert v.check_dns1123_label('h', 'mesh_network', value) == []
    assert v.is_dns1123_label(value)


@pytest.mark.parametrize('value, suggestion', [
    ('net_1', 'net-1'),
    ('Cluster1', 'cluster1'),
    ('-net', 'net'),
    ('net-', 'net'),
    ('my.cluster', 'my-cluster'),
    ('a' * 64, 'a' * 63),
    ('eu west', 'eu-west'),
])
def test_dns1123_label_refused_with_suggestion(value, suggestion):
    line = one(v.check_dns1123_label('cluster2', 'mesh_network', value))
    assert line.startswith("cluster2: mesh_network '%s' is not a DNS-1123 label" % value)
    assert 'Fix: use lowercase letters, digits and \'-\'' in line
    assert '(e.g. %s)' % suggestion in line


def test_dns1123_label_too_long_reason():
    assert 'is 64 characters long (max 63)' in one(v.check_dns1123_label('h', 'mesh_cluster_name', 'a' * 64))


@pytest.mark.parametrize('value', [None, '', '   '])
def test_dns1123_label_empty(value):
    assert 'h: mesh_network is empty. Fix:' in one(v.check_dns1123_label('h', 'mesh_network', value))


def test_dns1123_label_not_a_string():
    line = one(v.check_dns1123_label('h', 'mesh_cluster_name', 42))
    assert 'is a int, not a string' in line and 'quote it' in line


def test_suggestion_empty_when_nothing_left():
    assert v.suggest_dns1123_label('___') == ''
    assert 'e.g.' not in one(v.check_dns1123_label('h', 'mesh_network', '___'))


def test_cluster_name_refused_in_validate_names_default():
    line = one(run([cluster('cluster_1', kube_context='c1')]))
    assert line.startswith("cluster_1: mesh_cluster_name (default: the inventory host name) 'cluster_1' is not a DNS-1123 label")
    assert '(e.g. cluster-1)' in line


def test_cluster_name_explicit_refused():
    line = one(run([cluster('c1', cluster_name='East_1')]))
    assert line.startswith("c1: mesh_cluster_name 'East_1' is not a DNS-1123 label")


def test_network_refused_in_validate():
    line = one(run([cluster('cluster1'), cluster('cluster2', network='net_1')]))
    assert line.startswith("cluster2: mesh_network 'net_1' is not a DNS-1123 label")
    assert '(e.g. net-1)' in line


def test_defaults_derived_from_bad_cluster_name_not_reported_twice():
    problems = run([cluster('Bad_Name', kube_context='ctx')])
    assert len(problems) == 1 and 'mesh_cluster_name' in problems[0]


def test_explicit_network_still_checked_with_bad_cluster_name():
    problems = run([cluster('Bad_Name', kube_context='ctx', network='net_x')])
    assert len(problems) == 2
    assert any("mesh_network 'net_x'" in p for p in problems)


# --- kube_context ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value', [None, '', ' '])
def test_kube_context_missing(value):
    line = one(v.check_kube_context('cluster3', value, False))
    assert line.startswith('cluster3: kube_context is not set. Fix: set kube_context for cluster3')


def test_kube_context_not_string():
    assert 'not a string' in one(v.check_kube_context('h', 5, False))


def test_kube_context_underscore_allowed_when_not_a_san():
    assert v.check_kube_context('h', 'gke_proj_zone_c1', False) == []


def test_kube_context_underscore_refused_as_san():
    line = one(v.check_kube_context('cluster1', 'gke_proj_zone_c1', True))
    assert line.startswith("cluster1: kube_context 'gke_proj_zone_c1' contains '_'")
    assert 'certificate SAN' in line
    assert 'kubectl config rename-context "gke_proj_zone_c1" gke-proj-zone-c1' in line


def test_kube_context_no_underscore_ok_as_san():
    assert v.check_kube_context('h', 'prod-eu1-admin', True) == []


def test_context_san_rule_auto_multicluster():
    single = [cluster('c1', kube_context='gke_a_b')]
    multi = [cluster('c1', kube_context='gke_a_b'), cluster('c2')]
    assert run(single) == []
    assert 'contains \'_\'' in one(run(multi))
    assert 'contains \'_\'' in one(run(single, context_as_san=True))
    assert run(multi, context_as_san=False) == []
    assert 'contains \'_\'' in one(run(single, multicluster=True))


# --- duplicates ------------------------------------------------------------------------------------------------

def test_duplicate_cluster_names():
    line = one(run([cluster('cluster2'), cluster('cluster3', cluster_name='cluster2')]))
    assert line.startswith("cluster2, cluster3: mesh_cluster_name 'cluster2' is used by 2 hosts (cluster2, cluster3)")
    assert 'Fix: give each host its own mesh_cluster_name' in line


def test_unique_cluster_names_ok():
    assert run([cluster('c1'), cluster('c2'), cluster('c3', cluster_name='c4')]) == []


def test_shared_network_refused_without_flat():
    line = one(run([cluster('c1', network='net1'), cluster('c2', network='net1')]))
    assert line.startswith("c1, c2: mesh_network 'net1' is shared by c1, c2 while mesh_flat_network is not true")
    assert 'mesh_flat_network: true' in line


def test_network_defaulting_to_other_cluster_name_refused():
    line = one(run([cluster('c1'), cluster('c2', network='c1')]))
    assert "mesh_network 'c1' is shared by c1, c2" in line


@pytest.mark.parametrize('flat', [True, 'true', 'yes', 'True'])
def test_shared_network_ok_with_flat(flat):
    assert run([cluster('c1', network='net1'), cluster('c2', network='net1')], flat_network=flat) == []


@pytest.mark.parametrize('flat', [False, 'false', 'no', None, ''])
def test_flat_network_false_values(flat):
    assert run([cluster('c1'), cluster('c2')], flat_network=flat) == []


def test_flat_network_not_boolean():
    line = one(run([cluster('c1')], flat_network='maybe'))
    assert line.startswith("all: mesh_flat_network 'maybe' is not a boolean")


def test_duplicate_cluster_name_not_reported_again_as_network():
    problems = run([cluster('c1'), cluster('c2', cluster_name='c1')])
    assert len(problems) == 1 and 'mesh_cluster_name' in problems[0]


def test_duplicate_context_same_kubeconfig_refused():
    line = one(run([cluster('c1', kube_context='ctx'), cluster('c2', kube_context='ctx')]))
    assert line.startswith("c1, c2: kube_context 'ctx' is used by c1, c2 with the same kubeconfig")


def test_same_context_in_different_kubeconfigs_ok():
    assert run([cluster('c1', kube_context='admin', kubeconfig_path='/k/a'),
                cluster('c2', kube_context='admin', kubeconfig_path='/k/b')]) == []


# --- trust domains ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value', ['cluster1', 'example.org', 'my_td', 'a-b.c_d', 'x' * 255])
def test_trust_domain_ok(value):
    assert v.check_trust_domain('h', 'mesh_trust_domain', value) == []


@pytest.mark.parametrize('value, reason', [
    ('spiffe://example.org', 'has a scheme (spiffe://)'),
    ('example.org:8443', 'has a port'),
    ('example.org/ns/x', 'has a path'),
    ('Example.org', 'has uppercase letters'),
    ('exa mple', "has characters other than lowercase letters"),
    ('x' * 256, 'is 256 characters long (max 255)'),
])
def test_trust_domain_refused(value, reason):
    line = one(v.check_trust_domain('cluster1', 'mesh_trust_domain', value))
    assert line.startswith("cluster1: mesh_trust_domain '%s' is not a valid SPIFFE trust domain" % value)
    assert reason in line
    assert 'Fix: give the bare trust domain' in line


def test_trust_domain_suggestion():
    assert '(e.g. example.org)' in one(v.check_trust_domain('h', 'mesh_trust_domain', 'spiffe://Example.org:8443/x'))


@pytest.mark.parametrize('value', [None, '', '  '])
def test_trust_domain_empty(value):
    assert 'h: mesh_trust_domain is empty' in one(v.check_trust_domain('h', 'mesh_trust_domain', value))


def test_trust_domain_not_string():
    assert 'not a string' in one(v.check_trust_domain('h', 'mesh_trust_domain', ['x']))


def test_trust_domain_default_cluster_name_ok_and_explicit_checked():
    assert run([cluster('c1')]) == []
    assert 'not a valid SPIFFE trust domain' in one(run([cluster('c1', trust_domain='spiffe://c1')]))


# --- Istio version ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, parsed', [
    ('1.25.5', (1, 25, 5)),
    ('1.25.5-patch1', (1, 25, 5)),
    ('1.27.0-solo', (1, 27, 0)),
    ('1.29.2-patch0', (1, 29, 2)),
    ('1.26.0-beta.1', (1, 26, 0)),
    ('1.25.5-patch1-solo', (1, 25, 5)),
])
def test_istio_version_ok(value, parsed):
    assert v.parse_istio_version(value) == parsed
    assert v.check_istio_version('h', value, True) == []


@pytest.mark.parametrize('value', ['1.25', 'v1.25.5', '1.25.5-', '1.25.5_patch1', '1.25.x', 'latest', '01.25.5', '1.25.5-Patch1', '1.25.5 '])
def test_istio_version_malformed(value):
    line = one(v.check_istio_version('cluster1', value, False))
    assert line.startswith("cluster1: mesh_istio_version '%s' is not an Istio version" % value)
    assert 'Fix: use MAJOR.MINOR.PATCH' in line


def test_istio_version_leading_v_hint():
    assert 'without the leading v' in one(v.check_istio_version('h', 'v1.25.5', False))


def test_istio_version_yaml_float():
    line = one(v.check_istio_version('h', 1.25, False))
    assert 'is a float, not a version string' in line and "quote a full version" in line


@pytest.mark.parametrize('value', ['1.24.2', '1.23.9-patch1', '1.9.10', '0.99.99'])
def test_istio_version_below_multicluster_floor(value):
    line = one(v.check_istio_version('c1', value, True))
    assert line.startswith("c1: mesh_istio_version '%s' is below 1.24.3, the minimum for a multicluster mesh" % value)
    assert v.check_istio_version('c1', value, False) == []


@pytest.mark.parametrize('value', ['1.24.3', '1.24.3-patch0', '1.24.10', '1.100.0', '2.0.0'])
def test_istio_version_at_or_above_floor(value):
    assert v.check_istio_version('c1', value, True) == []


def test_istio_version_missing_only_when_required():
    assert v.check_istio_version('h', None, True) == []
    assert 'h: mesh_istio_version is not set' in one(v.check_istio_version('h', None, True, required=True))


def test_istio_version_custom_floor():
    assert 'below 1.26.0' in one(v.check_istio_version('h', '1.25.5', True, minimum='1.26.0'))


def test_istio_version_group_var_reported_once_for_all_hosts():
    line = one(run([cluster('c1', istio_version='1.24.0'), cluster('c2', istio_version='1.24.0')]))
    assert line.startswith("c1, c2: mesh_istio_version '1.24.0' is below 1.24.3")


def test_istio_version_floor_in_validate_depends_on_multicluster():
    assert run([cluster('c1', istio_version='1.24.0')]) == []
    assert 'below 1.24.3' in one(run([cluster('c1', istio_version='1.24.0')], multicluster=True))


# --- license ---------------------------------------------------------------------------------------------------

def test_license_required_and_missing():
    line = one(v.check_license('cluster1', False, True))
    assert line.startswith('cluster1: mesh_license_key is missing or empty')
    assert 'GLOO_MESH_LICENSE_KEY' in line and 'Vault' in line


def test_license_ok_or_not_required():
    assert v.check_license('h', True, True) == []
    assert v.check_license('h', False, False) == []


def test_license_in_validate():
    clusters = [cluster('c1', license_set=False), cluster('c2', license_set=False)]
    assert run(clusters) == []
    assert one(run(clusters, require_license=True)).startswith('c1, c2: mesh_license_key is missing or empty')


# --- environment -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('environ, names', [
    ({'K8S_AUTH_HOST': 'https://10.0.0.1:6443'}, 'K8S_AUTH_HOST is'),
    ({'K8S_AUTH_API_KEY': 'sekret-token'}, 'K8S_AUTH_API_KEY is'),
    ({'K8S_AUTH_HOST': 'https://h', 'K8S_AUTH_API_KEY': 'sekret-token'}, 'K8S_AUTH_HOST and K8S_AUTH_API_KEY are'),
])
def test_env_refused_multicluster(environ, names):
    line = one(run([cluster('c1'), cluster('c2')], environ=environ))
    assert line.startswith('environment: %s set while 2 clusters are targeted (c1, c2)' % names)
    assert 'ignore kube_context' in line and '--limit' in line
    assert 'sekret-token' not in line and 'https://' not in line


def test_env_allowed_for_one_cluster():
    assert run([cluster('c1')], environ={'K8S_AUTH_HOST': 'https://h', 'K8S_AUTH_API_KEY': 'x'}) == []


@pytest.mark.parametrize('environ', [{}, {'K8S_AUTH_HOST': ''}, {'K8S_AUTH_KUBECONFIG': '/k'}, {'K8S_AUTH_API_KEY': '  '}])
def test_env_clean_ok(environ):
    assert run([cluster('c1'), cluster('c2')], environ=environ) == []


def test_env_custom_names():
    line = one(run([cluster('c1'), cluster('c2')], environ={'K8S_AUTH_USERNAME': 'u'}, forbidden_env=['K8S_AUTH_USERNAME']))
    assert 'K8S_AUTH_USERNAME is set' in line


# --- everything at once ----------------------------------------------------------------------------------------

def test_good_inventory_passes():
    problems, records = v.validate([cluster('cluster1'), cluster('cluster2')], require_license=True, require_istio_version=True)
    assert problems == []
    assert [(r['cluster_name'], r['network'], r['trust_domain']) for r in records] == [
        ('cluster1', 'cluster1', 'cluster1'), ('cluster2', 'cluster2', 'cluster2')]


def test_prod_like_inventory_passes():
    clusters = [cluster('prod-eu1', kube_context='prod-eu1-admin'), cluster('prod-us1', kube_context='prod-us1-admin')]
    assert run(clusters, require_license=True, require_istio_version=True) == []


def test_all_problems_collected():
    clusters = [
        cluster('cluster_1', kube_context='gke_a_b'),
        cluster('cluster2', network='net_1', trust_domain='spiffe://x', license_set=False),
        cluster('cluster3', kube_context=None, cluster_name='cluster2', istio_version='1.24'),
    ]
    problems = run(clusters, require_license=True, environ={'K8S_AUTH_HOST': 'h'})
    text = '\n'.join(problems)
    for needle in ("cluster_1: kube_context 'gke_a_b' contains '_'", "cluster_1: mesh_cluster_name",
                   "cluster2: mesh_network 'net_1'", "cluster2: mesh_trust_domain 'spiffe://x'",
                   'cluster2: mesh_license_key is missing', 'cluster3: kube_context is not set',
                   "cluster3: mesh_istio_version '1.24' is not an Istio version",
                   "cluster2, cluster3: mesh_cluster_name 'cluster2' is used by 2 hosts",
                   'environment: K8S_AUTH_HOST is set while 3 clusters are targeted'):
        assert needle in text
    assert len(problems) == 9
    message = v.summary(problems)
    lines = message.splitlines()
    assert lines[0] == 'Input validation refused the run (9 problems); nothing was touched:'
    assert lines[1].startswith('(1) cluster_1: ') and lines[9].startswith('(9) environment: ')
    assert len(lines) == 10


def test_summary_singular():
    assert v.summary(['h: x y. Fix: z']).startswith('Input validation refused the run (1 problem);')


def test_merge_hosts_keeps_order():
    assert v.merge_hosts(['a: x', 'b: y', 'c: x']) == ['a, c: x', 'b: y']


@pytest.mark.parametrize('value, expected', [
    (True, True), (False, False), ('yes', True), ('No', False), (1, True), (0, False), (None, False), ('maybe', None), (2, None)])
def test_parse_bool(value, expected):
    assert v.parse_bool(value) is expected


@pytest.mark.parametrize('check, value', [
    (lambda value: v.check_dns1123_label('h', 'mesh_network', value), 'cluster1\n'),
    (lambda value: v.check_trust_domain('h', 'mesh_trust_domain', value), 'cluster1\n'),
    (lambda value: v.check_istio_version('h', value, False), '1.25.5\n'),
])
def test_trailing_newline_refused(check, value):
    assert len(check(value)) == 1
