"""Random client byte streams to Ringmaster and redis-server 7.0: same answers.

A bounded slice of tests/fuzz/diff_clients.py (see its docstring for what
the streams contain and what is excluded, and why): its regression cases,
then seeded random streams -- valid commands mixed with malformed RESP, in
random chunkings -- until the time budget is spent. Each stream must get
the same bytes back from both servers and the same closed/open outcome.

RM_DIFF_BYTES_SECONDS sets the budget (default 25 s; 600 for a long run),
RM_DIFF_BYTES_FIRST_SEED the first seed (default 1): a long run is
  RM_DIFF_BYTES_SECONDS=600 RM_DIFF_BYTES_FIRST_SEED=1000 \
      /usr/bin/python3 -m pytest test_differential_bytes.py
or tests/fuzz/diff_clients.py --seconds 600 without pytest. The test moves
the suite's hang watchdog past its own budget.
"""

import faulthandler
import os
import sys

import rmtest
from rmtest import RespConn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import diff_clients  # noqa: E402

SECONDS = float(os.environ.get("RM_DIFF_BYTES_SECONDS", "25"))
FIRST_SEED = int(os.environ.get("RM_DIFF_BYTES_FIRST_SEED", "1"))


def test_random_byte_streams_same_answers(servers):
    faulthandler.dump_traceback_later(SECONDS + 120 * rmtest.SLOWDOWN, exit=True)
    pair = [servers.ringmaster(), servers.redis()]
    ports = [s.port for s in pair]
    count, mismatches = diff_clients.run(ports, range(FIRST_SEED, FIRST_SEED + 100000),
                                         SECONDS,
                                         jobs=4 if rmtest.SANITIZE else 6)
    assert not mismatches, "%d of %d streams differ:\n\n%s" % (
        len(mismatches), count, "\n\n".join(mismatches[:5]))
    assert count >= rmtest.scaled(100, 25), "only %d streams ran in %.0f s" % (count, SECONDS)
    for server in pair:
        with RespConn(server.port) as c:
            assert c.call("PING") == b"PONG", "%s stopped answering" % server.name
