"""The roomwire locustfile: `locust -f loadtest/locustfile.py -H ws://127.0.0.1:8000 --scenario chat ...`.

It only imports: the users (Locust collects every User class it finds here) and the plugin, whose import
installs roomwire's options, scenario choice, thresholds and graceful stop. `roomwire load` runs this file.
"""

from roomwire.loadtest import plugin  # noqa: F401  - installs the options and event listeners
from roomwire.loadtest.users import AskerUser, ChatUser, RateLimitUser

__all__ = ["AskerUser", "ChatUser", "RateLimitUser"]
