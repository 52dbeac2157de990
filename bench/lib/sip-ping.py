#!/usr/bin/python3
"""sip-ping.py HOST PORT [SECONDS] — wait until a SIP server answers OPTIONS.

Sends an OPTIONS over UDP every 0.2 s until any SIP response arrives or
SECONDS (default 10) pass. Exit 0 when answered, 1 otherwise. Prints the
status line of the answer.
"""
import os
import socket
import sys
import time


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    lport = sock.getsockname()[1]
    sock.settimeout(0.2)
    deadline = time.monotonic() + limit
    n = 0
    while time.monotonic() < deadline:
        n += 1
        msg = (f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK-ping{os.getpid()}x{n};rport\r\n"
               f"From: <sip:bench@127.0.0.1:{lport}>;tag=p{n}\r\n"
               f"To: <sip:{host}:{port}>\r\n"
               f"Call-ID: ping-{os.getpid()}-{n}@127.0.0.1\r\n"
               f"CSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        sock.sendto(msg.encode(), (host, port))
        try:
            data = sock.recv(65535)
        except socket.timeout:
            continue
        if data.startswith(b"SIP/2.0 "):
            print(data.split(b"\r\n", 1)[0].decode(errors="replace"))
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
