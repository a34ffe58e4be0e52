"""AWX as code (awx/): what awx/configure.yml would create, checked against the collection.

- the credential type injects a kubeconfig file through K8S_AUTH_KUBECONFIG (never the bearer-token env);
- every job template allows check mode, a limit on launch, uses the EE and has a target_clusters survey
  whose choices are the inventory's clusters; the license is a password question named like the
  inventory variable;
- every survey variable exists in a role argument spec (roles/*/meta/argument_specs.yml) or in the
  inventory model of CONTRIBUTING.md, with a compatible type;
- the playbooks of the job templates, run with the survey's extra_vars, select exactly the chosen clusters.

The AWX objects come from `ansible-playbook awx/configure.yml --tags render` (the real templating,
no AWX needed).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
AWX = ROOT / "awx"

# AWX survey question types -> the Ansible types their answers arrive as.
SURVEY_TYPES = {
    "text": {"str"},
    "textarea": {"str"},
    "password": {"str"},
    "multiplechoice": {"str"},
    "multiselect": {"list"},
    "integer": {"int"},
    "float": {"float"},
}
# Argument spec types that accept those values.
COMPATIBLE = {
    "str": {"str", "raw", "path"},
    # a multiplechoice among boolean words: the roles read such variables with `| bool`
    "boolstr": {"bool", "str", "raw"},
    "list": {"list", "raw"},
    "int": {"int", "raw", "str"},
    "float": {"float", "raw", "str"},
}
# The variable the plays' `hosts:` select on (not a role input: it chooses the hosts).
HOST_SELECTOR = "target_clusters"
HOSTS_PATTERN = "{{ target_clusters | default('k8s_clusters', true) }}"


def _env(tmp):
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    env["ANSIBLE_NOCOLOR"] = "1"
    env["TMPDIR"] = str(tmp)
    env.pop("K8S_AUTH_KUBECONFIG", None)
    return env


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("awx-render")
    out = tmp / "render.json"
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "configure.yml"), "--tags", "render",
         "-e", "awx_meshops_render_file=%s" % out],
        cwd=str(ROOT), env=_env(tmp), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def _render(tmp, extra=None, env=None):
    out = tmp / ("render-%d.json" % len(list(tmp.glob("render-*.json"))))
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(AWX / "configure.yml"), "--tags", "render", "-e", "awx_meshops_render_file=%s" % out]
        + (["-e", json.dumps(extra)] if extra else []),
        cwd=str(ROOT), env=dict(_env(tmp), **(env or {})), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text()), out.read_text() + proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def configure_tasks():
    plays = yaml.safe_load((AWX / "configure.yml").read_text())
    return {next(k for k in t if "." in k): t for t in plays[0]["tasks"]}


def _argspec_options():
    """{variable: set(types)} over every entry point of every role."""
    options = {}
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        specs = yaml.safe_load(spec_file.read_text()) or {}
        for entry in (specs.get("argument_specs") or {}).values():
            for name, opt in (entry.get("options") or {}).items():
                options.setdefault(name, set()).add((opt or {}).get("type", "str"))
    return options


def _inventory_model():
    """{variable: type} from the inventory-model table of CONTRIBUTING.md."""
    model = {}
    for line in (ROOT / "CONTRIBUTING.md").read_text().splitlines():
        m = re.match(r"^\|\s*`([a-z_][a-z0-9_]*)`\s*\|([^|]*)\|(.*)\|\s*$", line)
        if m:
            meaning = m.group(3)
            model[m.group(1)] = "bool" if re.search(r"default `(true|false)`", meaning) else "str"
    return model


def _questions(rendered):
    for jt in rendered["job_templates"]:
        for q in jt["survey"]:
            yield jt, q


def test_kubeconfig_credential_type_injects_a_file(rendered):
    kube = rendered["credential_types"][0]
    assert kube["kind"] == "cloud"
    field = kube["inputs"]["fields"][0]
    assert field["id"] == "kubeconfig" and field["secret"] is True and field["multiline"] is True
    assert kube["injectors"]["file"] == {"template": "{{ kubeconfig }}"}
    assert kube["injectors"]["env"] == {"K8S_AUTH_KUBECONFIG": "{{ tower.filename }}"}
    # Nothing may inject the variables that send every cluster to one API server.
    for ctype in rendered["credential_types"]:
        for var in ctype["injectors"].get("env", {}):
            assert var not in {"K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT"}, ctype["name"]
    license_type = rendered["credential_types"][1]
    assert license_type["inputs"]["fields"][0]["secret"] is True
    assert license_type["injectors"]["env"] == {"GLOO_MESH_LICENSE_KEY": "{{ license_key }}"}
    # the PKI root of pki_store inventory: the key fields are secret, the values reach the jobs as extra variables
    pki_type = rendered["credential_types"][2]
    fields = dict((f["id"], f) for f in pki_type["inputs"]["fields"])
    assert fields["root_ca_key"]["secret"] is True and fields["new_root_ca_key"]["secret"] is True
    assert not fields["root_ca_cert"].get("secret")
    assert pki_type["injectors"]["extra_vars"] == {"pki_root_ca_cert": "{{ root_ca_cert }}", "pki_root_ca_key": "{{ root_ca_key }}",
                                                   "rotate_ca_new_root_cert": "{{ new_root_ca_cert | default('') }}",
                                                   "rotate_ca_new_root_key": "{{ new_root_ca_key | default('') }}"}
    assert rendered["inventory"]["variables"]["pki_store"] == "inventory"
    assert "pki_dir" not in rendered["inventory"]["variables"]


def test_inventory_follows_the_inventory_model(rendered):
    inv = rendered["inventory"]
    names = [h["name"] for h in inv["hosts"]]
    assert names and inv["groups"]["k8s_clusters"] == names
    for host in inv["hosts"]:
        assert re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", host["name"]), host["name"]
        assert host.get("kube_context"), host["name"]
    variables = inv["variables"]
    assert variables["ansible_connection"] == "local"
    assert variables["kubeconfig_path"] == "{{ lookup('ansible.builtin.env', 'K8S_AUTH_KUBECONFIG') }}"
    assert "GLOO_MESH_LICENSE_KEY" in variables["mesh_license_key"]
    documented = set(_inventory_model()) | set(_argspec_options()) | {"ansible_connection", "ansible_python_interpreter"}
    assert set(variables) <= documented | _prod_inventory_variables(), set(variables) - documented


def _prod_inventory_variables():
    data = yaml.safe_load((ROOT / "inventories" / "prod" / "group_vars" / "all" / "main.yml").read_text())
    return set(data)


def test_job_templates_allow_check_mode_limit_and_use_the_ee(rendered, configure_tasks):
    jt = configure_tasks["awx.awx.job_template"]
    assert jt["loop"] == "{{ awx_meshops_job_templates_final }}"
    args = jt["awx.awx.job_template"]
    assert args["ask_job_type_on_launch"] is True
    assert args["ask_limit_on_launch"] is True
    assert args["survey_enabled"] == "{{ item.survey | length > 0 }}"
    assert args["execution_environment"] == "{{ awx_meshops_ee }}"
    assert args["survey_spec"]["spec"] == "{{ item.survey }}"
    assert "{{ awx_meshops_kubeconfig_credential }}" in args["credentials"]
    # A template per entry point of awx/playbooks (one per collection playbook that exists).
    playbooks = {Path(t["playbook"]).stem for t in rendered["job_templates"]}
    entry_points = {"site", "preflight", "pki", "install", "mesh_check", "link", "teardown", "upgrade", "mesh_watch", "rotate_ca"}
    assert playbooks == {p.stem for p in (AWX / "playbooks").glob("*.yml")} & entry_points
    assert {"site", "preflight", "mesh_check", "upgrade", "mesh_watch", "rotate_ca"} <= playbooks
    for t in rendered["job_templates"]:
        assert t["job_type"] == ("check" if t["playbook"].endswith("teardown.yml") else "run")
    # Secrets are never logged by the configuration run.
    for module in ("awx.awx.credential",):
        assert configure_tasks[module].get("no_log") is True


def test_surveys_are_valid_awx_surveys(rendered):
    hosts = [h["name"] for h in rendered["inventory"]["hosts"]]
    for jt in rendered["job_templates"]:
        variables = [q["variable"] for q in jt["survey"]]
        assert len(variables) == len(set(variables)), jt["name"]
        # The target_clusters question is offered exactly where the template says its playbook honours it.
        assert (HOST_SELECTOR in variables) == jt["target_clusters"], jt["name"]
        for q in jt["survey"]:
            assert q["question_name"] and isinstance(q["required"], bool)
            assert q["type"] in SURVEY_TYPES, q
            assert re.match(r"^[a-z_][a-z0-9_]*$", q["variable"]), q
            if q["type"] in ("multiselect", "multiplechoice"):
                assert isinstance(q["choices"], list) and q["choices"], q
            if q["variable"] == HOST_SELECTOR:
                assert q["type"] == "multiselect" and q["choices"] == hosts and q["required"] is False
        for q in jt["survey"]:
            if q["type"] == "integer" and q.get("default") not in (None, ""):
                assert isinstance(q["default"], int), q
    site = next(t for t in rendered["job_templates"] if t["playbook"].endswith("site.yml"))
    license_q = next(q for q in site["survey"] if q["variable"] == "mesh_license_key")
    assert license_q["type"] == "password" and license_q["default"] == ""


def test_survey_variables_exist_with_compatible_types(rendered):
    argspecs = _argspec_options()
    model = _inventory_model()
    assert "mesh_license_key" in model, "CONTRIBUTING.md no longer documents mesh_license_key"
    problems = []
    for jt, q in _questions(rendered):
        var, answer_types = q["variable"], set(SURVEY_TYPES[q["type"]])
        if q["type"] == "multiplechoice" and set(q["choices"]) <= {"true", "false", "yes", "no"}:
            answer_types = {"boolstr"}
        if var == HOST_SELECTOR:
            assert answer_types == {"list"}
            continue
        accepted = set()
        for spec_type in argspecs.get(var, ()):
            accepted |= {t for t in answer_types if spec_type in COMPATIBLE[t]}
        if var in model:
            accepted |= {t for t in answer_types if model[var] in COMPATIBLE[t]}
        if not accepted:
            where = "argument specs %s" % sorted(argspecs[var]) if var in argspecs else (
                "CONTRIBUTING.md (%s)" % model[var] if var in model else "nowhere")
            problems.append("%s: %s (%s) is documented in %s" % (jt["name"], var, q["type"], where))
    assert not problems, "\n".join(problems)


def test_the_mesh_watch_runs_on_a_schedule_and_notifies_on_failure(rendered):
    """The watch's job template sends the notification template when a run fails (drift or issues); a schedule runs it."""
    watch = next(t for t in rendered["job_templates"] if t["playbook"] == "awx/playbooks/mesh_watch.yml")
    assert watch["job_type"] == "run" and watch["target_clusters"]
    notification = rendered["notification_template"]
    assert watch["notifications"] == {"error": [notification["name"]]}
    assert all(t["notifications"] == {} for t in rendered["job_templates"] if t is not watch)
    assert notification["notification_type"] == "webhook"
    assert set(notification["notification_configuration"]) == {"url", "http_method", "headers", "disable_ssl_verification"}
    assert notification["notification_configuration"]["url"].startswith("https://")
    # AWX evaluates the message templates, not the configuration run
    assert notification["messages"]["error"]["message"].startswith("{{ job_friendly_name }}")
    assert rendered["schedules"] == [{"name": "meshops - mesh watch, hourly", "unified_job_template": watch["name"], "enabled": True,
                                      "rrule": "DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=HOURLY;INTERVAL=1"}]
    assert re.match(r"^DTSTART(;TZID=[A-Za-z/_]+)?:\d{8}T\d{6}Z? RRULE:FREQ=(MINUTELY|HOURLY|DAILY|WEEKLY)(;[A-Z]+=[^; ]+)*$",
                    rendered["schedules"][0]["rrule"])
    # its history is kept where jobs find it again (persistent storage, like pki_dir)
    assert rendered["inventory"]["variables"]["mesh_watch_history_dir"].startswith("/")


