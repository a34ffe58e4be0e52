"""awx/configure.yml against a fake AWX API: the awx.awx modules accept every argument, and AWX receives
the credential types, credentials, inventory, execution environment, project and job templates with surveys.

The fake (a small in-memory REST server) implements only what awx.awx's generic code uses: list with
filters, create, read, update, sub-endpoints for associations and survey specs. It does not validate
payloads as AWX does; the assertions below check them.
"""

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SUBS = ("survey_spec", "credentials", "hosts", "children", "update", "instance_groups", "labels",
        "notification_templates_started", "notification_templates_success", "notification_templates_error",
        "success_nodes", "failure_nodes", "always_nodes", "workflow_nodes")
ORDER = ("page", "page_size", "order_by")


class FakeAWX:
    def __init__(self):
        self.objects = {"organizations": {1: self._new("organizations", 1, {"name": "Default"})}}
        self.subs = {}
        self.next_id = 100
        self.lock = threading.Lock()

    @staticmethod
    def _new(endpoint, oid, data):
        url = "/api/v2/%s/%d/" % (endpoint, oid)
        obj = dict(data, id=oid, url=url, summary_fields={}, scm_revision="")
        obj["related"] = dict((s, url + s + "/") for s in SUBS)
        return obj

    def handle(self, method, path, query, body):
        parts = [p for p in path.split("/") if p][2:]  # drop api, v2
        with self.lock:
            if not parts:
                return 200, {}
            endpoint = parts[0]
            if endpoint == "unified_job_templates" and method == "GET" and len(parts) == 1:
                # what awx.awx's workflow nodes look up their job template in (type job_template here)
                query = dict((k, v) for k, v in query.items() if k != "type")
                found = [o for o in self.objects.get("job_templates", {}).values() if all(
                    k in ORDER or k.startswith("or__") or str(o.get(k)) == v for k, v in query.items())]
                return 200, {"count": len(found), "results": found, "next": None, "previous": None}
            store = self.objects.setdefault(endpoint, {})
            if len(parts) == 1:
                if method == "GET":
                    found = [o for o in store.values() if all(
                        k in ORDER or k.startswith("or__") or str(o.get(k)) == v for k, v in query.items())]
                    return 200, {"count": len(found), "results": found, "next": None, "previous": None}
                self.next_id += 1
                store[self.next_id] = self._new(endpoint, self.next_id, body)
                return 201, store[self.next_id]
            oid = int(parts[1])
            if oid not in store:
                return 404, {"detail": "Not found."}
            if len(parts) == 2:
                if method == "PATCH":
                    store[oid].update(body)
                elif method == "DELETE":
                    del store[oid]
                    return 204, None
                return 200, store[oid]
            key = (endpoint, oid, parts[2])
            if parts[2] == "survey_spec":
                if method == "POST":
                    self.subs[key] = body
                    return 200, {}
                return 200, self.subs.get(key, {})
            ids = self.subs.setdefault(key, [])
            if method == "POST":
                if body.get("disassociate"):
                    ids.remove(body["id"])
                elif body["id"] not in ids:
                    ids.append(body["id"])
                return 204, None
            return 200, {"count": len(ids), "results": [{"id": i} for i in ids], "next": None, "previous": None}

    def named(self, endpoint, name):
        return next(o for o in self.objects.get(endpoint, {}).values() if o.get("name") == name)


@pytest.fixture
def fake_awx():
    fake = FakeAWX()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            status, data = fake.handle(self.command, url.path, dict(parse_qsl(url.query)), body)
            payload = b"" if data is None else json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-API-Product-Name", "AWX")
            self.send_header("X-API-Product-Version", "24.6.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield fake
    server.shutdown()
    server.server_close()


LICENSE = "emu-license:GlooMesh:2099-12-31:do-not-print-me"


NOTIFICATION_PASSWORD = "smtp-or-webhook-password-not-to-print"
ROOT_KEY = "-----BEGIN PRIVATE KEY-----\nroot-key-that-must-not-be-printed\n-----END PRIVATE KEY-----\n"
ROOT_CERT = "-----BEGIN CERTIFICATE-----\nthe-root-certificate\n-----END CERTIFICATE-----\n"


def _configure(fake, tmp_path, extra=None):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncontexts: []\n# token-that-must-not-be-printed\n")
    (tmp_path / "root-ca.crt").write_text(ROOT_CERT)
    (tmp_path / "root-ca.key").write_text(ROOT_KEY)
    env = dict(os.environ)
    env.update({
        "CONTROLLER_HOST": fake.url, "CONTROLLER_OAUTH_TOKEN": "fake-token", "CONTROLLER_VERIFY_SSL": "false",
        "K8S_AUTH_KUBECONFIG": str(kubeconfig), "GLOO_MESH_LICENSE_KEY": LICENSE, "MESHOPS_NOTIFICATION_PASSWORD": NOTIFICATION_PASSWORD,
        "MESHOPS_PKI_ROOT_CA_CERT": str(tmp_path / "root-ca.crt"), "MESHOPS_PKI_ROOT_CA_KEY": str(tmp_path / "root-ca.key"),
        "ANSIBLE_NOCOLOR": "1", "TMPDIR": str(tmp_path),
    })
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / "awx" / "configure.yml"), "-v"]
                          + (["-e", json.dumps(extra)] if extra else []),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    return out, kubeconfig.read_text()


