"""SPIRE server's X.509 CA as SPIRE 1.11 runs it with the disk UpstreamAuthority (rotation facts 10-12): two slots (the
active CA and the next one, prepared or old), minting that re-reads the upstream files from the Secret volume as the
kubelet currently shows it (keeping the cached upstream CA when they do not load), a bundle that only ever gains the
upstream roots (at each mint) and loses roots only when they have been expired for the prune grace, the rotator's
prepare/activate thresholds, and the `spire-server` CLI commands a role runs through pods/exec.

Only certificates are made (no SVID leaves): a workload's chain is the active X.509 CA plus the upstream chain."""

import base64
import datetime
import json
import posixpath
import re

from emulator.mesh import pki

DEFAULT_SOCKET = "/tmp/spire-server/private/api.sock"
VERSION = "1.11.2"
THIRTY_DAYS, SEVEN_DAYS = 30 * 86400, 7 * 86400
_DURATION = re.compile("(\\d+(?:\\.\\d+)?)(ns|us|\u00b5s|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
TOP_COMMANDS = ("agent", "bundle", "entry", "federation", "healthcheck", "jwt", "localauthority", "logger", "run", "token",
                "upstreamauthority", "validate", "x509")
# mitchellh/cli's help for an unknown command (the command list of spire-server 1.11; synopses left out)
USAGE = "Usage: spire-server [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n" + "".join(
    "    %s\n" % name for name in TOP_COMMANDS)


def go_duration(text, default):
    """Seconds of a Go duration ("24h", "1h30m", "90s"); default when absent or unparsable."""
    text = str(text or "").strip()
    if not text:
        return default
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return default
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _epoch(cert):
    return cert.not_valid_after_utc.timestamp()


def _utc(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else None


def cert_info(cert):
    """What status pages show of a certificate."""
    return {"subject": pki.common_name(cert), "sha256": pki.fingerprint(cert), "subject_key_id": pki.subject_key_id(cert),
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}


def validate_upstream(cert_bytes, key_bytes, bundle_bytes):
    """(error, upstream) of the disk plugin's files: upstream = {"cert", "key", "chain", "roots"}; bundle_bytes None when no
    bundle_file_path is configured (then tls.crt must be one self-signed... or any single certificate, its own root)."""
    prefix = 'failed to configure plugin "disk": rpc error: code = InvalidArgument desc = '
    key = pki.load_key(key_bytes)
    if key is None:
        return prefix + "unable to load upstream CA key: no PEM private key found", None
    certs = pki.load_certs(cert_bytes)
    if not certs:
        return prefix + "unable to load upstream CA cert: no PEM blocks", None
    if bundle_bytes is None:
        if len(certs) > 1:
            return prefix + "with no bundle_file_path configured only self-signed CAs are supported", None
        roots = certs
    else:
        roots = pki.load_certs(bundle_bytes)
        if not roots:
            return prefix + "unable to load upstream CA bundle: no PEM blocks", None
    if not pki.key_matches(certs[0], key):
        return prefix + "unable to load upstream CA: certificate and private key do not match", None
    if not pki.verify(certs[0], certs, roots):
        return prefix + "unable to load upstream CA: certificate cannot be validated with the provided bundle or is not self signed", None
    return None, {"cert": certs[0], "key": key, "chain": certs, "roots": roots}


class Slot:
    """One X.509 CA of SPIRE's journal."""

    def __init__(self, cert, key, upstream_chain, issued, status):
        self.cert, self.key, self.upstream_chain = cert, key, list(upstream_chain)
        self.issued, self.status = issued, status
        self.authority_id = pki.subject_key_id(cert)
        self.upstream_authority_id = pki.authority_key_id(cert) if upstream_chain else ""
        self.not_after = _epoch(cert)

    @property
    def chain(self):
        """The chain a workload presents above its leaf: this CA, then the upstream certificates of tls.crt."""
        return [self.cert] + [c for c in self.upstream_chain if c != self.cert]

    def prepare_at(self):
        """notAfter - min(lifetime/2, 30 d) (slot.go preparationThreshold)."""
        return self.not_after - min((self.not_after - self.issued) / 2, THIRTY_DAYS)

    def activate_at(self):
        """notAfter - min(lifetime/6, 7 d) (slot.go keyActivationThreshold)."""
        return self.not_after - min((self.not_after - self.issued) / 6, SEVEN_DAYS)

    def state(self):
        """localauthorityv1.AuthorityState."""
        return {"authority_id": self.authority_id, "expires_at": str(int(self.not_after)),
                "upstream_authority_subject_key_id": self.upstream_authority_id}

    def info(self):
        """Status page view."""
        return dict(cert_info(self.cert), authority_id=self.authority_id, status=self.status, issued=_iso(self.issued),
                    upstream_authority_id=self.upstream_authority_id, chain=[cert_info(c) for c in self.chain[1:]])


class SpireServer:
    """The CA side of one SPIRE server deployment (a namespace of one cluster; its replicas share the datastore)."""

    def __init__(self, namespace, trust_domain, conf_paths, ca_ttl, svid_ttl, persistent):
        self.namespace, self.trust_domain = namespace, trust_domain
        self.paths = conf_paths            # {"cert", "key", "bundle"} file paths, or None without UpstreamAuthority disk
        self.ca_ttl, self.svid_ttl, self.persistent = ca_ttl, svid_ttl, persistent
        self.pod_uid = None
        self.serving = False
        self.upstream = None               # the cached upstream CA (disk plugin), kept when a reload fails
        self.current = None
        self.next = None
        self.bundle = []                   # [cert, added_epoch, tainted]
        self.last_mint = None
        self.last_rotation_check = 0.0
        self.last_prune = 0.0
        self.revision = 0                  # bumps when the bundle or the active CA changes (publish, refetch)
        self.events = []

    # ---- minting ------------------------------------------------------------------------------------------------
    def _log(self, now, message):
        self.events = (self.events + [{"time": _iso(now), "message": message}])[-12:]

    def _reload(self, files, now):
        """Re-read the upstream files (fact 10): keep the cached CA when they do not load."""
        if self.paths is None:
            return None
        cert, key, bundle = files
        error, upstream = validate_upstream(cert, key, bundle)
        if error:
            self._log(now, "upstream CA reload failed, keeping the cached one: " + error)
            return error
        self.upstream = upstream
        return None

    def mint(self, files, now):
        """A new X.509 CA (a Slot), signed by the upstream CA (or self-signed); its upstream roots join the bundle."""
        error = self._reload(files, now)
        if self.paths is not None and self.upstream is None:
            self.last_mint = {"time": _iso(now), "error": error or "no upstream CA"}
            raise MintError(error or "no upstream CA")
        if self.upstream is not None:
            up = self.upstream
            seconds = max(1.0, min(self.ca_ttl, _epoch(up["cert"]) - now))
            cert, key = pki.make_ca("SPIRE X.509 CA %s" % self.trust_domain, up["cert"], up["key"], pathlen=None, seconds=seconds, organization="SPIFFE",
                                    uri="spiffe://%s" % self.trust_domain, backdate=10)
            slot = Slot(cert, key, up["chain"], now, "PREPARED")
            roots = up["roots"]
        else:
            cert, key = pki.make_ca("SPIRE X.509 CA %s" % self.trust_domain, pathlen=None, seconds=self.ca_ttl, organization="SPIFFE",
                                    uri="spiffe://%s" % self.trust_domain, backdate=10)
            slot = Slot(cert, key, [], now, "PREPARED")
            roots = [cert]
        added = self._add_roots(roots, now)
        self.last_mint = {"time": _iso(now), "authority_id": slot.authority_id, "roots_added": added,
                          "reload_error": error}
        self._log(now, "X509 CA prepared %s (upstream %s)%s" % (
            slot.authority_id, slot.upstream_authority_id or "none", ", bundle gained %d root(s)" % len(added) if added else ""))
        return slot

    def _add_roots(self, roots, now):
        """SyncX509Roots: append what is not there yet, never remove (fact 11)."""
        known = {pki.fingerprint(c) for c, _t, _x in self.bundle}
        added = []
        for root in roots:
            if pki.fingerprint(root) not in known:
                self.bundle.append([root, now, False])
                known.add(pki.fingerprint(root))
                added.append(pki.fingerprint(root))
        if added:
            self.revision += 1
        return added

    def start(self, files, now, pod_uid):
        """A server pod starts: a fresh datastore (emptyDir) mints and activates at once; a persistent one keeps its journal."""
        if self.pod_uid is not None and self.persistent and self.current is not None:
            self.pod_uid = pod_uid
            self.serving = True
            return
        self.pod_uid = pod_uid
        self.current, self.next, self.bundle, self.upstream = None, None, [], None
        self.serving = True
        self.activate_new(files, now)

    def activate_new(self, files, now):
        """No current CA: prepare and activate one (manager start, rotator)."""
        slot = self.mint(files, now)
        slot.status = "ACTIVE"
        self.current = slot
        self.revision += 1
        self.last_rotation_check = now

    def prepare(self, files, now):
        """PrepareX509CA: a new CA in the next slot (replacing a prepared one)."""
        self.next = self.mint(files, now)
        return self.next

    def activate(self, authority_id, now):
        """ActivateX509Authority: (state, None) or (None, error message) as the API answers."""
        if not authority_id:
            return None, "rpc error: code = InvalidArgument desc = no authority ID provided"
        if self.next is None or authority_id != self.next.authority_id:
            return None, "rpc error: code = InvalidArgument desc = unexpected authority ID"
        if self.next.status != "PREPARED":
            return None, "rpc error: code = Internal desc = only Prepared authorities can be activated: unsupported local authority status: OLD"
        self._rotate(now)
        return self.current, None

    def _rotate(self, now):
        old = self.current
        self.current, self.next = self.next, old
        self.current.status = "ACTIVE"
        if old is not None:
            old.status = "OLD"
        self.revision += 1
        self._log(now, "X509 CA activated %s" % self.current.authority_id)

    def rotation_check(self, files, now):
        """The rotator (every rotation_check seconds): prepare at the preparation threshold, activate at the activation one."""
        changed = False
        if self.current is None:
            self.activate_new(files, now)
            return True
        if (self.next is None or self.next.status == "OLD") and now >= self.current.prepare_at():
            try:
                self.prepare(files, now)
                changed = True
            except MintError:
                pass
        if self.next is not None and self.next.status == "PREPARED" and now >= self.current.activate_at():
            self._rotate(now)
            changed = True
        return changed

    def prune(self, now, grace):
        """Drop roots expired for longer than grace (fact 12: the only way a root leaves the bundle)."""
        keep = [b for b in self.bundle if _epoch(b[0]) + grace > now]
        if len(keep) != len(self.bundle):
            self._log(now, "pruned %d expired root(s)" % (len(self.bundle) - len(keep)))
            self.bundle = keep
            self.revision += 1
            return True
        return False

    # ---- views --------------------------------------------------------------------------------------------------
    def roots(self):
        """The X.509 authorities of the bundle."""
        return [c for c, _t, _x in self.bundle]

    def bundle_pem(self):
        """The bundle as the k8sbundle notifier and `bundle show` print it."""
        return "".join(pki.pem(c) for c in self.roots())

    def svid(self, now):
        """(chain, expires epoch) of an X509-SVID issued now (no leaf: the chain above it), or None while not serving."""
        if not self.serving or self.current is None:
            return None
        return self.current.chain, min(now + self.svid_ttl, self.current.not_after)

    def info(self):
        """Status page view."""
        slot = self.next
        return {"namespace": self.namespace, "trust_domain": self.trust_domain, "serving": self.serving, "persistent": self.persistent,
                "ca_ttl": self.ca_ttl, "svid_ttl": self.svid_ttl,
                "upstream": None if self.upstream is None else dict(
                    cert_info(self.upstream["cert"]), roots=[cert_info(c) for c in self.upstream["roots"]]),
                "active": self.current.info() if self.current else None,
                "prepared": slot.info() if slot is not None and slot.status == "PREPARED" else None,
                "old": slot.info() if slot is not None and slot.status == "OLD" else None,
                "bundle": [dict(cert_info(c), added=_iso(t), tainted=x) for c, t, x in self.bundle],
                "last_mint": self.last_mint, "events": self.events}

    # ---- the CLI ------------------------------------------------------------------------------------------------
    def cli(self, argv, files, now):
        """(exit code, stdout, stderr) of `spire-server ARGS` run in the spire-server container."""
        return Cli(self, files, now).run(argv)


class MintError(Exception):
    """The upstream CA could not sign a new X.509 CA."""


class Cli:  # pylint: disable=too-few-public-methods
    """The spire-server command line (SPIRE 1.11.2 output shapes: pretty by default, -output json as protojson)."""

    COMMANDS = ("localauthority x509 show", "localauthority x509 prepare", "localauthority x509 activate", "localauthority x509 taint",
                "localauthority x509 revoke", "upstreamauthority taint", "upstreamauthority revoke", "bundle show", "healthcheck")
    FLAGS = {"socketPath": DEFAULT_SOCKET, "output": "pretty", "authorityID": "", "subjectKeyID": "", "format": "pem",
             "shallow": "false", "verbose": "false"}

    def __init__(self, server, files, now):
        self.server, self.files, self.now = server, files, now

    def run(self, argv):
        """Dispatch like mitchellh/cli (unknown command: usage and 127) and Go's flag package."""
        args = list(argv[1:])
        if not args or args[0] in ("-h", "--help", "-help"):
            return 127 if not args else 0, "", USAGE
        if args[0] in ("-v", "--version", "-version", "version"):
            return 0, "", VERSION + "\n"
        name = next((c for c in self.COMMANDS if args[:len(c.split())] == c.split()), None)
        if name is None and args[0] in TOP_COMMANDS:
            return 1, "", "Error: spire-server %s is not simulated by the emulator (simulated: %s)\n" % (" ".join(args), ", ".join(self.COMMANDS))
        if name is None:
            return 127, "", USAGE
        flags, error = self._flags(args[len(name.split()):])
        if error:
            return 1, "", error
        if flags["socketPath"] != DEFAULT_SOCKET:
            return 1, "", ('Error: %s: connection error: desc = "transport: error while dialing: dial unix %s: connect: no such file or '
                           'directory"\n' % (self._what(name), flags["socketPath"]))
        if flags["output"] not in ("pretty", "json"):
            return 1, "", 'invalid value "%s" for flag -output: the output format "%s" is not supported\n' % (flags["output"], flags["output"])
        return getattr(self, "_" + name.replace(" ", "_"))(flags)

    def _flags(self, rest):
        flags = dict(self.FLAGS)
        i = 0
        while i < len(rest):
            arg = rest[i]
            if not arg.startswith("-") or arg in ("-", "--"):
                break
            key, sep, value = arg.lstrip("-").partition("=")
            if key not in flags:
                return flags, "flag provided but not defined: -%s\n" % key
            if not sep:
                if key in ("shallow", "verbose"):
                    value = "true"
                elif i + 1 >= len(rest):
                    return flags, "flag needs an argument: -%s\n" % key
                else:
                    i += 1
                    value = rest[i]
            flags[key] = value
            i += 1
        return flags, None

    @staticmethod
    def _what(name):
        return {"localauthority x509 show": "could not get X.509 authorities", "localauthority x509 prepare": "could not prepare X.509 authority",
                "localauthority x509 activate": "could not activate X.509 authority", "localauthority x509 taint": "could not taint X.509 authority",
                "localauthority x509 revoke": "could not revoke X.509 authority", "upstreamauthority taint": "could not taint X.509 upstream authority",
                "upstreamauthority revoke": "could not revoke X.509 upstream authority", "bundle show": "could not get bundle",
                "healthcheck": "server is unhealthy"}[name]

    @staticmethod
    def _pretty_state(title, slot):
        lines = [title, "  Authority ID: %s" % slot.authority_id, "  Expires at: %s" % _utc(slot.not_after)]
        if slot.upstream_authority_id:
            lines.append("  Upstream authority Subject Key ID: %s" % slot.upstream_authority_id)
        else:
            lines.append("  Upstream authority ID: No upstream authority")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _json(doc):
        return 0, json.dumps(doc, separators=(",", ":")) + "\n", ""

    def _error(self, name, message):
        return 1, "", "Error: %s: %s\n" % (self._what(name), message)

    def _localauthority_x509_show(self, flags):
        server = self.server
        if server.current is None:
            return self._error("localauthority x509 show", "rpc error: code = Unavailable desc = server is initializing")
        nxt = server.next
        prepared = nxt if nxt is not None and nxt.status == "PREPARED" else None
        old = nxt if nxt is not None and nxt.status == "OLD" else None
        if flags["output"] == "json":
            doc = {"active": server.current.state()}
            if prepared:
                doc["prepared"] = prepared.state()
            if old:
                doc["old"] = old.state()
            return self._json(doc)
        out = self._pretty_state("Active X.509 authority:", server.current) + "\n"
        out += self._pretty_state("Prepared X.509 authority:", prepared) if prepared else "Prepared X.509 authority:\n  No prepared X.509 authority found\n"
        out += "\n"
        out += self._pretty_state("Old X.509 authority:", old) if old else "Old X.509 authority:\n  No old X.509 authority found\n"
        return 0, out, ""

    def _localauthority_x509_prepare(self, flags):
        if self.server.current is None:
            return self._error("localauthority x509 prepare", "rpc error: code = Unavailable desc = server is initializing")
        try:
            slot = self.server.prepare(self.files, self.now)
        except MintError as exc:
            return self._error("localauthority x509 prepare", "rpc error: code = Internal desc = failed to prepare X.509 authority: %s" % exc)
        if flags["output"] == "json":
            return self._json({"prepared_authority": slot.state()})
        return 0, self._pretty_state("Prepared X.509 authority:", slot), ""

    def _localauthority_x509_activate(self, flags):
        if not flags["authorityID"]:
            return 1, "", "Error: an authority ID is required\n"
        slot, error = self.server.activate(flags["authorityID"], self.now)
        if error:
            return self._error("localauthority x509 activate", error)
        if flags["output"] == "json":
            return self._json({"activated_authority": slot.state()})
        return 0, self._pretty_state("Activated X.509 authority:", slot), ""

    def _localauthority_x509_taint(self, flags):
        if not flags["authorityID"]:
            return 1, "", "Error: an authority ID is required\n"
        if self.server.paths is not None:
            return self._error("localauthority x509 taint", "rpc error: code = FailedPrecondition desc = local authority can't be tainted if "
                                                            "there is an upstream authority")
        return self._error("localauthority x509 taint", "rpc error: code = Unimplemented desc = not simulated by the emulator")

    def _localauthority_x509_revoke(self, flags):
        if not flags["authorityID"]:
            return 1, "", "Error: an authority ID is required\n"
        if self.server.paths is not None:
            return self._error("localauthority x509 revoke", "rpc error: code = FailedPrecondition desc = local authority can't be revoked if "
                                                             "there is an upstream authority")
        return self._error("localauthority x509 revoke", "rpc error: code = Unimplemented desc = not simulated by the emulator")

    def _upstream(self, name, flags, verb):
        """upstreamauthority taint|revoke: only the upstream CA that signed the old X.509 CA, and only if it is a bundle root."""
        skid = flags["subjectKeyID"].lower()
        if not skid:
            return 1, "", "Error: the Subject Key ID of the X.509 upstream authority is required\n"
        server = self.server
        if server.paths is None:
            return self._error(name, "rpc error: code = FailedPrecondition desc = upstream authority is not configured")
        what = "provided subject key id is not valid" if verb == "taint" else "invalid subject key ID"
        nxt = server.next
        if server.current is not None and skid == server.current.upstream_authority_id:
            return self._error(name, "rpc error: code = InvalidArgument desc = %s: unable to use upstream authority singing current authority" % what)
        if nxt is None or skid != nxt.upstream_authority_id:
            return self._error(name, "rpc error: code = InvalidArgument desc = %s: upstream authority didn't sign the old local authority" % what)
        if nxt.status == "PREPARED":
            return self._error(name, "rpc error: code = InvalidArgument desc = %s: only upstream authorities signing an old authority can be used" % what)
        entry = next((b for b in server.bundle if pki.subject_key_id(b[0]) == skid), None)
        failed = "rpc error: code = Internal desc = " + ("failed to taint upstream authority: " if verb == "taint" else
                                                         "failed to revoke X.509 upstream authority: ")
        if entry is None:
            # fact 12: with a per-cluster intermediate as upstream CA, the old CA's issuer is no root of the bundle
            return self._error(name, failed + ("no ca found with provided subject key ID" if verb == "taint" else
                                               "no root CA found with provided subject key ID"))
        if verb == "taint":
            if entry[2]:
                return self._error(name, failed + "root CA is already tainted")
            entry[2] = True
        else:
            if not entry[2]:
                return self._error(name, failed + "it is not possible to revoke an untainted root CA")
            server.bundle.remove(entry)
        server.revision += 1
        if flags["output"] == "json":
            return self._json({"upstream_authority_subject_key_id": skid})
        title = "Tainted X.509 upstream authority:" if verb == "taint" else "Revoked X.509 upstream authority:"
        return 0, "%s\n  Subject Key ID: %s\n" % (title, skid), ""

    def _upstreamauthority_taint(self, flags):
        return self._upstream("upstreamauthority taint", flags, "taint")

    def _upstreamauthority_revoke(self, flags):
        return self._upstream("upstreamauthority revoke", flags, "revoke")

    def _bundle_show(self, flags):
        server = self.server
        if flags["output"] == "json":
            return self._json({"trust_domain": server.trust_domain, "x509_authorities": [
                {"asn1": base64.b64encode(pki.der(c)).decode(), "tainted": x} for c, _t, x in server.bundle],
                "jwt_authorities": [], "refresh_hint": "0", "sequence_number": str(server.revision)})
        if flags["format"] not in ("pem", "spiffe"):
            return 1, "", 'Error: invalid format: "%s"\n' % flags["format"]
        if flags["format"] == "spiffe":
            keys = [{"use": "x509-svid", "kty": "EC", "x5c": [base64.b64encode(pki.der(c)).decode()]} for c in server.roots()]
            return 0, json.dumps({"keys": keys, "spiffe_sequence": server.revision}, indent=4) + "\n", ""
        return 0, server.bundle_pem(), ""

    def _healthcheck(self, _flags):
        if not self.server.serving:
            return 1, "", "Error: server is unhealthy: unable to determine health\n"
        return 0, "Server is healthy.\n", ""


# ---- reading the server's files from its pod ------------------------------------------------------------------------
def container(pod, name):
    """A container of the pod spec by name."""
    return next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == name), None)


