"""Run (the only side effect): execute one FDTD task with Meep, inside the worker process.

:func:`execute` turns a task from :mod:`pipeline.fdtd.build` into a ``meep.Simulation``,
runs it until the fields at the output monitors have decayed (the final decay ratio is
returned for provenance) and returns the raw mode coefficients — nothing else.
meep is imported inside the functions, never at module import.
"""

from __future__ import annotations

import time
from typing import Any


#: Meep time between two samples of |H|² for the decay criterion [µm/c] (< 1/4 period).
SAMPLE_DT = 0.25

#: Mode amplitudes on a monitor, one MPB solve per direction. Meep's
#: ``get_eigenmode_coefficients`` solves the mode travelling along +normal and gets the
#: −normal amplitude from the same mode by time reversal; on the Yee grid that second
#: number is wrong by a factor that depends on the monitor's sub-pixel position along its
#: normal (measured, meep 1.25, 30 px/µm, straight 2D guide: |α−|² under-reads the Poynting
#: flux by 11.7 % at 1.55 µm with the monitor on a grid line (pos·res integer), 8.5 % a
#: quarter pixel off, 0.04 % half-way; the +normal amplitude matches the flux within 5e-4 at
#: every offset, and so does −normal when its mode is solved with k along −normal). Every
#: "minus" amplitude — the incident wave of a source on a +x / +y facing port, the outgoing
#: wave on a −x / −y facing port — should therefore come from a second solve with k
#: reversed. The task's ``backward_mode_solve`` (from the device's Layout) selects it; this
#: is the default for tasks that do not say (the shipped library's older families were
#: computed without it and keep their keys until the meep-fdtd numerics version is bumped).
BACKWARD_MODE_SOLVE = False


def _medium(mp: Any, m: dict[str, float]) -> Any:
    extra = {"D_conductivity": m["d_conductivity"]} if m.get("d_conductivity") else {}
    if m["sigma"] > 0:
        sus = mp.LorentzianSusceptibility(frequency=m["f0"], gamma=0.0, sigma=m["sigma"])
        return mp.Medium(epsilon=m["eps_inf"], E_susceptibilities=[sus], **extra)
    return mp.Medium(epsilon=m["eps_inf"], **extra)


