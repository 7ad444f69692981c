"""A run's data is part of what it is: a data file edited after a run makes the finished run
stale (reported, rerun by a sweep's --rerun-stale) and refuses to resume an unfinished one,
in one line (issue #26)."""

import subprocess
import sys

import lightning as L
import numpy as np
import pandas as pd
import pytest

from project.runs import folder as run_folder
from project.runs.identity import identity_of
from project.training.run import train
from tests.conftest import ROOT, TINY, compose_train

SHORT = ["task=custom_text", "task.budget.max_steps=6", "task.budget.val_every_n_steps=3",
         "task.data.batch_size=8"]


def write_reviews(path, flip: bool = False) -> None:
    """120 reviews; ``flip`` relabels every row (the same words: the same vocabulary)."""
    rng = np.random.default_rng(0)
    words = {"pos": ["great", "fine", "lovely"], "neg": ["awful", "bad", "dull"]}
    labels = rng.choice(["neg", "pos"], 120)
    text = [" ".join(rng.choice(words[y], 4)) for y in labels]
    if flip:
        labels = np.where(labels == "pos", "neg", "pos")
    pd.DataFrame({"text": text, "label": labels}).to_csv(path, index=False)


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "reviews.csv"
    write_reviews(path)
    return path


def config(data, run_dir):
    return compose_train([*SHORT, f"task.data.path={data}"], run_dir)


def test_the_fingerprint_follows_the_content_not_the_path(data, tmp_path):
    before = identity_of(config(data, tmp_path / "run")).data_fingerprint
    moved = tmp_path / "elsewhere.csv"
    moved.write_bytes(data.read_bytes())
    assert identity_of(config(moved, tmp_path / "run")).data_fingerprint == before
    write_reviews(data, flip=True)
    assert identity_of(config(data, tmp_path / "run")).data_fingerprint not in (before, None)
    assert identity_of(compose_train(["task=adding"], tmp_path / "a")).data_fingerprint is None


def test_a_finished_run_whose_data_changed_is_stale(data, tmp_path):
    run_dir = tmp_path / "run"
    train(config(data, run_dir))
    assert not run_folder.is_stale(config(data, run_dir), run_dir)
    write_reviews(data, flip=True)
    again = train(config(data, run_dir))
    assert isinstance(again, run_folder.AlreadyFinished)
    assert again.stale and again.stale[0].startswith(f"data: its files changed since ({data};")
    assert run_folder.is_stale(config(data, run_dir), run_dir)  # what --rerun-stale reruns


def test_the_command_line_says_a_finished_run_is_stale(data, tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "project.train", *TINY, *SHORT, f"task.data.path={data}",
           f"run_dir={run_dir}"]
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    write_reviews(data, flip=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "already finished, not trained again" in proc.stdout
    assert f"warning: {run_dir} is stale: it was made under another config or data (data: " \
        in proc.stderr


class Crash(L.Callback):
    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit" and trainer.global_step == 3:
            raise RuntimeError("crash")


def test_an_unfinished_run_whose_data_changed_is_refused_in_one_line(data, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="crash"):
        train(config(data, run_dir), callbacks=[Crash()])
    write_reviews(data, flip=True)  # same vocabulary: it would resume on other labels
    with pytest.raises(run_folder.ConfigChanged) as e:
        train(config(data, run_dir))
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"cannot resume {run_dir}: it was started under another config "
                              f"(data: its files changed since ({data};")
    assert "resume=never" in message
    write_reviews(data)  # the data as it was: the run resumes
    assert train(config(data, run_dir))["steps_trained"] == 6


def test_a_folder_of_recordings_is_fingerprinted_file_by_file(tmp_path):
    """task=custom_audio reads DIR/<label>/*.wav: editing one recording changes the run's
    fingerprint, as editing a table file does."""
    from tests.data.test_data_audio import write_wav

    rng = np.random.default_rng(0)
    for label in ("yes", "no"):
        (tmp_path / "words" / label).mkdir(parents=True)
        for k in range(3):
            write_wav(tmp_path / "words" / label / f"{k}.wav",
                      (rng.normal(size=800) * 3000).astype(np.int16))
    cfg = lambda: compose_train(["task=custom_audio", f"task.data.path={tmp_path / 'words'}"],
                                tmp_path / "run")
    before = identity_of(cfg()).data_fingerprint
    assert before is not None
    write_wav(tmp_path / "words" / "no" / "1.wav", np.zeros(800, np.int16))
    assert identity_of(cfg()).data_fingerprint not in (before, None)
