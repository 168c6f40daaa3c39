"""Personal data as people really write it, for the masking property tests: digits with spaces and
dashes between them and some of them full-width, +86 in its forms, names with a space or a middle
dot after the surname, e-mail in full-width letters. Each strategy returns (canonical, written)."""

from __future__ import annotations

from hypothesis import strategies as st

FULL_WIDTH = str.maketrans("0123456789Xx+@.abcdefghijklmnopqrstuvwxyz",
                           "０１２３４５６７８９Ｘｘ＋＠．ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ")
TO_ASCII = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
SEPARATORS = ["", "", "", " ", "-", "\u3000", "－", "\u2014", "\u00a0"]
MIDDLE_DOTS = ["·", "・", "•", "‧", "･"]
COMPOUND = ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐", "端木", "尉迟"]
SINGLE = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁")
# Given-name characters that are not function words (the cues stop a name at those).
GIVEN = list("明华伟芳娜敏静丽强磊军洋勇艳杰娟涛超霞平刚桂英秀兰建国志文红玉海峰波辉鹏飞龙云鑫宇浩然修远晨")
# What may stand next to a number in a log line or a decision text.
CONTEXT = st.text(alphabet="电话身份证号码卡：，。 ()[]是的", max_size=6)


@st.composite
def written(draw: st.DrawFn, digits: str) -> str:
    """``digits`` as a person might type them: separators between digits, some digits full-width."""
    out = []
    for i, ch in enumerate(digits):
        if i:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(ch.translate(FULL_WIDTH) if draw(st.booleans()) else ch)
    return "".join(out)


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "", "+86", "86", "+86 ", "＋８６", "86-", "(+86)", "0086 ", "+86-"]))
    return digits, prefix + draw(written(digits))


@st.composite
def landlines(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.sampled_from(["010", "021", "0571", "0755", "0931"]))
    local = draw(st.sampled_from("2345678")) + draw(st.text(alphabet="0123456789", min_size=6, max_size=7))
    form = draw(st.sampled_from(["{a}-{l}", "{a} {l}", "({a}){l}", "（{a}）{l}", "{a}{l}", "+86 {a1}-{l}"]))
    text = form.format(a=draw(written(area)), a1=area[1:], l=draw(written(local)))
    return area + local, text


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.integers(0, 4)) == 0:  # the old 15-digit number
        digits = draw(st.text(alphabet="0123456789", min_size=15, max_size=15))
    else:
        digits = draw(st.text(alphabet="0123456789", min_size=17, max_size=17)) + draw(st.sampled_from("0123456789Xx"))
    return digits.upper(), draw(written(digits))


@st.composite
def bank_cards(draw: st.DrawFn) -> tuple[str, str]:
    digits = draw(st.sampled_from(["6222", "6228", "6217", "4367", "6212"])) + draw(
        st.text(alphabet="0123456789", min_size=12, max_size=15))
    return digits, draw(written(digits))


@st.composite
def emails(draw: st.DrawFn) -> tuple[str, str]:
    user = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=2, max_size=10))
    host = draw(st.sampled_from(["163.com", "qq.com", "example.cn", "mail.hz.gov.cn"]))
    plain = f"{user}@{host}"
    return plain, plain.translate(FULL_WIDTH) if draw(st.booleans()) else plain


@st.composite
def person_names(draw: st.DrawFn) -> tuple[str, str, str]:
    """(name as recorded, surname, name as written in the text: maybe a space or a middle dot)."""
    surname = draw(st.sampled_from(COMPOUND)) if draw(st.booleans()) else draw(st.sampled_from(SINGLE))
    given = "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
    joint = draw(st.sampled_from(["", "", " ", "\u3000", *MIDDLE_DOTS]))
    return surname + given, surname, surname + joint + given


def digits_left(text: str) -> str:
    """The text's digits with every separator gone, as a reader would reassemble them."""
    return "".join(ch for ch in text.translate(TO_ASCII) if ch.isascii() and (ch.isdigit() or ch in "Xx")).upper()
