#!/usr/bin/python3
"""framing.py PORT CASE — one TCP framing case against sipd on 127.0.0.1:PORT.
Prints what it observed, one line per answer ("200 OK", "PONG", "CLOSED",
"TIMEOUT"). Every wait is bounded (2 s, idle case 15 s)."""
import random
import socket
import sys
import time

PORT = int(sys.argv[1])
CASE = sys.argv[2]


def options(sock, body=b"", clen=True, callid=None):
    lp = sock.getsockname()[1]
    b = "z9hG4bK%08x" % random.getrandbits(32)
    cid = callid or "%08x@framing" % random.getrandbits(32)
    head = ("OPTIONS sip:100@127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/TCP 127.0.0.1:%d;rport;branch=%s\r\n"
            "Max-Forwards: 70\r\nTo: <sip:100@127.0.0.1>\r\n"
            "From: <sip:200@127.0.0.1>;tag=%s\r\nCall-ID: %s\r\n"
            "CSeq: 1 OPTIONS\r\n" % (lp, b, b[-6:], cid))
    if body:
        head += "Content-Type: text/plain\r\n"
    if clen:
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode() + b"\r\n" + body


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    return s


def read_answers(sock, want, timeout=2.0):
    """Read until `want` answers or timeout; print each status line."""
    buf, got = b"", 0
    deadline = time.time() + timeout
    sock.settimeout(0.2)
    while got < want and time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            print("CLOSED")
            return
        if not chunk:
            print("CLOSED")
            return
        buf += chunk
        while True:
            if buf.startswith(b"\r\n") and not buf.startswith(b"\r\n\r\n") and b"SIP/2.0" not in buf[:2]:
                print("PONG")
                buf = buf[2:]
                got += 1
                continue
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].decode("latin-1")
            clen = 0
            for line in head.split("\r\n"):
                if line.lower().startswith("content-length:"):
                    clen = int(line.split(":", 1)[1])
            if len(buf) < end + 4 + clen:
                break
            print(head.split("\r\n", 1)[0][8:])
            buf = buf[end + 4 + clen:]
            got += 1
    if got < want:
        print("TIMEOUT")


def closed_within(sock, seconds):
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


s = connect()
if CASE == "pipelined":
    s.sendall(options(s) + options(s) + options(s, body=b"hello"))
    read_answers(s, 3)
elif CASE == "split":
    data = options(s, body=b"split body here")
    for i in range(0, len(data), 7):
        s.sendall(data[i:i + 7])
        time.sleep(0.005)
    read_answers(s, 1)
elif CASE == "keepalive":
    s.sendall(b"\r\n\r\n")
    read_answers(s, 1)
    s.sendall(b"\r\n\r\n\r\n" + options(s))   # padding before a message
    read_answers(s, 2)
elif CASE == "reuse":
    for i in range(3):
        s.sendall(options(s))
        read_answers(s, 1)
elif CASE == "nolength":
    s.sendall(options(s, clen=False))
    read_answers(s, 1)
    print("CLOSED" if closed_within(s, 2) else "OPEN")
elif CASE == "idle":
    s.sendall(options(s))
    read_answers(s, 1)
    print("CLOSED" if closed_within(s, 15) else "OPEN")
elif CASE == "limit":
    # s is one connection; open 4 more (limit 5), then a sixth
    conns = [s] + [connect() for _ in range(4)]
    time.sleep(0.3)
    extra = connect()
    print("EXTRA-" + ("CLOSED" if closed_within(extra, 2) else "OPEN"))
    for c in conns:
        c.sendall(options(c))
        read_answers(c, 1)
else:
    sys.exit("unknown case")
