from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.models.enums import BindingEnd, NotificationEvent
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_open311')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Complaint',
            name='wechat_openid',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
        ops.AlterField(
            model_name='Notification',
            name='event',
            field=fields.CharEnumField(description='DECISION_PUBLISHED: decision_published\nDECISION_CORRECTED: decision_corrected\nDECISION_WITHDRAWN: decision_withdrawn\nAGENCY_NOTICE: agency_notice\nCOMPLAINT_UPDATE: complaint_update\nCOMPLAINT_PHONE_CODE: complaint_phone_code\nBINDING_SMS_CODE: binding_sms_code\nBINDING_CHANGED: binding_changed\nBINDING_ENDED: binding_ended', enum_type=NotificationEvent, max_length=24),
        ),
        ops.AlterField(
            model_name='PartyBinding',
            name='ended_reason',
            field=fields.CharEnumField(null=True, description='REISSUED: reissued\nREPLACED: replaced\nUNBOUND: unbound', enum_type=BindingEnd, max_length=16),
        ),
    ]
