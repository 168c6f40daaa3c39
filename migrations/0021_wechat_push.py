from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

# WeChat's delivery results arrive by message push (backend/services/wechat_push.py): the (timestamp,
# nonce) pairs already taken, and an index to find a notification by its msgid.

class Migration(migrations.Migration):
    dependencies = [('models', '0020_search_gram_rows')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WechatPushNonce',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('timestamp', fields.BigIntField()),
                ('nonce', fields.CharField(max_length=64)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'wechat_push_nonce', 'app': 'models', 'unique_together': (('timestamp', 'nonce'),), 'indexes': [Index(fields=['received_at'])], 'pk_attr': 'id', 'table_description': "A (timestamp, nonce) of WeChat's message push already taken: a replay of a signed push within"},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Notification',
            name='provider_id',
            field=fields.CharField(null=True, db_index=True, max_length=100),
        ),
    ]
