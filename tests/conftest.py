import pytest

from tests.support import Suite, free_port


def _suite(tmp_path_factory) -> Suite:
    home = tmp_path_factory.mktemp("suite") / "home"
    home.mkdir()
    return Suite(home=home, http_port=free_port(), https_port=free_port())


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """The whole suite, real processes, shared by one test module."""
    s = _suite(tmp_path_factory).start()
    yield s
    s.stop()


@pytest.fixture
def fresh_suite(tmp_path_factory):
    """A suite of its own, for tests that kill or restart processes."""
    s = _suite(tmp_path_factory).start()
    yield s
    s.stop()
