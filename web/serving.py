"""The production server: waitress, bounded so that slow or idle clients cannot lock others out."""

from __future__ import annotations

from waitress.channel import HTTPChannel
from waitress.server import create_server as create_waitress_server

REQUEST_TIMEOUT = 10  # seconds a request may take to arrive in full, and an idle connection may stay
CONNECTION_LIMIT = 1000


class DeadlineChannel(HTTPChannel):
    """A connection whose request must arrive in full within the server's ``channel_timeout``.

    Waitress closes a connection after ``channel_timeout`` seconds without any bytes, so a client
    that sends one header line every few seconds would keep its connection for ever, and enough
    such clients fill the connection limit. Here the bytes of an unfinished request do not count
    as activity: the connection is closed ``channel_timeout`` seconds after its request began.
    """

    request_began: float | None = None

    def received(self, data):
        result = super().received(data)
        if self.request is not None:  # a request is still arriving
            if self.request_began is None:
                self.request_began = self.last_activity
            self.last_activity = self.request_began
        else:
            self.request_began = None
        return result


def create_server(app, host: str = "127.0.0.1", port: int = 5000, threads: int = 8,
                  request_timeout: int = REQUEST_TIMEOUT):
    """A waitress server for ``app``, bound to ``host:port`` (0: a free port) and ready to ``run()``.

    Binding happens here, so a busy port fails before anything says the server is up. A request
    must arrive within ``request_timeout`` seconds and an idle connection is closed after as long;
    up to CONNECTION_LIMIT connections are served at once.
    """
    server = create_waitress_server(
        app, host=host, port=port, threads=threads,
        channel_timeout=request_timeout,
        cleanup_interval=max(1, request_timeout // 4),
        connection_limit=CONNECTION_LIMIT,
        asyncore_use_poll=True,  # select() stops at 1024 file descriptors
    )
    server.channel_class = DeadlineChannel
    return server
