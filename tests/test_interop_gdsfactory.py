"""gdsfactory in and out (pipeline.interop.gdsfactory_*), with the real gdsfactory.

* out → in: every built-in top-view family drawn as a gdsfactory component, written to GDS,
  read back: the same core region within the 1 nm grid (|XOR| ≤ perimeter × √2/2 nm: each
  vertex moves at most half a database unit per axis), the same ports and mirrors;
* keys: a deterministic function of the geometry (same cell → same key; moved or
  re-fragmented drawing → same key; changed gap → different key);
* bad input: unknown layers, slab layers, non-Manhattan ports, ports inside the device,
  port widths that do not match the guide, monitor windows cutting another guide;
* FDTD: gdsfactory's own mmi2x2 through photoprop agrees with the built-in ``mmi`` family of
  the same geometry (default test, two runs at low resolution); coupler and crossing, the
  wrong-geometry control and the CLI run are ``slow``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

gf = pytest.importorskip("gdsfactory")
shapely = pytest.importorskip("shapely")

from typer.testing import CliRunner  # noqa: E402

import devices  # noqa: E402
from pipeline.cache import DeviceCache  # noqa: E402
from pipeline.cache.key import cache_key  # noqa: E402
from pipeline.errors import SpecError  # noqa: E402
from pipeline.fdtd.layout import Layout  # noqa: E402
from pipeline.fdtd.specs import Meep2DSpec  # noqa: E402
from pipeline.interop.gdsfactory_export import shape_vertices, to_gdsfactory  # noqa: E402
from pipeline.interop.gdsfactory_layout import (GDSLayerStack, component_from_gds,  # noqa: E402
                                                spec_from_gdsfactory)
from pipeline.interop.gdsfactory_simulate import check_monitors, simulate_layout  # noqa: E402
from pipeline.specs import WavelengthBand, spec_from_json  # noqa: E402

gf.gpdk.PDK.activate()

FAMILIES = ("waveguide", "directional_coupler", "mmi", "crossing", "ring_coupler")
GRID = 1e-3  # µm, gdsfactory's database unit
ONE_WL = WavelengthBand(start=1.55, stop=1.55, points=1)
#: Low-resolution settings of the FDTD comparisons (both sides identical): 20 px/µm, the EIM
#: material model (no MPB calibration), no reflection-floor run; a 0.5 µm margin keeps the
#: 1.25 µm-spaced MMI ports' monitor windows off the neighbouring guide. (16 px/µm with
#: decay_by = 1e-4 fails the built-in crossing's own reciprocity check: 0.067 > 0.02.)
FAST = dict(resolution=20, material_model="eim", normalize_reflections=False, margin=0.5)


def _region(layout: Layout, dx: float = 0.0, dy: float = 0.0):
    """Union of a layout's shapes as a shapely geometry [µm], shifted by (dx, dy)."""
    from shapely.geometry import Polygon as P
    from shapely.ops import unary_union

    return unary_union([P([(x + dx, y + dy) for x, y in shape_vertices(s)]) for s in layout.shapes])


def _same_geometry(original: Layout, imported: Layout) -> tuple[float, float]:
    """(|XOR| area [µm²], allowed = perimeter × √2/2 grid) after undoing the import's re-centring."""
    ox = 0.5 * (original.bbox[0] + original.bbox[1]) - 0.5 * (imported.bbox[0] + imported.bbox[1])
    oy = 0.5 * (original.bbox[2] + original.bbox[3]) - 0.5 * (imported.bbox[2] + imported.bbox[3])
    a, b = _region(original), _region(imported, ox, oy)
    return a.symmetric_difference(b).area, a.length * GRID * math.sqrt(2) / 2


def _roundtrip(spec, tmp_path) -> Layout:
    comp = to_gdsfactory(spec)
    path = tmp_path / f"{spec.device}.gds"
    comp.write_gds(path)
    return spec_from_gdsfactory(component_from_gds(path, comp.name)).to_layout()


