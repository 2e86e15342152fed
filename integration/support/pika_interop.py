#!/usr/bin/python3
"""Interop peer for the integration tests: a second, independent AMQP 0-9-1 client (pika 1.2).

Run with Debian's /usr/bin/python3 (apt package python3-pika):
  pika_interop.py publish <url> <exchange> <routing_key>
      Publishes ONE message (confirmed, mandatory) with all 14 basic properties set, headers of
      every type pika can encode, and a fixed non-ASCII + binary body. Prints JSON describing
      exactly what was sent: each header as {"type": <AMQP tag pika wrote>, "value": ...}.
  pika_interop.py get <url> <queue> [timeout_s=5]
      basic_get (auto-ack) one message, polling up to timeout_s; prints JSON of what pika decoded:
      each header as {"tag": <wire tag>, "type": <python type>, "value": ...}. Exit 3 if none came.
Value rendering: bytes -> hex, Decimal -> str, datetime -> epoch seconds (UTC),
ints beyond +-(2**53 - 1) -> decimal string, nested tables -> objects, arrays -> lists.
pika 1.2 quirks (decoding): 'l' is read UNSIGNED (negative 64-bit ints come back huge),
'b'/'B' are swapped vs. the errata, 'f'/'d' are truncated to int; it cannot encode float.
"""
import calendar
import datetime
import decimal
import json
import sys
import time

import pika
import pika.data

TIMESTAMP = 1700000000  # 2023-11-14T22:13:20Z
BODY = 'héllo wörld ✓ 🐇\n'.encode('utf-8') + bytes([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff])
MAX_SAFE = 2 ** 53 - 1

HEADERS = {
    'str': 'héllo ✓',
    'str_empty': '',
    'bytes': bytes([0x00, 0x01, 0xfe, 0xff]),
    'bool_true': True,
    'bool_false': False,
    'int_small': 42,
    'int_negative': -42,
    'int_i32_max': 2 ** 31 - 1,
    'int_big': 2 ** 31,
    'int_huge': 2 ** 62 + 1,
    'int_big_negative': -(2 ** 40),
    'decimal': decimal.Decimal('3.14'),
    'decimal_negative': decimal.Decimal('-0.005'),
    'datetime': datetime.datetime(2023, 11, 14, 22, 13, 20),
    'none': None,
    'table': {'a': 1, 'b': 'x', 'nested': {'deep': True}},
    'array': [1, 'two', True, None, b'\x03', 2 ** 40, decimal.Decimal('1.5'), {'k': 'v'}, [1, 2]],
}
# Not encodable by pika 1.2 (raises UnsupportedAMQPFieldException), hence absent above.
UNSUPPORTED = {'float': 1.5}

PROPS = dict(
    content_type='application/json', content_encoding='utf-8', delivery_mode=2, priority=7,
    correlation_id='corr-123', reply_to='reply.queue', expiration='60000', message_id='msg-456',
    timestamp=TIMESTAMP, type='interop.test', user_id='guest', app_id='pika_interop',
    cluster_id='cluster-x',
)


def plain(value):
    """JSON-safe rendering of a scalar."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return calendar.timegm(value.utctimetuple())
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE:
        return str(value)
    return value


def sent_tag(value):
    """The field-value tag pika's own encoder writes for value."""
    pieces = []
    pika.data.encode_value(pieces, value)
    return pieces[0][:1].decode('ascii')


def describe_sent(value):
    if isinstance(value, dict):
        inner = {k: describe_sent(v) for k, v in value.items()}
    elif isinstance(value, list):
        inner = [describe_sent(v) for v in value]
    else:
        inner = plain(value)
    return {'type': sent_tag(value), 'value': inner}


class Tagged:
    """A decoded field value plus the tag it had on the wire."""
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def describe_got(t):
    v = t.value
    if isinstance(v, dict):
        inner = {k: describe_got(x) for k, x in v.items()}
    elif isinstance(v, list):
        inner = [describe_got(x) for x in v]
    else:
        inner = plain(v)
    return {'tag': t.tag, 'type': type(v).__name__, 'value': inner}


def connect(url):
    params = pika.URLParameters(url)
    params.client_properties = {'connection_name': 'amqpts-pika-interop'}
    return pika.BlockingConnection(params)


def publish(url, exchange, routing_key):
    conn = connect(url)
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        props = pika.BasicProperties(headers=HEADERS, **PROPS)
        ch.basic_publish(exchange, routing_key, BODY, props, mandatory=True)
    finally:
        conn.close()
    print(json.dumps({
        'exchange': exchange,
        'routing_key': routing_key,
        'properties': PROPS,
        'headers': {k: describe_sent(v) for k, v in HEADERS.items()},
        'unsupported': sorted(UNSUPPORTED),
        'body_hex': BODY.hex(),
    }))


def get(url, queue, timeout_s=5.0):
    conn = connect(url)
    original = pika.data.decode_value

    def tagging_decode(encoded, offset):
        tag = encoded[offset:offset + 1].decode('latin-1')
        value, offset = original(encoded, offset)
        return Tagged(tag, value), offset

    try:
        ch = conn.channel()
        deadline = time.monotonic() + timeout_s
        pika.data.decode_value = tagging_decode  # only while content headers arrive
        try:
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is not None or time.monotonic() > deadline:
                    break
                conn.sleep(0.1)
        finally:
            pika.data.decode_value = original
    finally:
        conn.close()
    if method is None:
        print(json.dumps({'error': f'no message in {queue!r} after {timeout_s}s'}))
        sys.exit(3)
    properties = {name: getattr(props, name) for name in PROPS}  # all 14 but headers
    headers = None if props.headers is None else {k: describe_got(v) for k, v in props.headers.items()}
    print(json.dumps({
        'delivery': {'exchange': method.exchange, 'routing_key': method.routing_key,
                     'redelivered': method.redelivered, 'message_count': method.message_count},
        'properties': {k: plain(v) for k, v in properties.items()},
        'headers': headers,
        'body_hex': body.hex(),
    }))


def main(argv):
    if len(argv) == 4 and argv[0] == 'publish':
        publish(*argv[1:])
    elif len(argv) in (3, 4) and argv[0] == 'get':
        get(argv[1], argv[2], float(argv[3]) if len(argv) == 4 else 5.0)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv[1:])
