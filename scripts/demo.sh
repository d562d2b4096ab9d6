#!/usr/bin/env bash
# The demo behind `make demo`: the server on $DEMO_ADDR with $DEMO_BOTS bots
# playing a match. It fails at once, with a message, when the address is
# taken or the server does not start; Ctrl-C stops everything and exits 0.
#
# make runs it under job control (set -m, see the Makefile) so that Ctrl-C
# reaches this script and its children, not make itself: make then exits
# with this script's status instead of dying with the signal ("make: ***
# Interrupt", status 130 or 143).
set -uo pipefail
addr=${DEMO_ADDR:-127.0.0.1:8080}
host=${addr%:*}
port=${addr##*:}
bots=${DEMO_BOTS:-6}
token=${DEMO_TOKEN:-demo}

if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  echo "demo: $addr is already taken (another server, or a demo still running); stop it or run make demo DEMO_ADDR=127.0.0.1:8081" >&2
  exit 1
fi

# shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
./bin/server -addr "$addr" -admin-token "$token" ${SERVER_FLAGS:-} &
server=$!
bots_pid=
stopping=

stop() {
  stopping=1
  # Ctrl-C reached the server and the bots too (same process group): the
  # server drains, the bots print their summary. Wait for both.
  kill -INT "$server" $bots_pid 2>/dev/null
  wait "$server" $bots_pid 2>/dev/null
  exit 0
}
trap stop INT TERM

for _ in $(seq 100); do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server"
    echo "demo: the server did not start (exit status $?; its log is above)" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "demo: $bots bots joining ws://$addr/ws; Ctrl-C stops everything" >&2
echo "demo: watch  http://$addr/dashboard?token=$token" >&2
echo "demo: play   http://$addr/play?join=quick   in a browser (quick join puts you in the bots' match)" >&2
echo "demo:   or   ./bin/client -server ws://$addr/ws   (the desktop client)" >&2
./bin/bots -server "ws://$addr/ws" -n "$bots" -duration 0 &
bots_pid=$!

# Whichever ends first: the server (a crash) ends the demo.
wait -n "$server" "$bots_pid"
rc=$?
[ -n "$stopping" ] && exit 0
if ! kill -0 "$server" 2>/dev/null; then
  echo "demo: the server stopped (exit status $rc)" >&2
  kill -INT "$bots_pid" 2>/dev/null
  wait "$bots_pid" 2>/dev/null
  exit 1
fi
echo "demo: the bots stopped (exit status $rc); the server runs on, Ctrl-C stops it" >&2
wait "$server"
