"""Hangs CPython 3.13.5 built with --enable-experimental-jit; finishes with PYTHON_JIT=0.

`unittest.mock.create_autospec` asks `inspect.signature` for `functools.partial(method,
None)` of every method; each ends in `inspect.Signature._bind`. After a few rounds the
JIT compiles the keyword loop of `_bind` (`for param in itertools.chain(parameters_ex,
parameters)`), and the compiled loop never ends. The mix of signatures matters: over ten
rounds, removing any one of these methods lets the loop finish, and five rounds are
not enough.
"""

from unittest import mock


class Creator:
    def __init__(
        self,
        loader,
        endpoint_resolver,
        user_agent,
        event_emitter,
        retry_handler_factory,
        retry_config_translator,
        response_parser_factory=None,
        exceptions_factory=None,
        config_store=None,
        user_agent_creator=None,
        auth_token_resolver=None,
    ):
        pass

    def create_client(
        self,
        service_name,
        region_name,
        is_secure=True,
        endpoint_url=None,
        verify=None,
        credentials=None,
        scoped_config=None,
        api_version=None,
        client_config=None,
        auth_token=None,
    ):
        pass

    def _register_retries(self, client):
        pass

    def _register_s3_events(
        self, client, endpoint_bridge, endpoint_url, client_config, scoped_config
    ):
        pass

    def f(self, *args, **kwargs):
        pass

    def g(self, a, /, b, *, c=1):
        pass


def autospec_rounds(rounds=50):
    for _ in range(rounds):
        mock.create_autospec(Creator)
        mock.create_autospec(Creator, instance=True)


if __name__ == "__main__":
    autospec_rounds()
    print("finished")
