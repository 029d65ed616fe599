"""The docs say what the code does, where the code can say it.

Each claim checked here was once contradicted somewhere in the docs: the INIT phases and the metric
names (the README, docs/init-report.md and docs/architecture.md against what ``report.py`` emits), the
README's settings table (against the settings parser: every key it accepts, with its default), the
archive download's attempt count (against ``archive.py``), and the README's links (relative ones
break on a package index page; each link into this repository must name a file and heading that exist).
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest and mypy depend on tomli before 3.11
    import tomli as tomllib

import pytest
from click import ClickException

from tests.conftest import base_stage, make_task_root, render_settings, run_probe
from zappa_eager.runtime import archive
from zappa_eager.runtime.contract import ON_ERROR_CHOICES, WARMUP_ON_DEMAND_CHOICES
from zappa_eager.runtime.report import (
    ARCHIVE_METRIC_NAMES,
    ARCHIVE_STAGE_KEYS,
    EMF_DIMENSIONS,
    METRIC_NAMES,
    PHASES,
    parse_report_lines,
)
from zappa_eager.settings import (
    EAGER_KEYS,
    MAX_WARMUP_ROUNDS,
    WARMUP_KEYS,
    parse_bench_environment,
    parse_eager_settings,
)

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
#: Where the README's links point: GitHub renders the repository's files there, a package index does not.
REPOSITORY = "https://github.com/zappa-eager/zappa-eager"
BLOB = f"{REPOSITORY}/blob/main/"
TREE = f"{REPOSITORY}/tree/main/"

#: The init report's readable line: ``[zappa-eager] init 606.0 ms (imports 349.6, ..., warmup 4.4 ms) ok``.
HUMAN_LINE = re.compile(r"\[zappa-eager\] [a-z_-]+ [\d.]+ ms \(([^)]*) ms\)")
#: A name in backticks that looks like one of the report's metrics.
METRIC_LIKE = re.compile(r"`((?:Init[A-Z]|BeforeSnapshot|AfterRestore)\w*)`")
DIMENSIONS = {name for dimensions in EMF_DIMENSIONS for name in dimensions}
EMITTED_METRICS = set(METRIC_NAMES.values())
#: The archive phase's stages, emitted when an unpack ran (docs/init-report.md names them; the phase lists do not).
STAGE_METRICS = set(ARCHIVE_METRIC_NAMES.values())
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [README, REPO / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]


def section(path: Path, heading: str) -> str:
    """The text under ``heading`` (a whole heading line) up to the next heading of the same or a higher level."""
    text = path.read_text(encoding="utf-8")
    level = len(heading) - len(heading.lstrip("#"))
    match = re.search(rf"^{re.escape(heading)}\s*$", text, re.MULTILINE)
    assert match, f"{path.name} has no heading {heading!r}"
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def human_line_phases(text: str) -> list[list[str]]:
    """The phase names of every readable init-report line quoted in ``text``."""
    return [[part.split()[0] for part in phases.split(", ")] for phases in HUMAN_LINE.findall(text)]


def backticked(text: str) -> list[str]:
    """Backticked names outside parentheses (the parentheses explain; they may name other things)."""
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            break
        text = stripped
    return re.findall(r"`(\w+)`", text)


def metrics_named(text: str) -> set[str]:
    return set(METRIC_LIKE.findall(text)) - DIMENSIONS


# -- the INIT phases and the metrics ----------------------------------------------------------------


def test_the_report_constants_cover_every_phase_and_metric() -> None:
    """One metric per phase, plus the total and the SnapStart hooks: the names the docs are held to."""
    assert set(METRIC_NAMES) == {*PHASES, "total", "before_snapshot", "after_restore"}


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real INIT of the fixture Django site, with a warm-up: its readable line, its fields and its metrics."""
    root = make_task_root(tmp_path_factory.mktemp("docs-report"), base_stage(eager_init_warmup=["/healthz"]))
    result = run_probe(root, [{"kind": "http", "path": "/healthz"}])
    lines = [line for line in result["stdout"].splitlines() if line.startswith("[zappa-eager] init ")]
    documents = [json.loads(line) for line in result["stdout"].splitlines() if line.startswith('{"_aws"')]
    assert len(lines) == 1 and len(documents) == 1, result["stdout"]
    (fields,) = parse_report_lines(result["stdout"])
    metrics = {m["Name"] for m in documents[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    return {"phases": human_line_phases(lines[0])[0], "fields": fields, "metrics": metrics}


def test_a_real_report_emits_the_phases_and_metrics_of_report_py(real_report: dict[str, Any]) -> None:
    assert real_report["phases"] == list(PHASES)
    stage_keys = {f"{key}_ms" for key in ARCHIVE_STAGE_KEYS.values()}
    assert {key for key in real_report["fields"] if key.endswith("_ms")} == {
        f"{p}_ms" for p in (*PHASES, "total")} | stage_keys
    assert all(real_report["fields"][key] == 0 for key in stage_keys)  # no slim_handler: no unpack
    # A provisioned INIT of a plain (not slim_handler) stage without remote_env: neither of those phases ran.
    ran = {"imports", "settings", "app", "warmup", "total"}
    assert real_report["metrics"] == {METRIC_NAMES[name] for name in ran}


def test_every_readable_report_line_in_the_docs_lists_the_phases_in_order() -> None:
    quoted = {path.name: human_line_phases(path.read_text(encoding="utf-8")) for path in documents()}
    for name in ("README.md", "init-report.md", "architecture.md", "troubleshooting.md"):
        assert quoted[name], f"{name} quotes no init report line"
    for name, lines in quoted.items():
        for phases in lines:
            assert phases == list(PHASES), f"{name}: {phases}"


def test_the_readme_lists_the_phases_and_every_metric() -> None:
    text = section(README, "## What happens in INIT")
    assert re.findall(r"^\d+\. `(\w+)`", text, re.MULTILINE) == list(PHASES)
    assert metrics_named(text) == EMITTED_METRICS


def test_init_report_md_lists_the_phases_fields_and_metrics() -> None:
    path = DOCS / "init-report.md"
    line = section(path, "## The readable line")
    bullet = re.search(r"^\* the phases, in the order they run:(.*?)(?=^\* )", line, re.MULTILINE | re.DOTALL)
    assert bullet, "init-report.md: the bullet listing the phases is gone"
    assert backticked(bullet.group(1)) == list(PHASES)
    table = section(path, "## The JSON document")
    row = next(r for r in table.splitlines() if r.startswith("| `") and "_ms`" in r.split("|")[1])
    assert re.findall(r"`(\w+)_ms`", row.split("|")[1]) == list(PHASES)
    assert metrics_named(section(path, "## Metrics")) == EMITTED_METRICS | STAGE_METRICS


def test_architecture_md_lists_the_phases_fields_and_metrics() -> None:
    text = section(DOCS / "architecture.md", "### The init report (stdout of the environment, i.e. CloudWatch Logs)")
    order = re.search(r"in the order they run:(.*?);", text, re.DOTALL)
    assert order, "architecture.md: the phase order is gone"
    assert backticked(order.group(1)) == list(PHASES)
    assert set(re.findall(r'"(\w+)_ms"', text)) == {*PHASES, "total"}
    assert metrics_named(text) == EMITTED_METRICS


def test_no_document_names_a_metric_the_report_does_not_emit() -> None:
    for path in documents():
        unknown = metrics_named(path.read_text(encoding="utf-8")) - EMITTED_METRICS - STAGE_METRICS
        assert not unknown, f"{path.name} names {sorted(unknown)}; report.py emits {sorted(EMITTED_METRICS)}"


# -- the README's settings table ----------------------------------------------------------------------


def readme_settings() -> dict[str, str]:
    """``setting -> default cell`` of the README's settings table."""
    rows: dict[str, str] = {}
    for line in section(README, "## Settings").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`\w+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    assert rows, "the README has no settings table"
    return rows


#: The default cell of a setting whose default follows ``eager_init``.
FOLLOWS_EAGER_INIT = re.compile(r"`(.+)` with `eager_init`, else `(.+)`")
#: The default cell of an upstream setting that zappa-eager also reads.
UPSTREAM = "upstream"


def parsed(stage: dict[str, Any]) -> tuple[Any, ...]:
    """What the settings parser makes of a stage: everything zappa-eager reads from it."""
    return parse_eager_settings(stage, "docs"), parse_bench_environment(stage, "docs")


def documented_defaults() -> list[tuple[str, dict[str, Any], Any]]:
    """``(setting, the other keys of the stage, the documented default there)`` for every row with a default."""
    cases: list[tuple[str, dict[str, Any], Any]] = []
    for key, cell in readme_settings().items():
        if cell == UPSTREAM:
            continue
        follows = FOLLOWS_EAGER_INIT.fullmatch(cell)
        if follows:
            cases.append((key, {"eager_init": True}, json.loads(follows.group(1))))
            cases.append((key, {"eager_init": False}, json.loads(follows.group(2))))
            continue
        value = re.fullmatch(r"`(.+)`", cell)
        assert value, f"README: the default of {key} is {cell!r}: write it as a JSON value in backticks"
        cases.append((key, {}, json.loads(value.group(1))))
    return cases


def test_the_readme_documents_every_setting_the_parser_owns_and_no_other() -> None:
    owned = {key for key, cell in readme_settings().items() if cell != UPSTREAM}
    assert owned == set(EAGER_KEYS)


@pytest.mark.parametrize(("key", "stage", "default"), documented_defaults(),
                         ids=lambda value: json.dumps(value) if not isinstance(value, str) else value)
def test_a_documented_default_is_what_the_parser_uses_when_the_key_is_absent(
    key: str, stage: dict[str, Any], default: Any
) -> None:
    assert parsed({**stage, key: default}) == parsed(stage)


def test_a_documented_default_that_differs_from_the_parsers_is_caught() -> None:
    """The check above can fail: a wrong default parses to something else."""
    assert parsed({"eager_init_warmup_rounds": 3}) != parsed({})
    assert parsed({"eager_init": False, "compile_bytecode": True}) != parsed({"eager_init": False})


@pytest.mark.parametrize("key", [key for key, cell in readme_settings().items() if cell == UPSTREAM])
def test_an_upstream_setting_in_the_table_is_one_zappa_eager_validates(key: str, tmp_path: Path) -> None:
    """Rows whose default is upstream's are upstream keys that zappa-eager also reads (and rejects when bad)."""
    assert key not in EAGER_KEYS
    with pytest.raises(ClickException, match=re.escape(key)):
        render_settings(base_stage(**{key: "not-a-valid-value"}), tmp_path)


def test_the_readme_gives_the_choices_and_range_the_parser_accepts() -> None:
    rows = {line.split("|")[1].strip().strip("`"): line for line in section(README, "## Settings").splitlines()
            if line.startswith("| `")}
    for key, choices in (("eager_init_on_error", ON_ERROR_CHOICES),
                         ("eager_init_warmup_on_demand", WARMUP_ON_DEMAND_CHOICES)):
        assert set(re.findall(r'`"(\w+)"`', rows[key])) == set(choices), key
    assert re.findall(r"\(1 to (\d+)\)", rows["eager_init_warmup_rounds"]) == [str(MAX_WARMUP_ROUNDS)]


def test_the_readme_names_every_key_of_a_warmup_request() -> None:
    rows = section(README, "## Settings").splitlines()
    row = next(line for line in rows if line.startswith("| `eager_init_warmup` |"))
    assert [key for key in WARMUP_KEYS if f'"{key}"' not in row] == []


def test_every_command_zappa_eager_adds_is_documented() -> None:
    """``cli.EXTRA_COMMANDS`` is what ``--help`` lists: the README shows each, the architecture page places it."""
    from zappa_eager.cli import EXTRA_COMMANDS

    readme = README.read_text(encoding="utf-8")
    architecture = (DOCS / "architecture.md").read_text(encoding="utf-8")
    assert [name for name in EXTRA_COMMANDS if f"zappa {name}" not in readme] == []
    assert [name for name in EXTRA_COMMANDS if f"`{name}`" not in architecture] == []


# -- the archive download ----------------------------------------------------------------------------


ATTEMPTS_PHRASE = re.compile(r"(?:after|makes|make) (\d+) attempts|(\d+) attempts (?:in all|with)")


def archive_attempts() -> int:
    """``install_project_archive``'s attempts, checked to be the ones the runtime uses (no caller overrides it)."""
    attempts = inspect.signature(archive.install_project_archive).parameters["attempts"].default
    assert isinstance(attempts, int)
    for module in ("boot.py", "handler.py"):
        tree = ast.parse((REPO / "zappa_eager" / "runtime" / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "install_project_archive":
                assert "attempts" not in {keyword.arg for keyword in node.keywords}, module
    return attempts


def test_the_docs_give_the_archive_attempts_archive_py_makes() -> None:
    attempts = archive_attempts()
    found: dict[str, list[int]] = {}
    for path in documents():
        text = " ".join(path.read_text(encoding="utf-8").split())  # phrases run across line breaks
        found[path.name] = [int(a or b) for a, b in ATTEMPTS_PHRASE.findall(text)]
        # "retried N times" read as N + 1 attempts; the code makes N in all.
        assert not re.search(r"retried \d+ times", text), f"{path.name}: say how many attempts, in all"
    assert found["README.md"] and found["troubleshooting.md"], found
    assert {name: counts for name, counts in found.items() if set(counts) - {attempts}} == {}


# -- links that work on a package index page ---------------------------------------------------------


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            found.add(github_anchor(line.lstrip("#")))
    return found


def readme_links() -> list[str]:
    text = README.read_text(encoding="utf-8")
    links = MARKDOWN_LINK.findall(text)
    links += re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, re.MULTILINE)  # reference-style definitions
    links += re.findall(r"""(?:href|src)=["']([^"']+)["']""", text)  # inline HTML
    return links


def test_the_readme_has_no_relative_links() -> None:
    links = readme_links()
    assert len(links) > 20
    assert [link for link in links if not re.match(r"(https?|mailto):", link)] == []


def repository_links() -> list[str]:
    urls = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    return [link for link in [*readme_links(), *urls.values()] if link.startswith((BLOB, TREE))]


def test_every_link_into_the_repository_names_a_file_and_heading_that_exist() -> None:
    links = repository_links()
    assert links
    broken = []
    for link in links:
        target, _, anchor = link.removeprefix(BLOB).removeprefix(TREE).partition("#")
        path = REPO / target
        if not (path.is_dir() if link.startswith(TREE) else path.is_file()):
            broken.append(link)
        elif anchor and anchor not in anchors(path):
            broken.append(link)
    assert broken == []


def test_every_relative_link_in_the_docs_names_a_file_and_heading_that_exist() -> None:
    """docs/ is read on GitHub, where relative links work: they must still point somewhere."""
    broken = []
    for path in [*DOCS.glob("*.md"), REPO / "CHANGELOG.md"]:
        for link in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"(https?|mailto):", link):
                continue
            target, _, anchor = link.partition("#")
            linked = path.parent / target if target else path
            if not linked.exists() or (anchor and linked.is_file() and anchor not in anchors(linked)):
                broken.append(f"{path.name}: {link}")
    assert broken == []


def test_the_anchor_check_knows_githubs_ids() -> None:
    """The ids GitHub gives the headings the README links to (so the check above can pass and fail)."""
    assert github_anchor("`eager_init_warmup_rounds` (integer 1 to 10, default `2`)") == \
        "eager_init_warmup_rounds-integer-1-to-10-default-2"
    assert "warming-an-authenticated-view" in anchors(DOCS / "settings.md")
    assert "no-such-heading" not in anchors(DOCS / "settings.md")


def test_the_classifiers_claim_the_versions_docs_versions_md_supports() -> None:
    """A package index shows the classifiers; docs/versions.md says what CI runs. They must agree."""
    classifiers = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["classifiers"]
    rows = {cells[0]: cells[1] for cells in (
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section(DOCS / "versions.md", "## Python, Django and zappa").splitlines() if line.startswith("|")
    ) if len(cells) > 1}
    python = re.findall(r"3\.\d+", rows["Python (packaging and Lambda)"])
    django = re.findall(r"\d+\.\d+", rows["Django"])
    assert python and django
    prefix = "Programming Language :: Python :: "
    assert sorted(c.removeprefix(prefix) for c in classifiers if re.fullmatch(re.escape(prefix) + r"3\.\d+", c)) \
        == sorted(python)
    assert sorted(c.rpartition(" :: ")[2] for c in classifiers if c.startswith("Framework :: Django :: ")) \
        == sorted(django)


def test_the_wheel_metadata_names_the_license_file() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "zappa-eager developers" in text
    assert {"Documentation", "Changelog", "Issues", "Source"} <= set(project["urls"])
