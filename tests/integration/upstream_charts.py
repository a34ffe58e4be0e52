"""Which SPIRE charts the tests install: the real ones (spire 0.24.2, spire-crds 0.5.0, packaged from
spiffe/helm-charts-hardened) from ../shared/upstream-charts next to the repository, or MESHOPS_UPSTREAM_CHARTS when set;
else the stand-ins of tests/charts (same names, versions and values keys). The Gloo Operator chart is not public: its
stand-in is always used. inventories/local makes the same choice."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UPSTREAM = os.path.normpath(os.environ.get("MESHOPS_UPSTREAM_CHARTS") or os.path.join(ROOT, "..", "shared", "upstream-charts"))
SPIRE = os.path.join(UPSTREAM, "spire-0.24.2.tgz")
SPIRE_CRDS = os.path.join(UPSTREAM, "spire-crds-0.5.0.tgz")
STAND_INS = os.path.join(ROOT, "tests", "charts")


def available():
    """Whether the real SPIRE charts are there."""
    return os.path.isfile(SPIRE) and os.path.isfile(SPIRE_CRDS)


def spire_chart_refs():
    """The spire role's chart variables: the real charts when available, else the stand-ins."""
    if available():
        return {"spire_chart_ref": SPIRE, "spire_crds_chart_ref": SPIRE_CRDS}
    return {"spire_chart_ref": os.path.join(STAND_INS, "spire"), "spire_crds_chart_ref": os.path.join(STAND_INS, "spire-crds")}


def note():
    """One line saying which SPIRE charts the tests install."""
    if available():
        return "SPIRE charts: the real spire 0.24.2 and spire-crds 0.5.0 from %s" % UPSTREAM
    return ("SPIRE charts: the stand-ins in tests/charts (%s has no spire-0.24.2.tgz and spire-crds-0.5.0.tgz; set "
            "MESHOPS_UPSTREAM_CHARTS to use the real ones)" % UPSTREAM)


SKIP_REASON = ("the real SPIRE charts are not in %s (a clone outside the workplace; MESHOPS_UPSTREAM_CHARTS may name them): "
               "the stand-in charts in tests/charts cover the flow" % UPSTREAM)
