from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import CredentialStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Credential',
            name='status',
            field=fields.CharEnumField(default=CredentialStatus.VALID, description='VALID: valid\nSUSPENDED: suspended\nREVOKED: revoked\nEXPIRED: expired\nVOID: void\nNOT_YET_VALID: not_yet_valid', enum_type=CredentialStatus, max_length=16),
        ),
        ops.AlterField(
            model_name='Scan',
            name='status_shown',
            field=fields.CharEnumField(description='VALID: valid\nSUSPENDED: suspended\nREVOKED: revoked\nEXPIRED: expired\nVOID: void\nNOT_YET_VALID: not_yet_valid', enum_type=CredentialStatus, max_length=16),
        ),
    ]
