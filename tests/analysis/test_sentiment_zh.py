"""Chinese sentiment: the learned model on short public-service comments, the lexicon and rules
it keeps as features (negation, degree, contrast), the weights file, odd inputs, speed."""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analysis import sentiment_zh
from analysis.sentiment_zh import ChineseAnalyser, ChineseModel, segmenter


@pytest.fixture(scope="module")
def analyser() -> ChineseAnalyser:
    return ChineseAnalyser()


@pytest.mark.parametrize(
    "text",
    [
        "办事效率很高，工作人员态度很好",
        "窗口工作人员非常耐心，一次就办好了",
        "网上就能办理，不用跑腿，很方便",
        "社区干部很负责，问题很快就解决了",
        "服务热情周到，点赞",
        "非常满意！",
        "感谢社区网格员的帮助",
        "等待时间很短",
        "虽然排队时间长，但是工作人员很耐心",
        "比以前好多了",
        "辦事效率很高，工作人員態度很好",  # traditional characters
        "不错不错👍",
    ],
)
def test_positive(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) > 0.05
    assert analyser.lexicon_polarity(text) > 0.05


@pytest.mark.parametrize(
    "text",
    [
        "排了三个小时队，还被推来推去",
        "不太满意",
        "不是很满意",
        "非常不满意！",
        "工作人员态度冷漠，问什么都不耐烦",
        "办事人员推诿扯皮，效率低下",
        "收费太高",
        "等太久了",
        "根本没人管",
        "问题一直解决不了",
        "一点都不方便",
        "虽然工作人员态度不错，但是办事效率太低",
        "能不能认真一点？",
        "希望工作人员态度好一点",
        "門難進，臉難看，事難辦",  # traditional characters
        "态度很差😡",
    ],
)
def test_negative(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) < -0.05
    assert analyser.lexicon_polarity(text) < -0.05


@pytest.mark.parametrize(
    "text", ["没有什么问题", "没什么问题", "不差", "不用排队", "没有遇到任何刁难"]
)
def test_negated_complaint_is_not_negative(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) >= -0.05
    assert analyser.lexicon_polarity(text) >= 0


def test_degree_and_negation_order(analyser: ChineseAnalyser) -> None:
    # The lexicon's rules: "very dissatisfied" is stronger than "dissatisfied", which is
    # stronger than "not very satisfied"; "very satisfied" beats "satisfied".
    p = analyser.lexicon_polarity
    assert p("很不满意") < p("不满意") < p("不太满意") < 0
    assert p("非常满意") > p("满意") > p("有点满意") > 0
    assert p("太慢了！") < p("有点慢") < 0


def test_contrast_weights_the_second_clause(analyser: ChineseAnalyser) -> None:
    assert analyser.lexicon_polarity("效率很低，但是态度很好") > 0
    assert analyser.lexicon_polarity("态度很好，但是效率很低") < 0
    # The model keeps the rule: the clause after the contrast decides a mixed comment.
    assert analyser.polarity("态度很好，但是效率很低") < -0.05


@pytest.mark.parametrize("text", ["电梯坏了，两个小时就修好了", "水管漏水报修后第二天就来修好了",
                                  "下水道堵了，物业当天就疏通了", "漏水的问题已经解决了"])
def test_a_problem_told_with_its_fix_is_praise(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) > 0.05
    assert analyser.polarity(text) > 0.05


@pytest.mark.parametrize("text", ["路灯坏了一个月，还没修好", "报修三次都没解决",
                                  "路灯坏了，希望尽快修好", "路灯坏了，等修好", "希望尽快解决"])
def test_a_fix_not_done_is_no_praise(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) < -0.05
    assert analyser.polarity(text) < -0.05


@pytest.mark.parametrize("text", ["办个证跑了五趟", "来回跑了好几趟还没办成", "我跑了两趟",
                                  "跑了好多趟"])
def test_many_trips_are_the_runaround(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) < -0.05
    assert analyser.polarity(text) < -0.05


def test_one_trip_or_none_is_no_runaround(analyser: ChineseAnalyser) -> None:
    assert analyser.lexicon_polarity("只跑了一趟就办好了") >= 0
    assert analyser.lexicon_polarity("不用跑好几趟") > 0  # negated
    assert analyser.lexicon_polarity("去了三次都很满意") > 0  # visits, not the runaround


@pytest.mark.parametrize("text", ["投诉之后马上有人回电话", "反映的问题第二天就有人来处理了",
                                  "很快就有人上门了"])
def test_a_quick_response_is_praise(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) > 0.05
    assert analyser.polarity(text) > 0.05


@pytest.mark.parametrize("text", ["反映的噪音问题很快就处理了", "很快就回复了", "当天就上门了"])
def test_a_response_told_as_done_quickly_is_praise(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) > 0.05
    assert analyser.polarity(text) > 0.05


@pytest.mark.parametrize("text", ["希望尽快处理", "希望尽快回复", "什么时候处理", "请尽快联系我"])
def test_a_response_awaited_is_a_complaint(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) < -0.05
    assert analyser.polarity(text) < -0.05


