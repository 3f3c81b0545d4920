"""Themes: topic matching in English and Chinese, free keywords, small-cell suppression."""

from __future__ import annotations

import time

import pytest

from analysis.themes import DEFAULT_TOPICS, Theme, comment_topics, top_themes


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("排了三个小时队，还被推来推去", "zh", {"runaround"}),
        ("排队时间太长，工作人员态度冷漠", "zh", {"waiting", "attitude"}),
        ("办事效率很高，工作人员态度很好", "zh", {"efficiency", "attitude"}),
        ("收费不透明，还乱收费", "zh", {"fees"}),
        ("路灯坏了两个月也没人修", "zh", {"roads"}),
        ("垃圾好几天没人清运，臭气熏天", "zh", {"sanitation"}),
        ("APP经常闪退，系统登录不了", "zh", {"online"}),
        ("反映的问题石沉大海", "zh", {"no_response"}),
        ("問題很快就解決了", "zh", {"resolved", "efficiency"}),  # traditional characters
        ("排隊太久", "zh", {"waiting"}),
        ("The queues were long and the staff were rude", "en", {"waiting", "attitude"}),
        ("They sent me back and forth between offices", "en", {"runaround"}),
        ("Too many documents and the forms are confusing", "en", {"requirements"}),
        ("Potholes on every street", "en", {"roads"}),
        ("Fees are too high", "en", {"fees"}),
        ("The website crashed twice", "en", {"online"}),
        ("Problem solved quickly, thanks!", "en", {"resolved", "efficiency"}),
        ("服务很好 but the queue was long", "zh", {"waiting"}),  # 服务 alone is no topic
        ("the 大厅 was dirty and no 座位", "en", {"facilities", "sanitation"}),
    ],
)
def test_comment_topics(text: str, language: str, expected: set[str]) -> None:
    assert comment_topics(text, language) == expected


@pytest.mark.parametrize("text", ["", "   ", "😀😀👍", "12345", "!!!", "很好", "Great, thanks"])
def test_no_topic(text: str) -> None:
    assert comment_topics(text, "und") == set()


def test_a_comment_counts_once_per_topic() -> None:
    text = "排队排队排队，等了又等，队伍太长" * 10
    assert comment_topics(text, "zh") == {"waiting"}
    summary = top_themes([(text, "zh")] * 6, n_responses=6)
    assert summary.themes == (Theme("waiting", 6, 1.0),)


def test_custom_topics_and_plurals() -> None:
    topics = {
        "parking": {"en": ["car park", "parking space"], "zh": ["停车"]},
        "lifts": {"en": ["elevators"], "zh": ["电梯", "梯"]},  # one-character keyword too
    }
    assert comment_topics("No parking spaces near the car parks", "en", topics) == {"parking"}
    assert comment_topics("the elevator is broken", "en", topics) == {"lifts"}
    assert comment_topics("停车难，楼梯也坏了", "zh", topics) == {"parking"}  # 楼梯 ≠ 梯
    assert comment_topics("扶手 梯 坏了", "zh", topics) == {"lifts"}
    assert comment_topics("停车难", "zh", {}) == set()


def test_fewer_than_five_responses_shows_nothing() -> None:
    comments = [("排队太久", "zh")] * 4
    summary = top_themes(comments, n_responses=4)
    assert summary.suppressed
    assert summary.reason == "fewer than 5 responses"
    assert summary.note == "fewer than 5 responses"
    assert summary.themes == () and summary.keywords == ()
    assert top_themes([], n_responses=0).suppressed
    assert top_themes([("排队太久", "zh")], n_responses=1).suppressed


def test_themes_under_five_comments_are_hidden() -> None:
    comments = (
        [("排队太久了", "zh")] * 7
        + [("The queue was long", "en")] * 2
        + [("态度很差", "zh")] * 4
        + [("路灯坏了", "zh")] * 5
        + [("", "und"), ("😀", "und")]
    )
    summary = top_themes(comments, n_responses=40)
    assert not summary.suppressed
    assert summary.n_comments == 19  # the empty one is not a comment
    assert summary.n_responses == 40
    assert [(t.topic, t.count) for t in summary.themes] == [("waiting", 9), ("roads", 5)]
    assert summary.themes[0].share == pytest.approx(9 / 19)
    assert all(t.count >= 5 for t in summary.themes)
    assert summary.hidden_topics == 1  # attitude, 4 comments
    assert summary.note is not None and "fewer than 5" in summary.note


def test_top_and_min_cell_options() -> None:
    comments = [("排队太久", "zh")] * 3 + [("乱收费", "zh")] * 2 + [("路灯坏了", "zh")]
    summary = top_themes(comments, n_responses=6, top=2, min_cell=2)
    assert [(t.topic, t.count) for t in summary.themes] == [("waiting", 3), ("fees", 2)]
    assert top_themes(comments, n_responses=6, top=1, min_cell=1).themes[0].topic == "waiting"


def test_free_keywords_surface_unexpected_themes() -> None:
    comments = (
        [("小区的快递柜总是坏", "zh")] * 3
        + [("快递柜不够用，希望多装几个", "zh")] * 3
        + [("The elevator in the annex is always out of order", "en")] * 5
        + [("非常满意，谢谢", "zh")] * 6
    )
    summary = top_themes(comments, n_responses=17)
    keywords = {t.topic: t.count for t in summary.keywords}
    assert keywords.get("快递") == 6  # jieba: 快递 + 柜
    assert keywords.get("annex") == 5
    assert all(t.kind == "keyword" for t in summary.keywords)
    # Evaluations and stopwords are no themes; topic keywords are counted as topics.
    assert not {"满意", "非常", "谢谢", "the", "always", "elevator"} & set(keywords)
    assert "facilities" in {t.topic for t in summary.themes}
    assert top_themes(comments, n_responses=17, keywords=False).keywords == ()


def test_keywords_not_taken_from_other_languages() -> None:
    comments = [("Le bureau était fermé ce matin", "und")] * 6
    summary = top_themes(comments, n_responses=6)
    assert summary.keywords == ()


def test_odd_comments() -> None:
    long_zh = "排队时间太长，" * 1500  # 10,500 characters
    long_en = "the queue was far too long " * 400
    comments = [
        ("", "und"),
        ("😀😀😀", "und"),
        (long_zh, "zh"),
        (long_en, "en"),
        ("服务很好 but the queue was long", "zh"),
        ("辦事效率很高", "zh"),
        ("\n\t ", "und"),
    ]
    start = time.perf_counter()
    summary = top_themes(comments * 5, n_responses=35)
    assert time.perf_counter() - start < 5
    counts = {t.topic: t.count for t in summary.themes}
    assert counts == {"waiting": 15, "efficiency": 5}
    assert comment_topics(long_zh, "zh") == {"waiting"}


def test_default_topics_shape() -> None:
    assert 10 <= len(DEFAULT_TOPICS) <= 16
    for keywords in DEFAULT_TOPICS.values():
        assert keywords["en"] and keywords["zh"]
        # Chinese keywords of two characters or more: topics match without segmentation.
        assert all(len(word) >= 2 for word in keywords["zh"])


def test_topic_matching_is_fast() -> None:
    comments = [
        ("窗口工作人员非常耐心，一次就办好了", "zh"),
        ("排了三个小时队，还被推来推去", "zh"),
        ("The staff were friendly but the queue was long", "en"),
    ] * 2000
    start = time.perf_counter()
    top_themes(comments, n_responses=len(comments), keywords=False)
    assert len(comments) / (time.perf_counter() - start) > 5_000
