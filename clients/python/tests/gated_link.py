"""A slow link for the tests: a TCP forwarder between the client and the sidecar whose answers wait while it is
closed. What the client sends goes through at once; what the sidecar answers is held until open() is called."""

import socket
import threading


class GatedLink:
    def __init__(self, upstream_port):
        self._upstream = ("127.0.0.1", upstream_port)
        self._gate = threading.Event()
        self._gate.set()
        self._sockets = []
        self._closed = False
        self.forwarded_up = 0  # bytes the client sent, already passed to the sidecar
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def hold_answers(self):
        self._gate.clear()

    def open(self):
        self._gate.set()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._upstream)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source, destination, gated):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if gated:
                    self._gate.wait()
                else:
                    self.forwarded_up += len(data)
                destination.sendall(data)
        except OSError:
            pass
        finally:
            try:
                destination.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self):
        self._closed = True
        self._gate.set()
        self._listener.close()
        for s in self._sockets:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
