"""What a published decision text hides and what it keeps (法释〔2016〕19号 Art. 8–10 as the issue
applies them), on the masking functions; the same rules end to end are in
tests/services/test_decision_masking.py."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models import Party
from backend.models.enums import PartyKind
from backend.services.masking import (
    analyse,
    credit_code_valid,
    fold,
    id_number_valid,
    mask_person_name,
    mask_text,
    redact,
)
from tests.support.pii import CONTEXT, bank_cards, digits_left, emails, id_numbers, landlines, person_names, phones

ORG = "杭州某某餐饮有限公司"


def person(name: str, **fields: object) -> Party:
    return Party(kind=PartyKind.PERSON, name=name, phone=fields.get("phone"), id_number=fields.get("id_number"),
                 is_minor=bool(fields.get("is_minor", False)))


def organisation(name: str = ORG, code: str | None = None) -> Party:
    return Party(kind=PartyKind.ORGANIZATION, name=name, phone=None, id_number=code)


def plain(text: str) -> str:
    """The text as a reader reassembles it: spaces and middle dots gone."""
    return re.sub(r"[ ·]", "", fold(text))


# --- numbers and e-mail, in logs and in publication ----------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.one_of(bank_cards(), landlines(), id_numbers(), phones()), CONTEXT, CONTEXT)
def test_every_number_kind_is_gone_from_logs_however_written(number: tuple[str, str], before: str,
                                                             after: str) -> None:
    digits, text = number
    line = redact(f"{before}{text}{after}")
    assert digits[-7:] not in digits_left(line), line


@settings(max_examples=200, deadline=None)
@given(emails(), CONTEXT, CONTEXT)
def test_email_addresses_are_gone_from_logs_and_publication(email: tuple[str, str], before: str, after: str) -> None:
    address, text = email
    for out in (redact(f"{before}{text}{after}"), mask_text(f"{before}邮箱{text}{after}", [])):
        # The placeholder's own letters ("[email]") are not the address: a local part "ai" is in it.
        assert address.split("@")[0] not in fold(out).replace("[email]", ""), out


@settings(max_examples=200, deadline=None)
@given(bank_cards())
def test_bank_cards_are_masked_for_publication(card: tuple[str, str]) -> None:
    out = mask_text(f"当事人银行账号{card[1]}。", [])
    assert "[银行卡号已隐去]" in out or "[身份证号已隐去]" in out
    assert card[0][4:12] not in digits_left(out)


def test_landlines_in_their_usual_forms() -> None:
    for text in ("0571-87654321", "(0571)8765 4321", "（０５７１）８７６５４３２１", "+86 571 8765 4321",
                 "010 6512 3456", "电话：8765-4321", "座机 87654321"):
        assert "4321" not in digits_left(mask_text(f"联系方式 {text} 。", [])), text


# --- names ----------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(person_names(), st.sampled_from(["当事人{n}（", "{n}，男，", "当事人：{n}，", "{n}无证经营"]))
def test_a_party_is_hidden_however_the_text_spaces_or_dots_the_name(name: tuple[str, str, str],
                                                                    form: str) -> None:
    recorded, surname, as_written = name
    masked = analyse(form.format(n=as_written) + "。", [person(recorded)])
    assert recorded not in plain(masked.text)
    assert f"{surname}*" in masked.text


@settings(max_examples=300, deadline=None)
@given(st.lists(person_names(), min_size=1, max_size=3, unique_by=lambda n: n[0]),
       st.sampled_from(["证人", "其父", "其母", "之子", "被害人", "名叫", "姓名：", "法定代理人"]),
       st.sampled_from(["、", "和", "及"]))
def test_names_after_a_role_or_relation_word_are_hidden_lists_included(names: list[tuple[str, str, str]], cue: str,
                                                                      join: str) -> None:
    text = f"经查，{cue}{join.join(n[2] for n in names)}称当日在场。"
    out = mask_text(text, [])
    for recorded, surname, _ in names:
        assert recorded not in plain(out), out
        assert f"{surname}*" in out


@settings(max_examples=200, deadline=None)
@given(person_names(), st.sampled_from(["先生", "女士", "之子", "等人", "，女，", "（男，"]))
def test_names_before_an_honorific_or_a_sex_are_hidden(name: tuple[str, str, str], cue: str) -> None:
    out = mask_text(f"当日{name[2]}{cue}到场。", [])
    assert name[0] not in plain(out), out


@settings(max_examples=300, deadline=None)
@given(person_names(), st.sampled_from(["当事人", "证人", "负责人", "其父", "对当事人"]),
       st.sampled_from(["处以罚款五千元", "的处罚决定", "所在单位", "会同执法人员", "部分承认", "院内堆放杂物",
                        "行驶途中", "站在门口", "在杭州某某有限公司工作", "对处罚无异议", "店内无证经营", "社保记录"]))
def test_a_name_followed_by_an_everyday_word_is_hidden_even_when_it_opens_like_an_organisation(
        name: tuple[str, str, str], cue: str, after: str) -> None:
    """处, 所, 会, 行 … end organisations' names (西湖派出所) and open everyday words (处以, 所在,
    会同, 行驶): 对当事人张三处以罚款 names a person, and the words after the name stay as written."""
    out = mask_text(f"经查，{cue}{name[2]}{after}。", [])
    assert name[0] not in plain(out), out
    assert out.endswith(f"{name[1]}*{after}。"), out


def test_organisations_ending_in_a_one_character_word_stay_public() -> None:
    for org in ("杭州市公安局西湖区分局", "西湖派出所", "王记面馆", "杭州某某五金店", "某某社区卫生服务站",
                "张记包子店"):
        text = f"当事人{org}处以罚款五千元。"
        assert mask_text(text, []) == text, org


def test_a_given_name_used_alone_after_the_full_name_is_hidden() -> None:
    out = mask_text("当事人欧阳修远经营一家面馆。经询问，修远承认未办许可。", [person("欧阳修远")])
    assert out == "当事人欧阳*经营一家面馆。经询问，欧阳*承认未办许可。"
    out = mask_text("证人张晓明称，晓明当日在场。", [])
    assert "晓明" not in out and out.count("张*") == 2


def test_a_name_found_by_a_cue_is_hidden_wherever_it_recurs() -> None:
    out = mask_text("其母李秀英到场。李 秀英称不知情。", [])
    assert "秀英" not in plain(out) and out.count("李*") == 2


def test_compound_surnames_dotted_names_and_the_masked_form() -> None:
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("欧阳修远") == "欧阳*"
    assert mask_person_name("欧阳·修远") == "欧阳*"
    assert mask_person_name("欧阳") == "欧*"  # a two-character name: 欧 is the surname
    assert mask_person_name("阿依古丽·买买提") == "阿*"  # the court rule: keep the first character
    out = mask_text("证人阿依古丽·买买提称，买买提当日在场。", [])
    assert "买买提" not in out and "依古丽" not in out


def test_organisations_and_their_credit_codes_stay_public() -> None:
    code = "91330106MA2B1X2Y3Q"
    digits_code = next(f"91330106{n:09d}" + c for n in range(1000) for c in "0123456789"
                       if credit_code_valid(f"91330106{n:09d}" + c))
    text = (f"当事人{ORG}，统一社会信用代码{code}，住所杭州市西湖区文三路1号，另一代码：统一社会信用代码{digits_code}；"
            f"合作方杭州某某科技有限公司。")
    out = mask_text(text, [organisation()])
    assert out == text
    # The same all-digit code without its cue, in a person's context, is hidden: it may be an ID.
    assert digits_code not in mask_text(f"证件号{digits_code}", [])


def test_check_characters() -> None:
    assert id_number_valid("11010519491231002X") and not id_number_valid("110105194912310021")
    assert credit_code_valid("91350100M000100Y43") and not credit_code_valid("91350100M000100Y44")


# --- minors ---------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(person_names(), phones(), id_numbers())
def test_nothing_about_a_minor_is_published_not_even_the_surname(name: tuple[str, str, str],
                                                                 phone: tuple[str, str],
                                                                 id_number: tuple[str, str]) -> None:
    recorded, surname, as_written = name
    minor = person(recorded, is_minor=True, phone=phone[0], id_number=id_number[0])
    text = f"当事人{as_written}（电话{phone[1]}，身份证号{id_number[1]}）在校外经营。{recorded[len(surname):]}称不知。"
    out = mask_text(text, [minor])
    assert "未成年人" in out
    assert surname not in out.replace("未成年人", ""), out
    assert phone[0][-8:] not in digits_left(out) and id_number[0][6:14] not in digits_left(out)


def test_a_child_named_with_an_age_under_18_is_a_minor() -> None:
    out = mask_text("其子王小明（15岁）在场，王小明称。", [])
    assert "王" not in out and out.count("未成年人") == 2
    assert "王*" in mask_text("其父王大明（45岁）在场。", [])


# --- addresses ------------------------------------------------------------------------------------

def test_a_natural_persons_home_address_is_hidden_an_organisations_is_not() -> None:
    for text in ("当事人张三，住杭州市西湖区文三路100号3幢201室。", "张三家住浙江省杭州市余杭区某某村5组12号，",
                 "户籍地：河南省郑州市金水区花园路8号；", "现住址为上海市浦东新区世纪大道100弄2号101室。"):
        out = mask_text(text, [])
        assert "[住址已隐去]" in out and "号" not in out, (text, out)
    org = f"当事人{ORG}，住所杭州市西湖区文三路1号。"
    assert mask_text(org, [organisation()]) == org


# --- what is left alone ---------------------------------------------------------------------------

def test_amounts_dates_document_numbers_and_laws_are_left_alone() -> None:
    text = ("依据《中华人民共和国食品安全法》第一百二十二条，杭西市监罚〔2026〕12号：责令改正，罚款人民币5000元，"
            "于2026年11月20日前缴纳；2026-11-28 13:00 复查。")
    assert mask_text(text, [organisation()]) == text
