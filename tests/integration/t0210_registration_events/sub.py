#!/usr/bin/python3
"""sub.py ENDPOINT SECONDS — subscribe to sipd's events and print each as
"type json" (one a line, flushed) until SECONDS have passed."""
import sys
import time

import zmq

endpoint, seconds = sys.argv[1], float(sys.argv[2])
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"")
sub.setsockopt(zmq.LINGER, 0)
sub.connect(endpoint)
print("ready", flush=True)
end = time.time() + seconds
while time.time() < end:
    if sub.poll(100):
        frames = sub.recv_multipart()
        print(" ".join(f.decode(errors="replace") for f in frames), flush=True)
sub.close()
ctx.term()
