"""roomwire load tests on Locust: protocol-speaking users, scenarios, thresholds, graceful stop.

    locust -f loadtest/locustfile.py -H ws://127.0.0.1:8000 --headless -u 50 -r 10 -t 1m --scenario chat
    roomwire load -H ws://127.0.0.1:8000 --headless -u 50 -r 10 -t 1m --scenario chat   # the packaged locustfile

Modules, from the wire up (docs/loadtest.md explains the measurements and the numbers):

    metrics     request names, failure types, fan-out stamps, how an AI exchange ends (no I/O, no Locust)
    sampled     ClientProtocol with schema validation on a sample of frames
    meter       one connection's pending waits -> samples, sans I/O
    client      RoomwireClient: websockets.sync on gevent, fires Locust request events
    users       RoomwireUser and ChatUser / AskerUser / RateLimitUser
    scenarios   custom arguments and settings; room placement across workers
    thresholds  --max-p95-ms / --max-p99-ms / --max-error-ratio
    safety      loopback-only unless --allow-remote-target; bounded users, rooms, run time
    lifecycle   graceful stop (drain) locally and across workers
    outcomes    the AI-outcome tally (ratelimit scenario)
    plugin      wires all of it into Locust's events
    locustfile  imports the users and the plugin
    cli         `roomwire load`
"""