def mounted_secret(pod, container_spec, path):
    """(secret name, key) of a file path inside a Secret volume mount, or (None, None)."""
    directory, filename = posixpath.split(path)
    for mount in (container_spec or {}).get("volumeMounts") or []:
        if mount.get("mountPath", "").rstrip("/") == directory.rstrip("/"):
            volume = next((v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name") == mount.get("name")), None)
            if volume and "secret" in volume:
                return volume["secret"].get("secretName"), filename
    return None, None


def data_volume_persistent(pod, container_spec, data_dir):
    """Whether the server's data_dir survives a pod replacement (a PVC; not an emptyDir or nothing)."""
    for mount in (container_spec or {}).get("volumeMounts") or []:
        if mount.get("mountPath", "").rstrip("/") == (data_dir or "/run/spire/data").rstrip("/"):
            volume = next((v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("name") == mount.get("name")), None)
            return volume is None or "emptyDir" not in volume   # no pod volume: a volumeClaimTemplate (the real chart's pvc)
    return False


def server_settings(conf):
    """(trust domain, {"cert","key","bundle"} or None, ca_ttl s, svid_ttl s, data_dir) of a JSON server.conf."""
    server = conf.get("server") or {}
    paths = None
    for entry in ((conf.get("plugins") or {}).get("UpstreamAuthority") or []):
        for name, body in (entry or {}).items():
            if name == "disk":
                data = (body or {}).get("plugin_data") or {}
                paths = {"cert": data.get("cert_file_path", ""), "key": data.get("key_file_path", ""), "bundle": data.get("bundle_file_path") or None}
    if isinstance((conf.get("plugins") or {}).get("UpstreamAuthority"), dict):
        body = conf["plugins"]["UpstreamAuthority"].get("disk")
        if body is not None:
            data = body.get("plugin_data") or {}
            paths = {"cert": data.get("cert_file_path", ""), "key": data.get("key_file_path", ""), "bundle": data.get("bundle_file_path") or None}
    return (server.get("trust_domain") or "example.org", paths, go_duration(server.get("ca_ttl"), 86400.0),
            go_duration(server.get("default_x509_svid_ttl"), 3600.0), server.get("data_dir") or "/run/spire/data")


def published_bundle(cluster, pod, ready, conf, bundle):
    """The bundle SPIRE's k8sbundle notifier publishes: the trust model's (additive, fact 11) once the server runs in it,
    else the given one. Also tells the model the server pod's state (start, restart, not serving)."""
    mesh = getattr(cluster.emulator, "mesh", None)
    held = mesh.trust.spire_server_pod(cluster, pod, ready, conf) if mesh is not None else None
    return held if held else bundle
