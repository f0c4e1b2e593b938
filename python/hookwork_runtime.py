"""Hookwork's Python extension runtime (protocol version 1).

Started by Hookwork as ``python3 -u hookwork_runtime.py main|worker``; it
speaks the protocol of docs/extension-protocol.md over stdin/stdout:
frames of a 4-byte big-endian length and that many bytes of UTF-8 JSON.

* ``main``: one process per handler. Imports the handler module, builds one
  instance of its class, and runs onStart / onStop / getConfiguration.
* ``worker``: one of the pool's processes. Builds each handler class once
  (on ``init`` or its first ``handle``) and calls its static ``handle``.

Standard library only, Python 3.9 or newer. Anything a handler prints goes
to stderr (Hookwork's log), never into the protocol stream.
"""

import importlib
import json
import os
import platform
import struct
import sys
import time
import traceback
import types

PROTOCOL_VERSION = 1
MAX_FRAME = 256 * 1024 * 1024
EXIT_PROTOCOL_ERROR = 2
EXIT_OUT_OF_MEMORY = 3


class ProtocolError(Exception):
    """The host sent something the protocol does not allow."""


class ResultError(Exception):
    """A handler returned something the contract does not allow."""


# --- The event as handlers see it ------------------------------------------


class AttributeDict(dict):
    """A dict whose keys read as attributes (``event.account.name``).

    Being a dict, ``json.dumps(event)`` works as is. A member the event does
    not have reads as None (SFTPPlus's optional members, e.g. the token when
    it was not granted).
    """

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name)


def to_attributes(value):
    if isinstance(value, dict):
        return AttributeDict((key, to_attributes(item)) for key, item in value.items())
    if isinstance(value, list):
        return [to_attributes(item) for item in value]
    return value


# Frames are decoded with every JSON object as an AttributeDict at once (in
# the decoder's C loop), instead of a second walk over the event per request.
DECODER = json.JSONDecoder(object_hook=AttributeDict)


def _one_shot_encoder(**options):
    """A function giving the JSON text json.dumps(value, **options) gives.

    json.dumps (and JSONEncoder.encode) builds a new C encoder on every call
    for a dict or a list; this one is built once, and reused. Without the C
    encoder (an interpreter without _json), json.dumps it is.
    """
    make = getattr(json.encoder, 'c_make_encoder', None)
    if make is None:
        return lambda value: json.dumps(value, **options)
    encoder = json.JSONEncoder(**options)
    key_separator, item_separator = options.get('separators', (', ', ': '))[::-1]
    escape = json.encoder.encode_basestring_ascii if encoder.ensure_ascii else json.encoder.encode_basestring
    # The ids of the containers being encoded, to find cycles (as json.dumps).
    markers = {}
    iterencode = make(markers, encoder.default, escape, None, key_separator, item_separator, False, False, encoder.allow_nan)

    def encode(value):
        if not isinstance(value, (dict, list, tuple)):
            return encoder.encode(value)
        try:
            return ''.join(iterencode(value, 0))
        except BaseException:
            # A failed encoding may leave ids behind: a later value reusing
            # one would be taken for a cycle.
            markers.clear()
            raise

    return encode


# One encoder each, built once (see _one_shot_encoder).
ENCODER = _one_shot_encoder(ensure_ascii=False, allow_nan=False, separators=(',', ':'))
CHECKER = _one_shot_encoder(allow_nan=False)
# A text as a JSON string, as ENCODER writes it (no ASCII escaping): the
# usual answers, which carry only texts, are written without an encoder.
ENCODE_TEXT = json.encoder.encode_basestring
# SFTPPlus's data_json is json.dumps(data) with its default options.
DATA_JSON = _one_shot_encoder()


def make_event(raw):
    if not isinstance(raw, dict):
        raise ProtocolError('"event" must be an object')
    event = raw if isinstance(raw, AttributeDict) else to_attributes(raw)
    # SFTPPlus's data_json: the event's data as JSON text.
    event['data_json'] = DATA_JSON(raw.get('data', {}))
    return event


