# JobRun moves from scrobbler to ops (issue 18): in Django's state only. Its table keeps its
# name (scrobbler_jobrun) and its rows; its content type (and so staff permissions on it and the
# admin's history) is renamed along.

from django.db import migrations, models


def content_type_follows(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="ops", model="jobrun").exists():
        ContentType.objects.filter(app_label="scrobbler", model="jobrun").update(app_label="ops")


def content_type_returns(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="scrobbler", model="jobrun").exists():
        ContentType.objects.filter(app_label="ops", model="jobrun").update(app_label="scrobbler")


class Migration(migrations.Migration):

    dependencies = [
        ("ops", "0001_initial"),
        ("scrobbler", "0009_jobrun_imports_and_polls"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='JobRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('worker_check', 'Worker check'), ('library_scan', 'Library scan'), ('import', 'Import'), ('polls', 'Polls (a minute)')], max_length=30)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=10)),
                        ('details', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('minute', models.DateTimeField(blank=True, help_text='The UTC minute a row of polls sums up', null=True)),
                    ],
                    options={
                        'db_table': 'scrobbler_jobrun',
                        'indexes': [models.Index(fields=['-created_at'], name='jobrun_recent_idx')],
                        'constraints': [models.UniqueConstraint(fields=('kind', 'minute'), name='jobrun_one_per_minute')],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_follows, content_type_returns),
    ]
