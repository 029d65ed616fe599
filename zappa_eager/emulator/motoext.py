"""moto_server, plus the one Lambda call that upstream's ``zappa update`` needs and moto 5.2 lacks.

``zappa update`` ends by removing function URLs the stage does not use: it calls
``lambda:ListFunctionUrlConfigs`` (``GET /2021-10-31/functions/{name}/urls``). moto keeps function
URL configs in its Lambda backend (Create/Get/Update/DeleteFunctionUrlConfig) but routes no URL for
listing them, so moto_server answers HTTP 404 with an HTML page and upstream prints its
"Oh no! An error occurred!" traceback. :class:`MotoServer` is moto's own server (the same WSGI app
and request handler as ``moto.server.ThreadedMotoServer``) with that one route added, answered from
moto's backend state. Every other request goes to moto unchanged.

Tooling only (the demo and tests), never imported inside Lambda. Limits, moto's: it stores one URL
config per function whatever the ``Qualifier``, so the list has at most one entry, on one page.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

import flask
from moto.awslambda.responses import LambdaResponse
from moto.core.utils import convert_to_flask_response
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.exceptions import NotFound
from werkzeug.serving import BaseWSGIServer, make_server

#: The operations this server answers that moto_server alone does not (service:Operation).
EXTENSIONS = ("lambda:ListFunctionUrlConfigs",)
#: moto's name for its Lambda backend ("awslambda"), and the service's.
_LAMBDA = ("awslambda", "lambda")
#: moto's own pattern for a function name or ARN in a Lambda URL path.
_FUNCTION = r"[\w_:%-]+"


class _LambdaResponse(LambdaResponse):
    """moto's Lambda responses plus ListFunctionUrlConfigs (moto dispatches on the operation's name)."""

    def list_function_url_configs(self) -> str:
        function_name = unquote(self.path.split("/")[-2])
        function = self.backend.get_function(function_name)  # ResourceNotFoundException (404) as AWS
        configs = [function.url_config.to_dict()] if function.url_config is not None else []
        return json.dumps({"FunctionUrlConfigs": configs})


def create_app(service: Any, unrouted: list[str] | None = None) -> Any:
    """moto's Flask app for ``service``; for Lambda, with the ``/functions/{name}/urls`` route added.

    ``unrouted`` collects ``"METHOD /path"`` of every request no route matched (moto's 404 HTML page),
    so a caller can say which AWS calls moto did not answer instead of finding out from a traceback.
    """
    app = create_backend_app(service)
    if service in _LAMBDA:
        app.add_url_rule(f"/<api_version>/functions/<regex('{_FUNCTION}'):function_name>/urls",
                         endpoint="zappa_eager.list_function_url_configs", methods=["GET"],
                         view_func=convert_to_flask_response(_LambdaResponse.dispatch), strict_slashes=False)
    if unrouted is not None:
        def record(error: NotFound) -> NotFound:
            if flask.request.url_rule is None:  # no route; a moto "not found" answer comes from a route
                unrouted.append(f"{flask.request.method} {flask.request.path}")
            return error

        app.register_error_handler(NotFound, record)
    return app


class MotoServer:
    """moto_server with :data:`EXTENSIONS`, in a thread of this process, on ``host`` (a free port by default)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        #: ``"METHOD /path"`` of each request moto had no route for, in order (see :func:`create_app`).
        self.unrouted: list[str] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("moto_server is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread and return the endpoint URL (the socket listens on return)."""
        if self._server is None:
            app = DomainDispatcherApplication(self._create_app)
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
            self._thread = threading.Thread(target=self._server.serve_forever, name="moto_server", daemon=True)
            self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def _create_app(self, service: Any) -> Any:
        return create_app(service, self.unrouted)

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
