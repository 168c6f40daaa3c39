"""Masking, in one place: what the public may see of a decision (R-P2) and what a log line may carry.

``analyse(text, parties)`` finds every span to hide and says why; ``mask_text`` is its public text;
``redact`` is the log rule. Both run on a *folded* copy of the text: full-width letters, digits and
punctuation, the many spaces, dashes and middle dots of Unicode are mapped one character to one
character onto ASCII (or ``·``), so offsets found in the folded copy cut the original text exactly
and a rule is written once (``１３８－００１３`` is ``138-0013`` to it).

What is hidden (the 最高人民法院 rules, 法释〔2016〕19号 Art. 8–10, as the issue applies them):

* **Natural persons' names** → surname + ``*`` (``张*``, ``欧阳*``; a name with a middle dot keeps its
  first character, ``阿*``). Found from the case's person parties (with spaces or a middle dot
  between the characters: ``欧阳 修远``, ``欧阳·修远``), and in free text by cues: a role or relation
  word before the name (当事人, 证人, 其父, 之子, 名叫, 姓名 …, and lists after it: ``证人张三、李四``),
  a word after it (先生, 女士, 之子, 等人 …, ``张三，男，``), any ``甲·乙`` name. Every name found is
  then hidden wherever it recurs, and so is its given name used alone (two characters or more).
* **Minors** (``Party.is_minor``, or a name after 未成年人 / with an age under 18): ``未成年人``, no
  surname, nothing else.
* **ID numbers** (18 digits or 17 + X, and 15), **bank card** and other long numbers (15 digits or
  more), **mobile and landline numbers** (+86 / 0086, area codes, 7–8 digit local numbers after a
  phone word), however they are written: spaces, dashes, brackets, full-width digits.
* **E-mail addresses**, and **home addresses** after an address word (住址, 家住, 户籍地, 现住 …).

What stays public: organisations' names (party names, and a cue-found "name" that runs into 公司,
店, 中心 …) and unified social credit codes (letters inside them break a number; an all-digit one
stays public only when it is an organisation party's code or follows 信用代码 and its check character
is right). When in doubt the rules hide more, never less: README "Masking" lists what is not caught.

Logs: ``redact`` runs the number and e-mail rules (the same detectors) and removes anything shaped
like an API key; it knows no parties, so names are left to the callers (logs carry ids, not names).

No aiohttp and no database here: the logging setup imports this module.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend.models.enums import PartyKind

if TYPE_CHECKING:
    from backend.models import Party

# Bumped whenever a rule changes what is hidden: a preview made under other rules is stale.
RULES_VERSION = 2

ID_MARK, PHONE_MARK = "[身份证号已隐去]", "[电话已隐去]"
CARD_MARK, NUMBER_MARK = "[银行卡号已隐去]", "[号码已隐去]"
EMAIL_MARK, ADDRESS_MARK = "[邮箱已隐去]", "[住址已隐去]"
MINOR_MARK = "未成年人"
LOG_MARKS = {"id_number": "[id-number]", "phone": "[phone]", "bank_card": "[bank-card]",
             "long_number": "[number]", "email": "[email]"}
PUBLIC_MARKS = {"id_number": ID_MARK, "phone": PHONE_MARK, "bank_card": CARD_MARK, "long_number": NUMBER_MARK,
                "email": EMAIL_MARK}
# Kept for callers of the first version.
LOG_ID_MARK, LOG_PHONE_MARK = LOG_MARKS["id_number"], LOG_MARKS["phone"]


# --- folding: one character for one character, so offsets survive -------------------------------

def _fold_table() -> dict[int, str]:
    table = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}  # full-width ASCII
    for cp in (0x3000, 0x00A0, 0x1680, 0x202F, 0x205F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x09, 0x0B,
               0x0C, *range(0x2000, 0x200B)):
        table[cp] = " "
    for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE58, 0xFE63, 0x2043, 0x30FC, 0x2E3A):
        table[cp] = "-"
    for cp in (0x00B7, 0x0387, 0x2022, 0x2027, 0x2219, 0x22C5, 0x30FB, 0xFF65, 0x16EB, 0x2E31):
        table[cp] = "·"
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """The text with full-width forms, odd spaces, dashes and middle dots made plain, same length."""
    return text.translate(_FOLD)


# --- spans --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """One thing hidden: where it is in the original text, what kind, what replaces it, and the rule
    that found it (``party``, ``cue``, ``recurrence``, ``given_name``, ``pattern``)."""

    start: int
    end: int
    kind: str  # person_name | minor | id_number | phone | bank_card | long_number | email | address
    replacement: str
    rule: str


@dataclass(frozen=True)
class Masked:
    text: str  # the public text
    spans: tuple[Span, ...]  # in the original text's offsets, sorted, never overlapping

    def originals(self, original: str) -> list[str]:
        return [original[s.start:s.end] for s in self.spans]


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans become one covering both (the longer one's kind and words): a partial
    overlap never leaves a tail of either visible."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if out and span.start < out[-1].end:
            last = out[-1]
            if span.end > last.end:
                keep = last if last.end - last.start >= span.end - span.start else span
                out[-1] = Span(last.start, span.end, keep.kind, keep.replacement, keep.rule)
            continue
        out.append(span)
    return out


def _apply(text: str, spans: Sequence[Span]) -> str:
    parts, at = [], 0
    for span in spans:
        parts.append(text[at:span.start])
        parts.append(span.replacement)
        at = span.end
    parts.append(text[at:])
    return "".join(parts)


# --- numbers ------------------------------------------------------------------------------------

# A run of digits with at most three separators (spaces, dashes, brackets) between two digits, not
# glued to a Latin letter or digit nor dashed onto one (hex ids and UUIDs are left alone), not after
# a decimal point; a trailing X belongs to an ID number. Possessive: a run is taken whole or not at all.
_RUN = re.compile(r"(?<![0-9A-Za-z])(?<![0-9]\.)(?<![0-9A-Za-z]-)"
                  r"[0-9](?:[ \-()]{0,3}[0-9])*+(?:[ \-]?[Xx](?![0-9A-Za-z]))?(?![0-9A-Za-z])")
_PREFIX = re.compile(r"(?:\(\s?\+|\+\s?\(|\+|\()[ \-]?$")  # +86, (+86), (010 …
_PHONE_CUE = re.compile(r"(?:电话|手机|座机|传真|固话|联系方式|联系号码|号码|热线|tel|phone|mobile|fax)"
                        r"[^。;；\n]{0,6}$", re.IGNORECASE)
_CREDIT_CUE = re.compile(r"(?:信用代码|统一代码|注册号)[^。;；\n]{0,4}$")
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def credit_code_valid(code: str) -> bool:
    """GB 32100-2015: the 18th character of a unified social credit code checks the other 17."""
    code = code.upper()
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


def id_number_valid(number: str) -> bool:
    """GB 11643-1999: the ISO 7064 MOD 11-2 check character of an 18-character ID number."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == number[17]


