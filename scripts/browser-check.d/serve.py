#!/usr/bin/env python3
"""The sample web server behind the public share: serve.py DIR HOST PORT.

Python's own http.server, but speaking HTTP/1.1 (keep-alive, as a browser expects of a real site:
Chromium then sends several requests over each connection through the gateway) and telling the
browser not to cache, so that every load crosses the tunnel. Logs one line per request to stderr.
"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".svg": "image/svg+xml",
                      ".js": "text/javascript"}

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def main():
    directory, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    handler = functools.partial(Handler, directory=directory)
    with http.server.ThreadingHTTPServer((host, port), handler) as httpd:
        print(f"serving {directory} on {host}:{port}", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
