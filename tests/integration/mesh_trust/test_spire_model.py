"""SPIRE's X.509 CA model in process (no server): minting re-reads the upstream files and keeps the cached CA when they
do not load (fact 10), the bundle only gains roots and loses them only by pruning (facts 11, 12), the rotator's
thresholds, and the CLI's output shapes (SPIRE 1.11.2's pretty and JSON printers)."""

import json
import re
import time

from emulator.mesh import pki
from emulator.mesh.spire_ca import Cli, SpireServer, go_duration

PATHS = {"cert": "/run/spire/upstream_ca/tls.crt", "key": "/run/spire/upstream_ca/tls.key", "bundle": "/run/spire/upstream_ca/bundle.crt"}


def _files(ca, key, roots):
    return pki.pem(ca).encode(), pki.key_pem(key).encode(), "".join(pki.pem(r) for r in roots).encode()


def _server(**kw):
    return SpireServer("spire-server", "cluster1", dict(PATHS), kw.get("ca_ttl", 86400.0), 3600.0, False)


def test_go_durations():
    assert go_duration("24h", 1) == 86400 and go_duration("1h30m", 1) == 5400 and go_duration("90s", 1) == 90
    assert go_duration("", 7) == 7 and go_duration("soon", 7) == 7


def test_mint_reloads_upstream_and_keeps_the_cached_ca_when_it_does_not_load():
    root_a, key_a = pki.make_ca("Root A", pathlen=2)
    up1, up1_key = pki.make_ca("upstream 1", root_a, key_a)
    up2, up2_key = pki.make_ca("upstream 2", root_a, key_a)
    server, now = _server(), time.time()
    server.start(_files(up1, up1_key, [root_a]), now, "uid-1")
    assert server.current.upstream_authority_id == pki.subject_key_id(up1)
    assert pki.verify(server.current.chain[0], server.current.chain[1:], server.roots())
    # a key that does not match: the mint still succeeds, with the cached upstream CA
    slot = server.prepare(_files(up2, up1_key, [root_a]), now)
    assert slot.upstream_authority_id == pki.subject_key_id(up1)
    assert "certificate and private key do not match" in server.last_mint["reload_error"]
    # a good new upstream CA is used at the next mint
    slot = server.prepare(_files(up2, up2_key, [root_a]), now)
    assert slot.upstream_authority_id == pki.subject_key_id(up2) and server.last_mint["reload_error"] is None


def test_bundle_gains_roots_at_mint_only_and_loses_them_only_by_pruning():
    root_a, key_a = pki.make_ca("Root A", pathlen=2, seconds=2, backdate=0)
    root_b, key_b = pki.make_ca("Root B", pathlen=2)
    up_a, up_a_key = pki.make_ca("upstream A", root_a, key_a)
    up_b, up_b_key = pki.make_ca("upstream B", root_b, key_b)
    server, now = _server(), time.time()
    server.start(_files(up_a, up_a_key, [root_a]), now, "uid-1")
    assert server.roots() == [root_a]
    server.prepare(_files(up_a, up_a_key, [root_a, root_b]), now)       # new root in bundle.crt: added at the mint
    assert server.roots() == [root_a, root_b]
    server.prepare(_files(up_b, up_b_key, [root_b]), now)              # bundle.crt = B only: A stays
    assert server.roots() == [root_a, root_b]
    assert not server.prune(now, 0) and server.roots() == [root_a, root_b]   # A not expired yet
    assert server.prune(root_a.not_valid_after_utc.timestamp() + 1, 0)
    assert server.roots() == [root_b]


def test_rotator_prepares_then_activates_at_the_thresholds():
    root, root_key = pki.make_ca("Root", pathlen=2)
    up, up_key = pki.make_ca("upstream", root, root_key)
    files = _files(up, up_key, [root])
    server, now = _server(ca_ttl=600.0), time.time()
    server.start(files, now, "uid-1")
    first = server.current
    assert abs(first.prepare_at() - (first.not_after - 300)) < 2 and abs(first.activate_at() - (first.not_after - 100)) < 2
    assert not server.rotation_check(files, now + 100)
    assert server.rotation_check(files, first.prepare_at() + 1) and server.next.status == "PREPARED"
    assert server.rotation_check(files, first.activate_at() + 1)
    assert server.current is not first and server.current.status == "ACTIVE" and server.next is first and first.status == "OLD"