def _number_kind(digits: str, plus: bool, before: str) -> str | None:
    """What a run of digits is, or None for a number the public may read (an amount, a date …)."""
    n = len(digits)
    national = digits[4:] if digits.startswith("0086") else (
        digits[2:] if digits.startswith("86") and n >= 13 else digits)
    if re.fullmatch(r"1[3-9][0-9]{9}", national):  # a mobile, also behind 86 or 0086
        return "phone"
    if n == 18 or (n == 15 and digits.isdigit()):
        return "id_number"
    if n >= 15:
        return "bank_card" if n <= 19 else "long_number"
    if plus and n >= 7:
        return "phone"
    if re.fullmatch(r"0[1-9][0-9]{8,10}", national):
        return "phone"
    if digits.startswith("0086") and n >= 11:
        return "phone"
    if 7 <= n <= 14 and _PHONE_CUE.search(before):
        return "phone"
    return None


def _number_spans(folded: str, public_codes: frozenset[str]) -> list[Span]:
    spans = []
    for m in _RUN.finditer(folded):
        start, end = m.start(), m.end()
        raw = m.group()
        digits = "".join(c for c in raw if c.isdigit() or c in "Xx").upper()
        if digits.endswith("X") and len(digits) != 18:
            digits, end = digits[:-1], end - 1 - (1 if folded[end - 2] in " -" else 0)
            while end > start and not folded[end - 1].isdigit():
                end -= 1
        before = folded[max(0, start - 16):start]
        prefix = _PREFIX.search(before)
        plus = prefix is not None and "+" in prefix.group()
        kind = _number_kind(digits, plus, before)
        if kind is None:
            continue
        if kind == "id_number" and len(digits) == 18 and (digits in public_codes or (
                credit_code_valid(digits) and _CREDIT_CUE.search(before))):
            continue  # an organisation's unified social credit code stays public
        if prefix is not None and kind == "phone":
            start -= len(prefix.group())
        spans.append(Span(start, end, kind, PUBLIC_MARKS[kind], "pattern"))
    return spans


