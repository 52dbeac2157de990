#!/usr/bin/python3
"""Print N port numbers that are free for both UDP and TCP on 127.0.0.1.

Each port is found by binding port 0 (the kernel picks), then checked for
the other protocol. Ports are spread across the ephemeral range by the
kernel, so parallel runs do not collide (DESIGN §8: no fixed ports).
Usage: free-ports.py N [--even]   (--even: even ports, e.g. for RTP)
"""
import socket
import sys


def free_port(even):
    for _ in range(200):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        if even and port % 2:
            tcp.close()
            continue
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            tcp.close()
            continue
        udp.close()
        tcp.close()
        return port
    raise SystemExit("free-ports: no free port found")


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    even = "--even" in sys.argv
    seen = set()
    while len(seen) < count:
        seen.add(free_port(even))
    print(" ".join(str(p) for p in sorted(seen)))


if __name__ == "__main__":
    main()
