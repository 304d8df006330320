#!/bin/sh
# mkcerts.sh OUTDIR: make the certificates the end-to-end tests use, with the openssl CLI.
#
#   ca.pem, ca.key                 test CA (what SSL_CERT_FILE points at)
#   server.pem, server.key         localhost (SAN DNS:localhost), signed by the test CA
#   wrong.pem, wrong.key           wrong.example (SAN DNS:wrong.example), signed by the test CA
#   other-ca.pem, other-ca.key     a second CA that the client is never told about
#   untrusted.pem, untrusted.key   localhost, signed by that other CA
#
# RSA 2048 and SHA-256 throughout (the client speaks TLS 1.2 with ECDHE-RSA). Both CAs and the leaf
# certificates start one day in the past (MKCERTS_BACKDATE_DAYS overrides), so that a client checking them at
# its own build time a little before the test still finds them valid; CAs last 3650 days, leaves 825.
# Idempotent: does nothing when every file is there and still valid for a day. Quiet unless something fails.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out"
cd "$out"

all="ca.pem ca.key server.pem server.key wrong.pem wrong.key other-ca.pem other-ca.key untrusted.pem untrusted.key"
complete=1
for f in $all; do [ -s "$f" ] || complete=0; done
if [ $complete = 1 ] && openssl x509 -in server.pem -noout -checkend 86400 >/dev/null 2>&1; then
    exit 0
fi

back=${MKCERTS_BACKDATE_DAYS:-1}
t0=$(( $(date +%s) - back * 86400 ))
# utc SECONDS: the time in openssl ca's -startdate/-enddate form
utc() { date -u -d "@$1" +%Y%m%d%H%M%SZ 2>/dev/null || date -u -r "$1" +%Y%m%d%H%M%SZ; }
start=$(utc $t0)
ca_end=$(utc $(( t0 + 3650 * 86400 )))
leaf_end=$(utc $(( t0 + 825 * 86400 )))

work=$(mktemp -d "${TMPDIR:-/tmp}/mkcerts.XXXXXX")
log=$work/log
trap 'rm -rf "$work"' EXIT INT TERM

cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $work/index.txt
new_certs_dir = $work
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf_localhost ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost
[ leaf_wrong ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
EOF

run() { "$@" >>"$log" 2>&1 || { echo "mkcerts.sh: failed: $*" >&2; cat "$log" >&2; exit 1; }; }

key() { run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$1.key"; }

# ca NAME SUBJECT: a self-signed CA, backdated like the leaves
ca() {
    key "$1"
    : >"$work/index.txt"
    run openssl req -new -config "$work/ca.cnf" -key "$work/$1.key" -subj "/O=agent test/CN=$2" -out "$work/$1.csr"
    run openssl ca -batch -config "$work/ca.cnf" -selfsign -keyfile "$work/$1.key" -in "$work/$1.csr" \
        -startdate "$start" -enddate "$ca_end" -extensions v3_ca -notext -out "$work/$1.pem"
}

# leaf NAME CN EXTENSIONS CA: a server certificate signed by CA
leaf() {
    key "$1"
    : >"$work/index.txt"
    run openssl req -new -config "$work/ca.cnf" -key "$work/$1.key" -subj "/O=agent test/CN=$2" -out "$work/$1.csr"
    run openssl ca -batch -config "$work/ca.cnf" -cert "$work/$4.pem" -keyfile "$work/$4.key" -in "$work/$1.csr" \
        -startdate "$start" -enddate "$leaf_end" -extensions "$3" -notext -out "$work/$1.pem"
}

ca ca "agent test CA"
leaf server localhost leaf_localhost ca
leaf wrong wrong.example leaf_wrong ca
ca other-ca "agent untrusted CA"
leaf untrusted localhost leaf_localhost other-ca

for f in $all; do
    cp "$work/$f" "$f.tmp"
    mv "$f.tmp" "$f"
done
chmod 600 ./*.key