def test_notification_options_email_or_none_and_the_password_never_written(tmp_path):
    password = "a-password-that-must-stay-in-awx"
    email, text = _render(tmp_path, {"awx_meshops_notification_type": "email", "awx_meshops_watch_notify_on": ["error", "success"]},
                          {"MESHOPS_NOTIFICATION_PASSWORD": password})
    assert password not in text
    notification = email["notification_template"]
    assert notification["notification_type"] == "email" and notification["notification_configuration"]["password"] == "(set)"
    assert {"host", "port", "sender", "recipients", "use_tls"} <= set(notification["notification_configuration"])
    watch = next(t for t in email["job_templates"] if t["playbook"] == "awx/playbooks/mesh_watch.yml")
    assert watch["notifications"] == {"error": [notification["name"]], "success": [notification["name"]]}
    none, _text = _render(tmp_path, {"awx_meshops_notification_type": ""})
    assert none["notification_template"] == {}
    assert all(t["notifications"] == {} for t in none["job_templates"])


def test_the_upgrade_survey(rendered):
    upgrade = next(t for t in rendered["job_templates"] if t["playbook"] == "awx/playbooks/upgrade.yml")
    questions = dict((q["variable"], q) for q in upgrade["survey"])
    variables = rendered["inventory"]["variables"]
    # the versions start at the inventory's: the operator changes the ones to upgrade
    for name in ("mesh_istio_version", "spire_chart_version", "spire_crds_chart_version", "gloo_operator_chart_version"):
        assert questions[name]["required"] and questions[name]["default"] == variables[name], name
    assert questions["upgrade_canary"]["choices"] == [h["name"] for h in rendered["inventory"]["hosts"]]
    assert not questions["upgrade_canary"]["required"]
    assert questions["upgrade_batch"]["type"] == "integer" and questions["upgrade_batch"]["min"] == 1
    assert questions["upgrade_rollback"]["choices"] == ["false", "true"] and questions["upgrade_rollback"]["default"] == "false"


