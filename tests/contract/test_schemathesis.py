"""schemathesis against a live `yangguang serve` (real process, real socket), on both databases:
no server error and no response that contradicts /api/openapi.json. The long run is
`python scripts/fuzz.py` (figures in the README); this bounded one keeps the suite honest."""

from __future__ import annotations

import pytest

from tests.support.fuzzing import a_case, fuzz


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_finds_no_server_error_and_no_contradiction(database, tmp_path, request):
    db_url = (f"sqlite://{tmp_path / 'data' / 'yangguang.sqlite3'}" if database == "sqlite"
              else request.getfixturevalue("pg_url"))
    result = fuzz(db_url, tmp_path / "data", max_examples=10, seed=20261128, database=database)
    assert result.test_cases >= 1500  # every operation, every phase: the run really happened
    assert result.server_errors == 0
    assert result.failures == []


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_uploads_and_reads_evidence_of_a_real_case(database, tmp_path, request):
    # With random case ids every upload stops at 404; here the case exists, so the multipart reader,
    # the type sniffing, the storage and the stateful read-back (list -> content) are all reached.
    db_url = (f"sqlite://{tmp_path / 'data' / 'yangguang.sqlite3'}" if database == "sqlite"
              else request.getfixturevalue("pg_url"))
    result = fuzz(db_url, tmp_path / "data", max_examples=20, seed=20261129, database=database, paths="evidence",
                  path_values=a_case, YANGGUANG_EVIDENCE_MAX_BYTES="100000")
    assert result.test_cases >= 100
    assert result.server_errors == 0
    assert result.failures == []
    assert list((tmp_path / "data" / "evidence").glob("??/*")), "no upload was stored: the fuzzer never got through"
    assert not list((tmp_path / "data" / "evidence" / "tmp").glob("*")), "a refused upload left its temporary file"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_schemathesis_against_the_wechat_push_with_a_token_configured(database, tmp_path, request):
    # Without a token the push route is a 404 for everything; with one, every generated query and
    # XML/JSON body reaches the signature check, the reader and (signed or not) is a clean 4xx.
    db_url = (f"sqlite://{tmp_path / 'data' / 'yangguang.sqlite3'}" if database == "sqlite"
              else request.getfixturevalue("pg_url"))
    result = fuzz(db_url, tmp_path / "data", max_examples=50, seed=20261203, database=database,
                  paths="^/wechat/", YANGGUANG_WECHAT_PUSH_TOKEN="fuzzToken2026")
    assert result.test_cases >= 50
    assert result.server_errors == 0
    assert result.failures == []
