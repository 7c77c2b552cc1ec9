import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")
application = get_wsgi_application()

# Import every view, serializer and form now rather than on the first request, then move all these
# long-lived objects out of the garbage collector's sight. A full collection otherwise walks them
# all (about 135,000) every few dozen requests, pausing the request it lands on by 100 ms or more.
_views = get_resolver().url_patterns  # imports the URLconf and every view it names
gc.freeze()
