from tortoise import migrations
from tortoise.migrations import operations as ops

# The GIN name index of the public search (0013) without its pending list (PostgreSQL only). With
# fastupdate on, new rows' bigrams wait in an unsorted list that every search reads whole, until
# autovacuum or 4 MB of them flush it: at 1,000,000 decisions after a bulk load, 251 pages (10,975
# rows) read on every party query, 9 of the 14 ms of a full name's plan. Decisions are published at
# human rate, so inserting into the index directly costs nothing that matters. Turning it off does
# not flush what is already pending: gin_clean_pending_list does.
FASTUPDATE_OFF = ("ALTER INDEX decision_search_grams SET (fastupdate = off);"
                  " SELECT gin_clean_pending_list('decision_search_grams'::regclass);")
FASTUPDATE_ON = "ALTER INDEX decision_search_grams RESET (fastupdate);"


async def no_pending_list(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(FASTUPDATE_OFF)


async def pending_list_again(apps, schema_editor):
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_script(FASTUPDATE_ON)


class Migration(migrations.Migration):
    dependencies = [('models', '0017_agency_profile_in_register')]

    initial = False

    operations = [
        ops.RunPython(no_pending_list, pending_list_again),
    ]
