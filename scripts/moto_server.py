"""moto server, with each DynamoDB request made atomic.

moto applies the writes of a TransactWriteItems one by one and undoes a cancelled one by
putting back a copy of the whole table taken when it started. Two transactions running at
once on its threaded server can therefore interleave: writes of a cancelled transaction
survive, or a committed one's are undone. DynamoDB itself never does that. One lock around
DynamoDB and DynamoDB Streams requests gives back DynamoDB's guarantee; SNS and SQS (whose
long polls would otherwise wait on it) stay concurrent.

Usage: moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

_dynamodb = threading.Lock()


def dynamodb_serialised(app):
    def handle(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with _dynamodb:
                # The response is produced inside the lock, not merely begun.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return handle


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        dynamodb_serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
