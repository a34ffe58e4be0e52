# -*- coding: utf-8 -*-
"""The validate role refuses bad inventories before anything is written (ansible-playbook, generated inventories).

Each refusal of issue 2 §2 gets its own run against a two-cluster inventory that is good except for one defect:
exit code != 0, the message names the host, the variable and the fix, and the first write of the playbook
(creating pki_dir) never happens. A good inventory passes and writes; the shipped inventories pass; the license
value never appears, even at -vvv. No cluster is needed (the validation never contacts one).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LICENSE = 'TEST-LICENSE-do-not-print-8c1f2a'
API_KEY = 'sekret-api-token-5e3d'

PLAYBOOK = """---
- name: Validate, then write (stands for the first write of a real playbook)
  hosts: k8s_clusters
  gather_facts: false
  roles:
    - role: meshops.ambient_spire.validate
  tasks:
    - name: Create pki_dir
      ansible.builtin.file:
        path: "{{ pki_dir }}"
        state: directory
        mode: "0700"
      run_once: true
      delegate_to: localhost
"""

GOOD_GROUP_VARS = {
    'ansible_connection': 'local',
    'ansible_python_interpreter': '{{ ansible_playbook_python }}',
    'mesh_istio_version': '1.25.5-patch1',
    'mesh_flat_network': False,
    'mesh_license_key': LICENSE,
}
GOOD_HOSTS = {'cluster1': {'kube_context': 'cluster1'}, 'cluster2': {'kube_context': 'cluster2'}}


def _ansible_playbook():
    candidate = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if os.path.exists(candidate):
        return candidate
    return shutil.which('ansible-playbook') or os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')


def _env(extra=None):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith('K8S_AUTH_') or name in ('GLOO_MESH_LICENSE_KEY', 'MESHOPS_PKI_DIR', 'ANSIBLE_CONFIG'):
            del env[name]
    collections = os.path.join(ROOT, '.build', 'collections')
    env['ANSIBLE_COLLECTIONS_PATH'] = collections
    env['PYTHONPATH'] = collections + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    env['ANSIBLE_NOCOLOR'] = '1'
    env['ANSIBLE_RETRY_FILES_ENABLED'] = '0'
    env['ANSIBLE_LOCAL_TEMP'] = env['ANSIBLE_REMOTE_TEMP'] = os.path.join(env.get('TMPDIR', '/tmp'), 'ansible-validate-tmp')
    env.update(extra or {})
    return env


class Run(object):
    def __init__(self, proc, pki_dir):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.pki_dir = pki_dir

    def refused(self, *needles):
        assert self.rc != 0, self.output
        assert 'Input validation refused the run' in self.output, self.output
        for needle in needles:
            assert needle in self.output, 'missing %r in:\n%s' % (needle, self.output)
        assert not os.path.exists(self.pki_dir), 'pki_dir was written despite the refusal'
        assert LICENSE not in self.output

    def passed(self):
        assert self.rc == 0, self.output
        assert os.path.isdir(self.pki_dir)
        assert LICENSE not in self.output


@pytest.fixture
def play(tmp_path):
    """play(hosts=..., group_vars=..., extra_vars=..., env=..., args=[...]) -> Run against a generated inventory."""
    calls = []

    def run(hosts=None, group_vars=None, extra_vars=None, env=None, args=(), inventory=None, playbook=None):
        calls.append(1)
        pki_dir = str(tmp_path / ('pki-%d' % len(calls)))
        if inventory is None:
            inventory = str(tmp_path / ('inventory-%d.yml' % len(calls)))
            all_vars = dict(GOOD_GROUP_VARS, pki_dir=pki_dir)
            all_vars.update(group_vars or {})
            data = {'k8s_clusters': {'hosts': copy.deepcopy(GOOD_HOSTS if hosts is None else hosts), 'vars': all_vars}}
            with open(inventory, 'w') as handle:
                yaml.safe_dump(data, handle, sort_keys=False)
        if playbook is None:
            playbook = str(tmp_path / 'playbook.yml')
            with open(playbook, 'w') as handle:
                handle.write(PLAYBOOK)
        command = [_ansible_playbook(), '-i', inventory, playbook, '-e', 'pki_dir=%s' % pki_dir]
        for key, value in (extra_vars or {}).items():
            command += ['-e', '%s=%s' % (key, value)]
        command += list(args)
        proc = subprocess.run(command, cwd=str(tmp_path), env=_env(env), capture_output=True, text=True, timeout=300, check=False)
        return Run(proc, pki_dir)
    return run


def hosts_with(**overrides):
    """GOOD_HOSTS with per-host variables overridden; a value of None removes the variable."""
    hosts = copy.deepcopy(GOOD_HOSTS)
    for host, variables in overrides.items():
        entry = hosts.setdefault(host, {})
        for key, value in variables.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
    return hosts


# --- one refusal per run ---------------------------------------------------------------------------------------

REFUSALS = {
    'cluster_name_not_dns1123': (
        dict(hosts=hosts_with(cluster1={'mesh_cluster_name': 'Cluster_1'})),
        ["cluster1: mesh_cluster_name 'Cluster_1' is not a DNS-1123 label", 'Fix: use lowercase letters', '(e.g. cluster-1)']),
    'network_not_dns1123': (  # also in check mode and with --tags: the validate task is tagged always
        dict(hosts=hosts_with(cluster2={'mesh_network': 'net_1'}), args=['--check', '--tags', 'some-other-tag']),
        ["cluster2: mesh_network 'net_1' is not a DNS-1123 label", '(e.g. net-1)']),
    'context_underscore_as_san': (
        dict(hosts=hosts_with(cluster1={'kube_context': 'gke_proj_zone_cluster1'})),
        ["cluster1: kube_context 'gke_proj_zone_cluster1' contains '_'", 'certificate SAN',
         'kubectl config rename-context \\"gke_proj_zone_cluster1\\" gke-proj-zone-cluster1']),
    'duplicate_cluster_names': (
        dict(hosts=hosts_with(cluster2={'mesh_cluster_name': 'cluster1'})),
        ["cluster1, cluster2: mesh_cluster_name 'cluster1' is used by 2 hosts", 'Fix: give each host its own mesh_cluster_name']),
    'shared_network_not_flat': (
        dict(hosts=hosts_with(cluster1={'mesh_network': 'shared'}, cluster2={'mesh_network': 'shared'})),
        ["mesh_network 'shared' is shared by cluster1, cluster2 while mesh_flat_network is not true", 'mesh_flat_network: true']),
    'trust_domain_not_spiffe': (
        dict(hosts=hosts_with(cluster1={'mesh_trust_domain': 'spiffe://Cluster1:8443'})),
        ["cluster1: mesh_trust_domain 'spiffe://Cluster1:8443' is not a valid SPIFFE trust domain", 'has a scheme', 'has a port',
         'Fix: give the bare trust domain', '(e.g. cluster1)']),
    'license_missing_for_gloo_operator': (
        dict(group_vars={'mesh_license_key': ''}, extra_vars={'validate_require_license': 'true'}),
        ['cluster1, cluster2: mesh_license_key is missing or empty', 'GLOO_MESH_LICENSE_KEY']),
    'istio_version_malformed': (
        dict(group_vars={'mesh_istio_version': 'v1.25'}),
        ["cluster1, cluster2: mesh_istio_version 'v1.25' is not an Istio version", 'without the leading v']),
    'istio_version_below_multicluster_minimum': (
        dict(group_vars={'mesh_istio_version': '1.24.2-patch1'}),
        ["cluster1, cluster2: mesh_istio_version '1.24.2-patch1' is below 1.24.3, the minimum for a multicluster mesh"]),
    'k8s_auth_env_multicluster': (
        dict(env={'K8S_AUTH_HOST': 'https://10.1.2.3:6443', 'K8S_AUTH_API_KEY': API_KEY}),
        ['environment: K8S_AUTH_HOST and K8S_AUTH_API_KEY are set while 2 clusters are targeted (cluster1, cluster2)',
         'ignore kube_context', 'Fix: unset K8S_AUTH_HOST and K8S_AUTH_API_KEY']),
    'kube_context_missing': (
        dict(hosts=hosts_with(cluster2={'kube_context': None})),
        ['cluster2: kube_context is not set', 'Fix: set kube_context for cluster2']),
    'duplicate_kube_context': (
        dict(hosts=hosts_with(cluster2={'kube_context': 'cluster1'})),
        ["cluster1, cluster2: kube_context 'cluster1' is used by cluster1, cluster2 with the same kubeconfig"]),
}


@pytest.mark.parametrize('case', sorted(REFUSALS))
def test_refusal(play, case):
    kwargs, needles = REFUSALS[case]
    result = play(**kwargs)
    result.refused(*needles)
    assert 'Input validation refused the run (1 problem);' in result.output
    assert API_KEY not in result.output and 'https://10.1.2.3' not in result.output


def test_all_problems_at_once_and_no_secret_at_vvv(play):
    hosts = {
        'cluster_1': {'kube_context': 'gke_a_b'},
        'cluster2': {'kube_context': 'cluster2', 'mesh_network': 'net_1', 'mesh_trust_domain': 'spiffe://x/y'},
        'cluster3': {'mesh_cluster_name': 'cluster2'},
    }
    result = play(hosts=hosts, group_vars={'mesh_istio_version': 1.25}, extra_vars={'validate_require_license': 'true'},
                  env={'K8S_AUTH_API_KEY': API_KEY}, args=['-vvv'])
    result.refused(
        "cluster_1: kube_context 'gke_a_b' contains '_'",
        "cluster_1: mesh_cluster_name (default: the inventory host name) 'cluster_1' is not a DNS-1123 label",
        "cluster2: mesh_network 'net_1' is not a DNS-1123 label",
        "cluster2: mesh_trust_domain 'spiffe://x/y' is not a valid SPIFFE trust domain",
        'cluster3: kube_context is not set',
        "cluster2, cluster3: mesh_cluster_name 'cluster2' is used by 2 hosts",
        'cluster_1, cluster2, cluster3: mesh_istio_version 1.25 is a float',
        'environment: K8S_AUTH_API_KEY is set while 3 clusters are targeted',
    )
    assert 'Input validation refused the run (8 problems)' in result.output
    assert '"license_set": true' in result.output  # the -vvv invocation shows the flag, not the key
    assert API_KEY not in result.output


def test_good_inventory_passes_and_license_hidden_at_vvv(play):
    result = play(extra_vars={'validate_require_license': 'true', 'validate_require_istio_version': 'true'}, args=['-vvv'])
    result.passed()
    assert '"problems": []' in result.output


def test_one_cluster_may_use_k8s_auth_env(play):
    """--limit to one cluster: K8S_AUTH_* is the one-cluster-per-job pattern; the Istio floor still applies (mesh of 2)."""
    result = play(env={'K8S_AUTH_HOST': 'https://10.1.2.3:6443', 'K8S_AUTH_API_KEY': API_KEY}, args=['--limit', 'cluster1'])
    result.passed()
    limited = play(group_vars={'mesh_istio_version': '1.24.0'}, args=['--limit', 'cluster1'])
    limited.refused("cluster1: mesh_istio_version '1.24.0' is below 1.24.3")


def test_inventory_local_passes(play):
    result = play(inventory=os.path.join(ROOT, 'inventories', 'local'),
                  extra_vars={'validate_require_license': 'true', 'validate_require_istio_version': 'true'})
    result.passed()
    assert 'emu-license' not in result.output


def test_inventory_prod_passes_with_license_from_env_and_refuses_without(play):
    inventory = os.path.join(ROOT, 'inventories', 'prod')
    flags = {'validate_require_license': 'true', 'validate_require_istio_version': 'true'}
    refused = play(inventory=inventory, extra_vars=flags)
    refused.refused('prod-eu1, prod-us1: mesh_license_key is missing or empty')
    result = play(inventory=inventory, extra_vars=flags, env={'GLOO_MESH_LICENSE_KEY': LICENSE})
    result.passed()


def test_inventory_prod_license_from_vault_never_printed(play, tmp_path):
    """A copy of inventories/prod with an encrypted vault.yml: passes, and the license is not shown at -vvv."""
    inventory = str(tmp_path / 'prod')
    shutil.copytree(os.path.join(ROOT, 'inventories', 'prod'), inventory)
    password_file = tmp_path / 'vault-pass'
    password_file.write_text('not-a-real-password\n')
    vault_file = os.path.join(inventory, 'group_vars', 'all', 'vault.yml')
    with open(vault_file, 'w') as handle:
        handle.write('vault_gloo_mesh_license_key: %s\n' % LICENSE)
    vault = os.path.join(os.path.dirname(_ansible_playbook()), 'ansible-vault')
    subprocess.run([vault, 'encrypt', '--vault-password-file', str(password_file), vault_file],
                   env=_env(), capture_output=True, text=True, check=True, timeout=120)
    with open(vault_file) as handle:
        assert handle.read().startswith('$ANSIBLE_VAULT;')
    result = play(inventory=inventory, extra_vars={'validate_require_license': 'true'},
                  args=['--vault-password-file', str(password_file), '-vvv'])
    result.passed()
    assert '"license_set": true' in result.output


PKI_PLAYBOOK = os.path.join(ROOT, 'playbooks', 'pki.yml')


def _pki_playbook_validates():
    """True when the first play of playbooks/pki.yml runs the validate role (in roles:, before its tasks)."""
    if not os.path.exists(PKI_PLAYBOOK):
        return False
    with open(PKI_PLAYBOOK) as handle:
        plays = yaml.safe_load(handle) or []
    roles = plays[0].get('roles') or [] if plays else []
    names = [role if isinstance(role, str) else (role.get('role') or role.get('name')) for role in roles]
    return bool(names) and names[0] == 'meshops.ambient_spire.validate'


def test_pki_playbook_refuses_before_writing(play):
    # a failure, not a skip: without the validate role first, pki.yml would write the PKI of a bad inventory
    assert _pki_playbook_validates(), 'playbooks/pki.yml must run the meshops.ambient_spire.validate role first, in roles: of its first play'
    result = play(hosts=hosts_with(cluster2={'mesh_network': 'net_1'}), playbook=PKI_PLAYBOOK)
    result.refused("cluster2: mesh_network 'net_1' is not a DNS-1123 label")


def test_site_validates_before_the_pki_when_its_preflight_play_is_skipped(play):
    # site.yml validates once, in its preflight play; without that play (--skip-tags preflight) the PKI play validates
    result = play(hosts=hosts_with(cluster2={'mesh_network': 'net_1'}), playbook=os.path.join(ROOT, 'playbooks', 'site.yml'),
                  args=['--skip-tags', 'preflight'])
    result.refused("cluster2: mesh_network 'net_1' is not a DNS-1123 label")
    refusal = result.output.index('Input validation refused the run')
    assert result.output.rfind('PLAY [', 0, refusal) == result.output.index('PLAY [Validate the inputs and issue the PKI]'), result.output