_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}\s?@\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
                    r"\.[A-Za-z]{2,24}")


def _email_spans(folded: str) -> list[Span]:
    return [Span(m.start(), m.end(), "email", EMAIL_MARK, "pattern") for m in _EMAIL.finditer(folded)]


# --- names --------------------------------------------------------------------------------------

COMPOUND_SURNAMES = frozenset((
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 闻人 澹台 公冶 宗政 濮阳 "
    "太叔 申屠 淳于 单于 仲孙 赫连 端木 南宫 西门 百里 呼延 万俟 司空 独孤 拓跋 第五 东郭 南门 左丘 梁丘 "
    "乐正 谷梁 公羊 公西 漆雕 壤驷 巫马 亓官 司寇 段干 鲜于 闾丘 东门 子车 颛孙 微生 羊舌").split())
SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕"
    "单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆"
    "朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬扈晁芮普阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况宿"
    "鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由钮龙"
    "郦饶雒訾阎琚郗郄覃")
# Characters that cannot begin a given name: after a surname they mean the "name" is a word
# (当事人王某, 证人于是 …), or, in second place, that the name has one character (证人张三称).
_NOT_GIVEN = frozenset("某×xX*＊称说在于的是为和与及等向对将已因未系到被把从自也都就又曾后前时处了着过人所其该"
                       "此之并且以而或即经由给让无不没有均各再还才只同作做进出来去上下中内外年月日个先女男父母"
                       "妻夫子儿兄弟姐妹等将于系已现住家户籍址电话手机身份证号码出生岁周罚违拒擅涉驾")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_ORG_WORDS = re.compile(r"公司|有限|集团|商行|经营部|门市|店|厂|中心|合作社|协会|学会|事务所|医院|诊所|学校|大学|"
                        r"学院|幼儿园|银行|酒店|宾馆|饭店|餐厅|超市|药房|委员会|工作室|俱乐部|基地|农场|车行|"
                        r"馆|站|局|所|社|部|处|院|队|会|行")
# A role or relation word before a name (a list may follow: 证人张三、李四和王五).
_BEFORE = ("当事人|证人|被害人|受害人|申请人|被申请人|第三人|投诉人|举报人|报案人|检举人|控告人|法定代理人|委托代理人|"
           "代理人|监护人|法定代表人|负责人|经营者|实际经营人|业主|户主|店主|雇员|员工|职工|驾驶人|驾驶员|司机|患者|"
           "病人|死者|伤者|其父|其母|其妻|其夫|其子|其女|其兄|其弟|其姐|其妹|其配偶|之父|之母|之妻|之夫|之子|之女|"
           "父亲|母亲|妻子|丈夫|儿子|女儿|哥哥|弟弟|姐姐|妹妹|配偶|亲属|邻居|同事|朋友|村民|居民|名叫|叫做|姓名|"
           "本人|自然人|鉴定人|翻译人|见证人|陪同人|未成年人|未成年")
