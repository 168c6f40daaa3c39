"""What each disclosure register holds (R-D1, R-D3), field by field, with the words of the State
Council and provincial documents: the bodies the agency API accepts and the content the public
routes show (both surfaces read them from here; the rules live in ``backend/services/registers``).

An agency's public phone and its legal representative are public by the rule itself (R-D1): they
are an organisation's facts, not a private person's contact data.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from backend.http.schemas import Body, stripped, stripped_nonempty
from backend.models.enums import RegisterKind

Line = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(stripped_nonempty)]
OptionalLine = Annotated[str, StringConstraints(max_length=200), AfterValidator(stripped)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=5000), AfterValidator(stripped_nonempty)]
OptionalText = Annotated[str, StringConstraints(max_length=5000), AfterValidator(stripped)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(stripped_nonempty)]
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-转]{2,28}$")


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 3:
        raise ValueError("电话号码格式不正确（数字、空格、连字符、括号，如 0571-87654321 或 12345）")
    return value


# An office's public number: 12345, 0571-87654321, (0571) 8765 4321, 0571-87654321转8001.
PublicPhone = Annotated[str, StringConstraints(min_length=3, max_length=30), AfterValidator(_phone)]
CreditCode = Annotated[str, StringConstraints(min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$")]


def _plausible_day(value: date) -> date:
    if not 1990 <= value.year <= 2100:
        raise ValueError("日期不在合理范围内")
    return value


Day = Annotated[date, AfterValidator(_plausible_day)]


class Staffing(Body):
    authorized: int = Field(ge=0, le=100_000, description="核定编制数")
    in_post: int = Field(ge=0, le=100_000, description="实有人数")
    note: OptionalLine = Field("", description="编制情况说明，如“行政编制30名、事业编制12名”")


class AgencyContent(Body):
    """行政执法主体资格：名称与统一社会信用代码取自机关登记；其余为本版本的内容。"""

    legal_basis: Text = Field(description="执法主体资格的依据（法律法规授权、“三定”规定）")
    funding_source: Line = Field(description="经费来源，如“财政全额拨款”")
    staffing: Staffing = Field(description="队伍编制状况")
    duties: Text = Field(description="执法职责和权限")
    legal_representative: PersonName = Field(description="法定代表人")
    address: Line = Field(description="单位地址")
    complaint_phone: PublicPhone = Field(description="投诉举报电话（机关的公开电话）")


class Agreement(Body):
    number: Line = Field(description="委托执法协议编号")
    signed_on: Day = Field(description="签订日期")
    valid_from: Day = Field(description="委托期限起")
    valid_until: Day = Field(description="委托期限止")
    text: Text = Field(description="协议的主要内容（委托事项、权限、期限、双方权利义务、法律责任）")

    @model_validator(mode="after")
    def _period(self) -> Agreement:
        if self.valid_until < self.valid_from:
            raise ValueError("委托期限止不能早于委托期限起")
        return self


class EntrustedOrgContent(Body):
    """受委托组织的有关情况、委托执法协议和委托公告。"""

    name: Line = Field(description="受委托组织名称")
    credit_code: CreditCode = Field(description="受委托组织的统一社会信用代码（作为该事项的编码）")
    legal_representative: PersonName = Field(description="法定代表人或负责人")
    address: Line = Field(description="地址")
    phone: PublicPhone = Field(description="联系电话（组织的公开电话）")
    legal_basis: Text = Field(description="委托执法的法律依据")
    entrusted_matters: Text = Field(description="委托的执法事项和权限")
    agreement: Agreement = Field(description="委托执法协议")
    announcement: Text = Field(description="委托公告全文")


POWER_TYPES = ("permit", "penalty", "coercion", "collection", "payment", "inspection", "confirmation", "reward",
               "adjudication", "other")
PowerType = Literal["permit", "penalty", "coercion", "collection", "payment", "inspection", "confirmation",
                    "reward", "adjudication", "other"]
POWER_TYPE_WORDS = {"permit": "行政许可", "penalty": "行政处罚", "coercion": "行政强制", "collection": "行政征收",
                    "payment": "行政给付", "inspection": "行政检查", "confirmation": "行政确认", "reward": "行政奖励",
                    "adjudication": "行政裁决", "other": "其他行政权力"}


class PowerContent(Body):
    """权责清单的一项。"""

    name: Line = Field(description="事项名称")
    power_type: PowerType = Field(description="权力类型：permit 行政许可、penalty 行政处罚、coercion 行政强制、"
                                              "collection 行政征收、payment 行政给付、inspection 行政检查、"
                                              "confirmation 行政确认、reward 行政奖励、adjudication 行政裁决、"
                                              "other 其他行政权力")
    legal_basis: Text = Field(description="设定依据")
    procedure: Text = Field(description="执法程序")
    remedy: Text = Field(description="救济渠道（行政复议、行政诉讼的机关和期限）")
    responsibility: OptionalText = Field("", description="责任事项")


class InspectionItemContent(Body):
    """随机抽查事项清单的一项。"""

    name: Line = Field(description="抽查事项名称")
    subject: Line = Field(description="抽查主体")
    basis: Text = Field(description="抽查依据")
    object: Text = Field(description="抽查对象")
    content: Text = Field(description="抽查内容")
    method: Line = Field(description="抽查方式，如“双随机、现场检查”")
    ratio: Line = Field(description="抽查比例，如“不低于5%”")
    frequency: Line = Field(description="抽查频次，如“每年1次”")


class ServiceGuideContent(Body):
    """行政执法服务指南。"""

    item: Line = Field(description="行政执法事项名称")
    accepting_unit: Line = Field(description="受理机构")
    approving_unit: Line = Field(description="审批机构")
    conditions: Text = Field(description="受理条件")
    materials: list[Line] = Field(min_length=1, max_length=100, description="申请材料")
    preferential_policies: OptionalText = Field("", description="优惠政策")
    time_limit: Line = Field(description="办理时限，如“20个工作日”")
    office_hours: Line = Field(description="办公时间")
    address: Line = Field(description="办公地址")
    phone: PublicPhone = Field(description="办公电话")


class FlowStep(Body):
    name: Line = Field(description="步骤名称，如“立案”")
    description: OptionalText = Field("", description="该步骤的内容与要求")
    time_limit: OptionalLine = Field("", description="时限，如“7个工作日内”")


class FlowchartContent(Body):
    """行政执法流程图：按顺序排列的步骤和环节（结构化，公开页逐步显示）。"""

    name: Line = Field(description="流程名称，如“行政处罚一般程序流程图”")
    legal_basis: OptionalText = Field("", description="程序依据")
    steps: list[FlowStep] = Field(min_length=2, max_length=50, description="按先后顺序的步骤")


CONTENT: dict[RegisterKind, type[Body]] = {
    RegisterKind.AGENCY: AgencyContent, RegisterKind.ENTRUSTED_ORG: EntrustedOrgContent,
    RegisterKind.POWER: PowerContent, RegisterKind.INSPECTION_ITEM: InspectionItemContent,
    RegisterKind.SERVICE_GUIDE: ServiceGuideContent, RegisterKind.FLOWCHART: FlowchartContent,
}

KIND_WORDS: dict[RegisterKind, str] = {
    RegisterKind.AGENCY: "行政执法主体资格", RegisterKind.ENTRUSTED_ORG: "受委托组织",
    RegisterKind.POWER: "权责清单", RegisterKind.INSPECTION_ITEM: "随机抽查事项清单",
    RegisterKind.SERVICE_GUIDE: "行政执法服务指南", RegisterKind.FLOWCHART: "行政执法流程图",
}

# The Chinese label of each field, for the H5 pages (in the order shown).
FIELD_WORDS: dict[str, str] = {
    "legal_basis": "依据", "funding_source": "经费来源", "staffing": "队伍编制状况", "duties": "执法职责和权限",
    "legal_representative": "法定代表人", "address": "地址", "complaint_phone": "投诉举报电话",
    "name": "名称", "credit_code": "统一社会信用代码", "phone": "电话", "entrusted_matters": "委托事项和权限",
    "agreement": "委托执法协议", "announcement": "委托公告", "power_type": "权力类型", "procedure": "执法程序",
    "remedy": "救济渠道", "responsibility": "责任事项", "subject": "抽查主体", "basis": "抽查依据",
    "object": "抽查对象", "content": "抽查内容", "method": "抽查方式", "ratio": "抽查比例", "frequency": "抽查频次",
    "item": "事项名称", "accepting_unit": "受理机构", "approving_unit": "审批机构", "conditions": "受理条件",
    "materials": "申请材料", "preferential_policies": "优惠政策", "time_limit": "办理时限",
    "office_hours": "办公时间", "steps": "步骤", "authorized": "核定编制", "in_post": "实有人数", "note": "说明",
    "number": "协议编号", "signed_on": "签订日期", "valid_from": "委托期限起", "valid_until": "委托期限止",
    "text": "协议内容", "description": "内容",
}

EXAMPLES: dict[RegisterKind, dict[str, Any]] = {
    RegisterKind.AGENCY: {
        "legal_basis": "《中华人民共和国行政处罚法》第十八条；"
                       "《杭州市西湖区市场监督管理局职能配置、内设机构和人员编制规定》",
        "funding_source": "财政全额拨款",
        "staffing": {"authorized": 120, "in_post": 112, "note": "行政编制100名、事业编制20名"},
        "duties": "负责辖区市场综合监督管理，依法查处食品安全、产品质量、价格、不正当竞争等违法行为",
        "legal_representative": "陈建国", "address": "杭州市西湖区文三路 1 号", "complaint_phone": "0571-12315"},
    RegisterKind.ENTRUSTED_ORG: {
        "name": "杭州市西湖区市场监管综合执法服务中心", "credit_code": "12330106MB12345672",
        "legal_representative": "李明", "address": "杭州市西湖区文三路 3 号", "phone": "0571-87650000",
        "legal_basis": "《中华人民共和国行政处罚法》第二十条",
        "entrusted_matters": "以本局名义实施食品经营许可现场核查",
        "agreement": {"number": "西市监委〔2026〕1号", "signed_on": "2026-11-02", "valid_from": "2026-12-01",
                      "valid_until": "2028-11-30",
                      "text": "委托事项：食品经营许可现场核查；权限：现场核查并出具意见……"},
        "announcement": "根据《中华人民共和国行政处罚法》第二十条，本局委托……，现予公告。"},
    RegisterKind.POWER: {
        "name": "对未取得食品生产经营许可从事食品生产经营活动的行政处罚", "power_type": "penalty",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十二条",
        "procedure": "立案—调查取证—告知—听取陈述申辩（听证）—法制审核—决定—送达—执行",
        "remedy": "自收到决定书之日起六十日内向杭州市西湖区人民政府申请行政复议，"
                  "或六个月内向杭州市西湖区人民法院提起行政诉讼",
        "responsibility": "立案责任、调查责任、审查责任、告知责任、决定责任、送达责任、执行责任"},
    RegisterKind.INSPECTION_ITEM: {
        "name": "食品经营者监督检查", "subject": "杭州市西湖区市场监督管理局",
        "basis": "《中华人民共和国食品安全法》第一百一十条", "object": "辖区内持证食品经营者",
        "content": "经营许可、进货查验、贮存条件、从业人员健康管理", "method": "双随机抽查、现场检查",
        "ratio": "不低于5%", "frequency": "每年不少于1次"},
    RegisterKind.SERVICE_GUIDE: {
        "item": "食品经营许可（新办）", "accepting_unit": "西湖区市民之家市场监管窗口",
        "approving_unit": "杭州市西湖区市场监督管理局",
        "conditions": "具有与经营的食品品种、数量相适应的经营场所……",
        "materials": ["食品经营许可申请书", "营业执照复印件", "经营场所平面图"], "preferential_policies": "",
        "time_limit": "10个工作日", "office_hours": "工作日 9:00–12:00，13:30–17:00",
        "address": "杭州市西湖区市民之家二楼 B 区", "phone": "0571-87651234"},
    RegisterKind.FLOWCHART: {
        "name": "行政处罚一般程序流程图", "legal_basis": "《中华人民共和国行政处罚法》第五章第三节",
        "steps": [{"name": "立案", "description": "发现违法线索，符合立案条件的予以立案", "time_limit": "15日内"},
                  {"name": "调查取证", "description": "两名以上执法人员出示执法证件，调查取证", "time_limit": ""},
                  {"name": "告知", "description": "告知拟作出的处罚内容及事实、理由、依据和陈述申辩、听证权利",
                   "time_limit": ""},
                  {"name": "法制审核", "description": "重大执法决定经法制审核", "time_limit": "5个工作日"},
                  {"name": "决定与送达", "description": "作出决定并在七日内送达", "time_limit": "7日内"}]},
}

