"""The probe and the trust model's settings from the outside: `scripts/emulator up --set`, the settings admin route,
`scripts/emulator probe [reset]`, `status --json` under "probe"; the kubelet's delayed Secret volumes; pairs stop being
probed when they are unlinked."""

import json
import os
import subprocess
import sys

import pytest

from emulator.testing import ROOT
from trustenv import Ca, Mesh, wait_for

SETTINGS = "/_emulator/mesh/settings"


def _cli(handle, *args, check=True):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    return subprocess.run([sys.executable, "-m", "emulator", "--state-dir", handle.state_dir] + list(args), env=env, cwd=ROOT,
                          capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture(scope="module")
def slow_kubelet(emulator_factory):
    return Mesh(emulator_factory(["p1", "p2"], settings={"kubelet_sync": 12, "probe_interval": 0.1})).walk()


def test_settings_from_up_and_from_the_admin_route(slow_kubelet):
    handle = slow_kubelet.handle
    settings = handle.admin("p1", "GET", SETTINGS)
    assert settings["kubelet_sync"] == 12.0 and settings["probe_interval"] == 0.1 and settings["gateway_trust"] == "istiod"
    assert handle.admin("p2", "POST", SETTINGS, {"istiod_debounce": 0.2})["istiod_debounce"] == 0.2
    assert handle.admin("p1", "GET", SETTINGS)["istiod_debounce"] == 0.2          # one setting for the whole process
    assert handle.admin("p1", "POST", SETTINGS, {"istiod_debounce": None})["istiod_debounce"] == 0.1
    for body, message in (({"kubelet": 1}, "unknown mesh setting(s) kubelet"), ({"gateway_trust": "both"}, "must be one of istiod, spire"),
                          ({"kubelet_sync": -1}, "must be a number of seconds"), ({"probe": "yes"}, "must be true or false")):
        with pytest.raises(Exception) as info:
            handle.admin("p1", "POST", SETTINGS, body)
        assert "400" in str(info.value) and message in str(info.value)


def test_up_refuses_an_unknown_setting(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests"))
    proc = subprocess.run([sys.executable, "-m", "emulator", "--state-dir", str(tmp_path / "state"), "up", "--clusters", "x",
                           "--kubeconfig", str(tmp_path / "kubeconfig"), "--set", "kubelet_sink=1", "--timeout", "20"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "unknown mesh setting(s) kubelet_sink" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "emulator", "--state-dir", str(tmp_path / "state"), "up", "--set", "novalue"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--set takes KEY=VALUE" in proc.stderr


def test_a_secret_change_reaches_istiod_after_the_kubelet_sync(slow_kubelet):
    mesh = slow_kubelet
    new = Ca("Istio p1 A2", mesh.root_a, pathlen=0)
    before = mesh.istiod_issuer("p1")
    mesh.set_cacerts("p1", new, [mesh.root_a])
    secret = mesh.trust("p1")["secrets"]["istio-system/cacerts"]
    assert secret["synced"] is False and mesh.istiod_issuer("p1") == before
    wait_for(lambda: mesh.istiod_issuer("p1") == new.fingerprint, timeout=40, what="istiod loads the new CA after the kubelet sync")
    assert mesh.trust("p1")["secrets"]["istio-system/cacerts"]["synced"]


def test_probe_cli_status_json_and_reset(slow_kubelet):
    handle = slow_kubelet.handle
    slow_kubelet.wait_probe_rounds(3)
    doc = json.loads(_cli(handle, "status", "--json").stdout)
    assert set(doc) == {"p1", "p2", "probe"} and doc["p1"]["execs"] == 0
    probe = doc["probe"]
    assert set(probe["pairs"]) == {"p1->p2", "p2->p1"} and probe["interval"] == 0.1 and probe["failed"] == 0
    assert probe["pairs"]["p1->p2"]["ok"] > 0 and probe["tick_cost_ms"]["mean"] is not None
    out = _cli(handle, "probe").stdout
    assert out.startswith("probe: 2 pairs, ") and "p1->p2" in out
    reset = json.loads(_cli(handle, "probe", "reset", "--json").stdout)
    assert reset["ticks"] == 0 and all(p["ok"] == 0 and p["failed"] == 0 for p in reset["pairs"].values())
    assert "probe: 2 pairs" in _cli(handle, "status").stdout


def test_unlinked_pairs_are_no_longer_probed(slow_kubelet):
    mesh = slow_kubelet
    mesh.handle.kubectl("-n", "istio-eastwest", "delete", "gateway", "istio-remote-peer-p2", context="p1")
    wait_for(lambda: not mesh.probe()["pairs"]["p1->p2"]["linked"], what="p1->p2 unlinked")
    count = mesh.probe()["pairs"]["p1->p2"]["ok"]
    mesh.wait_probe_rounds(3)
    pairs = mesh.probe()["pairs"]
    assert pairs["p1->p2"]["ok"] == count and pairs["p2->p1"]["linked"] and pairs["p2->p1"]["failed"] == 0


def test_every_setting_is_documented_with_its_default():
    from emulator.mesh.trust import SETTINGS  # pylint: disable=import-outside-toplevel
    with open(os.path.join(ROOT, "tests", "emulator", "mesh", "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    for name, (default, _kind, _meaning) in SETTINGS.items():
        shown = {True: "true", False: "false", None: "null"}.get(default, default)
        if isinstance(shown, float):
            shown = ("%g" % shown)
        assert "| `%s` | %s |" % (name, shown) in readme, name