@pytest.mark.parametrize("family", FAMILIES)
def test_builtin_family_through_gds_and_back_is_the_same_layout(family, tmp_path):
    spec = devices.spec_class(family)()
    original = devices.get(family).layout(spec)
    back = _roundtrip(spec, tmp_path)
    xor, allowed = _same_geometry(original, back)
    assert xor <= allowed, f"{family}: |XOR| = {xor:.3g} um^2 > {allowed:.3g}"
    shift = (0.5 * (original.bbox[0] + original.bbox[1]) - 0.5 * (back.bbox[0] + back.bbox[1]),
             0.5 * (original.bbox[2] + original.bbox[3]) - 0.5 * (back.bbox[2] + back.bbox[3]))
    for p, q in zip(original.ports, back.ports, strict=True):
        assert (p.name, p.direction, p.mode) == (q.name, q.direction, q.mode)
        assert abs(p.x - q.x - shift[0]) <= GRID and abs(p.y - q.y - shift[1]) <= GRID
        assert abs(p.width - q.width) <= GRID
    declared = {(m.axis, tuple(sorted(tuple(sorted(pair)) for pair in m.mapping))) for m in original.symmetries}
    found = {(m.axis, m.mapping) for m in back.symmetries}
    assert found == declared  # the importer finds exactly the mirrors the family declares
    assert back.thickness == original.thickness and back.core_width == original.core_width


def test_a_broken_exporter_fails_the_round_trip_check(tmp_path):
    """The XOR criterion can fail: a 6 nm wider waveguide is caught."""
    spec = devices.spec_class("waveguide")()
    good = devices.get("waveguide").layout(spec)
    wider = devices.get("waveguide").layout(spec.model_copy(update={"width": spec.width + 0.006}))
    xor, allowed = _same_geometry(good, spec_from_gdsfactory(to_gdsfactory(wider)).to_layout())
    assert xor > allowed


def test_key_is_a_function_of_the_geometry_only():
    def coupler(gap: float = 0.2):
        return gf.components.coupler(gap=gap, length=4.0, dy=2.0, dx=6.0)

    solver = Meep2DSpec()
    a, b = spec_from_gdsfactory(coupler()), spec_from_gdsfactory(coupler())
    assert a == b and cache_key(a, solver) == cache_key(b, solver)
    moved = gf.Component("moved_coupler")
    moved.add_ref(coupler()).move((13.217, -4.5))
    moved.add_ports(moved.insts[0].ports)
    assert cache_key(spec_from_gdsfactory(moved), solver) == cache_key(a, solver)  # position on the die: no physics
    wider_gap = spec_from_gdsfactory(coupler(gap=0.25))
    assert cache_key(wider_gap, solver) != cache_key(a, solver)
    assert spec_from_json(a.canonical_json()) == a  # an entry's spec reads back without gdsfactory


def test_fragmented_drawing_gives_the_same_key():
    one = gf.Component("straight_one")
    one.add_polygon([(0, -0.25), (4, -0.25), (4, 0.25), (0, 0.25)], layer=(1, 0))
    two = gf.Component("straight_two")
    two.add_polygon([(0, -0.25), (1.5, -0.25), (1.5, 0.25), (0, 0.25)], layer=(1, 0))
    two.add_polygon([(1.5, 0.25), (1.5, -0.25), (4, -0.25), (4, 0.25)], layer=(1, 0))  # clockwise
    for c in (one, two):
        c.add_port("o1", center=(0, 0), width=0.5, orientation=180, layer=(1, 0))
        c.add_port("o2", center=(4, 0), width=0.5, orientation=0, layer=(1, 0))
    assert spec_from_gdsfactory(one) == spec_from_gdsfactory(two)


