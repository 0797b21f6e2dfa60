#!/usr/bin/env python3
"""nfqdelay: hold every packet of one NFQUEUE for a fixed time, then release it.

This kernel has no netem, so the lab delays packets in user space: iptables sends
them to NFQUEUE (`-j NFQUEUE --queue-num N`), this program receives each packet's
id over nfnetlink (Python's standard library only, no libnetfilter_queue), and
accepts it DELAY ms later.  All packets get the same delay and the kernel numbers
them in arrival order, so one batch verdict ("accept every id up to X") releases
them in order, and the program never touches payloads (copy mode META).

Usage (inside the namespace whose iptables sends to the queue):
    nfqdelay.py --queue 0 --delay-ms 40 [--ready-file PATH]

It writes "ready" to --ready-file (or stdout) once the queue is bound, and on
SIGTERM/SIGINT prints how many packets it delayed.  If this program dies, the
queued packets are dropped (the rule has no --queue-bypass): the lab then fails
loudly instead of running unimpaired.
"""
import argparse
import collections
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_ACCEPT = 1
SO_RCVBUFFORCE = 33


def nla(atype, data):
    ln = 4 + len(data)
    return struct.pack("=HH", ln, atype) + data + b"\0" * ((4 - ln % 4) % 4)


def nfmsg(mtype, queue, attrs, seq, flags=NLM_F_REQUEST):
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + b"".join(attrs)
    hdr = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | mtype, flags, seq, 0)
    return hdr + body


class Queue:
    def __init__(self, num, maxlen):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind((0, 0))
        self.request(NFQNL_MSG_CONFIG, [nla(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))])
        self.request(NFQNL_MSG_CONFIG, [nla(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))])
        self.request(NFQNL_MSG_CONFIG, [nla(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen))])
        self.sock.setblocking(False)

    def request(self, mtype, attrs):
        """Send a config request and wait for its ack; raise on error."""
        self.seq += 1
        self.sock.sendall(nfmsg(mtype, self.num, attrs, self.seq, NLM_F_REQUEST | NLM_F_ACK))
        while True:
            data = self.sock.recv(65536)
            for mtyp, seq, payload in parse(data):
                if mtyp == NLMSG_ERROR and seq == self.seq:
                    err = struct.unpack("=i", payload[:4])[0]
                    if err != 0:
                        raise OSError(-err, "nfqueue config failed: " + os.strerror(-err))
                    return

    def accept_upto(self, pid):
        self.seq += 1
        msg = nfmsg(NFQNL_MSG_VERDICT_BATCH, self.num, [nla(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))], self.seq)
        while True:
            try:
                self.sock.send(msg)
                return
            except BlockingIOError:
                select.select([], [self.sock], [], 0.01)


def parse(data):
    off = 0
    while off + 16 <= len(data):
        ln, mtyp, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
        if ln < 16:
            break
        yield mtyp, seq, data[off + 16: off + ln]
        off += (ln + 3) & ~3


def packet_id(payload):
    off = 4  # nfgenmsg
    while off + 4 <= len(payload):
        ln, atype = struct.unpack_from("=HH", payload, off)
        if ln < 4:
            return None
        if (atype & 0x7FFF) == NFQA_PACKET_HDR:
            return struct.unpack_from("!I", payload, off + 4)[0]
        off += (ln + 3) & ~3
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queue", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, required=True)
    ap.add_argument("--maxlen", type=int, default=20000)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    delay = args.delay_ms / 1000.0

    q = Queue(args.queue, args.maxlen)
    stats = {"packets": 0, "overruns": 0}
    stop = []

    def on_signal(signum, _frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    else:
        print("ready", flush=True)

    pending = collections.deque()  # (due, packet id), in arrival order
    PKT = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET
    while not stop:
        timeout = 0.25  # wake now and then to notice a stop signal
        if pending:
            timeout = min(timeout, max(0.0, pending[0][0] - time.monotonic()))
        try:
            select.select([q.sock], [], [], timeout)
        except InterruptedError:
            continue
        while True:
            try:
                data = q.sock.recv(1 << 20)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    # Messages were lost, the packets are still queued in the kernel; the next
                    # batch verdict covers them (they leave a little early rather than never).
                    stats["overruns"] += 1
                    continue
                raise
            now = time.monotonic()
            for mtyp, _seq, payload in parse(data):
                if mtyp == PKT:
                    pid = packet_id(payload)
                    if pid is not None:
                        pending.append((now + delay, pid))
                        stats["packets"] += 1
        now = time.monotonic()
        upto = None
        while pending and pending[0][0] <= now:
            upto = pending.popleft()[1]
        if upto is not None:
            q.accept_upto(upto)
    # Release what is held, so nothing waits for a dead program.
    if pending:
        q.accept_upto(pending[-1][1])
    print("nfqdelay: queue %d delayed %d packets by %.1f ms (%d receive overruns)"
          % (args.queue, stats["packets"], args.delay_ms, stats["overruns"]), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
