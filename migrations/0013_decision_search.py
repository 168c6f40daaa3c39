from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import CaseType, DecisionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# The name index of the public search (backend/services/search.py). PostgreSQL: GIN over the bigram
# array (string_to_array is immutable, so the expression can be indexed). SQLite: an FTS5 table over
# party_grams with decision_search as its content, kept by triggers in the writer's transaction.
PG_INDEX = ("CREATE INDEX IF NOT EXISTS decision_search_grams ON decision_search "
            "USING gin (string_to_array(party_grams, ' '))")
SQLITE_FTS = """
CREATE VIRTUAL TABLE IF NOT EXISTS decision_search_fts USING fts5(
    party_grams, content='decision_search', content_rowid='id', tokenize='ascii');
CREATE TRIGGER IF NOT EXISTS decision_search_ai AFTER INSERT ON decision_search BEGIN
    INSERT INTO decision_search_fts(rowid, party_grams) VALUES (new.id, new.party_grams);
END;
CREATE TRIGGER IF NOT EXISTS decision_search_ad AFTER DELETE ON decision_search BEGIN
    INSERT INTO decision_search_fts(decision_search_fts, rowid, party_grams) VALUES ('delete', old.id, old.party_grams);
END;
CREATE TRIGGER IF NOT EXISTS decision_search_au AFTER UPDATE OF party_grams ON decision_search BEGIN
    INSERT INTO decision_search_fts(decision_search_fts, rowid, party_grams) VALUES ('delete', old.id, old.party_grams);
    INSERT INTO decision_search_fts(rowid, party_grams) VALUES (new.id, new.party_grams);
END;
"""


async def create_name_index(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(PG_INDEX)
    else:
        await client.execute_script(SQLITE_FTS)
    await backfill(client)


async def drop_name_index(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script("DROP INDEX IF EXISTS decision_search_grams")
    else:
        await client.execute_script(
            "DROP TRIGGER IF EXISTS decision_search_ai; DROP TRIGGER IF EXISTS decision_search_ad; "
            "DROP TRIGGER IF EXISTS decision_search_au; DROP TABLE IF EXISTS decision_search_fts;")


async def backfill(client):
    """Decisions already public when the search arrives get their row, as services/search.sync
    would have written it (its name rules: one home, imported)."""
    from backend.services.search import grams, normalize

    pg = client.capabilities.dialect == "postgres"
    p = (lambda n: f"${n}") if pg else (lambda n: "?")
    _, decisions = await client.execute_query(
        "SELECT id, agency_id, type, document_no, decided_at, status, published_at, public_party_name, case_id"
        " FROM decision WHERE status IN ('published', 'corrected')")
    for d in decisions:
        _, versions = await client.execute_query(
            f"SELECT version, kind, public_text, created_at FROM decision_version WHERE decision_id = {p(1)}"
            " ORDER BY version", [d[0]])
        shown = [v for v in versions if v[1] in ("publish", "correct")]
        corrections = [v for v in versions if v[1] == "correct"]
        _, orgs = await client.execute_query(
            "SELECT p.name FROM case_party cp JOIN party p ON p.id = cp.party_id"
            f" WHERE cp.case_id = {p(1)} AND p.kind = 'organization' AND p.is_minor = {p(2)} ORDER BY cp.id",
            [d[8], False])
        names = [normalize(o[0]) for o in orgs]
        # Rows written before published_at was kept have none: the first published version's time.
        published_at = d[6] if d[6] is not None else (shown[0][3] if shown else None)
        if published_at is None:
            continue  # public in status only, with nothing ever shown: nothing to find
        values = [d[0], d[1], d[2], d[3], d[4], d[5], versions[-1][0] if versions else 0, published_at,
                  corrections[-1][3] if corrections else None, d[7], shown[-1][2] if shown else "",
                  "\n".join(names), " ".join(sorted({g for n in names for g in grams(n)}))]
        await client.execute_query(
            "INSERT INTO decision_search (decision_id, agency_id, type, document_no, decided_at, status, version,"
            " published_at, corrected_at, party, public_text, org_names, party_grams) VALUES ("
            + ", ".join(p(i + 1) for i in range(len(values))) + ")", values)


class Migration(migrations.Migration):
    dependencies = [('models', '0012_registers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DecisionSearch',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('decision', fields.OneToOneField('models.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='search_row', on_delete=OnDelete.RESTRICT)),
                ('agency', fields.ForeignKeyField('models.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='search_rows', on_delete=OnDelete.RESTRICT)),
                ('type', fields.CharEnumField(description='PENALTY: penalty\nPERMIT: permit\nCOERCION: coercion\nINSPECTION: inspection\nCOLLECTION: collection\nOTHER: other', enum_type=CaseType, max_length=16)),
                ('document_no', fields.CharField(max_length=100)),
                ('decided_at', fields.DateField()),
                ('status', fields.CharEnumField(description='DRAFT: draft\nPUBLISHED: published\nCORRECTED: corrected\nWITHDRAWN: withdrawn\nENDED: ended', enum_type=DecisionStatus, max_length=16)),
                ('version', fields.IntField()),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('corrected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('party', fields.CharField(max_length=200)),
                ('public_text', fields.TextField(unique=False)),
                ('org_names', fields.TextField(default='', unique=False)),
                ('party_grams', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'decision_search', 'app': 'models', 'indexes': [Index(fields=['decided_at', 'decision_id']), Index(fields=['agency_id', 'decided_at', 'decision_id']), Index(fields=['type', 'decided_at', 'decision_id']), Index(fields=['document_no'])], 'pk_attr': 'id', 'table_description': 'The public search index (``services/search.py``): one row per decision in public view, with'},
            bases=['Model'],
        ),
        ops.RunPython(create_name_index, drop_name_index),
    ]
