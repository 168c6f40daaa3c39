# The R-D1 fields of an agency had two homes: these columns (written only by the demo, read only by
# the scan page for the complaint phone) and the agency register (kind AGENCY, versioned, reviewed).
# The register is the one home now; no API ever wrote these columns.
from tortoise import migrations
from tortoise.migrations import operations as ops

class Migration(migrations.Migration):
    dependencies = [('models', '0016_unbind_and_complaints_by_openid')]

    initial = False

    operations = [
        ops.RemoveField(model_name='Agency', name='address'),
        ops.RemoveField(model_name='Agency', name='complaint_phone'),
        ops.RemoveField(model_name='Agency', name='duties'),
        ops.RemoveField(model_name='Agency', name='entrustment_agreement'),
        ops.RemoveField(model_name='Agency', name='funding_source'),
        ops.RemoveField(model_name='Agency', name='legal_basis'),
        ops.RemoveField(model_name='Agency', name='legal_representative'),
        ops.RemoveField(model_name='Agency', name='publish_state'),
        ops.RemoveField(model_name='Agency', name='staffing'),
    ]
