"""pods/exec (WebSocket) against the emulator: SPIRE's CLI answered in the spire-server container through kubectl
(WebSocket first since 1.30), the kubernetes Python client's stream() and kubernetes.core.k8s_exec; what a container
answers for commands it does not have; the API server's checks before the upgrade."""

import json
import os
import subprocess
import sys
import textwrap

from kubernetes import client
from kubernetes.stream import stream

from emulator.mesh import pki
from trustenv import wait_for


def test_kubectl_exec_prepare_and_activate_rotate_the_spire_ca(mesh):
    before = mesh.handle.status("east")["execs"]
    rc, out, err = mesh.spire_cli("east", "localauthority", "x509", "show")
    assert rc == 0 and err == "" and out.startswith("Active X.509 authority:\n  Authority ID: ")
    active = mesh.trust("east")["spire"]["spire-server"]["active"]
    assert "  Authority ID: %s\n" % active["authority_id"] in out
    assert "  Upstream authority Subject Key ID: %s\n" % pki.subject_key_id(mesh.spire["east"].cert) in out
    assert "No prepared X.509 authority found" in out and "No old X.509 authority found" in out

    prepared = mesh.prepare("east")
    assert mesh.trust("east")["spire"]["spire-server"]["prepared"]["authority_id"] == prepared
    rc, out, _err = mesh.spire_cli("east", "localauthority", "x509", "activate", "-authorityID", prepared)
    assert rc == 0 and out.startswith("Activated X.509 authority:\n  Authority ID: %s\n" % prepared)
    spire = mesh.trust("east")["spire"]["spire-server"]
    assert spire["active"]["authority_id"] == prepared and spire["old"]["authority_id"] == active["authority_id"]
    # ztunnel keeps its certificate until it refreshes; a restart makes it fetch one from the new CA
    assert {z["issuer"]["subject_key_id"] for z in mesh.trust("east")["ztunnel"].values()} == {active["authority_id"]}
    mesh.roll_workloads("east")
    assert {z["issuer"]["subject_key_id"] for z in mesh.trust("east")["ztunnel"].values()} == {prepared}

    rc, out, _err = mesh.spire_cli("east", "bundle", "show")
    published = mesh.handle.kubectl("-n", "spire-server", "get", "configmap", "spire-bundle", "-o", "jsonpath={.data.bundle\\.crt}",
                                    context="east").stdout
    assert rc == 0 and out == published == mesh.root_a.pem
    assert mesh.handle.status("east")["execs"] >= before + 4
    assert mesh.probe()["failed"] == 0


def test_kubectl_exec_errors_look_like_a_real_cluster(mesh):
    rc, _out, err = mesh.spire_cli("east", "localauthority", "x509", "activate", "-authorityID", "0123")
    assert rc == 1 and err.startswith("Error: could not activate X.509 authority: rpc error: code = InvalidArgument desc = unexpected "
                                      "authority ID\n")
    rc, _out, err = mesh.spire_cli("east", "no-such-command")
    assert rc == 127 and err.startswith("Usage: spire-server [--version] [--help] <command> [<args>]")
    result = mesh.handle.kubectl("-n", "spire-server", "exec", "spire-server-0", "-c", "spire-server", "--", "sh", "-c", "echo hi",
                                 context="east", check=False)
    assert result.returncode == 127 and 'exec: "sh": executable file not found in $PATH' in result.stderr
    result = mesh.handle.kubectl("-n", "spire-server", "exec", "spire-server-0", "-c", "nope", "--", "spire-server", context="east", check=False)
    assert result.returncode == 1 and "container nope is not valid for pod spire-server-0" in result.stderr
    result = mesh.handle.kubectl("-n", "spire-server", "exec", "no-such-pod", "--", "true", context="east", check=False)
    assert result.returncode == 1 and 'pods "no-such-pod" not found' in result.stderr


