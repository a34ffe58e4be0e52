"""kubernetes.core (k8s, k8s_info, helm) against the emulator, through ansible-playbook."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "values.yaml": "message: hello\n",
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tiny}\ndata: {message: {{ .Values.message | quote }}}\n",
}

PLAYBOOK = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        group/kubernetes.core.k8s: {kubeconfig: "%(kubeconfig)s", context: cluster1}
        group/kubernetes.core.helm: {kubeconfig: "%(kubeconfig)s", context: cluster1}
      tasks:
        - name: A list of definitions, wait on the Deployment
          kubernetes.core.k8s:
            wait: true
            wait_timeout: 30
            definition:
              - {apiVersion: v1, kind: Namespace, metadata: {name: ans}}
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: plain, namespace: ans, labels: {tier: a}}, data: {k: v}}
              - apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: ans, labels: {tier: b}}
                spec:
                  replicas: 2
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}], env: [{name: A, value: "1"}]}]}
        - name: Apply
          kubernetes.core.k8s:
            apply: true
            definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: applied, namespace: ans, labels: {tier: a}}, data: {k: v}}
        - name: Server-side apply
          kubernetes.core.k8s:
            server_side_apply: {field_manager: ansible-test}
            definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: ssa, namespace: ans, labels: {tier: c}}, data: {k: v}}
        - name: Force (PUT)
          kubernetes.core.k8s:
            force: true
            definition: {apiVersion: v1, kind: Secret, metadata: {name: forced, namespace: ans}, stringData: {k: v}}
        - name: A CRD
          kubernetes.core.k8s:
            wait: true
            definition:
              apiVersion: apiextensions.k8s.io/v1
              kind: CustomResourceDefinition
              metadata: {name: widgets.example.com}
              spec:
                group: example.com
                scope: Namespaced
                names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
                versions:
                  - name: v1
                    served: true
                    storage: true
                    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
        - name: A custom resource, wait on its condition
          kubernetes.core.k8s:
            wait: true
            wait_timeout: 20
            wait_condition: {type: Ready, status: "True"}
            definition:
              apiVersion: example.com/v1
              kind: Widget
              metadata: {name: w1, namespace: ans}
              spec: {size: 1}
              status: {conditions: [{type: Ready, status: "True", reason: Done}]}
        - name: Absent
          kubernetes.core.k8s:
            state: absent
            definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: doomed, namespace: ans}}
        - name: Helm release
          kubernetes.core.helm:
            name: tiny
            chart_ref: "%(chart)s"
            release_namespace: ans
            wait: true
        - name: Info by label selector
          kubernetes.core.k8s_info:
            kind: ConfigMap
            namespace: ans
            label_selectors: ["tier in (a, c)", "tier != b"]
          register: info
        - name: Check the selection
          ansible.builtin.assert:
            that:
              - info.resources | map(attribute='metadata.name') | sort == ['applied', 'plain', 'ssa']
        - name: Info by equality and existence
          kubernetes.core.k8s_info:
            kind: Deployment
            namespace: ans
            label_selectors: ["tier=b", "tier"]
          register: deps
        - name: Check the Deployment
          ansible.builtin.assert:
            that:
              - deps.resources | length == 1
              - deps.resources[0].status.readyReplicas == 2
    """)


@pytest.fixture(scope="module")
def playbook(emulator, tmp_path_factory):
    base = tmp_path_factory.mktemp("ansible")
    for name, text in CHART.items():
        path = base / "chart" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    book = base / "play.yml"
    book.write_text(PLAYBOOK % {"kubeconfig": emulator.kubeconfig, "chart": base / "chart"})
    return str(book)


def run(emulator, playbook, *extra):
    env = emulator.env(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
           "-e", "ansible_python_interpreter=" + sys.executable, playbook, *extra]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", proc.stdout)
    return int(recap.group(2)), proc.stdout


def test_playbook_converges_then_is_idempotent(emulator, playbook):
    emulator.kubectl("create", "namespace", "ans", context="cluster1")
    emulator.kubectl("create", "configmap", "doomed", "-n", "ans", context="cluster1")
    changed, out = run(emulator, playbook)
    assert changed == 8, out
    changed, out = run(emulator, playbook)
    assert changed == 0, out
    widget = json.loads(emulator.kubectl("get", "widgets", "w1", "-n", "ans", "-o", "json", context="cluster1").stdout)
    assert widget["status"]["conditions"][0]["type"] == "Ready"
    assert "tiny" in emulator.helm("list", "-n", "ans", "-q", context="cluster1").stdout