def test_fleet_workflow_runs_pki_then_the_sliced_install_then_link_then_the_mesh_check(rendered):
    """The workflow job template: one node per job template, each followed on success by the next one; the install job
    template is sliced (AWX job slicing: K jobs on K execution nodes, each with its share of the clusters)."""
    templates = dict((t["name"], t) for t in rendered["job_templates"])
    workflow = rendered["workflow_job_templates"][0]
    nodes = workflow["workflow_nodes"]
    chain = [templates[node["unified_job_template"]["name"]]["playbook"] for node in nodes]
    assert chain == ["awx/playbooks/pki.yml", "awx/playbooks/install.yml", "awx/playbooks/link.yml", "awx/playbooks/mesh_check.yml"]
    for node, following in zip(nodes, nodes[1:] + [None]):
        assert node["unified_job_template"]["type"] == "job_template"
        assert node["related"]["success_nodes"] == ([{"identifier": following["identifier"]}] if following else [])
    install = templates[nodes[1]["unified_job_template"]["name"]]
    assert install["job_slice_count"] > 1
    assert all(t.get("job_slice_count", 1) == 1 for t in rendered["job_templates"] if t is not install)
    # the workflow's survey: the clusters (every node's plays honour target_clusters) and the license, as the templates ask
    assert [q["variable"] for q in workflow["survey"]] == ["target_clusters", "mesh_license_key"]
    assert all(templates[node["unified_job_template"]["name"]]["target_clusters"] for node in nodes)
    for question in workflow["survey"]:
        assert question["type"] in SURVEY_TYPES and isinstance(question["required"], bool)