@pytest.mark.slow
def test_configure_creates_the_awx_objects(fake_awx, tmp_path):
    out, kubeconfig = _configure(fake_awx, tmp_path)
    # Secrets reach AWX but never the output.
    assert LICENSE not in out and "token-that-must-not-be-printed" not in out and NOTIFICATION_PASSWORD not in out
    assert "root-key-that-must-not-be-printed" not in out

    kube_type = fake_awx.named("credential_types", "Kubeconfig file (meshops.ambient_spire)")
    assert kube_type["kind"] == "cloud"
    assert kube_type["injectors"] == {"file": {"template": "{{ kubeconfig }}"},
                                      "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename }}"}}
    kube_cred = fake_awx.named("credentials", "meshops kubeconfig")
    assert kube_cred["credential_type"] == kube_type["id"] and kube_cred["inputs"] == {"kubeconfig": kubeconfig.rstrip("\n")}
    license_cred = fake_awx.named("credentials", "meshops Gloo Mesh license")
    assert license_cred["inputs"] == {"license_key": LICENSE}
    # the PKI store of the AWX inventory: the root as a credential, injected as extra variables (no volume, no file)
    pki_type = fake_awx.named("credential_types", "PKI root CA (meshops.ambient_spire)")
    assert pki_type["injectors"]["extra_vars"]["pki_root_ca_key"] == "{{ root_ca_key }}"
    pki_cred = fake_awx.named("credentials", "meshops PKI root CA")
    assert pki_cred["credential_type"] == pki_type["id"]
    assert pki_cred["inputs"] == {"root_ca_cert": ROOT_CERT.rstrip("\n"), "root_ca_key": ROOT_KEY.rstrip("\n")}

    ee = fake_awx.named("execution_environments", "meshops ambient_spire EE")
    project = fake_awx.named("projects", "meshops ambient_spire")
    assert project["default_environment"] == ee["id"] and project["scm_type"] == "git"

    inventory = fake_awx.named("inventories", "meshops clusters")
    assert json.loads(inventory["variables"])["kubeconfig_path"] == "{{ lookup('ansible.builtin.env', 'K8S_AUTH_KUBECONFIG') }}"
    hosts = {h["name"]: h for h in fake_awx.objects["hosts"].values()}
    assert {n: json.loads(h["variables"]) for n, h in hosts.items()} == {
        "prod-eu1": {"kube_context": "prod-eu1-admin"}, "prod-us1": {"kube_context": "prod-us1-admin"}}
    group = fake_awx.named("groups", "k8s_clusters")
    assert sorted(fake_awx.subs[("groups", group["id"], "hosts")]) == sorted(h["id"] for h in hosts.values())

    templates = {t["name"]: t for t in fake_awx.objects["job_templates"].values()}
    names = {"site": "meshops - site", "preflight": "meshops - preflight", "mesh_check": "meshops - mesh check", "link": "meshops - link",
             "teardown": "meshops - teardown", "upgrade": "meshops - upgrade", "mesh_watch": "meshops - mesh watch",
             "rotate_ca": "meshops - rotate CA", "pki": "meshops - pki", "install": "meshops - install"}
    assert set(templates) == {names[p.stem] for p in (ROOT / "awx" / "playbooks").glob("*.yml")}
    for name, jt in templates.items():
        assert jt["execution_environment"] == ee["id"] and jt["project"] == project["id"] and jt["inventory"] == inventory["id"]
        assert jt["ask_job_type_on_launch"] and jt["ask_limit_on_launch"], name
        assert re.match(r"^awx/playbooks/(site|preflight|pki|install|mesh_check|link|teardown|upgrade|mesh_watch|rotate_ca)\.yml$", jt["playbook"])
        assert jt["job_slice_count"] == (3 if name == "meshops - install" else 1), name
        assert sorted(fake_awx.subs[("job_templates", jt["id"], "credentials")]) == sorted([kube_cred["id"], license_cred["id"], pki_cred["id"]])
        spec = fake_awx.subs.get(("job_templates", jt["id"], "survey_spec"), {})
        assert bool(jt["survey_enabled"]) == bool(spec.get("spec")), name
    assert all(jt["job_type"] == ("check" if name.endswith("teardown") else "run") for name, jt in templates.items())
    site_spec = fake_awx.subs[("job_templates", templates["meshops - site"]["id"], "survey_spec")]["spec"]
    assert {q["variable"]: q["type"] for q in site_spec}["mesh_license_key"] == "password"

    # The mesh watch: its notification template (webhook by default, the password only in AWX), sent when a run fails
    # (drift or issues), and its schedule.
    watch = templates["meshops - mesh watch"]
    notification = fake_awx.named("notification_templates", "meshops - mesh watch alarm")
    assert notification["notification_type"] == "webhook" and notification["organization"] == 1
    assert notification["notification_configuration"] == {"url": "https://hooks.example.invalid/meshops", "http_method": "POST", "headers": {},
                                                          "password": NOTIFICATION_PASSWORD, "disable_ssl_verification": False}
    assert "{{ job_friendly_name }}" in notification["messages"]["error"]["message"]
    assert fake_awx.subs[("job_templates", watch["id"], "notification_templates_error")] == [notification["id"]]
    assert not fake_awx.subs.get(("job_templates", watch["id"], "notification_templates_success"))
    assert all(not fake_awx.subs.get(("job_templates", jt["id"], "notification_templates_error")) for n, jt in templates.items() if jt is not watch)
    schedule = fake_awx.named("schedules", "meshops - mesh watch, hourly")
    assert schedule["unified_job_template"] == watch["id"] and schedule["enabled"] is True
    assert re.match(r"^DTSTART;TZID=UTC:\d{8}T\d{6} RRULE:FREQ=HOURLY;INTERVAL=1$", schedule["rrule"])

    # The workflow of a fleet: pki -> install (sliced) -> link -> mesh check, each node on success of the previous one.
    workflow = fake_awx.named("workflow_job_templates", "meshops - fleet")
    assert workflow["organization"] == 1 and workflow["inventory"] == inventory["id"] and workflow["ask_limit_on_launch"]
    nodes = dict((n["identifier"], n) for n in fake_awx.objects["workflow_job_template_nodes"].values())
    order = ["pki", "install", "link", "mesh_check"]
    assert sorted(nodes) == sorted(order) and all(n["workflow_job_template"] == workflow["id"] for n in nodes.values())
    for identifier, following in zip(order, order[1:] + [None]):
        assert nodes[identifier]["unified_job_template"] == templates[names[identifier]]["id"]
        assert fake_awx.subs.get(("workflow_job_template_nodes", nodes[identifier]["id"], "success_nodes"), []) == (
            [nodes[following]["id"]] if following else [])
    spec = fake_awx.subs[("workflow_job_templates", workflow["id"], "survey_spec")]["spec"]
    assert [q["variable"] for q in spec] == ["target_clusters", "mesh_license_key"]

    # A second run changes nothing.
    out = _configure(fake_awx, tmp_path)[0]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", out), out[out.rindex("PLAY RECAP"):]


