from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import Role
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_annual_statistics')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='ApiKey',
            name='role',
            field=fields.CharEnumField(description='ADMIN: admin\nOFFICER: officer\nREVIEWER: reviewer\nHEAD: head\nSUPERVISOR: supervisor\nINTEGRATOR: integrator', enum_type=Role, max_length=16),
        ),
        ops.AddField(
            model_name='Complaint',
            name='filed_by_key_id',
            field=fields.UUIDField(null=True, db_index=True),
        ),
    ]
