"""The figures of an annual report (统计年报), as the agency API and the public one show them
(``services/statistics.py`` says what each figure counts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.models.enums import CaseType, Measure, RemedyOutcome


class AmountsOut(BaseModel):
    fine: int = Field(description="罚款（分）")
    confiscation: int = Field(description="没收违法所得、没收非法财物（分）")
    fine_and_confiscation: int = Field(description="同一决定既罚款又没收、只记一个金额的（分，无法拆分）")
    other: int = Field(description="其他有金额的决定，如行政征收（分）")


class RemedyCountsOut(BaseModel):
    count: int = Field(description="本年度申请（起诉）的件数")
    outcomes: dict[RemedyOutcome, int] = Field(
        description="按结果（统计时登记的最新结果）：pending 审理中、upheld 维持、revoked 撤销、changed 变更、"
                    "confirmed_illegal 确认违法、confirmed_invalid 确认无效、ordered_to_perform 责令履行、"
                    "dismissed 驳回申请或起诉、withdrawn 撤回申请或撤诉、mediated 调解或和解、other 其他")


class TypeFiguresOut(BaseModel):
    cases: int = Field(description="本年度立案数（立案记录的时间，北京时间）")
    decisions: int = Field(description="本年度作出的决定数（决定日期）")
    measures: dict[Measure, int] = Field(description="决定中各处理措施的次数")
    amount_fen: int = Field(description="罚没等金额合计，单位：分")
    amounts_fen: AmountsOut
    reconsideration: RemedyCountsOut = Field(description="行政复议")
    litigation: RemedyCountsOut = Field(description="行政诉讼")


def _example_type(cases: int, decisions: int, fine: int, upheld: int) -> dict[str, Any]:
    return {"cases": cases, "decisions": decisions,
            "measures": {m.value: (decisions if m is Measure.FINE and fine else 0) for m in Measure},
            "amount_fen": fine,
            "amounts_fen": {"fine": fine, "confiscation": 0, "fine_and_confiscation": 0, "other": 0},
            "reconsideration": {"count": upheld, "outcomes": {o.value: (upheld if o is RemedyOutcome.UPHELD else 0)
                                                              for o in RemedyOutcome}},
            "litigation": {"count": 0, "outcomes": {o.value: 0 for o in RemedyOutcome}}}


FIGURES_EXAMPLE: dict[str, Any] = {
    "year": 2025, "by_type": {t.value: _example_type(0, 0, 0, 0) for t in CaseType} | {
        "penalty": _example_type(12, 10, 2350000, 1), "permit": _example_type(40, 38, 0, 0)},
    "total": _example_type(52, 48, 2350000, 1)}


class FiguresOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FIGURES_EXAMPLE]})

    year: int
    by_type: dict[CaseType, TypeFiguresOut] = Field(
        description="按执法类别：penalty 行政处罚、permit 行政许可、coercion 行政强制、inspection 行政检查、"
                    "collection 行政征收、other 其他；每类都列出（含零）")
    total: TypeFiguresOut = Field(description="各类合计")
