from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("circuit_breaker_django", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="breaker",
            name="generation",
            field=models.BigIntegerField(default=0),
        ),
    ]
