"""The online book's address is written once, in ``_config.yml``; the README and the Colab cell agree."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_readme_gives_the_address_of_config_yml():
    address = config()["html"]["baseurl"]
    assert address.startswith("https://") and address.endswith("/")
    readme = (ROOT / "README.md").read_text()
    online = [line for line in readme.splitlines() if line.startswith("| online |")]
    assert len(online) == 1, "the README's table has one 'online' row"
    assert re.findall(r"<(https://[^>]+)>", online[0]) == [address]
    published = re.findall(r"https://[\w.-]+\.github\.io/[\w./-]*", readme)
    assert set(published) == {address}, f"other Pages addresses in the README: {published}"


def test_the_address_is_the_pages_site_of_the_repository():
    owner, name = config()["repository"]["url"].rstrip("/").split("/")[-2:]
    assert config()["html"]["baseurl"] == f"https://{owner}.github.io/{name}/"


def test_the_colab_cell_clones_the_repository_of_config_yml():
    import json

    url = config()["repository"]["url"].rstrip("/")
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        colab = [c for c in cells if "google.colab" in "".join(c["source"])]
        assert colab, f"{notebook.name} has no Colab cell"
        assert f'repository = "{url}"' in "".join(colab[0]["source"]), notebook.name


def test_the_reproduce_chapter_links_to_the_readme_instead_of_copying_it():
    page = (ROOT / "book" / "08_reproduce.md").read_text()
    readme = config()["repository"]["url"].rstrip("/") + "/blob/main/README.md"
    links = re.findall(r"\]\((https?://[^)]+)\)", page)
    assert links and all(link.startswith(readme) for link in links), links
    headings = {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.M)
    }
    for link in links:
        anchor = link.partition("#")[2]
        assert not anchor or anchor in headings, f"{link}: no such README section"
    for command in ("sedlib sweep", "sedlib data", "make distclean", "#SBATCH"):
        assert command not in page, f"08_reproduce copies the README's '{command}'"
