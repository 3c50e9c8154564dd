#!/usr/bin/env bash
# Request Tracker 5 for the ticket-queue tests and the demo: installs the Debian packages
# when missing, creates a throw-away SQLite database with an "AccessRequests" queue, a
# "MandateRequestId" custom field and rights for privileged users, and serves REST 2.0 on
# 127.0.0.1. The demo's people (olivia, bruno, fiona, rachel, ada; password mandate-demo)
# exist in RT with the same e-mail addresses as in Mandate, so a decision in RT is theirs.
#
#   tests/peers/rt.sh start     # idempotent, shares a server already running on the port;
#                               # prints MANDATE_RT_URL / MANDATE_RT_TOKEN_FILE
#   tests/peers/rt.sh reset     # start on a fresh copy of the initial database
#   tests/peers/rt.sh stop
#
# Settings (environment): MANDATE_RT_PORT (8089), MANDATE_RT_HOME (/var/tmp/mandate-rt).
# Everything lives under MANDATE_RT_HOME; the package's own /etc configuration is unused.
set -euo pipefail

port="${MANDATE_RT_PORT:-8089}"
home="${MANDATE_RT_HOME:-/var/tmp/mandate-rt}"
url="http://127.0.0.1:${port}"
root_password="${MANDATE_RT_ROOT_PASSWORD:-rt-root-for-tests}"
demo_password="mandate-demo"  # the demo's published password (load_demo)
pidfile="$home/server.pid"
rtlib=/usr/share/request-tracker5/lib
export RT_SITE_CONFIG="$home/etc/RT_SiteConfig.pm"
export RT_SITE_CONFIG_DIR="$home/etc/RT_SiteConfig.d"

say() { echo "[rt.sh] $*" >&2; }
alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { curl -fsS -o /dev/null -H "Authorization: token $(cat "$home/root.token" 2>/dev/null)" "$url/REST/2.0/rt" 2>/dev/null; }

stop() {
  if alive; then
    local pid; pid="$(cat "$pidfile")"
    # The server runs in its own session (setsid): its workers go with the group.
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

install_packages() {
  local wanted=(request-tracker5 rt5-db-sqlite rt5-standalone) missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing ${missing[*]} (a minute or two the first time)"
  export DEBIAN_FRONTEND=noninteractive
  # Answer the package's questions up front: no database of its own, no cron jobs.
  debconf-set-selections <<'ANSWERS'
request-tracker5 request-tracker5/rtname string rt.example.test
request-tracker5 request-tracker5/organization string example.test
request-tracker5 request-tracker5/correspondaddress string rt@example.test
request-tracker5 request-tracker5/commentaddress string rt-comment@example.test
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /rt
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/dbconfig-install boolean false
request-tracker5 request-tracker5/database-type select sqlite3
ANSWERS
  # One update is enough: skip it when another step (CI's package install) just did one.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    apt-get update -q >/dev/null || say "apt-get update failed; trying the install anyway"
  fi
  apt-get install -y -q --no-install-recommends "${wanted[@]}" >"$home/apt.log" 2>&1 \
    || { tail -n 30 "$home/apt.log" >&2; exit 1; }
}

write_config() {
  mkdir -p "$RT_SITE_CONFIG_DIR" "$home/var"
  cat >"$RT_SITE_CONFIG" <<CONF
Set(\$rtname, 'rt.example.test');
Set(\$Organization, 'example.test');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, ${port});
Set(\$WebPath, '');
Set(\$WebBaseURL, '${url}');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '${home}/rt.sqlite');
Set(\$Timezone, 'UTC');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
Set(\$LogToSTDERR, 'warning');
Set(\$MailCommand, 'mbox');
Set(\$CorrespondAddress, 'rt\@example.test');
Set(\$CommentAddress, 'rt-comment\@example.test');
# Tests only: RT hashes the password or token on every request; the default cost makes
# each call take a third of a second.
Set(\$BcryptCost, 4);
1;
CONF
}

