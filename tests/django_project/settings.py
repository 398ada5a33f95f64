SECRET_KEY = "tests-only"
DEBUG = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.django_project.urls"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "channels",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ASGI_APPLICATION = "tests.django_project.asgi.application"
USE_TZ = True
REST_FRAMEWORK = {"UNAUTHENTICATED_USER": None}
CHANNEL_LAYERS = {"default": {"BACKEND": "tidings.MemoryChannelLayer"}}
