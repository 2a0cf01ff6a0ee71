"""The generated docs match their sources, and the site builds with every name in it."""

from __future__ import annotations

import html
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_state_diagrams_are_generated_from_the_tables() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_state_diagrams", DOCS / "make_state_diagrams.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    assert (DOCS / "states.md").read_text() == rendered, (
        "docs/states.md is stale: run python docs/make_state_diagrams.py"
    )
    # Every transition of the tables appears as an arrow.
    assert "connected --> connecting: connection lost" in rendered
    assert "subscribed --> subscribing: server asks to resubscribe" in rendered


# -- the site ---------------------------------------------------------------------------

ROOT = DOCS.parent
#: The modules whose every public name the reference documents.
REFERENCED_MODULES = [
    "centrifugo_proto",
    "centrifugo_proto.adapters",
    "centrifugo_proto.adapters.asyncio",
    "centrifugo_proto.adapters.trio",
    "centrifugo_proto.adapters.blocking",
    "centrifugo_proto.api",
    "centrifugo_proto.codecs",
    "centrifugo_proto.filters",
    "centrifugo_proto.legacy",
]


def inventory(site: Path) -> set[str]:
    """The object names of the site's Sphinx inventory (written by mkdocstrings)."""
    raw = (site / "objects.inv").read_bytes()
    header, _, body = raw.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2"), header[:40]
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make docs``'s build: MkDocs, --strict (any warning fails it)."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-6000:]}"
    return out


def test_every_public_name_is_in_the_reference(site: Path) -> None:
    names = inventory(site)
    missing = []
    for module_name in REFERENCED_MODULES:
        module = importlib.import_module(module_name)
        exported = module.__all__
        assert exported, module_name
        missing += [f"{module_name}.{n}" for n in exported if f"{module_name}.{n}" not in names]
    assert not missing, f"not in the reference: {missing}"
    # Methods come with their classes (inherited from the adapters' shared layers).
    for adapter in ("asyncio", "trio", "blocking"):
        for member in (
            "Client.connect",
            "Client.publish",
            "Client.history",
            "Subscription.history",
        ):
            assert f"centrifugo_proto.adapters.{adapter}.{member}" in names, (adapter, member)
        assert f"centrifugo_proto.adapters.{adapter}.ApiClient.batch" in names, adapter


#: The server API clients' methods, written once for the blocking and the awaiting
#: clients (adapters/_api/_twin.py), each with one of its parameters.
API_METHODS = {
    "ApiClient": {"publish": "skip_history", "batch": "parallel", "history": "since"},
    "LegacyApiClient": {"publish": "uid", "node": "timeout"},
    "HttpClient": {"request": "headers", "post_json": "body"},
}


@pytest.mark.parametrize("adapter", ["asyncio", "trio", "blocking"])
def test_the_api_clients_show_their_texts_and_their_async_methods(site: Path, adapter: str) -> None:
    """What griffe cannot see by reading (docs/_griffe_twins.py): a class's text shared
    with ``__doc__ = Other.__doc__``, and a twin method that is async on an awaiting client."""
    names = inventory(site)
    page = (site / "reference" / f"{adapter}.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    prefix = f"centrifugo_proto.adapters.{adapter}"
    for cls, methods in API_METHODS.items():
        assert f"{prefix}.{cls}.__doc__" not in names, cls
        for method, parameter in methods.items():
            heading = re.search(rf'<h4 id="{prefix}.{cls}.{method}".*?</h4>', page, re.DOTALL)
            assert heading is not None, (cls, method)
            assert ("doc-label-async" in heading.group(0)) is (adapter != "blocking"), method
            signature = page[heading.end() : page.index("</code></pre>", heading.end())]
            assert parameter in html.unescape(re.sub(r"<[^>]+>", "", signature)), method
    assert "The server HTTP API of Centrifugo v6: one typed method per route." in text
    assert "The server HTTP API of Centrifugo 1.x" in text
    assert "A small HTTP/1.1 client with kept-alive connections" in text


def test_the_site_has_its_pages_and_features(site: Path) -> None:
    for page in [
        "index.html",
        "quickstart/asyncio.html",
        "quickstart/trio.html",
        "quickstart/blocking.html",
        "integrating.html",
        "api.html",
        "logging.html",
        "cli.html",
        "legacy.html",
        "migration/centrifuge-python.html",
        "migration/perl.html",
        "benchmarks.html",
        "states.html",
    ]:
        assert (site / page).is_file(), page
    # Mermaid diagrams, highlighted code, the search index.
    assert '<pre class="mermaid"><code>stateDiagram-v2' in (site / "states.html").read_text()
    assert 'class="highlight"' in (site / "integrating.html").read_text()
    search = json.loads((site / "search" / "search_index.json").read_text())
    assert any("ClientProtocol" in doc["text"] for doc in search["docs"])
    # The docstrings' reST became Markdown: no role is left as text.
    for page in (site / "reference").glob("*.html"):
        assert ":class:`" not in page.read_text(), page.name


@pytest.mark.parametrize(
    ("page", "example"),
    [
        ("quickstart/asyncio.html", "quickstart.py"),
        ("quickstart/trio.html", "quickstart_trio.py"),
        ("quickstart/blocking.html", "quickstart_blocking.py"),
        ("integrating.html", "minimal_adapter.py"),
        ("api.html", "server_api.py"),
    ],
)
def test_pages_show_the_example_files_that_ci_runs(site: Path, page: str, example: str) -> None:
    """The code on the page is the file tests/integration/test_examples.py runs."""
    shown = html.unescape(re.sub(r"<[^>]+>", "", (site / page).read_text()))
    source = (ROOT / "examples" / example).read_text()
    for line in source.splitlines():
        assert line.strip() in shown, f"{page} does not show {example}'s line {line!r}"
