"""Migration operations of our own, for what tortoise's native ones do not do on a database with rows.

``AddField``: tortoise's ``AddField`` writes ``ALTER TABLE t ADD COLUMN c … NOT NULL`` and keeps the
field's default in Python only, so on a table that already has rows PostgreSQL refuses ("column c
contains null values") and so does SQLite ("Cannot add a NOT NULL column with default value NULL"):
an upgrade of any production database stopped at the first such column (found by
bench/upgrade_bench.py). This one fills the rows that are there:

* a field with a default: the column is added with that value as its SQL ``DEFAULT`` (on PostgreSQL
  11+ a constant default is stored in the catalogue: no table rewrite, whatever the table's size),
  then on PostgreSQL the ``DEFAULT`` is dropped, so an upgraded schema is the same as a new one (the
  application always writes the value itself). SQLite cannot drop a column default without copying
  the table; it keeps it, unused;
* a field without one: ``fill`` is an SQL expression for the existing rows (say, a column of a
  related table); the column is added nullable, filled, then made NOT NULL.

``scripts/makemigrations`` writes tortoise's ``ops.AddField``; tests/backend/test_migrations.py
fails on any NOT NULL column added without this one.
"""

from __future__ import annotations

from typing import Any

from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State


class AddField(ops.AddField):
    def __init__(self, model_name: str, name: str, field: Any, fill: str | None = None) -> None:
        super().__init__(model_name, name, field)
        self.fill = fill

    async def database_forward(self, app_label: str, old_state: State, new_state: State,
                               state_editor: BaseSchemaEditor | None = None) -> None:
        if not state_editor:
            return
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        field = model._meta.fields_map[self.name]
        if field.null or field.has_db_default() or isinstance(field, ForeignKeyFieldInstance):
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        table = state_editor._qualify_table_name(model._meta.db_table, model._meta.schema)
        column = model._meta.fields_db_projection[self.name]
        postgres = state_editor.client.capabilities.dialect == "postgres"
        if self.fill is None:
            if field.default is None:
                raise ValueError(f"{self.model_name}.{self.name}: a NOT NULL column without a default needs fill=")
            saved = field.db_default
            field.db_default = field.default() if callable(field.default) else field.default
            try:
                await state_editor.add_field(model, self.name)
            finally:
                field.db_default = saved
            if postgres:
                await state_editor.client.execute_script(f'ALTER TABLE {table} ALTER COLUMN "{column}" DROP DEFAULT')
            return
        field.null = True
        try:
            await state_editor.add_field(model, self.name)
        finally:
            field.null = False
        await state_editor.client.execute_script(f'UPDATE {table} SET "{column}" = {self.fill}')
        if postgres:
            await state_editor.client.execute_script(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET NOT NULL')
        else:
            # SQLite changes a column's NOT NULL only by copying the table: tortoise's own way of doing it.
            await state_editor._remake_table(model)  # type: ignore[attr-defined]
