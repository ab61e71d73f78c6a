"""GAP file parsing and the assignment checker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.matcher.solver.gap_data import (
    GapFormatError,
    cost_of,
    load,
    parse_any,
    parse_instance,
    parse_multi,
    violations,
)

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "gap"
# m = 2 agents, n = 3 jobs; line breaks deliberately unlike the rows.
SMALL = "2 3\n1 2 3 4\n5 6 1 1 1\n1 1 1 2\n2\n"


def test_parses_tokens_regardless_of_line_breaks() -> None:
    instance = parse_instance(SMALL, name="small")
    assert (instance.m, instance.n) == (2, 3)
    assert instance.cost.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert instance.resource.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert instance.capacity.tolist() == [2, 2]


def test_parses_a_multi_problem_file_and_names_each_problem() -> None:
    instances = parse_multi("2\n" + SMALL + "1 2 5 7 3 4 9", name="two.txt")
    assert [i.name for i in instances] == ["two.txt#1", "two.txt#2"]
    assert instances[1].cost.tolist() == [[5, 7]]
    assert instances[1].capacity.tolist() == [9]


@pytest.mark.parametrize("text, message", [
    ("", "missing 'm n'"),
    ("2 3 1 2", "expected 16 integers"),
    (SMALL + " 7", "unexpected tokens"),
    ("2 x 3", "non-integer"),
    ("0 3", "must be positive"),
    ("1 1 5 -1 3", "negative"),
])
def test_rejects_malformed_single_files(text: str, message: str) -> None:
    with pytest.raises(GapFormatError, match=message):
        parse_instance(text, name="bad")


def test_rejects_a_multi_file_with_too_few_problems() -> None:
    with pytest.raises(GapFormatError, match="#2: missing"):
        parse_multi("2\n" + SMALL, name="short.txt")


def test_parse_any_names_both_failures() -> None:
    with pytest.raises(GapFormatError, match="neither one instance .* nor a P-problem file"):
        parse_any("1 2 3", name="bad")


def test_violations_and_cost() -> None:
    instance = parse_instance(SMALL)
    assert violations(instance, [0, 0, 1]) == []
    assert cost_of(instance, [0, 0, 1]) == 1 + 2 + 6
    assert violations(instance, [0, 0, 0]) == ["agent 0: load 3 > capacity 2"]
    assert violations(instance, [0, 2, 1]) == ["agent index out of range"]
    assert violations(instance, [0, 1]) == ["2 jobs assigned, expected 3"]


@pytest.mark.skipif(not DATA.is_dir(), reason="shared GAP data not present")
@pytest.mark.parametrize("path", sorted([*DATA.glob("gap_d/*"), *DATA.glob("gap_e/*")]),
                         ids=lambda p: p.name)
def test_real_files_have_the_size_in_their_name(path: Path) -> None:
    (instance,) = load(path)
    m, n = int(path.name[1:3]), int(path.name[3:])
    assert (instance.m, instance.n) == (m, n)
    assert instance.cost.shape == instance.resource.shape == (m, n)
    assert instance.capacity.shape == (m,)


@pytest.mark.skipif(not DATA.is_dir(), reason="shared GAP data not present")
def test_gapd_holds_the_six_small_d_instances() -> None:
    problems = load(DATA / "gapd.txt")
    names = ["d05100", "d05200", "d10100", "d10200", "d20100", "d20200"]
    assert [p.name for p in problems] == [f"gapd.txt#{p}" for p in range(1, 7)]
    for problem, name in zip(problems, names, strict=True):
        (single,) = load(DATA / "gap_d" / name)
        assert np.array_equal(problem.cost, single.cost)
        assert np.array_equal(problem.resource, single.resource)
        assert np.array_equal(problem.capacity, single.capacity)
