"""tortoise's migration runner, with its model state rendered only when read.

Before every operation the runner snapshots its state (``State.clone``) so the schema editor can see
the models as they were, and a clone renders every model class again (metaclass, relations, query
builders): with ~70 models and ~200 operations that was half of a replay's CPU (a full replay took
~40 s). Most operations (CreateModel, AddField, RunSQL, RunPython, AddIndex) never read the old
models, so ``install()`` makes the snapshot's classes render on first touch of ``models`` or ``apps``
— from the same copied model states, which nothing else can reach before that touch, so the classes
are the ones an eager clone would have made. The other half is the metaclass building the same
lookup table (``name``, ``name__in``, ``name__gte``…) for every plain field of every render:
``get_filters_for_field`` is a pure function of the names for those fields, so its tables are kept
(relations' tables, which hold the related models, are still built each time).

What the migrations do is unchanged (tests/backend/test_migrations.py: the SQLite replay equals the
baseline object by object; the SQL each migration collects is the same with and without this).
"""

from __future__ import annotations

import tortoise
import tortoise.models
from tortoise.contrib.postgres.fields import ArrayField
from tortoise.fields.base import Field
from tortoise.fields.data import JSONField
from tortoise.fields.relational import BackwardFKRelation, ManyToManyFieldInstance
from tortoise.filters import FilterInfoDict, get_filters_for_field
from tortoise.migrations.schema_generator.state import ModelState, State
from tortoise.migrations.schema_generator.state_apps import StateApps

_tortoise_clone = State.clone


class _Snapshot(State):
    """A ``State.clone`` whose model classes are rendered when ``models`` or ``apps`` is first read."""

    def __init__(self, models: dict[tuple[str, str], ModelState], source: StateApps) -> None:
        # Not State.__init__ (a dataclass one): it would assign the properties below.
        self._models = models
        self._source = source
        self._apps: StateApps | None = None

    def _render(self) -> StateApps:
        if self._apps is None:
            self._apps = self._source.clone(model_states=self._models)
            self._source = None  # type: ignore[assignment]
        return self._apps

    @property
    def models(self) -> dict[tuple[str, str], ModelState]:
        # Rendered before anyone can change a model state through this mapping: the classes are the
        # snapshot's, as an eager clone would have rendered them.
        self._render()
        return self._models

    @models.setter
    def models(self, value: dict[tuple[str, str], ModelState]) -> None:
        self._render()
        self._models = value

    @property
    def apps(self) -> StateApps:
        return self._render()

    @apps.setter
    def apps(self, value: StateApps) -> None:
        self._apps = value
        self._source = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<migration state snapshot of {len(self._models)} models>"


def _snapshot(self: State) -> State:
    models = {key: model.clone() for key, model in self.models.items()}
    return _Snapshot(models, self.apps)


_PLAIN: dict[tuple[bool, str, str, str], dict[str, FilterInfoDict]] = {}


def _filters_for_field(field_name: str, field: Field | None, source_field: str) -> dict[str, FilterInfoDict]:
    if isinstance(field, ManyToManyFieldInstance | BackwardFKRelation | ArrayField):
        return get_filters_for_field(field_name, field, source_field)  # built from the field itself
    actual = field.model_field_name if field_name == "pk" and field else field_name
    key = (isinstance(field, JSONField), field_name, actual, source_field)
    table = _PLAIN.get(key)
    if table is None:
        table = _PLAIN[key] = get_filters_for_field(field_name, field, source_field)
    # A new outer dict each time (callers merge it into theirs); the entries are never changed in
    # place (tortoise copies one before giving it a dialect's operator: MetaInfo._generate_filters).
    return dict(table)


_WRITTEN_FOR = "1.1."  # the tortoise-orm whose State.clone and get_filters_for_field these replace


def install() -> None:
    """Idempotent; called by ``backend.db.migrate`` before it runs tortoise's migration runner. On a
    tortoise-orm other than the one this was written for it changes nothing: slower, never wrong."""
    if not tortoise.__version__.startswith(_WRITTEN_FOR):
        return
    State.clone = _snapshot  # type: ignore[method-assign]
    tortoise.models.get_filters_for_field = _filters_for_field
