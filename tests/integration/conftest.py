"""Pytest fixtures for the integration suite: servers that start, get checked, stop.

`ringmaster` and `redis_ref` give a started server each; `servers` is the
factory for tests that need more, or extra directives; `module_servers` is
the same factory shared by all tests of a module. At teardown every
server started through them is checked: a process that died while the test
did not expect it is a crash, and any sanitizer report in its log fails the
test even when the test itself passed.

Run one file as CTest does, from this directory:
    RINGMASTER_BIN=/abs/path/ringmaster RINGMASTER_SANITIZE= \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider test_protocol.py
(Debian's /usr/bin/python3: it has python3-redis and python3-pytest.)
Without RINGMASTER_BIN the tests are skipped. Pointing it at a script that
execs redis-server checks the tests themselves: every one passes that way.
"""

import faulthandler
import os

import pytest

import rmtest

# A hung test dumps every thread's stack and ends pytest well before CTest's
# own timeout would kill it silently; the servers die with it (PDEATHSIG).
TEST_WATCHDOG_SECONDS = 180 * rmtest.SLOWDOWN


class ServerFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.started = []

    def _workdir(self, name):
        path = self.tmp_path / ("%s-%d" % (name, len(self.started)))
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ringmaster(self, *args, name="ringmaster", **kw):
        """Start a Ringmaster with extra command-line directives `args`."""
        binary = rmtest.ringmaster_bin()
        if binary is None:
            pytest.skip("RINGMASTER_BIN is not set")
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            pytest.fail("RINGMASTER_BIN=%s is not an executable file" % binary)
        return self._start(binary, name, args, kw)

    def redis(self, *args, name="redis", **kw):
        """Start the reference redis-server with extra directives `args`."""
        binary = rmtest.redis_server_bin()
        if binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        return self._start(binary, name, args, kw)

    def sentinel(self, config_file, port, name="sentinel"):
        """Start Debian's redis-sentinel on `config_file` (which it rewrites),
        listening on `port`."""
        binary = rmtest.redis_sentinel_bin()
        if binary is None:
            pytest.skip("redis-sentinel is not installed (apt-get install redis-sentinel)")
        return self._start(binary, name, (), dict(config_file=config_file, standard=False,
                                                  port=port, workdir=config_file.parent))

    def _start(self, binary, name, args, kw):
        wait = kw.pop("wait", True)
        workdir = kw.pop("workdir", None) or self._workdir(name)
        server = rmtest.ServerProcess(binary, workdir, name=name, args=args, **kw)
        self.started.append(server)
        server.start(wait=wait)
        return server

    def finish(self):
        """Stop every server; return the problems found, one string each."""
        problems = []
        for server in self.started:
            if server.proc is None:
                continue
            died = not server.exit_expected and not server.alive()
            code = server.stop()
            if died:
                problems.append("%s died during the test (exit code %s)\n%s" %
                                (server.name, code, server.log_tail()))
            elif server.stop_problem:
                problems.append("%s %s\n%s" % (server.name, server.stop_problem, server.log_tail()))
            report = server.sanitizer_report()
            if report:
                problems.append("%s: sanitizer report in %s\n%s" %
                                (server.name, server.log_path, report))
        return problems


@pytest.fixture(autouse=True)
def _watchdog():
    faulthandler.dump_traceback_later(TEST_WATCHDOG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def servers(tmp_path):
    factory = ServerFactory(tmp_path)
    yield factory
    problems = factory.finish()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory):
    """Servers shared by a whole test module (for long tables of cheap cases)."""
    factory = ServerFactory(tmp_path_factory.mktemp("module"))
    yield factory
    problems = factory.finish()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(params=["ringmaster", "redis"])
def both(request, servers):
    """A starter for the server under test, Ringmaster then real Redis: a
    test that uses it runs twice, so an expectation that is wrong about
    Redis fails on Redis."""
    def start(*args):
        if request.param == "ringmaster":
            return servers.ringmaster(*args)
        return servers.redis(*args)
    return start


@pytest.fixture
def ringmaster(servers):
    return servers.ringmaster()


@pytest.fixture
def redis_ref(servers):
    return servers.redis()
