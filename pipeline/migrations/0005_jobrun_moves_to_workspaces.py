"""JobRun leaves pipeline's state for workspaces (workspaces 0005); the table is kept as it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0004_ai_interaction_server_refusals'),
        ('workspaces', '0005_jobrun_ledger'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.RemoveIndex(
            model_name='jobrun',
            name='jobrun_time',
        ),
        migrations.RemoveIndex(
            model_name='jobrun',
            name='jobrun_type_status_time',
        ),
        migrations.RemoveConstraint(
            model_name='jobrun',
            name='jobrun_type_known',
        ),
        migrations.RemoveConstraint(
            model_name='jobrun',
            name='jobrun_status_known',
        ),
        migrations.RemoveConstraint(
            model_name='jobrun',
            name='jobrun_times_match_status',
        ),
        migrations.DeleteModel(
            name='JobRun',
        ),
            ],
        ),
    ]
