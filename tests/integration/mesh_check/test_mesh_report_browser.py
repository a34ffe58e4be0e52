# -*- coding: utf-8 -*-
"""The HTML report renders in a real browser (headless Chromium, skipped when not installed): a screenshot is taken."""

from __future__ import absolute_import, division, print_function

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "checks"))
sys.path.insert(0, os.path.join(ROOT, ".build", "collections"))

from mesh_fixtures import healthy  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.meshops.ambient_spire.plugins.module_utils import _report  # noqa: E402
from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks import registry  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not CHROMIUM, reason="no chromium installed")
def test_html_report_screenshot(tmp_path):
    snaps = healthy(3)
    snaps["cluster3"]["gateways"] = [g for g in snaps["cluster3"]["gateways"] if g["name"] != "istio-remote-peer-cluster1"]
    findings = registry.run_checks(snaps, {})
    page = tmp_path / "report.html"
    page.write_text(_report.to_html(findings, registry.summarize(findings, snaps), snaps), encoding="utf-8")
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1280,1000",
                    "--screenshot=%s" % shot, page.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 20000
    with open(str(shot), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
