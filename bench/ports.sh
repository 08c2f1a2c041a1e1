# Sourced by the bench scripts. free_port: a free loopback port from below the kernel's ephemeral range (32768 and
# up), which it also hands out as source ports of outgoing connections: a port from bind(0) could be taken by a
# client before the server it was meant for binds it.
free_port() {
  /usr/bin/python3 -c '
import random, socket
for port in random.sample(range(10000, 20000), 10000):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break'
}
