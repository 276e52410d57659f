"""The job ledger (JobRun) moves from pipeline to workspaces, the base every app records its
jobs in. State only: the table stays `pipeline_jobrun`, created by pipeline 0002."""

import config.ids
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workspaces', '0004_undo_seconds'),
        ('pipeline', '0004_ai_interaction_server_refusals'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='JobRun',
            fields=[
                ('id', models.UUIDField(default=config.ids.uuid7, editable=False, primary_key=True, serialize=False)),
                ('type', models.CharField(choices=[('knowledge_import', 'Knowledge import'), ('knowledge_refresh', 'Knowledge refresh'), ('learning_sample_export', 'Learning-sample export'), ('timing_backfill', 'Response-timing backfill'), ('pipeline_run_purge', 'Pipeline-run purge'), ('message_retention', 'Message retention')], max_length=30)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=10)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('error', models.TextField(blank=True, default='')),
                ('metrics', models.JSONField(blank=True, default=dict)),
                ('workspace', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='job_runs', to='workspaces.workspace')),
            ],
            options={
                'db_table': 'pipeline_jobrun',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['-created_at'], name='jobrun_time'), models.Index(fields=['type', 'status', '-created_at'], name='jobrun_type_status_time')],
                'constraints': [models.CheckConstraint(condition=models.Q(('type__in', ['knowledge_import', 'knowledge_refresh', 'learning_sample_export', 'timing_backfill', 'pipeline_run_purge', 'message_retention'])), name='jobrun_type_known'), models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'succeeded', 'failed'])), name='jobrun_status_known'), models.CheckConstraint(condition=models.Q(models.Q(('finished_at__isnull', True), ('started_at__isnull', True), ('status', 'queued')), models.Q(('finished_at__isnull', True), ('started_at__isnull', False), ('status', 'running')), models.Q(('finished_at__isnull', False), ('started_at__isnull', False), ('status', 'succeeded')), models.Q(('finished_at__isnull', False), ('status', 'failed')), _connector='OR'), name='jobrun_times_match_status')],
            },
        ),
            ],
        ),
    ]
