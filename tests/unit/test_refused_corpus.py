"""Flows Kestra users write that use what this product does not run (tests/flows/kestra/refused/): each is
refused at registration, and the refusal names the property's path (its first line says which)."""

from pathlib import Path

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow

CORPUS = sorted((Path(__file__).resolve().parents[1] / "flows" / "kestra" / "refused").glob("*.yaml"))


def test_the_corpus_holds_thirty_flows_or_more():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_each_is_refused_naming_its_path(path):
    source = path.read_text()
    named = source.splitlines()[0].removeprefix("# refused: ")
    with pytest.raises(Invalid) as refused:
        parse_flow(source)
    assert named in refused.value.message
