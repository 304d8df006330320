#!/usr/bin/env python3
"""End-to-end tests of agent's own name resolver (/etc/hosts, /etc/resolv.conf, DNS over UDP): the real binary
against test/mock_api.py and a DNS server in this script.

    python3 test/e2e_dns.py --agent ./agent [--filter S] [--label L]

The resolver reads the real /etc/resolv.conf and /etc/hosts and asks port 53, so the script runs itself again
under `unshare -rmn` (a private user, mount and network namespace; AGENT_E2E_DNS_NS=1 marks the inner run),
brings lo up there, bind-mounts two temp files over /etc/resolv.conf and /etc/hosts and rewrites them (same
inode) for each test. Where namespaces are not allowed (or the /etc files or port 53 cannot be had) it prints
one "ok - dns: all tests # SKIP why" line and the summary, and exits 0; so it does without unshare or ip, except
under CI=true, where .ci/run installs them: there that line is "not ok - dns: all tests # missing in CI: why".

The DNS server (standard library only) answers on 127.0.0.1:53, 127.0.0.2:53 and [::1]:53 from a zone
{name: [("A", ip), ("AAAA", ip6), ("CNAME", name)]} set per test, each address in a mode of its own: answer,
silent, servfail, garbage, truncated, wrongid (a reply with another id first), badfirst (wrong question type,
not a response, REFUSED first), nxdomain, spoof_addr (the reply comes from 127.0.0.1's socket), spoof_port (from
another port). Names not in the zone get NXDOMAIN. It logs every query (server, name, type, OPT record, RD).
Tests run one at a time (they share the namespace's /etc files and port 53).

One line per test: "ok - dns: NAME" or "not ok - dns: NAME" followed by indented diagnostics (the commands,
exit codes, stdout and stderr, the API requests, resolv.conf, hosts and the DNS query log); without [::1] the
IPv6 tests are "ok - dns: NAME # SKIP why". The last line is "e2e_dns: N passed, N failed, N skipped"; exit
status 1 when any test failed. Python 3 standard library only.
"""
import os
import random
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_api  # noqa: E402
import e2e_lib  # noqa: E402
from e2e_lib import Fail, say  # noqa: E402

MARKER = "AGENT_E2E_DNS_NS"
NET_EXIT = 1            # the agent's exit status when it cannot reach the API (resolver errors included)
NOADDR = "cannot resolve host %s: the DNS server (%s) says it has no address; check the name"
NOANSWER = ("cannot resolve host %s: no answer from the DNS server (%s, from /etc/resolv.conf) within %d s; "
            "check this device's network and DNS")
TYPES = {"A": 1, "AAAA": 28, "CNAME": 5}
TYPE_NAMES = {1: "A", 28: "AAAA", 5: "CNAME", 41: "OPT"}
SERVERS = ("127.0.0.1", "127.0.0.2", "::1")
REFUSED_IP = "127.0.0.9"      # nothing listens there: an address the agent must not have taken

NS = {}                 # filled in the namespace: resolv, hosts (temp file paths), dns (the Dns), ipv6 (why not)


# ---------------------------------------------------------------------------------------------------------
# The DNS server

def dns_name(msg, p):
    """(name, offset past it) of a possibly compressed name at p."""
    labels, end, jumps = [], None, 0
    while True:
        n = msg[p]
        if n >= 0xc0:
            if end is None:
                end = p + 2
            p = (n & 0x3f) << 8 | msg[p + 1]
            jumps += 1
            if jumps > 20:
                raise ValueError("compression loop")
            continue
        p += 1
        if n == 0:
            break
        labels.append(msg[p:p + n].decode("latin-1"))
        p += n
    return ".".join(labels), end if end is not None else p


