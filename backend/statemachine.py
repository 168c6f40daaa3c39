"""The mechanism of every transition table: a machine of states and actions, applied in one place.

An action that the table does not allow from the current state is an ``IllegalTransition`` with a
stable code, never an if-chain in a handler. The tables live with what they govern:
``backend.services.states`` (credentials, cases, reviews, decisions, complaints, register items)
and ``notifications.states`` (delivery).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from backend.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Machine(Generic[S]):
    name: str
    # action -> {from state: to state}
    table: Mapping[str, Mapping[S, S]]

    def next(self, current: S, action: str) -> S:
        moves = self.table.get(action)
        if moves is None:
            raise ValueError(f"{self.name}: unknown action {action!r}")
        target = moves.get(current)
        if target is None:
            raise IllegalTransition(
                f"当前状态（{current.value}）不允许执行“{action}”操作",
                code=f"{self.name}_{action}_not_allowed",
            )
        return target

    def allowed(self, current: S) -> list[str]:
        return [action for action, moves in self.table.items() if current in moves]
