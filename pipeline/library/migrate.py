"""Re-key a device library written under an older key recipe (no solver runs): the
entries by :func:`pipeline.cache.migrate.migrate_library`, the compact-model files renamed
under the names their family computes (:func:`model_names`, from
:data:`pipeline.library.families.FAMILIES`).

    python -m pipeline.library.migrate [ROOT] [--dry-run]      (default: the shipped cache/)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pipeline.cache import DeviceCache
from pipeline.cache import migrate as cache_migrate
from pipeline.errors import SpecError
from pipeline.library.families import FAMILIES


def family_of_model_file(path: Path) -> str:
    """The compact-model family whose stored file ``path`` is (``<module>-<hash>.nc``, e.g.
    ``coupler_model-….nc`` → ``coupler``)."""
    prefix = Path(path).name.rsplit("-", 1)[0]
    for name, fam in FAMILIES.items():
        if fam.kind == "sweep" and fam.module.rsplit(".", 1)[-1] == prefix:
            return name
    known = sorted(f.module.rsplit(".", 1)[-1] for f in FAMILIES.values() if f.kind == "sweep")
    raise SpecError(f"{Path(path).name}: no compact-model family stores files named {prefix}-<hash>.nc "
                    f"(known: {', '.join(known)}). Fix: remove the file or add its family to FAMILIES.")


def model_names(path: Path, old: Any, new: DeviceCache) -> tuple[Path, Path]:
    """(old path, new path) of the compact model at ``path`` (from its stored sweep/solver):
    its family's ``model_path`` under the old keys ``old`` and the current cache ``new``."""
    module = FAMILIES[family_of_model_file(path)].device_module()
    sweep, solver = cache_migrate.stored_specs(path)
    return module.model_path(old, sweep, solver), module.model_path(new, sweep, solver)


def migrate_library(root: Path | str | None = None, *, dry_run: bool = False) -> dict[str, Any]:
    """Re-key every entry and compact model under ``root`` (see
    :func:`pipeline.cache.migrate.migrate_library` for the report)."""
    return cache_migrate.migrate_library(root, model_names=model_names, dry_run=dry_run)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.library.migrate [ROOT] [--dry-run]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    dry = "--dry-run" in args
    args = [a for a in args if a != "--dry-run"]
    report = migrate_library(args[0] if args else None, dry_run=dry)
    verb = "would re-key" if dry else "re-keyed"
    print(f"{report['root']}: {verb} {len(report['entries'])} entries and {len(report['models'])} compact "
          f"models; {report['unchanged']} entries already current.")
    for m in report["models"]:
        print(f"  model {m['old']} -> {m['new']}")
    for err in report["errors"]:
        print(f"  ERROR {err}", file=sys.stderr)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
