from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_credential_not_yet_valid')]

    initial = False

    operations = [
        AddField(
            model_name='ApiKey',
            name='officer',
            field=fields.ForeignKeyField('models.Officer', source_field='officer_id', null=True, db_constraint=True, to_field='id', related_name='api_keys', on_delete=OnDelete.RESTRICT),
        ),
        AddField(
            model_name='ApiKey',
            name='person_name',
            field=fields.CharField(default='', max_length=50),
        ),
        AddField(
            model_name='ApiKey',
            name='system_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='AuditEvent',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        # Keys made before holders were recorded say so, rather than belonging to nobody.
        ops.RunSQL("UPDATE api_key SET system_name = '未登记持有人的旧密钥' "
                   "WHERE officer_id IS NULL AND person_name = '' AND system_name = ''"),
    ]