@pytest.mark.parametrize("text", ["我是来办理社保卡的", "我来交物业费", "上午去的", "今天下午来的",
                                  "我来取快递。"])
def test_saying_what_one_came_for_or_when_is_neutral(analyser: ChineseAnalyser,
                                                     text: str) -> None:
    assert analyser.polarity(text) == 0.0


@pytest.mark.parametrize("text", ["刚来就这样", "来了三次才办成", "今天来办证，排了两个小时",
                                  "上午去的，没人上班"])
def test_an_errand_with_a_complaint_is_no_errand(analyser: ChineseAnalyser, text: str) -> None:
    assert not analyser.analyse(text)[3]  # left to the lexicon and the model


@pytest.mark.parametrize("text", ["希望马上有人来处理", "马上就有人说没办法", "第二天也没有人来"])
def test_a_response_wished_for_refused_or_absent_is_no_praise(analyser: ChineseAnalyser,
                                                              text: str) -> None:
    assert analyser.lexicon_polarity(text) <= 0
    assert analyser.polarity(text) < -0.05


@pytest.mark.parametrize("text", ["什么时候能修好路灯", "路灯什么时候修好", "多久能解决"])
def test_a_fix_asked_about_is_awaited(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.lexicon_polarity(text) < -0.05
    assert analyser.polarity(text) < -0.05


@pytest.mark.parametrize("text", [
    "请问周六上班吗", "请问办居住证需要带什么材料", "请问在哪里可以办理医保",
    "希望增加一个停车场", "建议多安排几个窗口", "能不能晚上也开放", "可以增加一些垃圾桶吗",
    "希望社区多组织一些老年人活动", "能不能周末也开门",
])
def test_inquiries_and_suggestions_without_a_sentiment_word_are_neutral(
        analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) == 0.0


@pytest.mark.parametrize("text", [
    "为什么一直不给办",  # a reproach
    "有没有人管",  # the A-not-A of a reproach
    "请问为什么窗口态度这么差",  # an inquiry with a complaint in it
    "希望增加一个停车场，现在停车太难了",  # a suggestion with its reason
    "请问怎么投诉",
])
def test_questions_that_complain_stay_complaints(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) < -0.05


def test_keyi_praises_at_the_end_of_a_clause_and_is_a_modal_in_a_question(
        analyser: ChineseAnalyser) -> None:
    assert analyser.lexicon_polarity("质量可以") > 0.05
    assert analyser.lexicon_polarity("服务还可以") > 0.05
    assert analyser.lexicon_polarity("请问哪里可以办理") == 0.0
    assert analyser.lexicon_polarity("怎么可以这样") < 0  # a reproach: 可以 turned


def test_a_fix_in_a_review_of_goods_needs_its_done_marker(analyser: ChineseAnalyser) -> None:
    # "解决" alone is a request or a promise in reviews ("联系客服说去核对解决问题"); only
    # a done fix (了, 已经) discounts the complaint before it.
    done = analyser.lexicon_polarity("收到的是坏的，客服已经解决了")
    promised = analyser.lexicon_polarity("收到的是坏的，客服说会解决")
    assert done > 0 > promised


@pytest.mark.parametrize("text", ["", "   ", "12345", "。。。", "？？", "abc", "\n"])
def test_nothing_to_score_is_zero(analyser: ChineseAnalyser, text: str) -> None:
    assert analyser.polarity(text) == 0.0


def test_emoji(analyser: ChineseAnalyser) -> None:
    assert analyser.polarity("👍👍👍") > 0
    assert analyser.polarity("😡😡") < 0
    assert analyser.polarity("🙃🌀") == 0.0


def test_mixed_language_and_long_text(analyser: ChineseAnalyser) -> None:
    assert analyser.polarity("服务很好 but the wait was long") > 0
    assert analyser.polarity("APP经常闪退，体验很差 app crashes") < 0
    long = "排队时间太长了，工作人员态度也不好。" * 600  # 10,800 characters
    start = time.perf_counter()
    polarity = analyser.polarity(long)
    assert -1.0 <= polarity < -0.5
    assert time.perf_counter() - start < 2.0
    assert -1.0 <= analyser.polarity("好" * 10_000) <= 1.0


def test_polarities_match_polarity_and_stay_in_range(analyser: ChineseAnalyser) -> None:
    texts = ["满意", "", "很差", "没有什么问题", "😀", "一般般吧", "x" * 10_000]
    values = analyser.polarities(texts)
    assert values == [analyser.polarity(text) for text in texts]
    assert all(-1.0 <= value <= 1.0 for value in values)
    assert analyser.polarities([]) == []


def test_throughput(analyser: ChineseAnalyser) -> None:
    texts = ["办事效率很高，工作人员态度很好", "排了三个小时队，还被推来推去", "不太满意"] * 400
    analyser.polarities(texts[:10])
    start = time.perf_counter()
    analyser.polarities(texts)
    rate = len(texts) / (time.perf_counter() - start)
    assert rate > 1_000  # about 10,000 short comments/s on one core; generous for slow CI


def test_version_names_rules_and_data(tmp_path: Path, analyser: ChineseAnalyser) -> None:
    assert analyser.version.startswith("zh-logreg-")
    assert ChineseAnalyser().version == analyser.version
    lexicon = tmp_path / "lexicon_zh.tsv"
    lexicon.write_text("# test\n办得好\t2\n办得差\t-2\n", encoding="utf-8")
    custom = ChineseAnalyser([lexicon])
    assert custom.version != analyser.version
    assert custom.lexicon_polarity("这次办得好") > 0
    assert custom.lexicon_polarity("满意") == 0.0  # only the given lexicon is used


def test_segmenter_keeps_lexicon_words_whole(analyser: ChineseAnalyser) -> None:
    analyser.polarity("预热")
    assert "推来推去" in segmenter().cut("还被推来推去")
    assert "一次办好" in segmenter().cut("真正一次办好")


def test_new_words_do_not_disturb_segmenting_in_other_threads() -> None:
    # rjieba refuses to segment while its dictionary grows ("Already borrowed"): new words
    # make a new segmenter instead of changing the one other threads are using.
    failures: list[BaseException] = []
    stop = threading.Event()

    def segment() -> None:
        try:
            while not stop.is_set():
                assert segmenter().cut("还被推来推去") == ["还", "被", "推来推去"]
        except BaseException as exc:  # noqa: BLE001 - any failure is the test's finding
            failures.append(exc)

    threads = [threading.Thread(target=segment) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(5):
            assert f"办事{i}窗口" in segmenter([f"办事{i}窗口"]).cut(f"去办事{i}窗口")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []


def test_import_is_cheap_and_quiet() -> None:
    # Importing loads neither the segmenter nor any lexicon; the first use prints nothing.
    code = (
        "import sys, analysis.sentiment_zh as m; assert 'rjieba' not in sys.modules;"
        "print(m.ChineseAnalyser().polarity('很好') > 0.05)"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout == "True\n"
    assert done.stderr == ""


def test_the_model_file_loads_and_the_version_follows_the_weights(tmp_path: Path) -> None:
    model = ChineseModel.load()
    assert len(model.weights) > 10_000
    assert sentiment_zh.MODEL_PATH.stat().st_size < 20_000_000
    same = tmp_path / "same.json.gz"
    same.write_bytes(sentiment_zh.MODEL_PATH.read_bytes())
    assert ChineseAnalyser(model_path=same).version == ChineseAnalyser().version
    raw = model.to_dict()
    raw["intercept"] += 0.001
    changed = tmp_path / "changed.json.gz"
    with gzip.open(changed, "wt", encoding="utf-8") as f:
        json.dump(raw, f, ensure_ascii=False)
    assert ChineseAnalyser(model_path=changed).version != ChineseAnalyser().version
    assert ChineseModel.load(changed).intercept != model.intercept
    again = ChineseModel.from_dict(model.to_dict())
    assert again.weights.keys() == model.weights.keys()
    raw["ngram_max"] = 2
    with pytest.raises(ValueError):
        ChineseModel.from_dict(raw)


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("没什么问题", 1),
        ("态度不太好", -1),
        ("一点都不方便", -1),
        ("饭菜都是冷的，送餐太慢", -1),
        ("排队排了两个小时", -1),
        ("工作人员很热情", 1),
    ],
)
def test_short_comments_follow_negation_and_degree(
        analyser: ChineseAnalyser, text: str, sign: int) -> None:
    assert analyser.polarity(text) * sign > 0.05


def test_polarity_and_the_neutral_band() -> None:
    # Consistent with the façade's labelling rule: |polarity| <= 0.05 exactly in the band.
    band = sentiment_zh.NEUTRAL_BAND
    for logit in [x / 10 for x in range(-80, 81)]:
        d = 2 / (1 + math.exp(-logit)) - 1
        p = sentiment_zh.polarity_from(logit)
        assert -1.0 <= p <= 1.0
        assert (abs(p) <= 0.05) == (abs(d) <= band)
        assert math.copysign(1, p) == math.copysign(1, d) or p == 0
    assert sentiment_zh.polarity_from(0.0) == 0.0
    values = [sentiment_zh.polarity_from(x / 10) for x in range(-80, 81)]
    assert values == sorted(values)


@pytest.mark.parametrize("text", ["外卖送到的时候饭菜都凉了", "公交车经常晚点", "菜都馊了",
                                  "不好吃"])
def test_cold_food_lateness_and_bad_food_are_complaints(analyser: ChineseAnalyser,
                                                        text: str) -> None:
    assert analyser.lexicon_polarity(text) < -0.05
    assert analyser.polarity(text) < -0.05


@pytest.mark.parametrize("text", ["网上就能办，省了不少时间", "公交车很准时", "饭菜很好吃"])
def test_time_saved_punctuality_and_good_food_are_praise(analyser: ChineseAnalyser,
                                                         text: str) -> None:
    assert analyser.lexicon_polarity(text) > 0.05
    assert analyser.polarity(text) > 0.05


def test_the_province_is_no_saving(analyser: ChineseAnalyser) -> None:
    assert analyser.lexicon_polarity("我们省的政策") == 0.0
