"""tests/data stays what data/SOURCES.md says it is: every listed file is there with its sha256 and size,
every file there is listed (so provenance cannot drift), each under a permissive licence, and the whole
under the size the repo can carry. The resolver finds vendored files first."""

from __future__ import annotations

import hashlib
import re

import pytest

from conftest import DATA, FIXTURES, TOKENIZER_FIXTURES, find_fixture, fixture, missing_reason

PERMISSIVE = ("MIT", "Apache-2.0", "BSD", "public domain")
MAX_BYTES = 25_000_000
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| `(?P<sha256>[0-9a-f]{64})` \| (?P<bytes>\d+) \| (?P<licence>[^|]+) \|")


def _listed() -> dict[str, dict[str, str]]:
    """file → its row of the "## Files" table."""
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    files = text.split("## Files", 1)[1].split("\n## ", 1)[0]
    return {m["file"]: m.groupdict() for m in map(ROW.match, files.splitlines()) if m}


LISTED = _listed()


def test_the_table_is_read() -> None:
    assert len(LISTED) >= 30 and "tokenizers/gpt2/vocab.json" in LISTED


def test_every_listed_file_has_its_sha256_and_size() -> None:
    wrong = []
    for rel, row in LISTED.items():
        data = (DATA / rel).read_bytes() if (DATA / rel).is_file() else b""
        if len(data) != int(row["bytes"]) or hashlib.sha256(data).hexdigest() != row["sha256"]:
            wrong.append(rel)
    assert not wrong, f"missing or changed (update the file or its row in tests/data/SOURCES.md): {wrong}"


def test_every_file_is_listed() -> None:
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file() or p.is_symlink()}
    assert present - {"SOURCES.md"} == set(LISTED)


def test_every_licence_is_permissive() -> None:
    """The data's own licence (before the first ';'; the source repository's follows) is one we may ship."""
    other = {rel: row["licence"] for rel, row in LISTED.items() if not any(n in row["licence"].split(";")[0] for n in PERMISSIVE)}
    assert not other


def test_total_size_fits_the_repo() -> None:
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) <= MAX_BYTES


def test_vendored_files_come_first() -> None:
    assert find_fixture("tokenizers/gpt2/vocab.json") == DATA / "tokenizers/gpt2/vocab.json"
    assert fixture("models/fake-gpt2-random-tiny") == DATA / "models/fake-gpt2-random-tiny"
    assert TOKENIZER_FIXTURES / "gpt2" == DATA / "tokenizers/gpt2"
    assert FIXTURES / "corpus/udhr/eng.txt" == DATA / "corpus/udhr/eng.txt"
    assert FIXTURES.exists() and TOKENIZER_FIXTURES.exists()


def test_a_missing_file_skips_naming_it_and_why() -> None:
    assert find_fixture("tokenizers/no-such/tokenizer.json") is None
    reason = missing_reason("tokenizers/starcoder2/tokenizer.json")
    assert "tokenizers/starcoder2/tokenizer.json" in reason and "OpenRAIL" in reason
    with pytest.raises(pytest.skip.Exception, match="no-such"):
        fixture("tokenizers/no-such/tokenizer.json")
