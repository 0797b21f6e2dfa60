#!/usr/bin/env python3
"""pacedhttp: the web server behind the share in natlab's failover run (stdlib only).

  pacedhttp.py --dir DIR --bind IP --port P --rate BYTES_PER_S

Serves DIR like `python3 -m http.server` (threaded, GET/HEAD), except that files under
/paced/ are sent at --rate bytes per second on an absolute schedule: a response that fell
behind (because the tunnel stalled and the socket stopped taking bytes) catches up at full
speed, and one that is ahead sleeps.  Pacing at the sender keeps the buffers between the
tunnel and the receiving curl empty, so a stall of the path shows at once as a pause in the
bytes the receiver gets, rather than being hidden by megabytes buffered behind a slow reader.
"""
import argparse
import functools
import http.server
import time

CHUNK = 64 * 1024


class Handler(http.server.SimpleHTTPRequestHandler):
    rate = 0.0

    def log_message(self, fmt, *args):  # quiet: natlab reads nothing from here
        pass

    def copyfile(self, source, outputfile):
        if self.rate <= 0 or not self.path.startswith("/paced/"):
            return super().copyfile(source, outputfile)
        start = time.monotonic()
        sent = 0
        while True:
            buf = source.read(CHUNK)
            if not buf:
                return
            outputfile.write(buf)
            sent += len(buf)
            ahead = sent / self.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=0.0, help="bytes per second for /paced/ (0: unpaced)")
    args = ap.parse_args()
    Handler.rate = args.rate
    handler = functools.partial(Handler, directory=args.dir)
    http.server.ThreadingHTTPServer.daemon_threads = True
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
