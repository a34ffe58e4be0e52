"""Emulated licenses: the token format decoded by the simulated istiod, and /debug/license through the API pod proxy."""

import base64
import os

import pytest

import meshenv
from emulator.mesh import licensing
from meshenv import wait_for


@pytest.mark.parametrize("key,state,product,multicluster", [
    ("emu-license:GlooMesh:2099-12-31", "OK", "GlooMesh", True),
    ("emu-license:GlooCore:2099-12-31", "OK", "GlooCore", False),
    ("emu-license:IstioSupportBasic:2099-12-31", "OK", "IstioSupportBasic", False),
    ("emu-license:GlooMesh:2020-01-01", "OK", "GlooMesh", True),          # expired non-trial: endless grace period
    ("emu-license:GlooMesh:2020-01-01:trial", "EXPIRED", "GlooMesh", False),
    ("emu-license:GlooMesh:2099-12-31:trial", "OK", "GlooMesh", True),
    ("eyJhbGciOiJIUzI1NiJ9.garbage", "INVALID", "", False),
    ("emu-license:GlooMesh:31-12-2099", "INVALID", "", False),
    ("", "UNSET", "", False),
])
def test_decode(key, state, product, multicluster):
    info = licensing.decode(key)
    assert info == {"State": state, "Product": product}
    assert licensing.allows_multicluster(info) is multicluster


@pytest.fixture(scope="module")
def solo_mesh(single):
    handle, _tpki = single
    meshenv.install_gloo(handle, "solo", "solo", "solo", "solo", spire=False)
    return handle, meshenv.Reader(handle, "solo")


def _set_operator_env(handle, **env):
    args = ["upgrade", "gloo-operator", os.path.join(meshenv.CHARTS, "gloo-operator"), "-n", "gloo-mesh"]
    for key in ("SOLO_ISTIO_LICENSE_KEY", "SOLO_ISTIO_LICENSE_KEY_SECRET_REF"):
        args += ["--set-string", "manager.env.%s=%s" % (key, env.get(key, ""))]
    handle.helm(*args, context="solo")


def _answer(read, expected):
    def ready_answer():
        pods = [p for p in read.pods("istio-system", "app=istiod") if all(c.status == "True" for c in p.status.conditions if c.type == "Ready")]
        answer = read.license(pods[0].metadata.name) if pods else None
        return answer if answer and answer[0] == 200 and answer[1].replace(" ", "") == expected else None
    return wait_for(ready_answer, what=expected)


def test_license_endpoint_states(solo_mesh):
    handle, read = solo_mesh
    _answer(read, '{"State":"OK","Product":"GlooMesh"}')
    _set_operator_env(handle, SOLO_ISTIO_LICENSE_KEY="not-a-license")
    _answer(read, '{"State":"INVALID","Product":""}')
    _set_operator_env(handle, SOLO_ISTIO_LICENSE_KEY="emu-license:GlooMesh:2021-06-30:trial")
    _answer(read, '{"State":"EXPIRED","Product":"GlooMesh"}')
    _set_operator_env(handle)
    _answer(read, '{"State":"UNSET","Product":""}')
    # the license in a Secret: manager.env.SOLO_ISTIO_LICENSE_KEY_SECRET_REF=<ns>/<name> -> istiod SOLO_LICENSE_SECRET
    handle.kubectl("-n", "gloo-mesh", "create", "secret", "generic", "license-keys",
                   "--from-literal=gloo-mesh-license-key=emu-license:IstioSupportBasic:2099-12-31", context="solo")
    _set_operator_env(handle, SOLO_ISTIO_LICENSE_KEY_SECRET_REF="gloo-mesh/license-keys")
    _answer(read, '{"State":"OK","Product":"IstioSupportBasic"}')
    env = read.istiod_env()
    assert env["SOLO_LICENSE_SECRET"] == "gloo-mesh/license-keys" and "SOLO_LICENSE_KEY" not in env
    secret = read.core.read_namespaced_secret("license-keys", "gloo-mesh")
    assert base64.b64decode(secret.data["gloo-mesh-license-key"]).startswith(b"emu-license:")
    _set_operator_env(handle, SOLO_ISTIO_LICENSE_KEY=meshenv.LICENSE)
    _answer(read, '{"State":"OK","Product":"GlooMesh"}')


def _rolled_back(read):
    pods = read.pods("istio-system", "app=istiod") + read.pods("istio-system", "app=ztunnel")
    return pods and all(p.spec.containers[0].image.endswith("1.27.3-patch0-solo") and p.metadata.deletion_timestamp is None for p in pods)


def test_license_endpoint_missing_before_1_27(solo_mesh):
    handle, read = solo_mesh
    smc = {"spec": {"version": "1.25.5-patch1"}}
    read.custom.patch_cluster_custom_object("operator.gloo.solo.io", "v1", "servicemeshcontrollers", "managed-istio", smc)
    try:
        def not_found():
            pods = [p for p in read.pods("istio-system", "app=istiod") if p.spec.containers[0].image.endswith("1.25.5-patch1-solo")]
            return pods and read.license(pods[0].metadata.name)[0] == 404
        wait_for(not_found, what="404 on Istio 1.25")
    finally:
        read.custom.patch_cluster_custom_object("operator.gloo.solo.io", "v1", "servicemeshcontrollers", "managed-istio",
                                                {"spec": {"version": "1.27.3-patch0"}})
    # the next tests address pods by name: none of them may still be replaced
    wait_for(lambda: _rolled_back(read), what="istiod and ztunnel back on 1.27.3-patch0")
    del handle


def test_other_pods_and_ports_are_not_answered(solo_mesh):
    _handle, read = solo_mesh
    pod = read.pods("istio-system", "app=ztunnel")[0].metadata.name
    method, url, headers, _b, _p = read.api.param_serialize(
        "GET", "/api/v1/namespaces/istio-system/pods/%s:15014/proxy/debug/license" % pod, auth_settings=["BearerToken"])
    assert read.api.call_api(method, url, header_params=headers).status == 503