# --- Frames ---------------------------------------------------------------


class Channel(object):
    """Length-prefixed JSON frames over the process's real stdin/stdout.

    Reads take whatever the pipe holds (up to 64 KiB at a time), so frames
    the host sent together cost one read, not two per frame; each answer is
    written at once (a handler that is slow on the next frame never holds
    back the answer to this one).
    """

    READ_SIZE = 64 * 1024

    def __init__(self):
        self._in = os.dup(0)
        self._out = os.fdopen(os.dup(1), 'wb', buffering=0)
        # What was read and not yet served: bytes, and where the next frame starts.
        self._buffer = b''
        self._at = 0
        # Whatever writes to fd 1 or sys.stdout from now on (print, C code)
        # lands on stderr: the protocol stream stays clean.
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def _fill(self, size):
        """Reads until `size` bytes from the next frame's start are held; False when stdin closed first."""
        chunks = [self._buffer[self._at:]]
        held = len(chunks[0])
        while held < size:
            chunk = os.read(self._in, max(self.READ_SIZE, size - held))
            if not chunk:
                self._buffer = b''.join(chunks)
                self._at = 0
                return False
            chunks.append(chunk)
            held += len(chunk)
        self._buffer = b''.join(chunks)
        self._at = 0
        return True

    def read(self):
        """The next message, or None when the host closed stdin."""
        if len(self._buffer) - self._at < 4 and not self._fill(4):
            if len(self._buffer) > self._at:
                raise ProtocolError('stdin closed inside a frame')
            return None
        (size,) = struct.unpack_from('>I', self._buffer, self._at)
        if size > MAX_FRAME:
            raise ProtocolError('frame of %d bytes is over the limit of %d' % (size, MAX_FRAME))
        if len(self._buffer) - self._at < 4 + size and not self._fill(4 + size):
            raise ProtocolError('stdin closed inside a frame')
        start = self._at + 4
        self._at = start + size
        try:
            message = DECODER.decode(str(self._buffer[start:self._at], 'utf-8'))
        except ValueError as error:
            raise ProtocolError('frame is not UTF-8 JSON: %s' % (error,))
        if not isinstance(message, dict) or not isinstance(message.get('type'), str):
            raise ProtocolError('a message must be an object with a "type" text')
        return message

    def write(self, message):
        self.write_text(ENCODER(message))

    def write_text(self, text):
        body = text.encode('utf-8')
        self._out.write(struct.pack('>I', len(body)) + body)


def reply_text(reply, request_id):
    """The answer's JSON text, its `id` added: the usual answers (a text
    result, a text configuration) written directly, the others encoded."""
    if type(request_id) is int:
        kind = reply['type']
        if kind == 'result':
            result = reply['result']
            if type(result) is str:
                return '{"type":"result","id":%d,"result":%s}' % (request_id, ENCODE_TEXT(result))
        elif kind == 'decision':
            decision = reply['decision']
            configuration = decision.get('configuration')
            if type(configuration) is str and decision['action'] == 'handle' and len(decision) == 2:
                return '{"type":"decision","id":%d,"decision":{"action":"handle","configuration":%s}}' % (
                    request_id, ENCODE_TEXT(configuration))
    reply['id'] = request_id
    return ENCODER(reply)