_BEFORE_CUE = re.compile(f"(?P<cue>{_BEFORE})(?:为|是|系|即)?[:：,，\\s]{{0,2}}")
_MINOR_CUES = frozenset({"未成年人", "未成年"})
# A word after a name: honorifics, relations, 等人, or the sex / birth / age that opens a party's line.
_AFTER_CUE = re.compile(r"(?:先生|女士|小姐|同志|老人|师傅|之父|之母|之妻|之夫|之子|之女|的父亲|的母亲|的儿子|"
                        r"的女儿|的妻子|的丈夫|等人|本人|[,，(（]\s?[男女](?:[,，)）、]|性)"
                        r"|[,，(（]\s?(?:身份证|公民身份|出生)|[,，(（]\s?(?P<age>[0-9]{1,3})\s?(?:岁|周岁))")
_DOT = re.compile(f"(?<=[{_CJK}])·(?=[{_CJK}])")
_LIST_JOIN = re.compile(r"\s?(?:、|和|及|与|以及|,|，)\s?")


def _surname(name: str) -> str:
    """The surname a masked name keeps: a compound surname when the name is longer than it, a middle-dot
    name's first character, otherwise the first character."""
    name = fold(name.strip())
    plain = re.sub(r"[ ·]", "", name)
    if "·" in name:
        before = name.split("·")[0].strip()
        return before if before in COMPOUND_SURNAMES or before in SINGLE_SURNAMES else name[:1]
    if len(plain) > 2 and plain[:2] in COMPOUND_SURNAMES:
        return plain[:2]
    return plain[:1]


def mask_person_name(name: str) -> str:
    """张三 → 张*, 欧阳修远 → 欧阳*, 阿依古丽·买买提 → 阿*: surname and one star (length not told)."""
    name = name.strip()
    return _surname(name) + "*" if name else name


def _name_at(folded: str, i: int) -> tuple[int, str] | None:
    """A name beginning at ``i`` (surname, maybe a space or a middle dot, a given name of one or two
    characters): its end and its plain form, or None."""
    for sur_len in (2, 1):
        sur = folded[i:i + sur_len]
        if not ((sur_len == 2 and sur in COMPOUND_SURNAMES) or (sur_len == 1 and sur in SINGLE_SURNAMES)):
            continue
        j = i + sur_len
        if j < len(folded) and folded[j] in " ·":
            j += 1
        given = ""
        while j < len(folded) and len(given) < 2 and re.match(f"[{_CJK}]", folded[j]):
            if folded[j] in _NOT_GIVEN or (given and _SINGLE_ORG_WORD_AS_WORD.match(folded, j)):
                break  # 张三行驶: 行 opens the next word, not the name
            given += folded[j]
            j += 1
        if given:
            return j, sur + given
    return None


# Where an organisation's name cannot go on: a possessive or a preposition opens the rest of the
# sentence (张三的处罚, 张三在某某公司工作), not more of a name (在线 is part of names).
_ORG_RUN_END = re.compile(r"的|在(?!线)|向|对|被|把")
# The one-character organisation words are also the first character of everyday words that often
# follow a person's name (对当事人张三处以罚款, 张三所在单位, 张三行驶): then they end no organisation.
_SINGLE_ORG_WORD_AS_WORD = re.compile(r"处[以罚理分置]|所[在述称有以属得谓]|会[同议见]|部分|院[内子落]|"
                                      r"行[驶为使政走]|站[在立]|局[面部]|队伍|社[保会]|店[内里]|厂[家]")