def test_mesh_check_survey_choices_are_real_check_ids(rendered):
    sys.path.insert(0, str(ROOT / ".build" / "collections"))
    try:
        from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import registry  # pylint: disable=import-outside-toplevel
        from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import registry as preflight  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.pop(0)
    asked = set()
    for jt, q in _questions(rendered):
        if q["variable"] in ("mesh_check_checks", "mesh_check_skip_checks"):
            assert q["choices"] == list(registry.CHECK_IDS), jt["name"]
            asked.add("mesh_check")
        if q["variable"] in ("preflight_checks", "preflight_skip_checks"):
            assert q["choices"] == list(preflight.CHECK_IDS), jt["name"]
            asked.add("preflight")
    assert asked == {"mesh_check", "preflight"}


# --- host selection -------------------------------------------------------------------------------

CLUSTERS = ["cluster1", "cluster2", "cluster3"]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("awx-inv")
    (tmp / "hosts.yml").write_text(yaml.safe_dump({
        "k8s_clusters": {"hosts": {c: {"kube_context": c} for c in CLUSTERS}},
        "all": {"vars": {"ansible_connection": "local",
                         "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
    }))
    return tmp / "hosts.yml"


def _list_hosts(playbook, inventory, tmp, extra=None, limit=None):
    cmd = [str(BIN / "ansible-playbook"), str(playbook), "-i", str(inventory), "--list-hosts"]
    if extra is not None:
        cmd += ["-e", json.dumps(extra)]
    if limit:
        cmd += ["--limit", limit]
    proc = subprocess.run(cmd, cwd=str(ROOT), env=_env(tmp), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plays, current = [], None
    for line in proc.stdout.splitlines():
        m = re.match(r"^\s*play #\d+ \((.*)\): .*TAGS", line)
        if m:
            current = set()
            plays.append((m.group(1), current))
        elif current is not None and re.match(r"^\s{6}\S+$", line) and "pattern:" not in line:
            current.add(line.strip())
    return plays


@pytest.mark.parametrize("name", ["site", "preflight", "pki", "install", "mesh_check", "link", "teardown", "upgrade", "mesh_watch", "rotate_ca"])
def test_survey_selects_exactly_the_chosen_clusters(name, rendered, inventory, tmp_path):
    assert (ROOT / "playbooks" / ("%s.yml" % name)).exists(), "playbooks/%s.yml is gone: its job template has no entry point" % name
    jt = next((t for t in rendered["job_templates"] if Path(t["playbook"]).stem == name), None)
    assert jt, "playbooks/%s.yml exists: add awx/playbooks/%s.yml (the job template's entry point)" % (name, name)
    wrapper = ROOT / jt["playbook"]
    assert "meshops.ambient_spire.%s" % name in wrapper.read_text()

    def cluster_hosts(plays):
        return set().union(*[hosts for _pattern, hosts in plays]) - {"localhost"}

    everything = _list_hosts(wrapper, inventory, tmp_path)
    assert cluster_hosts(everything) == set(CLUSTERS)
    # The limit on launch (always offered) selects exactly the chosen clusters.
    for limit, expected in (("cluster1:cluster3", {"cluster1", "cluster3"}), ("cluster2", {"cluster2"})):
        assert cluster_hosts(_list_hosts(wrapper, inventory, tmp_path, None, limit)) == expected
    if not jt["target_clusters"]:
        return
    # The survey's extra_vars select exactly the chosen clusters, in every play.
    for chosen, limit, expected in (
        (["cluster1", "cluster3"], None, {"cluster1", "cluster3"}),
        (["cluster2"], None, {"cluster2"}),
        # The limit on launch narrows the survey's choice further.
        (["cluster1", "cluster3"], "cluster3", {"cluster3"}),
        # Nothing selected (AWX sends an empty answer) means every cluster.
        ([], None, set(CLUSTERS)),
        ("", None, set(CLUSTERS)),
    ):
        plays = _list_hosts(wrapper, inventory, tmp_path, {HOST_SELECTOR: chosen}, limit)
        assert len(plays) == len(everything)
        for pattern, hosts in plays:
            # Every play on clusters must follow the survey: hosts: "{{ target_clusters | default('k8s_clusters', true) }}"
            assert hosts - {"localhost"} <= expected, "play on %r ignores target_clusters (%s)" % (pattern, HOSTS_PATTERN)
        assert cluster_hosts(plays) == expected


# --- a job as AWX launches it, on emulated clusters -----------------------------------------------

@pytest.fixture(scope="module")
def clusters_emulator(emulator_factory):
    """One emulator with CLUSTERS for the jobs below (each reads, or refuses before writing)."""
    return emulator_factory(CLUSTERS)


@pytest.mark.slow
def test_mesh_check_job_runs_on_exactly_the_chosen_clusters(rendered, clusters_emulator, tmp_path):
    """awx/playbooks/mesh_check.yml with the survey's extra_vars (types as AWX sends them) and a limit."""
    emu = clusters_emulator
    jt = next(t for t in rendered["job_templates"] if Path(t["playbook"]).stem == "mesh_check")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({
        "k8s_clusters": {"hosts": {c: {"kube_context": c} for c in CLUSTERS}},
        "all": {"vars": {"ansible_connection": "local",
                         "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "kubeconfig_path": str(emu.kubeconfig),
                         "pki_dir": str(tmp_path / "pki")}},
    }))
    # What AWX puts in extra_vars for the survey's defaults: strings, lists and integers.
    survey = {q["variable"]: q["default"] for q in jt["survey"] if q["default"] != ""}
    survey.update({"mesh_check_skip_checks": ["license"], "mesh_check_reports_dir": str(tmp_path / "reports")})
    chosen = ["cluster1", "cluster3"]
    cmd = [str(BIN / "ansible-playbook"), str(ROOT / jt["playbook"]), "-i", str(tmp_path / "hosts.yml"),
           "-e", json.dumps(survey), "-e", json.dumps({"mesh_check_fail": False})]
    if jt["target_clusters"]:
        cmd += ["-e", json.dumps({HOST_SELECTOR: chosen})]
    else:
        cmd += ["--limit", ":".join(chosen)]
    env = emu.env(TMPDIR=str(tmp_path))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    proc = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = out[out.rindex("PLAY RECAP"):]
    ran = set(re.findall(r"^(cluster\d)\s+:", recap, re.M))
    assert ran == set(chosen), recap
    # The role's argument spec accepted the survey's values on every chosen cluster.
    assert re.search(r"Validating arguments against arg spec[^\n]*\n(ok: \[cluster\d\]\n){2}", out), out[-4000:]
    assert (tmp_path / "reports" / "mesh-check.json").exists()


@pytest.mark.slow
def test_preflight_job_runs_on_exactly_the_chosen_clusters(rendered, clusters_emulator, tmp_path):
    """awx/playbooks/preflight.yml with the survey's extra_vars (types as AWX sends them): only the chosen clusters are read,
    each is reported, nothing is written to any cluster."""
    emu = clusters_emulator
    jt = next(t for t in rendered["job_templates"] if Path(t["playbook"]).stem == "preflight")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({
        "k8s_clusters": {"hosts": {c: {"kube_context": c} for c in CLUSTERS}},
        "all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "kubeconfig_path": str(emu.kubeconfig), "pki_dir": str(tmp_path / "pki"),
                         "mesh_istio_version": "1.27.3-patch0", "mesh_license_key": "emu-license:GlooMesh:2099-12-31"}},
    }))
    survey = {q["variable"]: q["default"] for q in jt["survey"] if q["default"] != ""}
    survey.update({"preflight_skip_checks": ["ztunnel_nodes"], "preflight_reports_dir": str(tmp_path / "reports")})
    assert survey["preflight_license_min_days"] == 30 and survey["preflight_allow_unsupported_kubernetes"] == "false"
    chosen = ["cluster1", "cluster3"]
    writes = dict((c, emu.status(c)["writes"]) for c in CLUSTERS)
    env = emu.env(TMPDIR=str(tmp_path))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / jt["playbook"]), "-i", str(tmp_path / "hosts.yml"),
                           "-e", json.dumps(survey), "-e", json.dumps({HOST_SELECTOR: chosen})],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    recap = out[out.rindex("PLAY RECAP"):]
    assert set(re.findall(r"^(cluster\d)\s+:", recap, re.M)) == set(chosen), recap
    report = json.loads((tmp_path / "reports" / "preflight.json").read_text())
    assert report["summary"]["clusters"] == chosen and report["summary"]["passed"] is True
    assert "ztunnel_nodes" not in [c["id"] for c in report["summary"]["checks"]]
    assert dict((c, emu.status(c)["writes"]) for c in CLUSTERS) == writes


def test_teardown_refuses_to_delete_the_pki_for_a_subset_of_the_clusters(clusters_emulator, tmp_path):
    """teardown_pki=true on chosen clusters only: refused before anything is removed (the others still chain to that root)."""
    emu = clusters_emulator
    pki = tmp_path / "pki"
    pki.mkdir()
    (pki / "root-ca.crt").write_text("the shared root")
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({
        "k8s_clusters": {"hosts": {c: {"kube_context": c} for c in CLUSTERS}},
        "all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                         "kubeconfig_path": str(emu.kubeconfig), "pki_dir": str(pki)}},
    }))
    writes = dict((c, emu.status(c)["writes"]) for c in CLUSTERS)
    env = emu.env(TMPDIR=str(tmp_path))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / "awx" / "playbooks" / "teardown.yml"), "-i", str(tmp_path / "hosts.yml"),
                           "-e", json.dumps({"teardown_pki": True, HOST_SELECTOR: ["cluster1"]})],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    assert "teardown_pki=true deletes the shared root CA and every intermediate, but this run leaves cluster2, cluster3 out" in out, out[-4000:]
    assert (pki / "root-ca.crt").read_text() == "the shared root"
    assert dict((c, emu.status(c)["writes"]) for c in CLUSTERS) == writes
