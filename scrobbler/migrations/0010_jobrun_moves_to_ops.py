# JobRun moves to ops (issue 18): Django forgets it here; its table stays, now ops' model.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("scrobbler", "0009_jobrun_imports_and_polls"),
        ("ops", "0002_jobrun_moves_to_ops"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="JobRun")],
        ),
    ]