def _geometry(mp: Any, task: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    three_d = task["dims"] == 3
    t = task["thickness"]
    out = []
    for s in task["shapes"]:
        mat = media[s["material"]]
        if s["type"] == "block":
            sz = t if three_d else mp.inf
            out.append(mp.Block(center=mp.Vector3(*s["center"]), size=mp.Vector3(*s["size"], sz), material=mat))
        else:
            z0 = -t / 2 if three_d else 0.0
            verts = [mp.Vector3(x, y, z0) for x, y in s["vertices"]]
            out.append(mp.Prism(verts, height=t if three_d else mp.inf, axis=mp.Vector3(0, 0, 1), material=mat))
    return out


def _decay_condition(mp: Any, spec: dict[str, Any], state: dict[str, Any], component: Any = None) -> Any:
    points = [mp.Vector3(*p) for p in spec["points"]]
    component = mp.Hz if component is None else component
    state.update(peak=0.0, window=0.0, next_t=None, next_sample=0.0, ratio=1.0, stopped_by="decay")

    def cond(sim: Any) -> bool:
        now = sim.meep_time()
        if now < state["next_sample"]:
            return False
        state["next_sample"] = now + SAMPLE_DT
        if state["next_t"] is None:
            state["next_t"] = now + spec["dt"]
        val = sum(abs(sim.get_field_point(component, p)) ** 2 for p in points)
        state["window"] = max(state["window"], val)
        if now >= state["next_t"]:
            state["peak"] = max(state["peak"], state["window"])
            state["ratio"] = state["window"] / state["peak"] if state["peak"] > 0 else 1.0
            state["window"], state["next_t"] = 0.0, now + spec["dt"]
            if state["peak"] > 0 and state["ratio"] <= spec["by"]:
                return True
        if now >= spec["max_time"]:
            state["stopped_by"] = "max_time"
            return True
        return False

    return cond


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run ``task``; return raw coefficients per monitor (complex as [re, im] lists)."""
    import meep as mp

    mp.verbosity(0)
    t0 = time.perf_counter()
    media = {k: _medium(mp, v) for k, v in task["media"].items()}
    # TE: Hz with in-plane E (2D top view); E horizontal (3D, z-mirror through the core).
    # Side view (task parity "odd_z"): the slab TE mode has E out of the x-z plane (Ez).
    side = task.get("parity") == "odd_z"
    parity = mp.ODD_Z if side else mp.EVEN_Z
    src = task["source"]
    kpt = mp.Vector3(src["towards"], 0, 0) if src.get("axis", "x") == "x" else mp.Vector3(0, src["towards"], 0)
    source = mp.EigenModeSource(
        src=mp.GaussianSource(src["fcen"], fwidth=src["df"]),
        center=mp.Vector3(*src["center"]), size=mp.Vector3(*src["size"]),
        direction=mp.NO_DIRECTION, eig_kpoint=kpt,
        eig_band=src["band"], eig_parity=parity, eig_match_freq=True,
    )
    sim = mp.Simulation(
        cell_size=mp.Vector3(*task["cell_size"]), geometry_center=mp.Vector3(*task["cell_center"]),
        geometry=_geometry(mp, task, media), default_material=media["clad"],
        boundary_layers=[mp.PML(task["pml"])], sources=[source], resolution=task["resolution"],
        dimensions=task["dims"], subpixel_tol=task.get("subpixel_tol", 1e-4),
        subpixel_maxeval=task.get("subpixel_maxeval", 100000),
    )
    freqs = task["freqs"]
    monitors = [sim.add_mode_monitor(freqs, mp.ModeRegion(center=mp.Vector3(*m["center"]), size=mp.Vector3(*m["size"])))
                for m in task["monitors"]]
    boxes = {b["name"]: _add_flux_box(mp, sim, freqs, b) for b in task.get("flux_boxes", [])}
    state: dict[str, Any] = {}
    sim.init_sim()
    t_init = time.perf_counter() - t0
    sim.run(until_after_sources=_decay_condition(mp, task["decay"], state, mp.Ez if side else mp.Hz))
    out_monitors = {}
    n_guess = max(float(v["eps_inf"]) + float(v.get("sigma", 0.0)) for v in task["media"].values()) ** 0.5
    for m, mon in zip(task["monitors"], monitors):
        along_y = m["direction"][1] == "y"
        axis = mp.Y if along_y else mp.X
        # Each direction's amplitude from a mode solved travelling that way (see BACKWARD_MODE_SOLVE).
        res = sim.get_eigenmode_coefficients(mon, [m["band"]], eig_parity=parity)
        plus, minus = res.alpha[0][:, 0], res.alpha[0][:, 1]  # (freq,) along +normal / -normal
        if task.get("backward_mode_solve", BACKWARD_MODE_SOLVE):
            back = sim.get_eigenmode_coefficients(mon, [m["band"]], eig_parity=parity, direction=axis,
                                                  kpoint_func=_reversed_kpoint(mp, along_y, n_guess))
            minus = back.alpha[0][:, 1]
        out_monitors[m["port"]] = {
            "plus": [[float(a.real), float(a.imag)] for a in plus],
            "minus": [[float(a.real), float(a.imag)] for a in minus],
            # |k| along the port normal (named kx for x-ports; the normal component for y-ports)
            "kx": [float(abs(k.y if along_y else k.x)) for k in res.kdom],
        }
    out_boxes = {name: {face: [float(v) * sgn for v in mp.get_fluxes(f)] for face, (f, sgn) in faces.items()}
                 for name, faces in boxes.items()}
    result = {
        "monitors": out_monitors,
        "source_port": src["port"],
        "meep_time": float(sim.meep_time()),
        "timesteps": int(sim.fields.t),
        "final_decay": float(state["ratio"]),
        "stopped_by": state["stopped_by"],
        "run_wall_time_s": round(time.perf_counter() - t0, 3),
        "init_wall_time_s": round(t_init, 3),
        "meep_version": getattr(mp, "__version__", "unknown"),
    }
    if out_boxes:
        result["flux_boxes"] = out_boxes  # outward flux per face, Meep flux units (|alpha|^2 units)
    return result


def _reversed_kpoint(mp: Any, along_y: bool, n_guess: float) -> Any:
    """MPB starting k [1/µm] along the monitor's −normal: the mode is then solved travelling
    towards −normal, so Meep's coefficient for that direction is its own (exact) overlap."""
    def kpoint(freq: float, band: int) -> Any:
        k = -freq * n_guess
        return mp.Vector3(0, k, 0) if along_y else mp.Vector3(k, 0, 0)
    return kpoint


def _add_flux_box(mp: Any, sim: Any, freqs: list[float], box: dict[str, Any]) -> dict[str, Any]:
    """Four flux planes around a rectangle: ``{face: (flux object, sign)}``; Meep's flux is
    along +x / +y, so sign −1 on the −x / −y faces makes every face's value outward."""
    (cx, cy), (sx, sy) = box["center"], box["size"]
    faces = {}
    for face, centre, size, sgn in (("+x", (cx + sx / 2, cy), (0, sy), 1.0), ("-x", (cx - sx / 2, cy), (0, sy), -1.0),
                                    ("+y", (cx, cy + sy / 2), (sx, 0), 1.0), ("-y", (cx, cy - sy / 2), (sx, 0), -1.0)):
        region = mp.FluxRegion(center=mp.Vector3(*centre), size=mp.Vector3(*size))
        faces[face] = (sim.add_flux(freqs, region), sgn)
    return faces

