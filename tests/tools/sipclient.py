#!/usr/bin/python3
"""sipclient.py — send raw SIP messages to a server over UDP or TCP and
print the status line of every response ("CODE REASON"), one a line.

Usage:
  sipclient.py [--tcp] [--timeout S] [--count N] [--raw] [--bind-via]
               [--show HEADER]... HOST PORT FILE...
  FILE is a message template ('-' reads stdin). Unless --raw, line ends
  become CRLF and these placeholders are replaced:
    $LOCAL_IP (IPv6 in brackets) $LOCAL_PORT $BRANCH $CALLID $TAG $TRANSPORT
    $CONTENT_LENGTH   length of the body after the blank line
  --raw sends the bytes as they are (RFC 4475 corpus). With --bind-via
  (UDP) the client binds the host:port named by the top Via (default
  5060), so responses routed per the Via reach it: only inside a private
  network namespace.
  --count N waits for N responses per message (default 1: the first
  final one; provisional responses are printed too).
  --show NAME also prints that header of each response as "NAME: value".
  --split K (TCP) sends each message in pieces of K bytes.
  --label prints "== FILE" (base name) before the lines of each message.
Responses whose Call-ID differs from the message's are ignored.
Exit status 0 when every message got its responses, 1 otherwise.
All waits are bounded by --timeout (default 2 s) per message."""

import os
import random
import re
import select
import socket
import sys
import time


def build(template, local_ip, local_port, transport):
    text = template.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    rnd = "%08x" % random.getrandbits(32)
    subs = {
        b"$LOCAL_IP": ("[%s]" % local_ip if ":" in local_ip else local_ip).encode(),
        b"$LOCAL_PORT": str(local_port).encode(),
        b"$BRANCH": ("z9hG4bK" + rnd).encode(),
        b"$CALLID": ("c" + rnd + "@sipclient").encode(),
        b"$TAG": ("t" + rnd).encode(),
        b"$TRANSPORT": transport.encode(),
    }
    for key, value in subs.items():
        text = text.replace(key, value)
    head, sep, body = text.partition(b"\r\n\r\n")
    text = text.replace(b"$CONTENT_LENGTH", str(len(body)).encode())
    return text


def via_target(data):
    m = re.search(rb"^(?:Via|v)\s*:\s*SIP\s*/\s*2\.0\s*/\s*[A-Za-z]+\s+([^;\s,:]+)(?::(\d+))?",
                  data, re.I | re.M)
    port = int(m.group(2)) if m and m.group(2) else 5060
    return port


def status_lines(buf):
    """Split complete messages off a TCP/UDP buffer; return (msgs, rest)."""
    msgs = []
    while True:
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return msgs, buf
        head = buf[:end]
        m = re.search(rb"^(?:Content-Length|l)\s*:\s*(\d+)", head, re.I | re.M)
        length = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + length:
            return msgs, buf
        msgs.append(buf[:end + 4 + length])
        buf = buf[end + 4 + length:]


def describe(msg, shows):
    first = msg.split(b"\r\n", 1)[0].decode("latin-1")
    out = [first[8:] if first.startswith("SIP/2.0 ") else first]
    for name in shows:
        m = re.search(rb"^" + re.escape(name.encode()) + rb"[ \t]*:[ \t]*(.*)$",
                      msg, re.I | re.M)
        if m:
            out.append("%s: %s" % (name, m.group(1).decode("latin-1").strip()))
    return out


def call_id(msg):
    m = re.search(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", msg, re.I | re.M)
    return m.group(1) if m else None


def is_final(msg):
    m = re.match(rb"SIP/2\.0 (\d+)", msg)
    return bool(m) and int(m.group(1)) >= 200


def main(argv):
    tcp = raw = bind_via = label = False
    timeout, count, split = 2.0, 1, 0
    shows = []
    args = []
    it = iter(argv)
    for a in it:
        if a == "--tcp":
            tcp = True
        elif a == "--raw":
            raw = True
        elif a == "--bind-via":
            bind_via = True
        elif a == "--timeout":
            timeout = float(next(it))
        elif a == "--count":
            count = int(next(it))
        elif a == "--show":
            shows.append(next(it))
        elif a == "--label":
            label = True
        elif a == "--split":
            split = int(next(it))
        else:
            args.append(a)
    if len(args) < 3:
        sys.stderr.write(__doc__)
        return 2
    host, port, files = args[0], int(args[1]), args[2:]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ok = True
    for name in files:
        if label:
            print("== " + os.path.basename(name))
        template = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()
        if tcp:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect((host, port))
        else:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            if bind_via:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", via_target(template)))
            else:
                sock.bind((host, 0))
        local_ip, local_port = sock.getsockname()[:2]
        data = template if raw else build(template, local_ip, local_port,
                                          "TCP" if tcp else "UDP")
        if tcp:
            if split:
                for i in range(0, len(data), split):
                    sock.sendall(data[i:i + split])
                    time.sleep(0.01)
            else:
                sock.sendall(data)
        else:
            sock.sendto(data, (host, port))
        got, finals, buf = 0, 0, b""
        want_id = call_id(data)
        deadline = time.time() + timeout
        while finals < count and time.time() < deadline:
            r, _, _ = select.select([sock], [], [], max(0, deadline - time.time()))
            if not r:
                break
            try:
                chunk = sock.recv(70000)
            except OSError:
                break
            if not chunk:
                print("CLOSED")
                break
            buf += chunk
            msgs, buf = status_lines(buf) if tcp else ([chunk], b"")
            for msg in msgs:
                # a late retransmission for an earlier message is not ours
                if want_id and call_id(msg) != want_id:
                    continue
                for line in describe(msg, shows):
                    print(line)
                got += 1
                if is_final(msg):
                    finals += 1
        if tcp and finals >= count:
            # report a close that follows the answer (framing errors)
            r, _, _ = select.select([sock], [], [], 0.3)
            if r:
                try:
                    if sock.recv(1) == b"":
                        print("CLOSED")
                except OSError:
                    print("CLOSED")
        if got == 0:
            print("NO-RESPONSE")
        if finals < count:
            ok = False
        sock.close()
        sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
