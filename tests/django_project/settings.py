import os

SECRET_KEY = "tests-only"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.django_project.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "channels",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ASGI_APPLICATION = "tests.django_project.asgi.application"
USE_TZ = True
REST_FRAMEWORK = {"UNAUTHENTICATED_USER": None}
CHANNEL_LAYERS = {"default": {"BACKEND": "tidings.MemoryChannelLayer"}}
if os.environ.get("TIDINGS_TEST_REDIS"):  # set by the real-server tests
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "tidings.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["TIDINGS_TEST_REDIS"]], "prefix": "djserver"},
        }
    }
