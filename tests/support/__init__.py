"""What every test folder shares (python-websockets' `tests/utils.py` is the model).

timing     UNIT, the one time unit every wait of the tests scales from (ROOMWIRE_TEST_TIME_SCALE)
processes  free_port() and running(): a child process started in its own session, stopped also on failure
layout     the repository as the tests see it: ROOT, setup.py's folder mapping and bench/, every module by import name
"""