def test_reading_an_imported_spec_needs_no_gdsfactory():
    code = ("import sys, pipeline.specs as s\n"
            "spec = s.spec_class('ImportedLayoutSpec')\n"
            "assert 'gdsfactory' not in sys.modules and 'klayout' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_and_slab_layers_are_refused():
    from gdsfactory.components.waveguides.crossing_waveguide import crossing_arm

    crossing = gf.components.crossing(arm=crossing_arm(w=1.2, L=3.4))  # draws a SLAB150 ellipse (2/0)
    with pytest.raises(SpecError, match=r"2/0 \(SLAB150\).*ignore_layers"):
        spec_from_gdsfactory(crossing)
    with pytest.raises(SpecError, match="slab150.*partial-etch"):
        spec_from_gdsfactory(crossing, layer_stack=gf.get_active_pdk().layer_stack)
    spec = spec_from_gdsfactory(crossing, layer_stack=GDSLayerStack(ignore_layers=((2, 0),)))
    assert len(spec.ports) == 4 and {m.axis for m in spec.mirrors} == {"x", "y"}
    with pytest.raises(SpecError, match="core_layer = \\(3, 0\\)"):
        spec_from_gdsfactory(crossing, layer_stack=GDSLayerStack(core_layer=(3, 0), ignore_layers=((1, 0), (2, 0))))


def test_the_generic_pdk_layer_stack_reads_a_strip_device():
    stack = gf.get_active_pdk().layer_stack
    mmi = gf.components.mmi2x2()
    assert spec_from_gdsfactory(mmi, layer_stack=stack) == spec_from_gdsfactory(mmi)  # core = WG there


def test_bad_ports_are_refused():
    s = gf.Component("tilted")
    s.add_ref(gf.components.straight(length=5)).rotate(30)
    s.add_ports(s.insts[0].ports)
    with pytest.raises(SpecError, match="orientation = 210.0 deg.*0, 90, 180 or 270"):
        spec_from_gdsfactory(s)
    inner = gf.Component("inner_port")
    inner.add_polygon([(0, -0.25), (6, -0.25), (6, 0.25), (0, 0.25)], layer=(1, 0))
    inner.add_port("o1", center=(0, 0), width=0.5, orientation=180, layer=(1, 0))
    inner.add_port("o2", center=(4, 0), width=0.5, orientation=0, layer=(1, 0))
    with pytest.raises(SpecError, match="port 'o2' faces \\+x at x = 4 um.*outer edge .* x = 6 um"):
        spec_from_gdsfactory(inner)
    narrow = gf.Component("narrow_port")
    narrow.add_polygon([(0, -0.25), (6, -0.25), (6, 0.25), (0, 0.25)], layer=(1, 0))
    narrow.add_port("o1", center=(0, 0), width=0.4, orientation=180, layer=(1, 0))
    narrow.add_port("o2", center=(6, 0), width=0.5, orientation=0, layer=(1, 0))
    with pytest.raises(SpecError, match="port 'o1' \\(width 0.4 um\\) does not match the core"):
        spec_from_gdsfactory(narrow)


def test_monitor_windows_that_cut_a_neighbour_guide_are_refused():
    close = spec_from_gdsfactory(gf.components.coupler_straight(length=5, gap=0.2)).to_layout()
    with pytest.raises(SpecError, match="mode monitor window .* crosses port"):
        check_monitors(close, Meep2DSpec())
    check_monitors(spec_from_gdsfactory(gf.components.coupler(gap=0.2, length=4, dy=2, dx=6)).to_layout(),
                   Meep2DSpec())


def test_cli_refuses_bad_gds_calls(tmp_path):
    from pipeline.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["device", "simulate", "--gds", str(tmp_path / "none.gds"), "--cache", str(tmp_path)])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["device", "simulate", "mmi", "--gds", "x.gds", "--cache", str(tmp_path)])
    assert res.exit_code == 2 and "not both" in res.output
    path = tmp_path / "mmi.gds"
    gf.components.mmi2x2().write_gds(path)
    res = runner.invoke(app, ["device", "simulate", "--gds", str(path), "--set", "gap=0.3", "--cache", str(tmp_path)])
    assert res.exit_code == 2 and "band" in res.output


def _unchecked(run, *args, **kwargs):
    """``run(...)`` with the engine's physics-check warnings recorded, not raised: the slow
    comparisons hold the imported layout to the built-in family's entry, checks included
    (at 20 px/µm the built-in plain crossing itself fails reciprocity, 0.042 > 0.02: its
    y-port sources use Meep's time-reversed backward coefficient, Layout.backward_mode_solve)."""
    import warnings

    from pipeline.errors import PhotopropWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhotopropWarning)
        return run(*args, **kwargs)


def _smatrix(entry) -> np.ndarray:
    return np.asarray(entry.smatrix.transpose("wavelength", "port_out", "port_in").values)


#: |S_imported − S_built-in| bound at 20 px/µm when both draw the same region (design choice,
#: 2× the measured description noise): Meep's subpixel averaging of prisms depends on how a
#: region is split into objects and on 1 nm vertex moves (known: NanoComp/meep#1523, #1060).
#: Measured for this MMI (1.55 µm, EIM media): built-in blocks + prisms vs gdsfactory's one
#: merged polygon 0.027 / 0.014 / 0.0083 at 16 (decay 1e-4) / 20 / 40 px/µm (falls ~1/res.); the
#: built-in drawn as one polygon whose taper meets the MMI 1 nm narrower vs gdsfactory's:
#: 0.018 / 0.016 / 0.010 (Meep's ε grids differ by up to 0.5 in ~660 pixels for that 1 nm).
SAME_GEOMETRY_TOL = 0.03


