from tortoise import migrations
from tortoise.migrations import operations as ops
from backend.migration_ops import AddField  # fills the rows already there (backend/migration_ops.py)
from backend.models.enums import CredentialStatus, RecordAccessKind, RecordStep, ServiceMethod
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_key_holders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CredentialEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('credential', fields.ForeignKeyField('models.Credential', source_field='credential_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=24)),
                ('status_after', fields.CharEnumField(description='VALID: valid\nSUSPENDED: suspended\nREVOKED: revoked\nEXPIRED: expired\nVOID: void\nNOT_YET_VALID: not_yet_valid', enum_type=CredentialStatus, max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('reason', fields.TextField(default='', unique=False)),
                ('actor', fields.CharField(default='', max_length=64)),
                ('actor_name', fields.CharField(default='', max_length=100)),
                ('actor_role', fields.CharField(default='', max_length=16)),
                ('leaf_index', fields.BigIntField(null=True, unique=True)),
            ],
            options={'table': 'credential_event', 'app': 'models', 'indexes': [Index(fields=['credential_id', 'at'])], 'pk_attr': 'id', 'table_description': "Every change of a credential, with when and who: the card's history, so a record can be checked"},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='CaseRecord',
            options={'table': 'case_record', 'app': 'models', 'unique_together': (('case', 'seq'),), 'pk_attr': 'id', 'table_description': 'One step of a case (R-R1), append-only: never updated or deleted. A mistake is corrected by a'},
        ),
        ops.AlterField(
            model_name='CaseRecord',
            name='step',
            field=fields.CharEnumField(description='START: start\nINVESTIGATION: investigation\nEVIDENCE: evidence\nON_SITE: on_site\nINTERVIEW: interview\nNOTICE_OF_RIGHTS: notice_of_rights\nSTATEMENT: statement\nHEARING: hearing\nSEIZURE: seizure\nLIBERTY_RESTRICTION: liberty_restriction\nLEGAL_REVIEW: legal_review\nDECISION: decision\nSERVICE: service\nEXECUTION: execution\nFORCED_EXECUTION: forced_execution\nCLOSURE: closure\nPUBLICATION: publication\nNOTICE: notice', enum_type=RecordStep, max_length=24),
        ),
        AddField(
            model_name='CaseRecord',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='CaseRecord',
            name='actor_role',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='CaseRecord',
            name='corrects',
            field=fields.ForeignKeyField('models.CaseRecord', source_field='corrects_id', null=True, db_constraint=True, to_field='id', related_name='corrections', on_delete=OnDelete.RESTRICT),
        ),
        AddField(
            model_name='CaseRecord',
            name='evidence_ids',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        AddField(
            model_name='CaseRecord',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        AddField(
            model_name='CaseRecord',
            name='service_method',
            field=fields.CharEnumField(null=True, description='DIRECT: direct\nLIEN: lien\nMAIL: mail\nELECTRONIC: electronic\nPUBLIC_NOTICE: public_notice', enum_type=ServiceMethod, max_length=16),
        ),
        ops.RemoveField(model_name='CaseRecord', name='hash'),
        ops.RemoveField(model_name='CaseRecord', name='prev_hash'),
        AddField(
            model_name='DecisionVersion',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='DecisionVersion',
            name='actor_role',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='DecisionVersion',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        ops.AlterModelOptions(
            name='Evidence',
            options={'table': 'evidence', 'app': 'models', 'unique_together': (('case', 'number'),), 'pk_attr': 'id', 'table_description': 'An evidence file (AV, photo, document), numbered like the case documents (R-R2), stored by its'},
        ),
        ops.RemoveField(model_name='Evidence', name='collector'),
        AddField(
            model_name='Evidence',
            name='actor',
            field=fields.CharField(default='', max_length=64),
        ),
        AddField(
            model_name='Evidence',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='Evidence',
            name='actor_role',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='Evidence',
            name='collector_officer',
            field=fields.ForeignKeyField('models.Officer', source_field='collector_officer_id', null=True, db_constraint=True, to_field='id', related_name='evidence_collected', on_delete=OnDelete.RESTRICT),
        ),
        AddField(
            model_name='Evidence',
            name='content_type',
            field=fields.CharField(default='application/octet-stream', max_length=100),
        ),
        AddField(
            model_name='Evidence',
            name='leaf_index',
            field=fields.BigIntField(null=True, unique=True),
        ),
        AddField(
            model_name='Evidence',
            name='seq',
            field=fields.IntField(default=0),
        ),
        ops.RemoveField(model_name='Evidence', name='record'),
        ops.RemoveField(model_name='Evidence', name='storage_path'),
        ops.AlterModelOptions(
            name='RecordAccess',
            options={'table': 'record_access', 'app': 'models', 'pk_attr': 'id', 'table_description': "Every retrieval of a case's full record and every read of an evidence file, with who (R-R5)."},
        ),
        AddField(
            model_name='RecordAccess',
            name='accessor_agency_id',
            field=fields.UUIDField(null=True),
        ),
        AddField(
            model_name='RecordAccess',
            name='actor_name',
            field=fields.CharField(default='', max_length=100),
        ),
        AddField(
            model_name='RecordAccess',
            name='actor_role',
            field=fields.CharField(default='', max_length=16),
        ),
        AddField(
            model_name='RecordAccess',
            name='evidence',
            field=fields.ForeignKeyField('models.Evidence', source_field='evidence_id', null=True, db_constraint=True, to_field='id', related_name='reads', on_delete=OnDelete.RESTRICT),
        ),
        AddField(
            model_name='RecordAccess',
            name='kind',
            field=fields.CharEnumField(default=RecordAccessKind.FULL_RECORD, description='FULL_RECORD: full_record\nEVIDENCE: evidence', enum_type=RecordAccessKind, max_length=16),
        ),
    ]
