"""SAX adapter (pipeline.interop.sax_models) with the shipped library: an MZI of photoprop
couplers and arms composed by ``sax.circuit`` equals ``pipeline.circuit.compose`` to 1e-12;
port-pair orientation on a non-reciprocal device; every family a SAX model; out-of-range
requests raise ExtrapolationError. Never simulates."""

from __future__ import annotations

import numpy as np
import pytest

sax = pytest.importorskip("sax")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)

from pipeline.circuit import Netlist, compose  # noqa: E402
from pipeline.errors import ExtrapolationError, SpecError  # noqa: E402
from pipeline.interop import sax_models as sm  # noqa: E402
from pipeline.library import FAMILIES  # noqa: E402
from pipeline.smatrix import interp_wavelength  # noqa: E402

WL = np.array([1.51, 1.537, 1.55, 1.583])
POWERS = (0.0, 0.004, 0.011, 0.023)  # heater powers [W]: arm phases ~0..3 rad
PORTS = {"o1": "c1,o1", "o2": "c1,o2", "o3": "c2,o3", "o4": "c2,o4"}
CONNECTIONS = (("c1,o3", "top,o1"), ("top,o2", "c2,o2"), ("c1,o4", "bot,o1"), ("bot,o2", "c2,o1"))
C2 = {"dw": 0.012, "dt": -0.004}  # an imperfect second coupler: the MZI is not symmetric
BOT = {"length": 100.0, "dw": 0.005}  # reference arm as long as the heater [µm]


def sax_netlist(coupler: str) -> dict:
    return {"instances": {"c1": coupler, "c2": {"component": coupler, "settings": dict(C2) if coupler == "coupler"
                                                 else {}},
                          "top": "phase_shifter", "bot": "waveguide"},
            "connections": dict(CONNECTIONS), "ports": dict(PORTS)}


def as_smatrix(sdict: dict, wl: np.ndarray = WL, ports: list[str] | None = None):
    return sm.smatrix_from_sdict({k: np.asarray(v) for k, v in sdict.items()}, wl, ports or list(PORTS))


@pytest.fixture(scope="module")
def models(library):
    return sm.compact_models(library)


def test_mzi_of_compact_models_matches_pipeline_circuit(library, models):
    circuit, _ = sax.circuit(sax_netlist("coupler"), models)
    worst = 0.0
    for power in POWERS:
        got = as_smatrix(circuit(wl=WL, top={"power_w": power}, bot=BOT))
        ref = compose(Netlist({"c1": sm.smatrix("coupler", WL, library), "c2": sm.smatrix("coupler", WL, library, **C2),
                               "top": sm.smatrix("phase_shifter", WL, library, power_w=power),
                               "bot": sm.smatrix("waveguide", WL, library, **BOT)}, CONNECTIONS, PORTS))
        worst = max(worst, float(np.abs(got.values - ref.values).max()))
        assert float(np.abs(ref.sel(port_out="o3", port_in="o1")).max()) > 0.1  # a live transfer, not zeros
    assert worst <= 1e-12, worst


def test_mzi_of_cached_coupler_entries_matches_pipeline_circuit(library, models):
    """Couplers from a cached FDTD entry (interpolated between its samples), arms from the
    compact models; the entries carry reflections, so the loop terms are exercised."""
    entry = library.entries("directional_coupler")[0]
    wl = np.array([1.503, 1.55, 1.594])
    circuit, _ = sax.circuit(sax_netlist("dc_entry"), {**models, "dc_entry": sm.entry_model(entry)})
    coupler = interp_wavelength(entry.smatrix, wl)
    worst = 0.0
    for power in POWERS:
        got = as_smatrix(circuit(wl=wl, top={"power_w": power}, bot=BOT), wl)
        ref = compose(Netlist({"c1": coupler, "c2": coupler,
                               "top": sm.smatrix("phase_shifter", wl, library, power_w=power),
                               "bot": sm.smatrix("waveguide", wl, library, **BOT)}, CONNECTIONS, PORTS))
        worst = max(worst, float(np.abs(got.values - ref.values).max()))
    assert worst <= 1e-12, worst


def test_port_pair_orientation_on_a_nonreciprocal_device(circulator):
    """SAX (a, b) is a→b = S[port_out=b, port_in=a]: a circulator keeps its direction."""
    sd = sm.sdict_from_smatrix(circulator)
    s = circulator.values
    assert np.array_equal(sd[("a", "b")], s[:, 1, 0]) and np.array_equal(sd[("b", "a")], s[:, 0, 1])
    net = Netlist({"x": circulator}, [], {"p": "x,a", "q": "x,b", "r": "x,c"})
    circuit, _ = sax.circuit(*sm.netlist_models(net))
    wl = circulator.wavelength.values
    got = as_smatrix(circuit(wl=wl), wl, ["p", "q", "r"])
    assert float(np.abs(got.values - compose(net).values).max()) <= 1e-12


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_is_a_keyword_only_sax_model(models, name):
    model = models[name]
    settings = sax.get_settings(model)
    assert "wl" in settings
    scalar = model(wl=1.55)
    assert all(np.ndim(v) == 0 for v in scalar.values())
    grid = model(wl=np.array([[1.52, 1.55], [1.58, 1.52]]))
    assert all(np.shape(v) == (2, 2) for v in grid.values())
    names = sorted({p for pair in scalar for p in pair})
    assert len(scalar) == len(names) ** 2 and names[0] == "o1"
    power = sum(abs(complex(scalar[("o1", p)])) ** 2 for p in names)
    assert 0.0 < power <= 1.0 + 1e-9  # passive


def test_outside_the_validated_range_raises(library, models):
    with pytest.raises(ExtrapolationError, match="wavelength = 1.7 um is outside"):
        models["coupler"](wl=np.array([1.55, 1.7]))
    with pytest.raises(ExtrapolationError, match="dw"):
        models["mmi"](wl=1.55, dw=0.5)
    with pytest.raises(ExtrapolationError, match="outside the simulated band"):
        sm.entry_model(library.entries("directional_coupler")[0])(wl=1.45)
    with pytest.raises(SpecError, match="one finite scalar dw"):
        models["crossing"](wl=1.55, dw=np.array([0.0, 0.01]))
    with pytest.raises(SpecError, match="unknown"):
        sm.compact_model("ring", library)
