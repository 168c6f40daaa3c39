from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

# The gram rows of the public search (backend/services/search.py, models.DecisionSearchGram): one per
# bigram of each search row's party_grams, backfilled from the rows already there (what search.sync
# writes from now on; party_grams holds each gram once). PostgreSQL in one statement, SQLite from Python.
PG_BACKFILL = ("INSERT INTO decision_search_gram (gram, decided_at, decision_id)"
               " SELECT unnest(string_to_array(party_grams, ' ')), decided_at, decision_id"
               " FROM decision_search WHERE party_grams <> ''")


async def backfill(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(PG_BACKFILL + "; ANALYZE decision_search_gram")
        return
    _, rows = await client.execute_query("SELECT decision_id, decided_at, party_grams FROM decision_search")
    values = [[gram, r[1], r[0]] for r in rows for gram in sorted(set(r[2].split()))]
    if values:
        await client.execute_many(
            "INSERT INTO decision_search_gram (gram, decided_at, decision_id) VALUES (?, ?, ?)", values)


async def nothing_to_undo(apps, schema_editor):
    pass  # the table goes with the model

class Migration(migrations.Migration):
    dependencies = [('models', '0019_register_events_and_retirement')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DecisionSearchGram',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('decided_at', fields.DateField()),
                ('gram', fields.CharField(max_length=2)),
                ('decision', fields.ForeignKeyField('models.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='search_grams', on_delete=OnDelete.RESTRICT)),
            ],
            options={'table': 'decision_search_gram', 'app': 'models', 'unique_together': (('gram', 'decided_at', 'decision_id'),), 'pk_attr': 'id', 'table_description': 'One bigram of the searchable names of one decision in public view (``services/search.py``):'},
            bases=['Model'],
        ),
        ops.RunPython(backfill, nothing_to_undo),
    ]
