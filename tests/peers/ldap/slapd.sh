#!/usr/bin/env bash
# A throw-away OpenLDAP server (Debian slapd) for the directory sync tests.
#
#   slapd.sh install                          install slapd when missing (needs root + apt)
#   slapd.sh start DIR PORT BASE_DN PASSWORD  build an instance in DIR, start it on
#                                             127.0.0.1:PORT, wait until it answers
#   slapd.sh stop DIR                         stop the instance started in DIR
#
# The instance has its own cn=config and database under DIR; the package's default
# instance is never configured nor started. The admin is cn=admin,BASE_DN with PASSWORD.
# Overlays: memberof (people carry memberOf for their groupOfNames) and refint.
set -euo pipefail

install_slapd() {
  [ -x /usr/sbin/slapd ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  # Skip the package's own instance: the tests build theirs.
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends slapd >/dev/null
}

stop_slapd() {
  local pidfile="$1/slapd.pid"
  [ -f "$pidfile" ] || return 0
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
}

start_slapd() {
  local dir="$1" port="$2" base="$3" password="$4"
  [ -x /usr/sbin/slapd ] || { echo "slapd is not installed (run: $0 install)" >&2; exit 3; }
  stop_slapd "$dir"
  rm -rf "$dir/config" "$dir/data"
  mkdir -p "$dir/config" "$dir/data"
  local hashed; hashed="$(/usr/sbin/slappasswd -s "$password")"
  cat >"$dir/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 5000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $dir/data
olcSuffix: $base
olcRootDN: cn=admin,$base
olcRootPW: $hashed
olcDbMaxSize: 67108864
olcDbIndex: objectClass eq
olcDbIndex: uid,mail eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: memberof member manager
EOF
  /usr/sbin/slapadd -n0 -F "$dir/config" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 \
    || { cat "$dir/slapadd.log" >&2; exit 1; }
  # slapd forks into the background once it listens and writes olcPidFile.
  /usr/sbin/slapd -h "ldap://127.0.0.1:$port/" -F "$dir/config" >"$dir/slapd.log" 2>&1 \
    || { cat "$dir/slapd.log" >&2; exit 1; }
  for _ in $(seq 1 100); do
    [ -f "$dir/slapd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && exit 0
    sleep 0.1
  done
  echo "slapd did not start on 127.0.0.1:$port" >&2
  cat "$dir/slapd.log" >&2
  exit 1
}

case "${1:-}" in
  install) install_slapd ;;
  start) shift; start_slapd "$@" ;;
  stop) stop_slapd "$2" ;;
  *) echo "usage: $0 install | start DIR PORT BASE_DN PASSWORD | stop DIR" >&2; exit 2 ;;
esac