@pytest.mark.slow
def test_configure_the_watch_with_an_email_notification_on_failure_and_success(fake_awx, tmp_path):
    out, _kubeconfig = _configure(fake_awx, tmp_path, {
        "awx_meshops_notification_type": "email", "awx_meshops_notification_username": "awx",
        "awx_meshops_notification_email_recipients": ["oncall@example.invalid"], "awx_meshops_watch_notify_on": ["error", "success"],
        "awx_meshops_watch_schedule_rrule": "DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=MINUTELY;INTERVAL=30"})
    assert NOTIFICATION_PASSWORD not in out
    notification = fake_awx.named("notification_templates", "meshops - mesh watch alarm")
    assert notification["notification_type"] == "email"
    assert notification["notification_configuration"] == {
        "host": "smtp.example.invalid", "port": 587, "use_tls": True, "use_ssl": False, "sender": "meshops-awx@example.invalid",
        "recipients": ["oncall@example.invalid"], "username": "awx", "password": NOTIFICATION_PASSWORD, "timeout": 30}
    watch = fake_awx.named("job_templates", "meshops - mesh watch")
    for event in ("error", "success"):
        assert fake_awx.subs[("job_templates", watch["id"], "notification_templates_%s" % event)] == [notification["id"]]
    assert fake_awx.named("schedules", "meshops - mesh watch, hourly")["rrule"].endswith("RRULE:FREQ=MINUTELY;INTERVAL=30")