def dns_encode(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("latin-1")
    return out + b"\0"


class Query:
    def __init__(self, msg):
        self.id, self.flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
        if qd != 1:
            raise ValueError("%d questions" % qd)
        self.name, p = dns_name(msg, 12)
        self.type, self.cls = struct.unpack(">HH", msg[p:p + 4])
        self.question = msg[12:p + 4]
        p += 4
        self.opt, self.opt_size = False, None
        for k in range(an + ns + ar):
            _, p = dns_name(msg, p)
            t, c, _ttl, rdlen = struct.unpack(">HHIH", msg[p:p + 10])
            p += 10 + rdlen
            if t == 41 and k >= an + ns:
                self.opt, self.opt_size = True, c


def dns_reply(q, rcode=0, answers=(), qid=None, qr=True, qtype=None):
    """A response to q: answers are (owner, type, rdata); the owner q.name is written as the pointer 0xc00c."""
    flags = (0x8000 if qr else 0) | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode
    msg = struct.pack(">HHHHHH", q.id if qid is None else qid, flags, 1, len(answers), 0, 0)
    msg += q.question if qtype is None else dns_encode(q.name) + struct.pack(">HH", qtype, 1)
    for owner, t, rdata in answers:
        msg += b"\xc0\x0c" if owner.lower() == q.name.lower() else dns_encode(owner)
        msg += struct.pack(">HHIH", t, 1, 60, len(rdata)) + rdata
    return msg


def rdata(t, v):
    if t == "A":
        return socket.inet_pton(socket.AF_INET, v)
    if t == "AAAA":
        return socket.inet_pton(socket.AF_INET6, v)
    return dns_encode(v)


class Dns:
    def __init__(self):
        self.lock = threading.Lock()
        self.socks = {}
        self.busy = 0            # datagrams being handled now (settle waits for 0)
        self.stopping = False
        self.reset()

    def reset(self):
        with self.lock:
            self.zone = {}
            self.modes = {}
            self.log = []
            self.run = 0
            self.errors = []

    def start(self):
        """Sockets on port 53 of each address in SERVERS; the reason ::1 could not be bound, or None."""
        why6 = None
        for ip in SERVERS:
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_DGRAM)
            try:
                s.bind((ip, 53))
            except OSError as e:
                if ip != "::1":
                    raise
                why6 = "cannot bind [::1]:53: %s" % e
                s.close()
                continue
            self.socks[ip] = s
            threading.Thread(target=self.serve, args=(ip, s), name="dns-" + ip, daemon=True).start()
            t = socket.socket(fam, socket.SOCK_STREAM)       # DNS over TCP too, for truncated answers
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((ip, 53))
            t.listen(8)
            threading.Thread(target=self.serve_tcp, args=(ip, t), name="dns-tcp-" + ip, daemon=True).start()
        return why6

    def serve_tcp(self, ip, ls):
        """One query per connection: a 2-byte length, the query; the answer the same way (mode "answer"
        whatever the UDP mode, except "tcp_refuse": the connection is closed at once)."""
        while not self.stopping:
            r, _, _ = select.select([ls], [], [], 0.2)
            if not r:
                continue
            try:
                conn, _ = ls.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(5)
                    with self.lock:
                        mode = self.modes.get(ip, "answer")
                    if mode == "tcp_refuse":
                        continue
                    head = conn.recv(2, socket.MSG_WAITALL)
                    msg = conn.recv(struct.unpack(">H", head)[0], socket.MSG_WAITALL)
                    q = Query(msg)
                    with self.lock:
                        self.log.append({"run": self.run, "server": ip + "/tcp", "name": q.name,
                                         "type": TYPE_NAMES.get(q.type, q.type), "cls": q.cls, "opt": q.opt,
                                         "opt_size": q.opt_size, "rd": bool(q.flags & 0x0100),
                                         "qr": bool(q.flags & 0x8000), "t": time.monotonic()})
                    rcode, answers = self.lookup(q.name, q.type)
                    good = dns_reply(q, rcode, answers)
                    conn.sendall(struct.pack(">H", len(good)) + good)
                except Exception as e:
                    with self.lock:
                        self.errors.append("%s/tcp: %s" % (ip, e))

    def settle(self, limit=2.0):
        """Until no datagram waits on any socket and none is being handled (at most limit seconds)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            r, _, _ = select.select(list(self.socks.values()), [], [], 0)
            with self.lock:
                busy = self.busy
            if not r and not busy:
                return
            time.sleep(0.01)

    def serve(self, ip, s):
        while not self.stopping:
            r, _, _ = select.select([s], [], [], 0.2)
            if not r:
                continue
            with self.lock:
                self.busy += 1
            try:
                msg, peer = s.recvfrom(4096)
                self.handle(ip, msg, peer)
            except OSError:
                pass
            except Exception as e:      # a bad query is the agent's bug: kept for the dump, and no answer
                with self.lock:
                    self.errors.append("%s: %r: %s" % (ip, e.__class__.__name__, e))
            finally:
                with self.lock:
                    self.busy -= 1

    def handle(self, ip, msg, peer):
        q = Query(msg)
        with self.lock:
            mode = self.modes.get(ip, "answer")
            self.log.append({"run": self.run, "server": ip, "name": q.name, "type": TYPE_NAMES.get(q.type, q.type),
                             "cls": q.cls, "opt": q.opt, "opt_size": q.opt_size, "rd": bool(q.flags & 0x0100),
                             "qr": bool(q.flags & 0x8000), "t": time.monotonic()})
        out = self.socks[ip]
        if mode == "silent":
            return
        if mode == "garbage":
            for _ in range(3):
                out.sendto(bytes(random.getrandbits(8) for _ in range(random.randint(1, 120))), peer)
            return
        if mode == "servfail":
            out.sendto(dns_reply(q, rcode=2), peer)
            return
        if mode == "nxdomain":
            out.sendto(dns_reply(q, rcode=3), peer)
            return
        rcode, answers = self.lookup(q.name, q.type)
        good = dns_reply(q, rcode, answers)
        if mode in ("tc", "tcp_refuse"):     # too large for UDP: TC set, the answer section left empty
            tc = bytearray(dns_reply(q, rcode, []))
            tc[2] |= 0x02
            out.sendto(bytes(tc), peer)
            return
        if mode == "truncated":     # the right id and question, an answer record cut in the middle
            out.sendto(dns_reply(q, 0, [(q.name, q.type, rdata("A", REFUSED_IP) if q.type == 1 else
                                         rdata("AAAA", "::9"))])[:-3], peer)
            return
        if mode == "wrongid":
            bad = [(q.name, 1, rdata("A", REFUSED_IP))] if q.type == 1 else [(q.name, 28, rdata("AAAA", "::9"))]
            out.sendto(dns_reply(q, 0, bad, qid=q.id ^ 0x5a5a), peer)
        if mode == "badfirst":
            bad = [(q.name, 1, rdata("A", REFUSED_IP))] if q.type == 1 else [(q.name, 28, rdata("AAAA", "::9"))]
            other = 28 if q.type == 1 else 1
            out.sendto(dns_reply(q, 0, bad, qtype=other), peer)      # an answer to the other question
            out.sendto(dns_reply(q, 0, bad, qr=False), peer)         # not a response
            out.sendto(dns_reply(q, 5, bad), peer)                   # REFUSED
            out.sendto(dns_reply(q, 1, bad), peer)                   # FORMERR
        if mode == "spoof_addr":
            out = self.socks["127.0.0.1" if ip != "127.0.0.1" else "127.0.0.2"]
        if mode == "spoof_port":
            with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM) as o:
                o.bind((ip, 0))
                o.sendto(good, peer)
            return
        out.sendto(good, peer)

    def lookup(self, qname, qtype):
        """(rcode, answers): CNAMEs followed within the zone; NXDOMAIN for a name the zone lacks."""
        name = qname.lower().rstrip(".")
        with self.lock:
            zone = {k.lower(): v for k, v in self.zone.items()}
        if name not in zone:
            return 3, []
        answers, owner = [], qname
        for _ in range(10):
            recs = zone.get(name, [])
            cname = [v for t, v in recs if t == "CNAME"]
            if cname and qtype != 5:
                answers.append((owner, 5, rdata("CNAME", cname[0])))
                owner = name = cname[0].lower()
                continue
            answers += [(owner, TYPES[t], rdata(t, v)) for t, v in recs if TYPES[t] == qtype]
            break
        return 0, answers


# ---------------------------------------------------------------------------------------------------------
# A SOCKS5 proxy (no authentication, CONNECT only) that logs what it was asked to reach

class Socks:
    def __init__(self, zone_lookup):
        self.zone_lookup = zone_lookup     # name -> IPv4 address (the proxy's own resolver: the test's zone)
        self.log = []
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def exact(c, n):
        b = b""
        while len(b) < n:
            d = c.recv(n - len(b))
            if not d:
                raise OSError("closed")
            b += d
        return b

    def serve(self, c):
        try:
            _, nm = self.exact(c, 2)
            self.exact(c, nm)
            c.sendall(b"\x05\x00")
            _, cmd, _, atyp = self.exact(c, 4)
            if atyp == 1:
                kind, host = "ipv4", socket.inet_ntop(socket.AF_INET, self.exact(c, 4))
            elif atyp == 4:
                kind, host = "ipv6", socket.inet_ntop(socket.AF_INET6, self.exact(c, 16))
            else:
                kind, host = "name", self.exact(c, self.exact(c, 1)[0]).decode()
            port = struct.unpack(">H", self.exact(c, 2))[0]
            self.log.append((kind, host, port))
            ip = self.zone_lookup(host) if kind == "name" else host
            if not ip or cmd != 1:
                c.sendall(b"\x05\x04\x00\x01\0\0\0\0\0\0")
                return
            u = socket.create_connection((ip, port), timeout=5)
        except OSError:
            c.close()
            return
        c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x00")

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        threading.Thread(target=pump, args=(u, c), daemon=True).start()
        pump(c, u)

    def close(self):
        self.ls.close()


# ---------------------------------------------------------------------------------------------------------
# One test's world (test/e2e_lib.py): resolv.conf, hosts and the DNS server set per test

class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-dns-"
    RUN_TIMEOUT = 20

    def __init__(self, agent, name):
        super().__init__(agent, name)
        self.dns = NS["dns"]
        self.dns.reset()
        self.socks = []
        self.resolv("nameserver 127.0.0.1\n")
        self.hosts("# no entries\n")

    def _set(self, path, text):
        with open(path, "r+") as f:      # the same inode: the bind mount over /etc sees the new text
            f.truncate(0)
            f.write(text)
        with open("/etc/resolv.conf" if path == NS["resolv"] else "/etc/hosts") as f:
            self.check(f.read() == text, "the bind-mounted file does not show the new text")

    def resolv(self, text):
        self.resolv_text = text
        self._set(NS["resolv"], text)

    def hosts(self, text):
        self.hosts_text = text
        self._set(NS["hosts"], text)

    def zone(self, z):
        with self.dns.lock:
            self.dns.zone = z

    def mode(self, ip, mode):
        with self.dns.lock:
            self.dns.modes[ip] = mode

    def v6server(self, script):
        """A mock API listening on [::1] only."""
        srv = mock_api.MockServer(script=script, host="::1").start()
        self.servers.append(srv)
        return srv

    def go(self, srv, host, extra=None, port=None):
        """agent -p against http://HOST:PORT (srv's port unless told); the DNS log starts a new run (after the
        queries the last run left queued are handled: an agent that had its answer does not wait for the
        other one, and a busy machine may handle that query late)."""
        self.dns.settle()
        with self.dns.lock:
            self.dns.run += 1
        url = "http://%s:%d" % (host, srv.port if port is None else port)
        self.notes.append("run %d: ANTHROPIC_BASE_URL=%s %s" % (self.dns.run, url, " ".join(
            "%s=%s" % kv for kv in (extra or {}).items())))
        e = {"ANTHROPIC_BASE_URL": url}
        e.update(extra or {})
        return self.run(srv, [], prompt="hello", extra=e)

    def queries(self):
        """(server, name, type) of each query of the newest run, in order (once every query the run sent has
        been handled: the agent may be gone before a slower server thread has read its datagram)."""
        self.dns.settle()
        with self.dns.lock:
            return [(q["server"], q["name"], q["type"]) for q in self.dns.log if q["run"] == self.dns.run]

    def names(self):
        """The names asked in the newest run, each once, in the order first asked."""
        out = []
        for _, n, _ in self.queries():
            if n not in out:
                out.append(n)
        return out

    def asked(self, r, text, names, what):
        """The run answered text (exit 0), and the names asked of DNS were exactly names."""
        self.ok(r)
        self.eq(r.out.strip(), text, "stdout")
        self.eq(self.names(), names, what)

    def answered(self, r, srv, text):
        """r worked: exit 0, the mock's answer on stdout, one request to srv."""
        self.ok(r)
        self.eq(r.out.strip(), text, "stdout")
        self.nreq(srv, 1)

    def failed(self, r, msg, srv=None):
        """r failed the way a user sees it: the network exit status, msg on stderr, no request to the API."""
        self.eq(r.rc, NET_EXIT, "exit code")
        self.has(r.err, msg, "stderr")
        if srv is not None:
            self.nreq(srv, 0)

    def between(self, r, lo, hi):
        self.check(lo <= r.elapsed <= hi, "the run took %.2f s, expected %.1f to %.1f s" % (r.elapsed, lo, hi))

    def teardown(self):
        for s in self.socks:
            s.close()

    def more_diagnostics(self):
        lines = ["/etc/resolv.conf: %r" % self.resolv_text, "/etc/hosts: %r" % self.hosts_text]
        with self.dns.lock:
            lines.append("dns zone %r, modes %r" % (self.dns.zone, self.dns.modes))
            t0 = self.dns.log[0]["t"] if self.dns.log else 0
            for q in self.dns.log:
                lines.append("  dns run %d +%.2fs %s: %s %s opt=%s(%s) rd=%s" % (
                    q["run"], q["t"] - t0, q["server"], q["name"], q["type"], q["opt"], q["opt_size"], q["rd"]))
            lines += ["  dns server error: " + e for e in self.dns.errors]
        for s in self.socks:
            lines.append("socks proxy log: %r" % s.log)
        return lines