def test_ca_lifetime_is_capped_by_the_upstream_certificate():
    root, root_key = pki.make_ca("Root", pathlen=2)
    up, up_key = pki.make_ca("short upstream", root, root_key, seconds=120)
    server, now = _server(ca_ttl=86400.0), time.time()
    server.start(_files(up, up_key, [root]), now, "uid-1")
    assert server.current.not_after <= up.not_valid_after_utc.timestamp()


def test_cli_output_shapes():
    root, root_key = pki.make_ca("Root", pathlen=2)
    up, up_key = pki.make_ca("upstream", root, root_key)
    files = _files(up, up_key, [root])
    server, now = _server(), time.time()
    server.start(files, now, "uid-1")

    def run(*args):
        return Cli(server, files, now).run(["spire-server"] + list(args))
    rc, out, err = run("localauthority", "x509", "show")
    assert rc == 0 and err == ""
    assert re.fullmatch(r"Active X\.509 authority:\n  Authority ID: [0-9a-f]{40}\n  Expires at: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\n"
                        r"  Upstream authority Subject Key ID: [0-9a-f]{40}\n\nPrepared X\.509 authority:\n  No prepared X\.509 authority found\n\n"
                        r"Old X\.509 authority:\n  No old X\.509 authority found\n", out), out
    rc, out, err = run("localauthority", "x509", "prepare", "-output", "json")
    prepared = json.loads(out)["prepared_authority"]
    assert rc == 0 and set(prepared) == {"authority_id", "expires_at", "upstream_authority_subject_key_id"}
    assert isinstance(prepared["expires_at"], str) and prepared["upstream_authority_subject_key_id"] == pki.subject_key_id(up)
    rc, out, err = run("localauthority", "x509", "activate", "-authorityID=" + prepared["authority_id"])
    assert rc == 0 and out.startswith("Activated X.509 authority:\n  Authority ID: %s\n" % prepared["authority_id"])
    rc, out, _err = run("localauthority", "x509", "show", "-output", "json")
    assert set(json.loads(out)) == {"active", "old"} and json.loads(out)["active"]["authority_id"] == prepared["authority_id"]
    assert run("localauthority", "x509", "activate", "-authorityID", "nope") == (
        1, "", "Error: could not activate X.509 authority: rpc error: code = InvalidArgument desc = unexpected authority ID\n")
    assert run("localauthority", "x509", "activate") == (1, "", "Error: an authority ID is required\n")
    assert run("localauthority", "x509", "taint", "-authorityID", "x")[2] == (
        "Error: could not taint X.509 authority: rpc error: code = FailedPrecondition desc = local authority can't be tainted if there "
        "is an upstream authority\n")
    # fact 12: the old CA's issuer is the per-cluster intermediate, no root of the bundle: the upstream taint is refused
    rc, _out, err = run("upstreamauthority", "taint", "-subjectKeyID", pki.subject_key_id(up))
    assert rc == 1 and "unable to use upstream authority singing current authority" in err
    up2, up2_key = pki.make_ca("upstream 2", root, root_key)
    files = _files(up2, up2_key, [root])
    run("localauthority", "x509", "activate", "-authorityID", json.loads(run("localauthority", "x509", "prepare", "-output", "json")[1])[
        "prepared_authority"]["authority_id"])
    assert run("upstreamauthority", "taint", "-subjectKeyID", pki.subject_key_id(up)) == (
        1, "", "Error: could not taint X.509 upstream authority: rpc error: code = Internal desc = failed to taint upstream authority: "
               "no ca found with provided subject key ID\n")
    assert run("bundle", "show") == (0, pki.pem(root), "")
    assert run("healthcheck") == (0, "Server is healthy.\n", "")
    assert run("no-such-command")[0] == 127 and run("localauthority", "x509", "show", "-bogus")[2] == "flag provided but not defined: -bogus\n"
    assert run("entry", "show")[0] == 1 and "not simulated by the emulator" in run("entry", "show")[2]
    assert run("localauthority", "x509", "show", "-socketPath", "/tmp/other.sock")[0] == 1