def _is_org(folded: str, i: int) -> bool:
    """The Chinese run from ``i`` names an organisation (杭州某某餐饮有限公司), not a person. An
    organisation ending in a one-character word (某某面馆, 西湖派出所) has at least three characters
    before it; 张三处 or 张三所 is a person followed by a word."""
    run = re.match(f"[{_CJK}·（）()]{{1,40}}", folded[i:])
    if run is None:
        return False
    text = run.group()
    stop = _ORG_RUN_END.search(text, 2)
    for m in _ORG_WORDS.finditer(text, 2, stop.start() if stop is not None else len(text)):
        if len(m.group()) > 1:
            return True
        if m.start() >= 3 and _SINGLE_ORG_WORD_AS_WORD.match(text, m.start()) is None:
            return True
    return False


def _cue_names(folded: str, protected: list[tuple[int, int]],
               parties: Sequence[str] = ()) -> list[tuple[int, int, str, bool]]:
    """(start, end, plain name, is a minor) for every name the cues point at. A party's own name
    at the cue is taken as recorded (当事人李四罚款: 李四, not 李四罚)."""
    def free(a: int, b: int) -> bool:
        return not any(a < pe and ps < b for ps, pe in protected)

    patterns = [_loose(p) for p in sorted(parties, key=len, reverse=True)]

    def name_at(i: int) -> tuple[int, str] | None:
        for pattern in patterns:
            if (m := pattern.match(folded, i)) is not None:
                return m.end(), m.group()
        return _name_at(folded, i)

    found: list[tuple[int, int, str, bool]] = []
    for m in _BEFORE_CUE.finditer(folded):
        minor = m.group("cue") in _MINOR_CUES
        i = m.end()
        while True:
            hit = name_at(i)
            if hit is None or _is_org(folded, i) or not free(i, hit[0]):
                break
            found.append((i, hit[0], hit[1], minor))
            join = _LIST_JOIN.match(folded, hit[0])
            if join is None:
                break
            i = join.end()
    for m in _AFTER_CUE.finditer(folded):
        end = m.start()
        age = m.group("age")
        minor = age is not None and int(age) < 18
        if age is None and m.group().strip(",，(（ ")[:1] in "0123456789":
            continue
        # The longest surname-led name ending right before the cue (a name of 2–4 characters, or 5
        # with a space or dot), not starting on a function character.
        for start in range(max(0, end - 5), end - 1):
            if folded[start] in _NOT_GIVEN and folded[start] not in "周曾":  # common surnames, also words
                continue
            hit = _name_at(folded, start)
            if hit is not None and hit[0] == end and not _is_org(folded, start) and free(start, end):
                found.append((start, end, hit[1], minor))
                break
    for m in _DOT.finditer(folded):
        # A 甲·乙 name: as many name characters on each side of the dot as run up to a function word.
        start = m.start()
        while start > 0 and m.start() - start < 6 and re.match(f"[{_CJK}]", folded[start - 1]) \
                and folded[start - 1] not in _NOT_GIVEN:
            start -= 1
        end = m.end()
        while end < len(folded) and end - m.end() < 8 and (re.match(f"[{_CJK}]", folded[end]) or (
                folded[end] == "·" and end + 1 < len(folded) and re.match(f"[{_CJK}]", folded[end + 1]))) \
                and folded[end] not in _NOT_GIVEN \
                and not (end > m.end() and _SINGLE_ORG_WORD_AS_WORD.match(folded, end)):
            end += 1
        cue = next(reversed(list(re.finditer(_BEFORE, folded[start:m.start()]))), None)
        if cue is not None:  # 名叫王·明: the name starts after the role word
            start += cue.end()
        if start < m.start() and end > m.end() and not _is_org(folded, start) and free(start, end):
            found.append((start, end, folded[start:end], False))
    return found


def _loose(name: str) -> re.Pattern[str]:
    """A name as it may be written: a space or a middle dot between any two of its characters."""
    chars = [re.escape(c) for c in re.sub(r"[ ·]", "", fold(name.strip()))]
    return re.compile("[ ·]?".join(chars))