class DnsSuite(e2e_lib.Suite):
    """Tests registered with @test(ipv6=True) need [::1]; without it they are skipped, saying why."""

    def early(self, args):
        args.jobs = 1       # one /etc/resolv.conf, one port 53
        return None

    def schedule(self, pool, ctx, agent, args, name, fn, opts):
        if opts.get("ipv6") and NS.get("ipv6"):
            return e2e_lib.skip_outcome(NS["ipv6"])           # the machine's: no [::1] here
        return super().schedule(pool, ctx, agent, args, name, fn, opts)

    def summary_note(self, skipped):
        return " (%s)" % NS["ipv6"] if skipped else ""


SUITE = DnsSuite("dns", jobs=1)
test = SUITE.test


# ---------------------------------------------------------------------------------------------------------
# DNS: the basics

@test
def t_a_record(c):
    srv = c.server([say("Hello over DNS.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "api.test")
    c.answered(r, srv, "Hello over DNS.")
    c.eq(srv.requests[0]["headers"].get("host"), "api.test:%d" % srv.port, "Host header")
    c.eq(sorted(c.queries()), [("127.0.0.1", "api.test", "A"), ("127.0.0.1", "api.test", "AAAA")],
         "DNS queries (one A, one AAAA, to the nameserver)")
    with c.dns.lock:
        log = list(c.dns.log)
    for q in log:
        c.check(q["opt"], "query %s %s has no EDNS0 OPT record" % (q["name"], q["type"]))
        c.check(q["opt_size"] >= 1232, "OPT record offers %r bytes, expected at least 1232" % q["opt_size"])
        c.check(q["rd"], "query %s %s does not ask for recursion" % (q["name"], q["type"]))
        c.check(not q["qr"], "query %s %s has the response bit set" % (q["name"], q["type"]))
        c.eq(q["cls"], 1, "query class")


@test
def t_cname_chain(c):
    srv = c.server([say("Reached through two CNAMEs.")])
    c.zone({"www.test": [("CNAME", "edge.cdn.test")], "edge.cdn.test": [("CNAME", "real.cdn.test")],
            "real.cdn.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "www.test")
    c.answered(r, srv, "Reached through two CNAMEs.")
    c.eq(c.names(), ["www.test"], "names asked (the CNAMEs come in the same answer)")


@test
def t_several_a_records(c):
    """Every A record of the answer is used: the first refuses, the second works."""
    srv = c.server([say("Second address.")])
    c.zone({"multi.test": [("A", REFUSED_IP), ("A", "127.0.0.1")]})
    r = c.go(srv, "multi.test")
    c.answered(r, srv, "Second address.")


@test
def t_no_nameserver_line(c):
    """Without a nameserver line, 127.0.0.1 is asked (options still read)."""
    srv = c.server([say("Default nameserver.")])
    c.resolv("")
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.mode("127.0.0.2", "silent")
    r = c.go(srv, "api.test")
    c.answered(r, srv, "Default nameserver.")
    c.eq(sorted(set(s for s, _, _ in c.queries())), ["127.0.0.1"], "servers asked")
    c.resolv("# nothing but options\noptions timeout:1 attempts:1\n")
    c.mode("127.0.0.1", "silent")
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.1", 1))
    c.between(r, 0.8, 4)
    c.nreq(srv, 1, " (still the one from the first run)")


@test(ipv6=True)
def t_ipv6_nameserver(c):
    srv = c.server([say("Asked over IPv6.")])
    c.resolv("nameserver ::1\n")
    c.zone({"api.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "api.test")
    c.answered(r, srv, "Asked over IPv6.")
    c.eq(sorted(c.queries()), [("::1", "api.test", "A"), ("::1", "api.test", "AAAA")], "DNS queries")


# ---------------------------------------------------------------------------------------------------------
# /etc/hosts and localhost

@test
def t_hosts_file(c):
    srv = c.server([say("From the hosts file.")])
    c.hosts("127.0.0.1 api.test\n")
    c.mode("127.0.0.1", "silent")
    r = c.go(srv, "api.test")
    c.answered(r, srv, "From the hosts file.")
    c.eq(c.queries(), [], "DNS queries")
    c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)


@test
def t_hosts_case_aliases_comments(c):
    srv = c.server([say("Alias found."), say("Never.")])
    c.hosts("# 127.0.0.1 commented.test\n"
            "10.99.99.99 other.test   # hidden.test only in a comment\n"
            "\t127.0.0.1\tPrimary.Test   API.Alias.Test\t# trailing comment\n")
    c.mode("127.0.0.1", "nxdomain")
    r = c.go(srv, "api.alias.TEST")
    c.answered(r, srv, "Alias found.")
    c.eq(c.queries(), [], "DNS queries")
    for name in ("hidden.test", "commented.test"):
        r = c.go(srv, name)
        c.failed(r, NOADDR % (name, "127.0.0.1"))
        c.eq(c.names(), [name], "names asked in DNS (the hosts file had it only in a comment)")
    c.nreq(srv, 1)


@test
def t_hosts_all_lines(c):
    """Every matching line counts: the first address refuses, the second (a later line) works."""
    srv = c.server([say("Later line.")])
    c.hosts("%s multi.test\n127.0.0.1 multi.test\n" % REFUSED_IP)
    c.mode("127.0.0.1", "silent")
    r = c.go(srv, "multi.test")
    c.answered(r, srv, "Later line.")
    c.eq(c.queries(), [], "DNS queries")


@test
def t_localhost_builtin(c):
    """localhost, not in /etc/hosts: ::1 and 127.0.0.1 without asking DNS."""
    srv = c.server([say("Local.")])
    c.mode("127.0.0.1", "silent")
    r = c.go(srv, "LocalHost")
    c.answered(r, srv, "Local.")
    c.eq(c.queries(), [], "DNS queries")


# ---------------------------------------------------------------------------------------------------------
# search, domain, ndots, absolute names

@test
def t_search_domain(c):
    srv = c.server([say("Search one."), say("Search two."), say("Domain.")])
    c.zone({"api.corp.test": [("A", "127.0.0.1")], "api": [("A", REFUSED_IP)]})
    c.resolv("nameserver 127.0.0.1\nsearch corp.test\n")
    c.asked(c.go(srv, "api"), "Search one.", ["api.corp.test"],
            "names asked (the search domain first; answered, so not the bare name)")
    c.resolv("nameserver 127.0.0.1\nsearch a.test corp.test\n")
    c.asked(c.go(srv, "api"), "Search two.", ["api.a.test", "api.corp.test"], "names asked (api.a.test: NXDOMAIN)")
    c.resolv("domain corp.test\nnameserver 127.0.0.1\n")
    c.asked(c.go(srv, "api"), "Domain.", ["api.corp.test"], "names asked (domain)")
    c.nreq(srv, 3)


@test
def t_search_then_bare_name(c):
    srv = c.server([say("Bare name.")])
    c.zone({"intranet": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.1\nsearch a.test b.test\n")
    r = c.go(srv, "intranet")
    c.answered(r, srv, "Bare name.")
    c.eq(c.names(), ["intranet.a.test", "intranet.b.test", "intranet"], "names asked, in order")


@test
def t_ndots(c):
    srv = c.server([say("One dot."), say("ndots 2.")])
    c.zone({"api.x": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.1\nsearch corp.test\n")
    c.asked(c.go(srv, "api.x"), "One dot.", ["api.x"], "names asked (one dot, ndots:1: no search)")
    c.resolv("nameserver 127.0.0.1\nsearch corp.test\noptions ndots:2\n")
    c.asked(c.go(srv, "api.x"), "ndots 2.", ["api.x.corp.test", "api.x"], "names asked (ndots:2: the search domain first)")


@test
def t_trailing_dot(c):
    """http://api.test.:PORT is absolute: no search domain even with ndots:5."""
    srv = c.server([say("Absolute.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.1\nsearch corp.test\noptions ndots:5\n")
    r = c.go(srv, "api.test.")
    c.answered(r, srv, "Absolute.")
    c.eq(c.names(), ["api.test"], "names asked")
    # and the hosts file knows it without its dot
    c.hosts("127.0.0.1 hosts.test\n")
    c.mode("127.0.0.1", "silent")
    srv2 = c.server([say("From hosts.")])
    r = c.go(srv2, "hosts.test.")
    c.answered(r, srv2, "From hosts.")
    c.eq(c.queries(), [], "DNS queries (the hosts file answered)")


# ---------------------------------------------------------------------------------------------------------
# Failures

@test
def t_nxdomain(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "nope.test")
    c.failed(r, NOADDR % ("nope.test", "127.0.0.1"), srv)
    c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)
    c.eq(sorted(c.queries()), [("127.0.0.1", "nope.test", "A"), ("127.0.0.1", "nope.test", "AAAA")],
         "DNS queries")
    c.resolv("nameserver 127.0.0.1\nnameserver 127.0.0.2\n")
    c.mode("127.0.0.1", "nxdomain")
    c.mode("127.0.0.2", "silent")
    r = c.go(srv, "api.test")
    c.failed(r, NOADDR % ("api.test", "127.0.0.1 and others"), srv)
    c.check(r.elapsed < 3, "NXDOMAIN from one server ends the lookup: took %.2f s" % r.elapsed)


@test
def t_nxdomain_not_retried(c):
    """No retry can make a name exist: one lookup, no retry lines, even with retries allowed."""
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "nope.test", extra={"ANTHROPIC_MAX_RETRIES": "3"})
    c.failed(r, NOADDR % ("nope.test", "127.0.0.1"), srv)
    c.lacks(r.err, "retrying", "stderr")
    c.eq(sorted(c.queries()), [("127.0.0.1", "nope.test", "A"), ("127.0.0.1", "nope.test", "AAAA")],
         "DNS queries (one lookup)")


@test
def t_no_address_records(c):
    """The name exists but has neither A nor AAAA (NOERROR, empty answers)."""
    srv = c.server([say("Never.")])
    c.zone({"mx.test": [("CNAME", "mail.test")], "mail.test": []})
    r = c.go(srv, "mx.test")
    c.failed(r, NOADDR % ("mx.test", "127.0.0.1"), srv)
    c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)


@test
def t_no_answer_timeout(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.mode("127.0.0.1", "silent")
    c.resolv("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.1", 1), srv)
    c.between(r, 0.8, 4)
    c.eq(sorted(c.queries()), [("127.0.0.1", "api.test", "A"), ("127.0.0.1", "api.test", "AAAA")],
         "DNS queries (attempts:1: sent once)")
    c.resolv("nameserver 127.0.0.2\nnameserver 127.0.0.1\noptions timeout:1\n")
    c.mode("127.0.0.2", "silent")
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.2 and others", 1), srv)
    c.between(r, 0.8, 4)


@test
def t_second_nameserver_answers(c):
    srv = c.server([say("Second server.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.2\nnameserver 127.0.0.1\noptions timeout:5 attempts:1\n")
    c.mode("127.0.0.2", "silent")
    r = c.go(srv, "api.test")
    c.answered(r, srv, "Second server.")
    c.check(r.elapsed < 2.5, "all servers are asked at once: took %.2f s (timeout 5 s)" % r.elapsed)
    c.eq(sorted(set(s for s, _, _ in c.queries())), ["127.0.0.1", "127.0.0.2"], "servers asked")


@test
def t_servfail_is_no_answer(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.mode("127.0.0.1", "servfail")
    c.resolv("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.1", 2), srv)
    c.between(r, 1.6, 5)
    qs = c.queries()
    c.eq((qs.count(("127.0.0.1", "api.test", "A")), qs.count(("127.0.0.1", "api.test", "AAAA"))), (2, 2),
         "A and AAAA queries (attempts:2: sent again after 1 s)")


@test
def t_garbage_answers(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    c.mode("127.0.0.1", "garbage")
    for _ in range(3):
        r = c.go(srv, "api.test")
        c.failed(r, NOANSWER % ("api.test", "127.0.0.1", 1), srv)
        c.between(r, 0.8, 4)
    # the right id and question, then an answer record cut short: ignored like garbage (not taken for a
    # "no address" verdict), asked again, then the no-answer error; no crash
    c.mode("127.0.0.1", "truncated")
    c.resolv("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.1", 2), srv)
    c.between(r, 1.6, 5)
    c.eq(sorted(t for _, _, t in c.queries()), ["A", "A", "AAAA", "AAAA"], "queries (sent again after 1 s)")


@test
def t_truncated_asks_tcp(c):
    """An answer too large for UDP (TC set, no records: what BIND sends): asked again over TCP, once for each
    question, and used. A server that closes the TCP connection: the no-answer error, TCP asked once."""
    srv = c.server([say("Over TCP.")])
    c.zone({"big.test": [("A", "127.0.0.1")]})
    c.mode("127.0.0.1", "tc")
    r = c.go(srv, "big.test")
    c.answered(r, srv, "Over TCP.")
    c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)
    c.eq(sorted((s, t) for s, _, t in c.queries()),
         [("127.0.0.1", "A"), ("127.0.0.1", "AAAA"), ("127.0.0.1/tcp", "A"), ("127.0.0.1/tcp", "AAAA")],
         "queries (UDP, then TCP for each question)")
    c.resolv("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    c.mode("127.0.0.1", "tcp_refuse")
    srv2 = c.server([say("Never.")])
    r = c.go(srv2, "big.test")
    c.failed(r, NOANSWER % ("big.test", "127.0.0.1", 2), srv2)
    c.between(r, 1.6, 5)


def answered_after_bad(c, mode, text):
    """The server in mode sends bad replies before the right one: the right one is used, at once."""
    srv = c.server([say(text)])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.mode("127.0.0.1", mode)
    r = c.go(srv, "api.test")
    c.answered(r, srv, text)
    c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)


@test
def t_wrong_id_first(c):
    answered_after_bad(c, "wrongid", "Right id.")


@test
def t_bad_replies_ignored(c):
    """An answer to the other question, a query instead of a response, REFUSED and FORMERR (each with a wrong
    address) come before the right answer: all ignored."""
    answered_after_bad(c, "badfirst", "Right answer.")


@test
def t_answer_from_elsewhere_ignored(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    c.resolv("nameserver 127.0.0.2\noptions timeout:1 attempts:1\n")
    c.mode("127.0.0.2", "spoof_addr")        # the answer comes from 127.0.0.1:53
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.2", 1), srv)
    c.between(r, 0.8, 4)
    c.eq(sorted(set(s for s, _, _ in c.queries())), ["127.0.0.2"], "servers asked")
    c.mode("127.0.0.2", "spoof_port")        # from 127.0.0.2, another port
    r = c.go(srv, "api.test")
    c.failed(r, NOANSWER % ("api.test", "127.0.0.2", 1), srv)
    c.between(r, 0.8, 4)


@test
def t_invalid_host_names(c):
    srv = c.server([say("Never.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    r = c.go(srv, "bad_name!x")
    c.failed(r, "cannot resolve host 'bad_name!x': not a valid host name", srv)
    c.eq(c.queries(), [], "DNS queries")
    r = c.go(srv, "bad name")
    c.failed(r, "cannot resolve host 'bad name': not a valid host name", srv)
    long_name = "a" * 250 + ".test"
    r = c.go(srv, long_name)
    c.failed(r, "not a valid host name", srv)
    c.eq(c.queries(), [], "DNS queries")
    # a 64-character label or an empty one passes the character check but cannot be put in a query
    for bad in ["b" * 64 + ".test", "a..test"]:
        r = c.go(srv, bad)
        c.failed(r, "cannot resolve host '%s': not a valid host name" % bad, srv)
        c.eq(c.queries(), [], "DNS queries")
        c.check(r.elapsed < 3, "took %.2f s" % r.elapsed)


# ---------------------------------------------------------------------------------------------------------
# IPv6

@test(ipv6=True)
def t_aaaa_only(c):
    srv = c.v6server([say("Over IPv6.")])
    c.zone({"v6.test": [("AAAA", "::1")]})
    r = c.go(srv, "v6.test")
    c.answered(r, srv, "Over IPv6.")
    c.eq(sorted(c.queries()), [("127.0.0.1", "v6.test", "A"), ("127.0.0.1", "v6.test", "AAAA")], "DNS queries")


@test(ipv6=True)
def t_hosts_ipv6(c):
    srv = c.v6server([say("IPv6 from hosts.")])
    c.hosts("::1 v6host.test\n")
    c.mode("127.0.0.1", "silent")
    r = c.go(srv, "v6host.test")
    c.answered(r, srv, "IPv6 from hosts.")
    c.eq(c.queries(), [], "DNS queries")


@test(ipv6=True)
def t_ipv6_refused_then_ipv4(c):
    """A and AAAA, the API only on 127.0.0.1: [::1] refuses, IPv4 works."""
    srv = c.server([say("Fell back to IPv4.")])
    c.zone({"dual.test": [("A", "127.0.0.1"), ("AAAA", "::1")]})
    r = c.go(srv, "dual.test")
    c.answered(r, srv, "Fell back to IPv4.")


@test(ipv6=True)
def t_ipv6_first(c):
    """A and AAAA, the API on both [::1] and 127.0.0.1 (same port): the IPv6 address is tried first."""
    v6 = c.v6server([say("IPv6 first.")])
    v4 = mock_api.MockServer(script=[say("IPv4.")], port=v6.port).start()
    c.servers.append(v4)
    c.zone({"dual.test": [("A", "127.0.0.1"), ("AAAA", "::1")]})
    r = c.go(v6, "dual.test")
    c.answered(r, v6, "IPv6 first.")
    c.nreq(v4, 0, " on 127.0.0.1")


# ---------------------------------------------------------------------------------------------------------
# SOCKS5: socks5:// resolves here, socks5h:// lets the proxy resolve

@test
def t_socks5_resolves_locally(c):
    srv = c.server([say("Via SOCKS5."), say("Via SOCKS5h.")])
    c.zone({"api.test": [("A", "127.0.0.1")]})
    px = Socks(lambda name: "127.0.0.1" if name == "api.test" else None)
    c.socks.append(px)
    r = c.go(srv, "api.test", extra={"ALL_PROXY": "socks5://127.0.0.1:%d" % px.port})
    c.ok(r)
    c.eq(r.out.strip(), "Via SOCKS5.", "stdout")
    c.eq(px.log, [("ipv4", "127.0.0.1", srv.port)], "what the proxy was asked to reach")
    c.eq(sorted(set(n for _, n, _ in c.queries())), ["api.test"], "names asked in DNS")
    r = c.go(srv, "api.test", extra={"ALL_PROXY": "socks5h://127.0.0.1:%d" % px.port})
    c.ok(r)
    c.eq(r.out.strip(), "Via SOCKS5h.", "stdout")
    c.eq(px.log[1:], [("name", "api.test", srv.port)], "what the proxy was asked to reach (socks5h)")
    c.eq(c.queries(), [], "DNS queries (socks5h)")
    c.nreq(srv, 2)
    r = c.go(srv, "nope.test", extra={"ALL_PROXY": "socks5://127.0.0.1:%d" % px.port})
    c.failed(r, NOADDR % ("nope.test", "127.0.0.1"), srv=None)
    c.has(r.err, "socks5h://", "stderr (the hint)")
    c.eq(len(px.log), 2, "CONNECT requests to the proxy")


# ---------------------------------------------------------------------------------------------------------
# Into the namespace

def skip(why, peer=False):
    """No test can run here: peer when what is missing is a program .ci/run installs (unshare, ip)."""
    return e2e_lib.skip_suite("dns", why, peer)


def outer():
    """Run this script again in a private user, mount and network namespace."""
    if not shutil.which("unshare"):
        return skip("unshare not found", peer=True)
    try:
        p = subprocess.run(["unshare", "-rmn", "true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return skip("unshare -rmn: %s" % e)
    if p.returncode != 0:
        return skip("unshare -rmn: %s" % (p.stdout.decode(errors="replace").strip() or "exit %d" % p.returncode))
    sys.stdout.flush()
    env = dict(os.environ)
    env[MARKER] = "1"
    return subprocess.run(["unshare", "-rmn", sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                          env=env).returncode


def inner():
    """In the namespace: lo up, temp files over /etc/resolv.conf and /etc/hosts, the DNS server, the tests."""
    tmp = tempfile.mkdtemp(prefix="agent-e2e-dns-etc-")
    try:
        for cmd in (["ip", "link", "set", "lo", "up"],):
            try:
                p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            except OSError as e:
                return skip("%s: %s" % (" ".join(cmd), e), peer=isinstance(e, FileNotFoundError))
            if p.returncode:
                return skip("%s: %s" % (" ".join(cmd), p.stdout.decode(errors="replace").strip()))
        for name in ("resolv", "hosts"):
            target = "/etc/resolv.conf" if name == "resolv" else "/etc/hosts"
            if not os.path.exists(target):
                return skip("%s does not exist (nothing to mount over)" % target)
            NS[name] = os.path.join(tmp, name)
            with open(NS[name], "w") as f:
                f.write("# e2e_dns\n")
            os.chmod(NS[name], 0o644)
            p = subprocess.run(["mount", "--bind", NS[name], target], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            if p.returncode:
                return skip("mount --bind over %s: %s" % (target, p.stdout.decode(errors="replace").strip()))
        dns = Dns()
        try:
            NS["ipv6"] = dns.start()
        except OSError as e:
            return skip("cannot bind port 53: %s" % e)
        NS["dns"] = dns
        return SUITE.main(__doc__, Ctx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(inner() if os.environ.get(MARKER) == "1" else outer())
