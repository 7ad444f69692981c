"""Data a user brings that used to be read wrong without a word (issue #26): quotes in a
tab-separated file, text that is not UTF-8, a file edited after it was cached, words of
scripts other than Latin, an image task with two pixel sources."""

from __future__ import annotations

import os

import pytest
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from project.data.file_digest import file_digest
from project.data.sources import read_table
from project.data.tokenizer import split_words
from tests.conftest import compose_train

# The SMS Spam Collection's shape: label<TAB>text, quotes that are part of the messages
# (one opens a message and closes two lines further down), a header added.
SMS = ('label\ttext\n'
       'ham\t"Hello there, how are you\n'
       'spam\tWIN a "free" prize now\n'
       'ham\tok see you" at 5\n'
       'ham\tsure\n')


def text_module(tmp_path, path, *overrides: str):
    cfg = compose_train(["task=custom_text", f"task.data.path={path}", *overrides],
                        tmp_path / "run")
    dm = instantiate(cfg.task.data, seed=0)
    return dm


def test_a_tsv_is_read_without_quote_processing(tmp_path):
    path = tmp_path / "sms.tsv"
    path.write_text(SMS)
    df = read_table(path)
    assert len(df) == 4  # one row per line
    assert df["text"].tolist() == ['"Hello there, how are you', 'WIN a "free" prize now',
                                   'ok see you" at 5', "sure"]


def test_csv_quoting_in_a_tsv_is_asked_for_and_a_merge_is_reported(tmp_path, capsys):
    path = tmp_path / "sms.tsv"
    path.write_text(SMS)
    df = read_table(path, tsv_quoting=True)
    assert len(df) == 3  # the quoted message swallows the next line
    err = capsys.readouterr().err
    assert f"warning: {path}: 3 rows read from 4 non-blank lines after the header" in err


def test_the_custom_text_task_has_the_tsv_setting(tmp_path):
    path = tmp_path / "sms.tsv"
    header, body = SMS.split("\n", 1)
    path.write_text(header + "\n" + body * 10)
    plain = text_module(tmp_path, path)
    assert len(plain.source.read_tables()["train"]) == 40
    quoted = text_module(tmp_path, path, "task.data.tsv_quoting=true")
    assert len(quoted.source.read_tables()["train"]) < 40


def test_a_csv_whose_quoted_fields_span_lines_is_reported(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text('text,label\n"two\nlines",1\nplain,0\n')
    assert len(read_table(path)) == 2
    assert "2 rows read from 3 non-blank lines" in capsys.readouterr().err


def test_text_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"text,label\nfine,1\ncaf\xe9 au lait,0\n")
    with pytest.raises(ValueError) as e:
        read_table(path)
    assert str(e.value) == (f"{path}: line 3 is not valid UTF-8 (byte 0xe9 at column 4): "
                            "save the file as UTF-8")


def test_an_edited_file_is_not_read_from_the_cache_of_its_old_content(tmp_path):
    """Same size, same modification time (set back), same inode: the datasets cache, keyed
    on path and mtime, served the old rows."""
    path = tmp_path / "t.csv"
    path.write_text("text,label\na,1\nb,0\n")
    assert read_table(path)["label"].tolist() == [1, 0]
    before = path.stat()
    with open(path, "r+") as f:  # rewritten in place
        f.write("text,label\na,0\nb,1\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_ino) == (before.st_size, before.st_ino)
    assert read_table(path)["label"].tolist() == [0, 1]


def test_file_digest_is_the_content_hash_and_follows_an_edit(tmp_path):
    import hashlib

    path = tmp_path / "t.csv"
    path.write_bytes(b"text,label\na,1\n")
    assert file_digest(path) == hashlib.sha256(b"text,label\na,1\n").hexdigest()
    path.write_bytes(b"text,label\na,0\n")
    assert file_digest(path) == hashlib.sha256(b"text,label\na,0\n").hexdigest()


@pytest.mark.parametrize("text,words", [
    ("Café naïve", ["café", "naïve"]),
    ("مرحبا بالعالم", ["مرحبا", "بالعالم"]),  # Arabic
    ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # Devanagari: vowel signs are combining marks
    ("Tōkyō, 東京!", ["tōkyō", ",", "東京", "!"]),
    ("It's a_b 42.", ["it's", "a", "_", "b", "42", "."]),  # ASCII: as before
])
def test_words_of_every_script_stay_whole(text, words):
    assert split_words(text) == words


def test_custom_image_with_two_pixel_sources_names_the_default(tmp_path):
    cfg = compose_train(["task=custom_image", f"task.data.path={tmp_path / 'x.csv'}",
                         "task.data.pixels_column=pixels"], tmp_path / "run")
    with pytest.raises(InstantiationException) as e:  # a ValueError inside: one line, exit 2
        instantiate(cfg.task.data, seed=0)
    assert ("now set: pixel_columns=pixel_, pixels_column=pixels; conf/task/custom_image.yaml "
            "sets pixel_columns=pixel_ by default: add task.data.pixel_columns=null"
            ) in str(e.value)
