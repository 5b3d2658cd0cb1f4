"""The shared trajectory fixture: every record's verdict must equal its ``expect_valid``."""

from __future__ import annotations

import pytest

from npr.schema import check_file, format_reward, parse, validate

from .samples import TRAJECTORIES, fixture_records

RECORDS = fixture_records()


def test_fixture_is_present_and_mixed():
    assert len(RECORDS) >= 10
    assert {r["expect_valid"] for r in RECORDS} == {True, False}


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_verdict_matches_expectation(record):
    found = validate(record["response"])
    assert (found == []) == record["expect_valid"], [(v.code, v.message) for v in found]
    assert (format_reward(record["response"]) == 0.0) == record["expect_valid"]


@pytest.mark.parametrize("record", RECORDS, ids=[r["id"] for r in RECORDS])
def test_boxed_answer_matches(record):
    if record.get("answer") is not None:
        assert parse(record["response"]).boxed == record["answer"]


EXPECTED_CODES = {
    "mismatched-steps": {"step_count"},
    "missing-takeaway": {"missing_takeaway"},
    "nested-guideline": {"nested_tag"},
    "text-between-tags": {"stray_text"},
    "truncated-in-step": {"unclosed_tag"},
    "bad-numbering": {"plan_numbering", "step_numbering"},
    "empty-takeaway": {"empty_takeaway"},
    "plain-cot": {"no_blocks"},
    "step-order-swapped": {"step_numbering"},
}


@pytest.mark.parametrize("record_id, expected", sorted(EXPECTED_CODES.items()))
def test_invalid_records_fail_for_the_stated_reason(record_id, expected):
    (record,) = [r for r in RECORDS if r["id"] == record_id]
    assert {v.code for v in validate(record["response"])} == expected


def test_check_file_matches_every_expectation():
    report = check_file(TRAJECTORIES)
    assert report.format == "jsonl"
    summary = report.summary
    assert summary["n"] == len(RECORDS) and summary["errors"] == 0
    assert summary["expect_valid"] == {"n": len(RECORDS), "matched": len(RECORDS), "mismatched_ids": []}
    assert report.expectations_met
    assert [r.id for r in report.records] == [r["id"] for r in RECORDS]
