"""Stage definitions: the built-in stages, a TOML file merged over them, and one line for a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest

from content_miner.tracker import MinerStageTracker
from content_miner.tracker.definitions import DEFAULTS, MAX_FILE_BYTES, DefinitionsError, load_definitions


def test_the_defaults_are_the_spec_stages_for_module1_and_module2_own() -> None:
    assert [DEFAULTS.name("module1", n) for n in range(8)] == [
        "Initialization", "Data Scraping", "Data Retrieval", "Vector Database", "Time Series Analysis",
        "Content Generation", "Exportation", "Complete"]
    assert [DEFAULTS.name("module2", n) for n in range(2)] == ["Initialization", "Image Rendering"]
    assert DEFAULTS.name("module1", 42) == "Stage 42"
    assert DEFAULTS.source("module1").pipeline and not DEFAULTS.source("module2").pipeline


def test_a_file_renames_replaces_and_adds_stages_and_sources(tmp_path: Path) -> None:
    path = tmp_path / "stages.toml"
    path.write_text(
        '[module1]\ndisplay = "Recommender"\n'
        '[[module1.stages]]\nnumber = 3\nname = "Embedding"\nexpected_s = 12\nmax_s = 90\n'
        '[[module1.stages]]\nnumber = 8\nname = "Publishing"\ndescription = "post the plan"\n'
        '[reporter]\n[[reporter.stages]]\nnumber = 1\nname = "Weekly Report"\n')
    found = load_definitions(path)
    assert found.source("module1").display == "Recommender"
    three = found.stage("module1", 3)
    assert (three.name, three.expected_s, three.max_s) == ("Embedding", 12.0, 90.0)
    assert found.name("module1", 2) == "Data Retrieval", "stages the file does not list keep their defaults"
    assert found.name("module1", 8) == "Publishing"
    assert [stage.number for stage in found.later_stages("module1", 6)] == [7, 8]
    assert found.name("reporter", 1) == "Weekly Report" and found.source("reporter").display == "reporter"
    assert DEFAULTS.name("module1", 3) == "Vector Database", "the defaults are never changed"


def test_the_tracker_names_events_from_its_definitions(tmp_path: Path) -> None:
    path = tmp_path / "stages.toml"
    path.write_text('[[module1.stages]]\nnumber = 3\nname = "Embedding"\n')
    tracker = MinerStageTracker(tmp_path / "data" / "miner_status.json", source="module1",
                                definitions=load_definitions(path))
    tracker.stage_start(3, "Indexing", "alice")
    (event,) = tracker.read_events()
    assert event["stage_name"] == "Embedding"


@pytest.mark.parametrize("text, reason", [
    ("[module1\n", "not valid TOML"),
    ("module1 = 3\n", "[module1] must be a table"),
    ("[module1]\ncolour = 'red'\n", "unknown key 'colour'"),
    ("[module1]\npipeline = 'yes'\n", "pipeline must be true or false"),
    ("[module1]\nstages = 3\n", "stages must be a list of tables"),
    ("[[module1.stages]]\nname = 'x'\n", "number must be an integer 0-999, got None"),
    ("[[module1.stages]]\nnumber = -1\nname = 'x'\n", "number must be an integer 0-999, got -1"),
    ("[[module1.stages]]\nnumber = 3\n", "name must be a non-empty string"),
    ("[[module1.stages]]\nnumber = 3\nname = '   '\n", "name must be a non-empty string"),
    ("[[module1.stages]]\nnumber = 3\nname = \"bell\\u0007\"\n", "at most 60 printable characters"),
    ("[[module1.stages]]\nnumber = 3\nname = \"right\\u202eleft\"\n", "at most 60 printable characters"),
    ("[[module1.stages]]\nnumber = 3\nname = '" + "x" * 61 + "'\n", "at most 60 printable characters"),
    ("[[module1.stages]]\nnumber = 3\nname = 'x'\nmax_s = 0\n", "max_s must be a number of seconds > 0"),
    ("[[module1.stages]]\nnumber = 3\nname = 'x'\nmax_s = nan\n", "max_s must be a number of seconds > 0"),
    ("[[module1.stages]]\nnumber = 3\nname = 'x'\nexpected_s = 10\nmax_s = 5\n", "max_s (5) is below expected_s"),
    ("[[module1.stages]]\nnumber = 3\nname = 'x'\neta = 5\n", "stage 3: unknown key 'eta'"),
], ids=lambda value: value if len(value) < 30 else value[:30])
def test_a_bad_file_is_refused_with_one_line_naming_the_problem(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "stages.toml"
    path.write_text(text)
    with pytest.raises(DefinitionsError) as caught:
        load_definitions(path)
    message = str(caught.value)
    assert reason in message and "\n" not in message and str(path) in message
    assert path.read_text() == text, "the file is kept as it was"


def test_a_missing_a_binary_and_a_huge_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionsError, match="cannot read it"):
        load_definitions(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[module1]")
    with pytest.raises(DefinitionsError, match="not valid TOML"):
        load_definitions(binary)
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * MAX_FILE_BYTES)
    with pytest.raises(DefinitionsError, match=f"larger than {MAX_FILE_BYTES} bytes"):
        load_definitions(huge)


def test_the_definitions_the_miner_publishes_read_back_equal_with_its_stall_rules(status_path: Path,
                                                                                tmp_path: Path) -> None:
    from content_miner.tracker.definitions import as_document, from_document
    from content_miner.tracker.live import StallRules, read_published
    from content_miner.tracker.stage_log import meta

    stages = tmp_path / "stages.toml"
    stages.write_text('[module1]\n[[module1.stages]]\nnumber = 3\nname = "Embedding"\nmax_s = 10\n'
                      '[crawler]\ndisplay = "Crawler"\n[[crawler.stages]]\nnumber = 1\nname = "Fetch"\n')
    mine = load_definitions(stages)
    assert from_document(as_document(mine), "a test") == mine
    tracker = MinerStageTracker(status_path, source="miner", definitions=mine)
    assert tracker.publish(StallRules(4.0, 1.5))
    raw = tracker._writer.read(lambda db: meta(db).get("published"), None)
    assert read_published(raw) == (mine, StallRules(4.0, 1.5))
    # Nothing published, or something unreadable: the defaults, never an error.
    assert read_published(None) == (DEFAULTS, StallRules())
    assert read_published('{"definitions": {"module1": {"stages": [{"number": -1}]}}}') == (DEFAULTS, StallRules())
    assert read_published("not json") == (DEFAULTS, StallRules())
