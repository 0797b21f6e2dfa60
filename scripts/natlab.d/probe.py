#!/usr/bin/env python3
"""probe: tell a host behind a NAT which source address the public side saw.

  probe.py serve --udp IP:PORT [--udp ...] [--tcp IP:PORT ...]
      UDP: answer every datagram with "IP:PORT" of its sender.
      TCP: on each connection, send "IP:PORT\\n" of the peer and close.
      Writes "ready" to --ready-file once every socket is bound.

  probe.py ask --local-port P --udp IP:PORT --udp IP:PORT --tcp IP:PORT
      From ONE UDP socket bound to local port P, ask each UDP server (3 tries,
      --timeout seconds each), then ask each TCP server.  Prints one JSON object:
      {"local": "...", "udp": [{"dst": .., "seen": .. or null}], "tcp": [...]}

  probe.py judge --type TYPE --public-ip IP --local-port P < ask-output
      Decide whether what was seen matches the NAT type's promise; print one
      line per check and exit 1 when any check fails.
"""
import argparse
import json
import socket
import sys
import threading


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def serve(args):
    socks = []
    for spec in args.udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(hostport(spec))
        socks.append(("udp", s))
    for spec in args.tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(hostport(spec))
        s.listen(64)
        socks.append(("tcp", s))

    def udp_loop(s):
        while True:
            data, addr = s.recvfrom(2048)
            s.sendto(("%s:%d" % addr).encode(), addr)

    def tcp_loop(s):
        while True:
            c, addr = s.accept()
            try:
                c.sendall(("%s:%d\n" % addr).encode())
            finally:
                c.close()

    threads = []
    for kind, s in socks:
        t = threading.Thread(target=udp_loop if kind == "udp" else tcp_loop, args=(s,), daemon=True)
        t.start()
        threads.append(t)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    for t in threads:
        t.join()


def ask(args):
    out = {"local_port": args.local_port, "udp": [], "tcp": []}
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", args.local_port))
    u.settimeout(args.timeout)
    for spec in args.udp:
        dst = hostport(spec)
        seen = None
        for _ in range(args.tries):
            u.sendto(b"who am i", dst)
            try:
                while True:
                    data, addr = u.recvfrom(2048)
                    if addr == dst:
                        seen = data.decode().strip()
                        break
            except socket.timeout:
                continue
            break
        out["udp"].append({"dst": spec, "seen": seen})
    for spec in args.tcp:
        seen = None
        try:
            with socket.create_connection(hostport(spec), timeout=args.tcp_timeout) as c:
                seen = c.makefile().readline().strip() or None
        except OSError as e:
            seen = None
            out.setdefault("tcp_error", []).append("%s: %s" % (spec, e))
        out["tcp"].append({"dst": spec, "seen": seen})
    print(json.dumps(out))


def judge(args):
    res = json.load(sys.stdin)
    udp = res["udp"]
    tcp = res["tcp"]
    checks = []

    def check(ok, what):
        checks.append(ok)
        print("  %-4s %s" % ("ok" if ok else "FAIL", what))

    def ip(seen):
        return seen.rsplit(":", 1)[0] if seen else None

    def port(seen):
        return int(seen.rsplit(":", 1)[1]) if seen else None

    useen = [x["seen"] for x in udp]
    tseen = [x["seen"] for x in tcp]
    shown = ", ".join("udp %s saw %s" % (x["dst"], x["seen"] or "nothing") for x in udp)
    shown += ", " + ", ".join("tcp %s saw %s" % (x["dst"], x["seen"] or "nothing") for x in tcp)
    print("  seen: local port %d; %s" % (args.local_port, shown))
    t = args.type
    if t == "udp-blocked":
        check(all(s is None for s in useen), "UDP is dropped at the NAT (no answer from %d servers)" % len(useen))
        check(all(s is not None for s in tseen), "TCP still passes")
        check(all(ip(s) == args.public_ip for s in tseen if s), "TCP is masqueraded to %s" % args.public_ip)
    else:
        check(all(s is not None for s in useen), "UDP passes to every server")
        check(all(s is not None for s in tseen), "TCP passes")
        check(all(ip(s) == args.public_ip for s in useen + tseen if s),
              "every server sees address %s" % args.public_ip)
        ports = [port(s) for s in useen if s]
        if t == "none":
            check(all(p == args.local_port for p in ports), "no translation: every server sees local port %d" % args.local_port)
        elif t in ("cone", "same-lan"):
            check(len(set(ports)) == 1 and len(ports) == len(useen),
                  "endpoint-independent mapping: one external port for all destinations %s" % sorted(set(ports)))
            if t == "cone" or args.local_port_expected:
                check(ports and ports[0] == args.local_port, "port-preserving: external port == local port %d" % args.local_port)
        elif t == "symmetric":
            check(len(set(ports)) == len(useen) and len(useen) >= 2,
                  "endpoint-dependent mapping: a new external port per destination %s" % ports)
    sys.exit(0 if all(checks) else 1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--udp", action="append", default=[])
    s.add_argument("--tcp", action="append", default=[])
    s.add_argument("--ready-file")
    a = sub.add_parser("ask")
    a.add_argument("--local-port", type=int, required=True)
    a.add_argument("--udp", action="append", default=[])
    a.add_argument("--tcp", action="append", default=[])
    a.add_argument("--timeout", type=float, default=0.7)
    a.add_argument("--tries", type=int, default=3)
    a.add_argument("--tcp-timeout", type=float, default=5.0)
    j = sub.add_parser("judge")
    j.add_argument("--type", required=True)
    j.add_argument("--public-ip", required=True)
    j.add_argument("--local-port", type=int, required=True)
    j.add_argument("--local-port-expected", action="store_true")
    args = ap.parse_args()
    {"serve": serve, "ask": ask, "judge": judge}[args.cmd](args)


if __name__ == "__main__":
    main()
