"""The packages, installed the way each ecosystem installs them (make ipk, make dist, make openwrt-feed).

- ipk: built by test/pkg.sh, unpacked the way opkg does (the outer gzip'd tar, debian-binary, control.tar.gz,
  data.tar.gz), its control file read, the binary inside run (under qemu for a cross board: --arch ARCH).
- dist: SHA256SUMS verifies (and catches a changed byte), the Dockerfile is FROM scratch with the binary alone.
- the FROM scratch image's root filesystem, without Docker: a directory holding the binary and nothing else (no
  /etc, no /usr), the agent run inside it with unshare --root, talking TLS to the mock.
- the OpenWrt feed: its Makefile through a stand-in for OpenWrt's rules.mk/package.mk (the same expansion as
  OpenWrt's BuildPackage), compiled with musl-gcc as OpenWrt's TARGET_CC would be, and the result runs.
Usage: python3 test/e2e_pkg.py --agent ./agent [--arch ARCH] [--filter S]
"""
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib  # noqa: E402
from e2e_lib import Fail, say  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QEMU = {"aarch64": ["qemu-aarch64-static"], "armhf": ["qemu-arm-static"], "armel": ["qemu-arm-static", "-cpu", "arm926"],
        "mipsel": ["qemu-mipsel-static", "-cpu", "24Kc"], "mips": ["qemu-mips-static", "-cpu", "24Kc"],
        "riscv64": ["qemu-riscv64-static", "-cpu", "rv64"]}
OWRT = {"x86_64": "x86_64", "aarch64": "aarch64_generic", "armhf": "arm_cortex-a7_neon-vfpv4", "armel": "arm_arm926ej-s",
        "mipsel": "mipsel_24kc", "mips": "mips_24kc", "riscv64": "riscv64_riscv64"}
VERSION = [ln.split('"')[1] for ln in open(os.path.join(ROOT, "agent.c"), encoding="utf-8")
           if ln.startswith("#define AG_VERSION ")][0]


class PkgSuite(e2e_lib.Suite):
    def add_args(self, ap):
        ap.add_argument("--arch", default="x86_64", help="the board whose packages to check")


suite = PkgSuite("pkg")
test = suite.test