def _name_spans(folded: str, people: list[tuple[str, bool]], protected: list[tuple[int, int]]) -> list[Span]:
    """Spans for the people the case knows (name, is a minor), for those the cues point at, and for
    every recurrence of any of them and of their given names (two characters or more)."""
    spans: list[Span] = []
    known: dict[str, tuple[str, bool, str]] = {}  # plain name -> (replacement, minor, rule)

    def replacement(name: str, minor: bool) -> str:
        return MINOR_MARK if minor else mask_person_name(name)

    dotted: dict[str, str] = {}  # plain name -> as written with its dot, for its surname and parts
    for name, minor in people:
        plain = re.sub(r"[ ·]", "", fold(name.strip()))
        if plain:
            known[plain] = (replacement(name, minor), minor, "party")
            dotted[plain] = fold(name.strip())
    cued = [(start, end, name, re.sub(r"[ ·]", "", name), minor)
            for start, end, name, minor in _cue_names(folded, protected, list(known))]
    # A name is a minor's if any cue or the party record says so: then every mention of it is.
    minors = {plain for plain, (_, minor, _) in known.items() if minor} | {c[3] for c in cued if c[4]}
    for start, end, name, plain, _ in cued:
        minor = plain in minors
        spans.append(Span(start, end, "minor" if minor else "person_name", replacement(name, minor), "cue"))
        prev = known.get(plain)
        if prev is None or (minor and not prev[1]):
            known[plain] = (replacement(name, minor), minor, "recurrence")
            dotted.setdefault(plain, name)
    # Longest first, so that 欧阳修远 is found whole before a party called 欧阳.
    for plain in sorted(known, key=len, reverse=True):
        words, minor, rule = known[plain]
        kind = "minor" if minor else "person_name"
        for m in _loose(plain).finditer(folded):
            spans.append(Span(m.start(), m.end(), kind, words, rule))
        written = dotted.get(plain, plain)
        # The given name used alone (修远 after 欧阳修远); for a 甲·乙 name, each part.
        parts = written.split("·")[1:] if "·" in written and _surname(written) != written[:1] else (
            written.split("·") if "·" in written else [plain[len(_surname(plain)):]])
        for given in parts:
            if len(given.strip()) >= 2:
                for m in _loose(given).finditer(folded):
                    spans.append(Span(m.start(), m.end(), kind, words, "given_name"))
    return [s for s in spans if not any(s.start < pe and ps < s.end for ps, pe in protected)]


# --- addresses ----------------------------------------------------------------------------------

# Words that always introduce a natural person's home; 住所/地址/住 only when no organisation is the
# subject of the clause (an enterprise's 住所 is public).
_HOME_CUE = re.compile(r"(?P<cue>家庭住址|家庭地址|户籍地址|户籍所在地|户籍地|户口所在地|现住址|现住|现居住地|现居|"
                       r"居住地址|居住地|居住于|居住在|家住|暂住地|暂住|住址|住所地|住所|联系地址|通讯地址|地址|"
                       r"(?<=[,，、:：\s(（])住)(?:为|是|在|于)?[:：\s]{0,2}")
_ADDRESS_BODY = re.compile(f"[{_CJK}0-9A-Za-z\\-#()（） ]{{2,80}}")
_ADDRESS_MARKERS = re.compile(r"省|市|区|县|旗|镇|乡|村|组|路|街|道|巷|弄|胡同|号|室|栋|幢|楼|单元|小区|社区|苑|园|"
                              r"里|屯")
_ALWAYS_HOME = frozenset({"家庭住址", "家庭地址", "户籍地址", "户籍所在地", "户籍地", "户口所在地", "现住址", "现住",
                          "现居住地", "现居", "居住地址", "居住地", "居住于", "居住在", "家住", "暂住地", "暂住",
                          "住址"})


