"""A server asks one question of its archive before it listens: the first asker does not pay for loading."""

from __future__ import annotations

from api.main import create_app
from rag.settings import Settings


def embedded_questions(app) -> float:
    return app.state.metrics.registry.get_sample_value("kabar_embed_question_seconds_count")


def test_a_server_warms_up_before_it_listens_and_does_not_count_it_as_a_question(hashing_seed_settings, capsys):
    app = create_app(hashing_seed_settings)
    assert "warmed up in" in capsys.readouterr().err
    assert embedded_questions(app) == 0  # /metrics counts askers' questions only


def test_warming_up_can_be_switched_off_and_an_empty_archive_has_nothing_to_warm(hashing_seed_settings, tmp_path,
                                                                                 capsys):
    create_app(hashing_seed_settings.model_copy(update={"warm_up": False}))
    create_app(Settings(index_dir=tmp_path / "empty", cache_dir=hashing_seed_settings.cache_dir,
                        embedder="hashing", reader="off"))
    assert "warmed up" not in capsys.readouterr().err