def test_gdsfactory_mmi_agrees_with_the_builtin_family(tmp_path):
    """gdsfactory's mmi2x2 written to GDS and simulated by ``photoprop device simulate --gds``
    agrees with the built-in ``mmi`` family of the same geometry; the in-memory component
    then hits the same cache entry (the key does not depend on the file or the cell name)."""
    from pipeline.cli.main import app
    from pipeline.simulate import simulate

    cache, solver = DeviceCache(tmp_path), Meep2DSpec(**FAST)
    gf_mmi = gf.components.mmi2x2(width=0.5, width_taper=1.0, length_taper=3.0, length_mmi=6.0, width_mmi=2.5,
                                  gap_mmi=0.25)
    builtin = devices.spec_class("mmi")(mmi_length=6.0, mmi_width=2.5, taper_width=1.0, taper_length=3.0,
                                        port_offset=0.625, port_separation=1.25, band=ONE_WL)
    ref, _ = simulate(builtin, solver, cache=cache, timeout_s=600)
    path = tmp_path / "mmi.gds"
    gf_mmi.write_gds(path)
    backward = str(devices.get("mmi").layout(builtin).backward_mode_solve).lower()
    args = ["device", "simulate", "--gds", str(path), "--cell", gf_mmi.name, "--cache", str(tmp_path), "--json",
            "--set", "band.start=1.55", "--set", "band.stop=1.55", "--set", "band.points=1",
            "--set", f"backward_mode_solve={backward}", "--timeout", "600",
            *[f"--solver-set={k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in FAST.items()]]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout[res.stdout.index("{"):])
    assert doc["device"] == "gds_layout" and not doc["cached"] and doc["imported_from"]["cell"] == gf_mmi.name
    spec = spec_from_gdsfactory(gf_mmi, band=ONE_WL, backward_mode_solve=backward == "true")
    got, cached = simulate_layout(spec, solver, cache=cache)
    assert cached and got.key == doc["key"] and got.path.parent.name == "gds_layout"
    diff = float(np.abs(_smatrix(got) - _smatrix(ref)).max())
    print(f"mmi: max |dS| = {diff:.3g}")
    assert diff < SAME_GEOMETRY_TOL, diff
    p = np.abs(_smatrix(got)[0]) ** 2
    assert p[2, 0] > 0.2 and p[3, 0] > 0.2  # the comparison is of a device that actually transmits


def _gap_profile(layout: Layout, xs: np.ndarray) -> np.ndarray:
    """Edge-to-edge gap [µm] between the two guides of a 2×2 coupler along x (vertical cuts)."""
    from shapely.geometry import LineString

    region = _region(layout)
    ymin, ymax = layout.bbox[2] - 1, layout.bbox[3] + 1
    out = []
    for x in xs:
        cut = region.intersection(LineString([(x, ymin), (x, ymax)]))
        parts = sorted((min(p.coords[0][1], p.coords[1][1]), max(p.coords[0][1], p.coords[1][1]))
                       for p in getattr(cut, "geoms", [cut]))
        out.append(parts[1][0] - parts[0][1] if len(parts) == 2 else np.nan)
    return np.asarray(out)


def _cmt_phase(layout: Layout, wavelength: float, n_core: float, n_clad: float, width: float) -> float:
    """Coupled-mode phase Φ = ∫ π Δn(g(x)) / λ dx [rad] of the local 2D slab supermodes along the
    device (P_cross = sin² Φ; the exact pair splitting at each local gap)."""
    from pipeline.fdtd import slab

    xs = np.linspace(layout.bbox[0] + 1e-3, layout.bbox[1] - 1e-3, 801)
    g = _gap_profile(layout, xs)
    dn = np.array([abs(np.subtract(*slab.pair_neffs(wavelength, width, gi, n_core, n_clad))) for gi in g])
    return float(np.trapezoid(np.pi * dn / wavelength, xs))


@pytest.mark.slow
def test_gdsfactory_coupler_agrees_with_the_builtin_family_up_to_its_bend_shape(tmp_path):
    """gdsfactory's coupler has Bézier S-bends, the built-in family circular arcs with the same
    end points and length (R = (dx² + d²)/4d): the bends' share of the coupling differs. The
    tolerance is therefore a prediction, not a fit: coupled-mode theory with the exact local 2D
    slab supermodes of both drawn gap profiles, in the media of the run, anchored on the
    built-in's FDTD cross power, predicts the gdsfactory cross power; the FDTD result must
    match it within the same-geometry tolerance (|ΔS| ≤ 0.03 → |ΔP| ≤ 2 × 0.03)."""
    from pipeline.simulate import simulate

    cache, solver = DeviceCache(tmp_path), Meep2DSpec(**FAST)
    length, dy, dx, gap = 4.0, 2.0, 6.0, 0.2
    d = 0.5 * (dy - 0.5 - gap)
    builtin = devices.spec_class("directional_coupler")(gap=gap, coupling_length=length, port_separation=dy,
                                                         bend_radius=(dx**2 + d**2) / (4 * d), band=ONE_WL)
    lay_b = devices.get("directional_coupler").layout(builtin)
    assert abs(lay_b.bbox[1] - lay_b.bbox[0] - (length + 2 * dx)) < 1e-9  # same footprint as gdsfactory's
    ref, _ = simulate(builtin, solver, cache=cache, timeout_s=600)
    spec = spec_from_gdsfactory(gf.components.coupler(gap=gap, length=length, dy=dy, dx=dx), band=ONE_WL,
                                backward_mode_solve=lay_b.backward_mode_solve)
    got, _ = simulate_layout(spec, solver, cache=cache, timeout_s=600)
    mm = ref.provenance["material_model"]
    nc, ncl = math.sqrt(mm["core_medium"]["eps_inf"]), math.sqrt(mm["clad_medium"]["eps_inf"])
    phi_b = _cmt_phase(lay_b, 1.55, nc, ncl, 0.5)
    phi_g = _cmt_phase(spec.to_layout(), 1.55, nc, ncl, 0.5)
    pb, pg = (np.abs(_smatrix(e)[0]) ** 2 for e in (ref, got))
    through_b = pb[2, 0] + pb[3, 0]
    phi_fdtd = math.asin(math.sqrt(pb[2, 0] / through_b))  # built-in's effective coupling phase
    predicted = through_b * math.sin(phi_fdtd * phi_g / phi_b) ** 2
    print(f"coupler: P_cross built-in {pb[2, 0]:.4f}, gdsfactory {pg[2, 0]:.4f}, CMT-predicted {predicted:.4f} "
          f"(phi_b {phi_b:.4f}, phi_g {phi_g:.4f} rad)")
    assert abs(pg[2, 0] - predicted) <= 2 * SAME_GEOMETRY_TOL
    assert abs(pg[2, 0] + pg[3, 0] - through_b) <= 2 * SAME_GEOMETRY_TOL  # both nearly lossless here
    # control: a 50 nm wider gap is a different device, and the comparison sees it
    wider, _ = _unchecked(simulate_layout, spec_from_gdsfactory(gf.components.coupler(gap=gap + 0.05, length=length, dy=dy,
                                                                          dx=dx), band=ONE_WL,
                                                    backward_mode_solve=lay_b.backward_mode_solve), solver,
                               cache=cache, timeout_s=600)
    assert wider.key != got.key
    assert abs(np.abs(_smatrix(wider)[0, 2, 0]) ** 2 - predicted) > 2 * SAME_GEOMETRY_TOL


@pytest.mark.slow
def test_gdsfactory_crossing_agrees_with_the_builtin_plain_crossing(tmp_path):
    """gdsfactory's crossing with a 0.5 µm arm (crossing_arm w = width: straight arms, a = 5 µm)
    is the built-in plain crossing (taper_width = width). Its shallow-etch ellipse (SLAB150) is
    dropped explicitly: the built-in family has none. Magnitudes are held to the tolerance;
    the complex S is reported only: measured max |ΔS| = 0.0298, almost all of it a 0.034 rad
    through-phase difference (|S31| equal to 1e-4) whose cause is not identified (open)."""
    from gdsfactory.components.waveguides.crossing_waveguide import crossing_arm

    from pipeline.simulate import simulate

    cache, solver = DeviceCache(tmp_path), Meep2DSpec(**FAST)
    builtin = devices.spec_class("crossing")(taper_width=0.5, taper_length=0.0, arm_length=5.0, band=ONE_WL)
    lay_b = devices.get("crossing").layout(builtin)
    ref, _ = _unchecked(simulate, builtin, solver, cache=cache, timeout_s=600)
    spec = spec_from_gdsfactory(gf.components.crossing(arm=crossing_arm(w=0.5, L=4.75)), band=ONE_WL,
                                layer_stack=GDSLayerStack(ignore_layers=((2, 0),)),
                                backward_mode_solve=lay_b.backward_mode_solve)
    assert spec.to_layout().bbox == lay_b.bbox
    got, _ = _unchecked(simulate_layout, spec, solver, cache=cache, timeout_s=600)
    diff = float(np.abs(_smatrix(got) - _smatrix(ref)).max())
    mag = float(np.abs(np.abs(_smatrix(got)) - np.abs(_smatrix(ref))).max())
    recip = (got.checks["reciprocity_error"], ref.checks["reciprocity_error"])
    print(f"crossing: max |dS| = {diff:.3g}, max |d|S|| = {mag:.3g}, reciprocity error imported {recip[0]:.3g} / "
          f"built-in {recip[1]:.3g}")
    assert mag < SAME_GEOMETRY_TOL, mag
    assert abs(recip[0] - recip[1]) < SAME_GEOMETRY_TOL