class Ctx(e2e_lib.Ctx):
    TMP_PREFIX = "agent-e2e-pkg-"

    def arch(self):
        return self.args.arch

    def pkg(self, *args):
        r = subprocess.run(["sh", os.path.join(ROOT, "test", "pkg.sh")] + list(args), cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        self.check(r.returncode == 0, "pkg.sh %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr[-500:]))
        return r.stdout.strip().split("\n")[-1]

    def run_bin(self, path, args):
        argv = QEMU.get(self.arch(), []) + [path] + args
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def members(tf):
    return sorted(m.name for m in tf.getmembers())


@test
def t_ipk_installs_like_opkg(c):
    out = os.path.join(c.root, "dist")
    f = c.pkg("ipk", c.arch(), out)
    c.eq(os.path.basename(f), "agent_%s-1_%s.ipk" % (VERSION, OWRT[c.arch()]), "package file name")
    with tarfile.open(f, "r:gz") as outer:         # opkg: the outer archive, then its three members
        c.eq(members(outer), ["./control.tar.gz", "./data.tar.gz", "./debian-binary"], "the ipk's members")
        c.eq(outer.extractfile("./debian-binary").read(), b"2.0\n", "debian-binary")
        ctl = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./control.tar.gz").read()), mode="r:gz")
        data = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./data.tar.gz").read()), mode="r:gz")
    control = ctl.extractfile("./control").read().decode()
    fields = dict(ln.split(":", 1) for ln in control.split("\n") if ln and not ln.startswith(" "))
    fields = {k: v.strip() for k, v in fields.items()}
    c.eq(fields.get("Package"), "agent", "Package")
    c.eq(fields.get("Version"), VERSION + "-1", "Version")
    c.eq(fields.get("Architecture"), OWRT[c.arch()], "Architecture")
    c.eq(fields.get("Depends"), "", "Depends (none: one static binary)")
    files = [m for m in data.getmembers() if m.isfile()]
    c.eq([m.name for m in files], ["./usr/bin/agent"], "files the package installs")
    m = files[0]
    c.eq((m.mode & 0o777, m.uid, m.gid), (0o755, 0, 0), "mode and owner of /usr/bin/agent")
    root = os.path.join(c.root, "rootfs")
    data.extractall(root)                          # as opkg installs it, into an offline root
    binary = os.path.join(root, "usr", "bin", "agent")
    c.eq(os.path.getsize(binary), int(fields["Installed-Size"]), "Installed-Size")
    r = c.run_bin(binary, ["--version"])
    c.eq(r.returncode, 0, "exit code of the installed agent --version")
    c.has(r.stdout, VERSION, "--version")
    r = c.run_bin(binary, ["--self-test"])
    c.eq(r.returncode, 0, "the installed binary's --self-test: %s" % r.stdout[-300:])


@test
def t_dist_checksums_and_dockerfile(c):
    out = os.path.join(c.root, "dist")
    c.pkg("dist", out, "x86_64")
    name = "agent-%s-x86_64" % VERSION
    c.check(os.path.exists(os.path.join(out, name)), "%s missing" % name)
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True)
    c.eq(r.returncode, 0, "sha256sum -c SHA256SUMS: %s" % r.stdout)
    # the BusyBox way README gives: the one line for this board, the file renamed to what curl -o saved
    shutil.copy(os.path.join(out, name), os.path.join(out, "agent"))
    r = subprocess.run("grep ' %s$' SHA256SUMS | sed 's/%s/agent/' | sha256sum -c" % (name, name), shell=True,
                       cwd=out, capture_output=True, text=True)
    c.eq(r.returncode, 0, "the README's BusyBox check: %s %s" % (r.stdout, r.stderr))
    with open(os.path.join(out, "agent"), "r+b") as f:
        f.seek(1000)
        b = f.read(1)
        f.seek(1000)
        f.write(bytes([b[0] ^ 1]))
    r = subprocess.run("grep ' %s$' SHA256SUMS | sed 's/%s/agent/' | sha256sum -c" % (name, name), shell=True,
                       cwd=out, capture_output=True, text=True)
    c.check(r.returncode != 0, "a changed byte passed the check")
    docker = open(os.path.join(out, "Dockerfile")).read().split("\n")
    c.eq(docker[0], "FROM scratch", "the Dockerfile's base")
    c.has("\n".join(docker), "COPY %s /agent" % name, "the Dockerfile")
    c.eq([ln.split()[0] for ln in docker if ln.strip()], ["FROM", "COPY", "ENV", "ENTRYPOINT"],
         "the Dockerfile's instructions (the binary and nothing else)")
    inst = open(os.path.join(out, "install.txt")).read()
    c.check(inst.startswith("curl -fsSLo agent ") and "&& chmod +x agent" in inst.split("\n")[0], "install line: %r" % inst)


@test
def t_scratch_image_root(c):
    if c.arch() != "x86_64":
        c.ok_lines.append("# the image is x86_64's")
        return
    if shutil.which("unshare") is None:
        raise Fail("unshare is missing (util-linux)")
    out = os.path.join(c.root, "dist")
    c.pkg("dist", out, "x86_64")
    root = os.path.join(c.root, "image")
    os.makedirs(root)
    # what the Dockerfile does: COPY the binary to /agent, nothing else
    shutil.copy(os.path.join(out, "agent-%s-x86_64" % VERSION), os.path.join(root, "agent"))
    pem, _ = e2e_lib.certs("ca")
    shutil.copy(pem, os.path.join(root, "test-ca.pem"))   # the test's own CA: a real image trusts the compiled-in roots
    srv = c.server([say("from inside the image"), say("never")], tls=True)
    env = dict(kv.split("=", 1) for ln in open(os.path.join(out, "Dockerfile")) if ln.startswith("ENV ")
               for kv in ln.split()[1:])           # the image's own ENV line
    env.update({"ANTHROPIC_API_KEY": e2e_lib.API_KEY,
           "ANTHROPIC_BASE_URL": "https://localhost:%d" % srv.port, "ANTHROPIC_MAX_RETRIES": "0",
           "SSL_CERT_FILE": "/test-ca.pem"})
    argv = ["unshare", "--root=" + root, "/agent", "-p", "hello"]
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    c.eq((r.returncode, r.stdout), (0, "from inside the image\n"), "exit code and stdout inside the image (stderr %r)"
         % r.stderr[-400:])
    c.eq(len(srv.requests), 1, "requests the mock received over TLS")
    c.eq(sorted(os.listdir(root)), ["agent", "config", "state", "test-ca.pem"], "the image's root after the run")
    env.pop("SSL_CERT_FILE")                        # no /etc: only the compiled-in roots, which do not hold the test CA
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    c.eq(r.returncode, 1, "exit code with the compiled-in roots only")
    c.has(r.stderr, "not trusted", "stderr with the compiled-in roots only")


# A stand-in for OpenWrt's rules.mk and package.mk: the variables and the BuildPackage expansion a package
# Makefile meets there ($(eval) of a rule whose recipe holds $(Build/Compile), as OpenWrt's package-defaults).
FAKE_RULES = """INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
CP:=cp -fpR
BUILD_DIR:=$(TOPDIR)/build_dir
INCLUDE_DIR:=$(TOPDIR)/include
"""
FAKE_PACKAGE = """define Build/DefaultTargets
all:
	$(Build/Prepare)
	$(Build/Compile)
	$(call Package/$(1)/install,$(TOPDIR)/ipkg-install)
endef
define BuildPackage
$(call Build/DefaultTargets,$(1))
endef
"""


@test
def t_openwrt_feed_builds(c):
    if c.arch() != "x86_64":
        c.ok_lines.append("# checked on x86_64")
        return
    out = os.path.join(c.root, "feed")
    mk = c.pkg("feed", out)
    text = open(mk).read()
    for want in ("PKG_NAME:=agent", "PKG_VERSION:=%s" % VERSION, "$(eval $(call BuildPackage,agent))",
                 "-Oz -fipa-pta -fno-tree-switch-conversion -std=gnu11", "-DAG_HAVE_DATA", "-static"):
        c.has(text, want, "the feed's Makefile")
    top = os.path.join(c.root, "openwrt")
    os.makedirs(os.path.join(top, "include"))
    open(os.path.join(top, "rules.mk"), "w").write(FAKE_RULES)
    open(os.path.join(top, "include", "package.mk"), "w").write(FAKE_PACKAGE)
    r = subprocess.run(["make", "-s", "-C", os.path.join(out, "agent"), "TOPDIR=" + top, "TARGET_CC=musl-gcc",
                        "TARGET_AR=ar", "TARGET_CFLAGS=-O0"], capture_output=True, text=True, timeout=280)
    c.eq(r.returncode, 0, "make in the feed (stderr %r)" % r.stderr[-800:])
    binary = os.path.join(top, "ipkg-install", "usr", "bin", "agent")
    c.check(os.path.exists(binary), "the feed's package installed no /usr/bin/agent")
    r = subprocess.run([binary, "--self-test"], capture_output=True, text=True, timeout=30)
    c.eq(r.returncode, 0, "the feed-built binary's --self-test: %s" % r.stdout[-300:])


if __name__ == "__main__":
    sys.exit(suite.main(__doc__, Ctx))
