"""Lint and plan every proxy-config for every strategy: the offline half of the support matrix."""

import json
import os
import tempfile
from pathlib import Path

from harness.contract.catalog import Catalog
from harness.contract.config import display_name, read_config, split_key_name
from harness.infra.errors import UserError
from harness.contract.lint import lint
from harness.contract.plan import plan
from harness.infra.records import record
from harness.infra.textsafe import printable


@record
class Cell:
    config: str  # the directory, undecodable bytes as \xNN (JSON cannot hold them)
    strategy: str
    lint: list[dict]
    plan: dict

    def summary(self) -> dict:
        severities = [f["severity"] for f in self.lint]
        images = self.plan["images"].values()
        packages = self.plan["packages"].values()
        public = self.plan["public"]
        return {
            "config": self.config,
            "strategy": self.strategy,
            "errors": severities.count("error"),
            "warnings": severities.count("warning"),
            "images": {s: sum(i["source"] == s for i in images) for s in ("mirror", "override", "default")},
            "packages_proxied": f"{sum(p['key'] is not None for p in packages)}/{len(self.plan['packages'])}",
            "dockerhub_login": self.plan["dockerhub_login"],
            "public_redirectable": sorted(d["host"] for d in public if d["covered_by"]),
            "public_no_key": sorted(d["host"] for d in public if not d["covered_by"]),
        }


def config_dirs(catalog: Catalog, paths: list[str]) -> tuple[list[Path], list[Path]]:
    """Each path is a proxy-config, or a folder of them: a folder holding a directory and no file named like a
    key (a Secret's keys are files, never directories). Returns the configurations, and the files of such
    folders that are not one (a README beside the configurations), which are left out."""
    found, skipped = [], []
    for path in map(Path, paths):
        try:
            children = [c for c in sorted(path.iterdir()) if not c.name.startswith(".")] if path.is_dir() else []
        except OSError as error:
            raise UserError(f"{printable(path)}: cannot list the directory: {error.strerror}") from None
        folders = [c for c in children if c.is_dir() and not c.is_symlink()]
        files = [c for c in children if c not in folders]
        if folders and not any(split_key_name(c.name)[1] in catalog.keys for c in files):
            found += folders
            skipped += files
        else:
            found.append(path)
    return found, skipped


def survey(catalog: Catalog, directories: list[Path]) -> list[Cell]:
    """Lint and plan each proxy-config directory (config_dirs) for every strategy."""
    cells = []
    for directory in directories:
        config = read_config(directory)
        for strategy in catalog.strategies:
            findings = [f.to_json() for f in lint(catalog, config, strategy)]
            cells.append(Cell(display_name(str(directory)), strategy, findings,
                              plan(catalog, config, strategy).to_json()))
    return cells


def _write_whole(path: Path, text: str) -> None:
    """Write `path` whole or not at all (a temporary file renamed over it): no half-written report."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def short_names(configs: list[str]) -> dict[str, str]:
    """Each config by the fewest trailing path parts that tell it from the others (scenarios/x/proxy-config
    and scenarios/y/proxy-config are `x/proxy-config` and `y/proxy-config`, not both `proxy-config`)."""
    parts = {config: Path(config).parts or (config,) for config in configs}
    names = {}
    for config, own in parts.items():
        for length in range(1, len(own) + 1):
            name = "/".join(own[-length:])
            if sum(other[-length:] == own[-length:] for other in parts.values()) == 1:
                break
        names[config] = name
    return names


def write_reports(cells: list[Cell], report_dir: Path) -> list[Path]:
    """survey.json and survey.md in `report_dir`; names in the markdown are escaped (no control characters)."""
    json_text = json.dumps([{**c.summary(), "lint": c.lint, "plan": c.plan} for c in cells], indent=2)
    rows = ["| config | strategy | lint | images m/o/d | packages proxied | Docker Hub login | public (no key) |",
            "|---|---|---|---|---|---|---|"]
    names = short_names(list(dict.fromkeys(cell.config for cell in cells)))
    for cell in cells:
        s = cell.summary()
        i = s["images"]
        name = printable(names[s["config"]]).replace("|", "\\|")
        rows.append(f"| {name} | {s['strategy']} | {s['errors']}E {s['warnings']}W | "
                    f"{i['mirror']}/{i['override']}/{i['default']} | {s['packages_proxied']} | "
                    f"{'yes' if s['dockerhub_login'] else 'no'} | {len(s['public_redirectable'])} "
                    f"({', '.join(s['public_no_key']) or '-'}) |")
    md_text = "# Proxy-config survey: lint and plan, every config × every strategy\n\n" + "\n".join(rows) + "\n"
    if report_dir.exists() and not report_dir.is_dir():
        raise UserError(f"{printable(report_dir)}: exists and is not a directory (--report-dir)")
    paths = [report_dir / "survey.json", report_dir / "survey.md"]
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, (json_text, md_text)):
            _write_whole(path, text)
    except OSError as error:
        raise UserError(f"cannot write the report directory {printable(report_dir)}: {error.strerror}") from None
    return paths