initialise() {
  [ -s "$home/rt.sqlite" ] && return 0
  if [ -s "$home/rt.initial.sqlite" ] && [ -s "$home/root.token" ]; then
    cp "$home/rt.initial.sqlite" "$home/rt.sqlite"
    return 0
  fi
  say "creating the RT database"
  local pw; pw="$(mktemp)"; printf '%s\n' "$root_password" >"$pw"
  /usr/sbin/rt-setup-database-5 --action init --root-password-file "$pw" >"$home/setup.log" 2>&1 \
    || { rm -f "$pw"; tail -n 30 "$home/setup.log" >&2; exit 1; }
  rm -f "$pw"
  # The queue, the request-id field and the rights the approvers need, plus an API token
  # for root (Mandate's service account in the tests).
  perl -I"$rtlib" -MRT -e '
    RT::LoadConfig(); RT::Init();
    my $queue = RT::Queue->new(RT->SystemUser);
    $queue->Load("AccessRequests");
    $queue->Create(Name => "AccessRequests", Description => "Access requests from Mandate") unless $queue->id;
    my $cf = RT::CustomField->new(RT->SystemUser);
    my ($ok, $msg) = $cf->Create(Name => "MandateRequestId", Type => "Freeform", MaxValues => 1,
                                 LookupType => "RT::Queue-RT::Ticket");
    die "custom field: $msg\n" unless $ok;
    ($ok, $msg) = $cf->AddToObject($queue); die "apply field: $msg\n" unless $ok;
    my $privileged = RT::Group->new(RT->SystemUser);
    $privileged->LoadSystemInternalGroup("Privileged");
    for my $right (qw(SeeQueue ShowTicket CreateTicket ModifyTicket CommentOnTicket ReplyToTicket
                      ShowTicketComments OwnTicket SeeCustomField ModifyCustomField)) {
      $privileged->PrincipalObj->GrantRight(Right => $right, Object => $RT::System);
    }
    my $root = RT::User->new(RT->SystemUser); $root->Load("root");
    my $token = RT::AuthToken->new(RT::CurrentUser->new($root));
    my ($id, $tmsg, $secret) = $token->Create(Owner => $root->Id, Description => "mandate tests");
    die "token: $tmsg\n" unless $id;
    print $secret;' >"$home/root.token"
  cp "$home/rt.sqlite" "$home/rt.initial.sqlite"
}

# The demo's people, as load_demo creates them in Mandate: user name and real name.
demo_people=("olivia:Olivia Owens" "bruno:Bruno Becker" "fiona:Fiona Fernandes" "rachel:Rachel Reyes"
             "ada:Ada Auditor")

ensure_demo_people() {
  local token person missing=()
  token="$(cat "$home/root.token")"
  for person in "${demo_people[@]}"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: token $token" \
          "$url/REST/2.0/user/${person%%:*}")" = 200 ] || missing+=("$person")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  # Through RT's own API in Perl, not REST 2.0: a person's address may already belong to
  # an unprivileged user RT made when a ticket named them as requestor (that user is
  # taken over), and REST 2.0 cannot set passwords. SQLite waits for the server's locks.
  say "creating the demo people in RT: ${missing[*]%%:*}"
  perl -I"$rtlib" -MRT -e '
    RT::LoadConfig(); RT::Init();
    my $password = shift;
    for my $spec (@ARGV) {
      my ($name, $real) = split /:/, $spec, 2;
      my $email = "$name\@example.test";
      my $user = RT::User->new(RT->SystemUser);
      $user->Load($name);
      $user->LoadByEmail($email) unless $user->id;
      if (!$user->id) {
        my ($ok, $msg) = $user->Create(Name => $name, EmailAddress => $email, RealName => $real,
                                       Privileged => 1, Password => $password);
        die "$name: $msg\n" unless $ok;
        next;
      }
      for my $change ([Name => $name], [RealName => $real], [Privileged => 1], [Disabled => 0]) {
        my ($field, $value) = @$change;
        next if ($user->$field // "") eq $value;
        my $set = "Set$field"; my ($ok, $msg) = $user->$set($value); die "$name: $msg\n" unless $ok;
      }
      my ($ok, $msg) = $user->SetPassword($password); die "$name: $msg\n" unless $ok;
    }' "$demo_password" "${missing[@]}" >>"$home/setup.log" 2>&1 \
    || { say "could not create the demo people:"; tail -n 10 "$home/setup.log" >&2; exit 1; }
}

start() {
  mkdir -p "$home"
  install_packages
  write_config
  initialise
  if alive && answers; then
    say "already serving on $url"
  else
    stop
    say "starting on $url"
    setsid /usr/share/request-tracker5/libexec/rt-server --server Starlet --host 127.0.0.1 --port "$port" \
      --max-workers "${MANDATE_RT_WORKERS:-2}" >"$home/server.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      answers && break
      alive || { say "the server stopped:"; tail -n 30 "$home/server.log" >&2; exit 1; }
      sleep 0.5
    done
    answers || { say "no answer after 60 s"; tail -n 30 "$home/server.log" >&2; exit 1; }
  fi
  ensure_demo_people
  echo "MANDATE_RT_URL=$url"
  echo "MANDATE_RT_TOKEN_FILE=$home/root.token"
}

case "${1:-start}" in
  start) start ;;
  reset) stop; rm -f "$home/rt.sqlite"; start ;;
  stop) stop ;;
  *) echo "usage: $0 start|reset|stop" >&2; exit 2 ;;
esac