def test_exec_into_a_crash_looping_container_is_refused(mesh):
    pods = mesh.handle.kubectl("-n", "istio-system", "get", "pods", "-l", "app=istiod", "-o", "jsonpath={.items[0].metadata.name}",
                               context="west").stdout
    mesh.handle.admin("west", "POST", "/_emulator/mesh/faults", {"kill_istiod": True})
    try:
        def refused():
            result = mesh.handle.kubectl("-n", "istio-system", "exec", pods, "-c", "discovery", "--", "pilot-discovery", "version",
                                         context="west", check=False)
            return result.returncode == 1 and 'container not found ("discovery")' in result.stderr
        wait_for(refused, what="exec refused while istiod crash-loops")
    finally:
        mesh.handle.admin("west", "POST", "/_emulator/mesh/faults", {"kill_istiod": None})


def _core(mesh, cluster):
    return client.CoreV1Api(mesh.handle.client(cluster))


def test_python_client_stream(mesh):
    core = _core(mesh, "west")
    out = stream(core.connect_get_namespaced_pod_exec, "spire-server-0", "spire-server", container="spire-server",
                 command=["spire-server", "localauthority", "x509", "show", "-output", "json"], stderr=True, stdin=False, stdout=True, tty=False)
    assert json.loads(out)["active"]["authority_id"] == mesh.trust("west")["spire"]["spire-server"]["active"]["authority_id"]
    resp = stream(core.connect_get_namespaced_pod_exec, "spire-server-0", "spire-server", container="spire-server",
                  command=["spire-server", "localauthority", "x509", "prepare"], stderr=True, stdin=False, stdout=True, tty=False,
                  _preload_content=False)
    resp.run_forever(timeout=20)
    prepared = mesh.trust("west")["spire"]["spire-server"]["prepared"]["authority_id"]
    assert resp.returncode == 0 and resp.read_stdout().startswith("Prepared X.509 authority:\n  Authority ID: %s\n" % prepared)
    resp = stream(core.connect_get_namespaced_pod_exec, "spire-server-0", "spire-server", container="spire-server",
                  command=["spire-server", "localauthority", "x509", "activate", "-authorityID", "ff"], stderr=True, stdin=False,
                  stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=20)
    assert resp.returncode == 1 and "unexpected authority ID" in resp.read_stderr()
    # stdin (v5 closes it explicitly); a command the image does not have: 127
    resp = stream(core.connect_get_namespaced_pod_exec, "spire-server-0", "spire-server", container="spire-server", command=["cat"],
                  stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("hello")
    resp.close_channel(0)
    resp.run_forever(timeout=20)
    assert resp.returncode == 127


PLAYBOOK = textwrap.dedent("""\
    - hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        group/kubernetes.core.k8s: {kubeconfig: "%(kubeconfig)s", context: west}
      tasks:
        - name: Prepare a new X.509 CA
          kubernetes.core.k8s_exec:
            namespace: spire-server
            pod: spire-server-0
            container: spire-server
            command: spire-server localauthority x509 prepare -output json
          register: prepared
        - name: Activate it
          kubernetes.core.k8s_exec:
            namespace: spire-server
            pod: spire-server-0
            command: spire-server localauthority x509 activate -authorityID {{ (prepared.stdout | from_json).prepared_authority.authority_id }}
          register: activated
        - name: A bad authority ID fails with the server's message
          kubernetes.core.k8s_exec:
            namespace: spire-server
            pod: spire-server-0
            command: spire-server localauthority x509 activate -authorityID 00
          register: bad
          failed_when: bad.rc != 1 or 'unexpected authority ID' not in bad.stderr
        - name: Show what is active
          ansible.builtin.debug:
            msg: "{{ (prepared.stdout | from_json).prepared_authority.authority_id }} {{ activated.rc }}"
    """)


def test_kubernetes_core_k8s_exec(mesh, tmp_path):
    playbook = tmp_path / "exec.yml"
    playbook.write_text(PLAYBOOK % {"kubeconfig": mesh.handle.kubeconfig})
    env = mesh.handle.env(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
                          ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-e",
           "ansible_python_interpreter=" + sys.executable, str(playbook)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    active = mesh.trust("west")["spire"]["spire-server"]["active"]["authority_id"]
    assert '"msg": "%s 0"' % active in proc.stdout