def describe_error(error):
    return {
        'type': type(error).__name__,
        'message': str(error),
        'traceback': ''.join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


def json_checked(value, where):
    """Refuses results JSON cannot carry, saying where they came from."""
    if value is None or type(value) is str:
        return value
    try:
        CHECKER(value)
    except (TypeError, ValueError) as error:
        raise ResultError('%s returned a value that is not JSON data: %s' % (where, error))
    return value


# --- Loading handler classes ------------------------------------------------


def add_extensions_folder():
    """Puts the extensions folder on sys.path; ``extensions.x`` imports too.

    The seed spells entry points ``extensions.demo_event_handler``: unless
    the folder holds a real ``extensions`` package, that name is made an
    alias package whose path is the folder itself.
    """
    folder = os.environ.get('HOOKWORK_EXTENSIONS_FOLDER')
    if not folder:
        return
    folder = os.path.abspath(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    for alias in ('extensions', 'extension'):
        if alias in sys.modules or os.path.exists(os.path.join(folder, alias)):
            continue
        package = types.ModuleType(alias)
        package.__path__ = [folder]
        sys.modules[alias] = package


def load_class(module_name, class_name):
    if not isinstance(module_name, str) or not isinstance(class_name, str):
        raise ProtocolError('"module" and "class" must be texts')
    module = importlib.import_module(module_name)
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise ImportError('module %s has no class %s' % (module_name, class_name))
    return found


def target_events(handler_class):
    targets = getattr(handler_class, 'TARGET_EVENTS', None)
    if targets is None:
        return None
    return [str(target) for target in targets]


# --- The main process -------------------------------------------------------


class Delay(object):
    """What parent.delay returns: call ``fn`` after ``seconds``."""

    __slots__ = ('seconds', 'fn')

    def __init__(self, seconds, fn):
        self.seconds = seconds
        self.fn = fn


class Parent(object):
    """Given to onStart: the handler's view of the engine."""

    def __init__(self, configuration, name, uuid):
        self.configuration = configuration
        self.name = name
        self.uuid = uuid

    def delay(self, seconds, fn):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds \
                or seconds < 0 or seconds == float('inf'):
            raise ValueError('parent.delay(seconds, fn): seconds must be a finite number, 0 or more; got %r' % (seconds,))
        if not callable(fn):
            raise TypeError('parent.delay(seconds, fn): fn must be callable; got %r' % (fn,))
        return Delay(seconds, fn)


class Main(object):
    def __init__(self):
        self.instance = None
        self.handler_class = None
        self.calls = {}
        self.next_call = 1

    def init(self, message):
        self.handler_class = load_class(message.get('module'), message.get('class'))
        self.instance = self.handler_class()
        # Without getConfiguration every event takes the configured text: the
        # host then answers itself instead of asking once per event.
        has_get_configuration = callable(getattr(self.instance, 'getConfiguration', None))
        return {'type': 'ready', 'target_events': target_events(self.handler_class), 'get_configuration': has_get_configuration}

    def _instance(self):
        if self.instance is None:
            raise ProtocolError('no handler: send "init" first')
        return self.instance

    def start(self, message):
        instance = self._instance()
        configuration = message.get('configuration', '')
        parent = Parent(configuration, message.get('name'), message.get('uuid'))
        on_start = getattr(instance, 'onStart', None)
        if on_start is not None:
            on_start(parent)
        return {'type': 'ok'}

    def stop(self, message):
        instance = self._instance()
        # Delayed calls not made yet belong to events the host drops.
        self.calls.clear()
        on_stop = getattr(instance, 'onStop', None)
        if on_stop is not None:
            on_stop()
        return {'type': 'ok'}

    def get_configuration(self, message):
        instance = self._instance()
        event = make_event(message.get('event'))
        method = getattr(instance, 'getConfiguration', None)
        if method is None:
            return {'type': 'decision', 'decision': {'action': 'default'}}
        return {'type': 'decision', 'decision': self.decision(method(event))}

    def call(self, message):
        fn = self.calls.pop(message.get('call'), None)
        if fn is None:
            raise ProtocolError('no pending delayed call %r' % (message.get('call'),))
        return {'type': 'decision', 'decision': self.decision(fn())}

    def decision(self, value):
        if isinstance(value, Delay):
            call = self.next_call
            self.next_call += 1
            self.calls[call] = value.fn
            return {'action': 'delay', 'seconds': value.seconds, 'call': call}
        if value is None:
            return {'action': 'skip'}
        if isinstance(value, str):
            return {'action': 'handle', 'configuration': value}
        if isinstance(value, (tuple, list)):
            if len(value) != 2 or not (value[0] is None or isinstance(value[0], str)):
                return {'action': 'invalid', 'returned': 'a %s that is not (configuration or None, events)' % type(value).__name__}
            events = json_checked(value[1], 'getConfiguration()')
            if value[0] is None:
                return {'action': 'skip', 'events': events}
            return {'action': 'handle', 'configuration': value[0], 'events': events}
        return {'action': 'invalid', 'returned': type(value).__name__}

    def handlers(self):
        return {
            'init': self.init,
            'start': self.start,
            'stop': self.stop,
            'getConfiguration': self.get_configuration,
            'call': self.call,
        }


# --- A worker process -------------------------------------------------------


class Worker(object):
    def __init__(self):
        # SFTPPlus builds the class "in each worker": once per class, kept.
        self.classes = {}

    def _class(self, message):
        key = (message.get('module'), message.get('class'))
        found = self.classes.get(key)
        if found is None:
            found = load_class(key[0], key[1])
            found()
            self.classes[key] = found
        return found

    def init(self, message):
        return {'type': 'ready', 'target_events': target_events(self._class(message))}

    def handle(self, message):
        # The event's limit passed while its frame waited here (behind a slow
        # handle): the host has already failed it as timed out; running it
        # now would do work nobody waits for.
        deadline = message.get('deadline')
        if deadline is not None and time.time() * 1000 >= deadline:
            return {'type': 'expired'}
        handler_class = self._class(message)
        event = make_event(message.get('event'))
        configuration = message.get('configuration')
        result = handler_class.handle(event, configuration)
        return {'type': 'result', 'result': json_checked(result, 'handle()')}

    def handlers(self):
        return {'init': self.init, 'handle': self.handle}


# --- The loop ---------------------------------------------------------------


def apply_memory_limit():
    """Caps this process's address space (HOOKWORK_MEMORY_LIMIT_MB)."""
    limit = os.environ.get('HOOKWORK_MEMORY_LIMIT_MB')
    if not limit:
        return
    try:
        import resource
    except ImportError:  # not on this platform (Windows)
        sys.stderr.write('hookwork: no resource module, memory limit not applied\n')
        return
    size = int(float(limit) * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (size, size))


def serve(role):
    channel = Channel()
    side = Main() if role == 'main' else Worker()
    handlers = side.handlers()
    handlers['ping'] = lambda message: {'type': 'pong'}
    channel.write({
        'type': 'hello',
        'protocol': PROTOCOL_VERSION,
        'role': role,
        'runtime': 'python',
        'runtime_version': platform.python_version(),
        'pid': os.getpid(),
        'capabilities': sorted(handlers) + ['shutdown'],
    })
    if role == 'worker':
        apply_memory_limit()
    while True:
        try:
            message = channel.read()
        except ProtocolError as error:
            sys.stderr.write('hookwork: protocol error: %s\n' % (error,))
            return EXIT_PROTOCOL_ERROR
        if message is None or message['type'] == 'shutdown':
            if message is not None:
                channel.write({'type': 'ok', 'id': message.get('id')})
            return 0
        request_id = message.get('id')
        handler = handlers.get(message['type'])
        try:
            if handler is None:
                raise ProtocolError('unknown message type %r for a %s process' % (message['type'], role))
            channel.write_text(reply_text(handler(message), request_id))
        except MemoryError:
            # Past the cap the process is no longer trustworthy: exit at once
            # (exit code 3); the host reports it and starts a new worker.
            os._exit(EXIT_OUT_OF_MEMORY)
        except Exception as error:  # the handler's own error: report it, go on
            channel.write({'type': 'error', 'id': request_id, 'error': describe_error(error)})


def main(argv):
    if len(argv) != 2 or argv[1] not in ('main', 'worker'):
        sys.stderr.write('usage: hookwork_runtime.py main|worker\n')
        return EXIT_PROTOCOL_ERROR
    add_extensions_folder()
    return serve(argv[1])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