def _address_spans(folded: str, org_names: list[str]) -> list[Span]:
    spans = []
    for m in _HOME_CUE.finditer(folded):
        body = _ADDRESS_BODY.match(folded, m.end())
        if body is None or not _ADDRESS_MARKERS.search(body.group()):
            continue
        if m.group("cue") not in _ALWAYS_HOME:
            clause = re.split(r"[。;；\n]", folded[:m.start()])[-1]
            if any(n and n in clause for n in org_names) or _ORG_WORDS.search(clause[-30:]):
                continue  # the clause is about an organisation: its address is public
        end = body.end()
        while end > body.start() and folded[end - 1] in " (（":
            end -= 1
        spans.append(Span(body.start(), end, "address", ADDRESS_MARK, "cue"))
    return spans


# --- the whole ----------------------------------------------------------------------------------

def analyse(text: str, parties: Iterable[Party]) -> Masked:
    """Everything the public may not see in ``text`` for a case with these parties."""
    parties = list(parties)
    folded = fold(text)
    persons = [p for p in parties if p.kind is PartyKind.PERSON and p.name.strip()]
    orgs = [p for p in parties if p.kind is PartyKind.ORGANIZATION]
    org_names = [fold(p.name.strip()) for p in orgs if p.name.strip()]
    protected = [(m.start(), m.end()) for n in org_names for m in re.finditer(re.escape(n), folded)]
    public_codes = frozenset(p.id_number.upper() for p in orgs if p.id_number)
    spans = _number_spans(folded, public_codes) + _email_spans(folded) + _address_spans(folded, org_names)
    spans += _name_spans(folded, [(p.name, p.is_minor) for p in persons], protected)
    # A person party's own numbers, written exactly as recorded, whatever the patterns thought of them.
    for p in persons:
        for value, kind in ((p.id_number, "id_number"), (p.phone, "phone")):
            if value and value.strip():
                for m in re.finditer(re.escape(fold(value.strip())), folded):
                    spans.append(Span(m.start(), m.end(), kind, PUBLIC_MARKS[kind], "party"))
    merged = tuple(_merge(spans))
    return Masked(_apply(text, merged), merged)


def mask_text(text: str, parties: Iterable[Party]) -> str:
    """The public version of a decision text (or a reason) for the given parties."""
    return analyse(text, parties).text


def mask_numbers(text: str, *, marks: dict[str, str] | None = None) -> str:
    """Replace ID, phone, bank card and other long numbers and e-mail addresses, however written."""
    marks = marks or PUBLIC_MARKS
    folded = fold(text)
    spans = [Span(s.start, s.end, s.kind, marks[s.kind], s.rule)
             for s in _number_spans(folded, frozenset()) + _email_spans(folded)]
    return _apply(text, _merge(spans))


# Anything shaped like one of our API keys (backend.services.apikeys: yg_ + 43 characters), even cut short.
_API_KEY = re.compile(r"yg_[A-Za-z0-9_\-]{4,}")


def redact(text: str) -> str:
    """What a log line may carry: the publication detectors for numbers and e-mail, short markers, no key."""
    return mask_numbers(_API_KEY.sub("[key]", text), marks=LOG_MARKS)


def mask_recipient(value: str) -> str:
    """A notification recipient as agency staff see it in the delivery log: 138****8000, or o6_b…"""
    if value.isdigit() and len(value) == 11:
        return value[:3] + "****" + value[-4:]
    return value[:4] + "…" if len(value) > 4 else "…"


def public_party_name(party: Party) -> str:
    if party.kind is PartyKind.ORGANIZATION:
        return party.name
    return MINOR_MARK if party.is_minor else mask_person_name(party.name)


def joined_public_names(parties: Iterable[Party]) -> str:
    return "、".join(public_party_name(p) for p in parties)[:200]


def preview_hash(fields: dict[str, object]) -> str:
    """The fingerprint of what a person reviewed: the rules version and every field given (the raw
    text and its public form), canonical JSON, SHA-256."""
    body = json.dumps({"rules": RULES_VERSION, **fields}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()
