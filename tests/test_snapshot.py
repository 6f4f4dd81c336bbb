"""The bundled snapshot's error paths: a folder that is missing or broken gives one line
naming the file and what is wrong, and the page says so instead of failing; the bundled
snapshot itself loads (NEWS_SNAPSHOT points the page at another folder)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lib.errors import ConfigError
from lib.snapshot import fill_store, load_snapshot
from lib.store import Store
from tests.markdown import viewer_text
from tests.test_app import env, page_html, run  # noqa: F401 (fixture)

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "snapshot"


def copy_of_bundled(tmp_path: Path) -> Path:
    folder = tmp_path / "shot"
    shutil.copytree(BUNDLED, folder)
    return folder


def test_the_bundled_snapshot_loads_and_fills_a_store(tmp_path: Path) -> None:
    shot = load_snapshot(BUNDLED)
    assert shot.topic == "china-russia"
    assert shot.taken_at == datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
    assert fill_store(shot, Store(tmp_path / "s.db")) == 10  # the seed page's ten headlines


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda folder: (folder / "snapshot.toml").unlink(), "cannot be read (No such file"),
        (lambda folder: (folder / "snapshot.toml").write_text("topic = \n"), "is not valid TOML"),
        (lambda folder: (folder / "snapshot.toml").write_text('topic = "x"\n'), "lacks the key"),
        (
            lambda folder: (folder / "snapshot.toml").write_text(
                (folder / "snapshot.toml").read_text().replace("2024-09-18T04:22", "yesterday")
            ),
            "taken_at: 'yesterday",
        ),
        (
            lambda folder: (folder / "snapshot.toml").write_text(
                (folder / "snapshot.toml")
                .read_text()
                .replace('"2024-09-18T04:22:00+01:00"', "2024-09-18T04:22:00+01:00")
            ),
            None,  # a TOML date-time is read as the same time
        ),
    ],
)
def test_a_broken_snapshot_file_is_one_line_naming_it(tmp_path: Path, damage, said) -> None:
    folder = copy_of_bundled(tmp_path)
    damage(folder)
    if said is None:
        assert load_snapshot(folder).taken_at == datetime(2024, 9, 18, 3, 22, tzinfo=UTC)
        return
    with pytest.raises(ConfigError) as caught:
        load_snapshot(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'snapshot.toml'}: ") and said in message, message
    assert "NEWS_CLOCK" not in message and "\n" not in message


def test_a_snapshot_feed_that_is_missing_or_broken_is_named(tmp_path: Path) -> None:
    folder = copy_of_bundled(tmp_path)
    shot = load_snapshot(folder)
    shot.files[0].write_text("<html><body>not a feed</body></html>")
    with pytest.raises(ConfigError) as caught:
        fill_store(shot, Store(tmp_path / "a.db"))
    assert str(caught.value).startswith(f"{shot.files[0]}: is not a feed that can be read (")
    shot.files[0].unlink()
    with pytest.raises(ConfigError, match=r"cannot be read \(No such file or directory\)$"):
        fill_store(shot, Store(tmp_path / "b.db"))


def test_an_offline_page_with_no_usable_snapshot_says_so(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    monkeypatch.setenv("NEWS_SNAPSHOT", str(missing))
    at = run()
    assert not at.exception
    (line,) = [viewer_text(w.value) for w in at.warning]
    assert line == (
        f"The bundled snapshot cannot be used: {missing / 'snapshot.toml'}: cannot be read "
        "(No such file or directory). Point NEWS_SNAPSHOT at a snapshot folder (the app "
        "ships data/snapshot)."
    )
    assert any("no bundled snapshot: showing what is stored" in i.value for i in at.info)


def test_news_snapshot_points_the_page_at_another_folder(
    env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    folder = copy_of_bundled(tmp_path)
    feed = folder / "ntd-news.xml"
    feed.write_text(feed.read_text().replace("Russian, Chinese Navies", "Zq Renamed Navies"))
    monkeypatch.setenv("NEWS_OFFLINE", "1")
    monkeypatch.setenv("NEWS_SNAPSHOT", str(folder))
    at = run()
    assert not at.exception
    html = page_html(at)
    assert "Zq Renamed Navies Conduct Firing Exercises" in html
    assert "Russian, Chinese Navies" not in html
