"""moto server, with each DynamoDB request made atomic.

moto applies the writes of a TransactWriteItems one by one and undoes a cancelled one by
putting back a copy of the whole table taken when it started. Two transactions running at
once on its threaded server can therefore interleave: writes of a cancelled transaction
survive, or a committed one's are undone. DynamoDB itself never does that. One lock around
DynamoDB and DynamoDB Streams requests gives back DynamoDB's guarantee; SNS and SQS (whose
long polls would otherwise wait on it) stay concurrent.

moto also backs up every table a transaction names with a deep copy of the whole table,
stream records included: each write costs time and memory in proportion to everything
written before it (a load of a few thousand webhooks took minutes per hundred and ended
with moto killed for 24 GB). Under the lock the backup needs only the items the
transaction names and the stream's length, so that is all it takes, and a cancelled
transaction puts exactly those back.

moto also counts a filter policy's "$or" branches as if they multiplied each other (and
by their depth), so the template's policy (alerts by severity and source, or no attributes
at all: 3 x 4 + 1 = 13 combinations to SNS) is refused as "too complex". SNS adds the
branches up; so does the check here, and each branch then goes through moto's own checks.

Usage: moto_server.py HOST PORT
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.sns.exceptions import SNSInvalidParameter
from moto.sns.models import SNSBackend

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


class _TablesNotCopied:
    """`copy` as moto's DynamoDB backend sees it: a Table "copied" is the table itself,
    since `transact_write_items` below keeps the backup that matters."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _key(table, attributes):
    if table.hash_key_attr not in attributes:
        return None
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attributes:
            return None
        range_value = DynamoType(attributes[table.range_key_attr])
    return DynamoType(attributes[table.hash_key_attr]), range_value


def _put_back(table, hash_value, range_value, item):
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
        if not table.items.get(hash_value, True):
            del table.items[hash_value]
    else:
        table.items[hash_value][range_value] = item


_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    saved = []
    streams = {}
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = _key(table, op.get("Key") or op.get("Item") or {})
        if key is None:
            continue
        item = table.get_item(*key)
        saved.append((table, *key, copy.deepcopy(item)))
        if table.stream_shard is not None:
            streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
    try:
        _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(saved):
            _put_back(table, hash_value, range_value, item)
        for shard, length in streams.values():
            del shard.items[length:]
        raise


_validate_filter_policy = SNSBackend._validate_filter_policy


def _combinations(policy):
    """SNS's count: the values of each key multiplied, an "$or" the sum of its branches."""
    total = 1
    for key, rules in policy.items():
        if key == "$or" and isinstance(rules, list):
            total *= sum(_combinations(branch) for branch in rules if isinstance(branch, dict))
        elif isinstance(rules, list):
            total *= max(len(rules), 1)
    return total


def _branches(policy):
    """The policy as the plain policies its "$or"s choose between."""
    plain = {k: v for k, v in policy.items() if k != "$or"}
    alternatives = policy.get("$or")
    if not isinstance(alternatives, list):
        return [plain]
    return [
        {**plain, **expanded}
        for branch in alternatives
        if isinstance(branch, dict)
        for expanded in _branches(branch)
    ]


def validate_filter_policy(self, value, scope):
    if _combinations(value) > 150:
        raise SNSInvalidParameter("Invalid parameter: FilterPolicy: Filter policy is too complex")
    for branch in _branches(value):
        _validate_filter_policy(self, branch, scope)


def main() -> None:
    dynamodb_models.copy = _TablesNotCopied()
    DynamoDBBackend.transact_write_items = transact_write_items
    SNSBackend._validate_filter_policy = validate_filter_policy
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
