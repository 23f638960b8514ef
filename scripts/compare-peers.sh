#!/usr/bin/env bash
# compare-peers.sh: measure volley against wrk, bombardier, hey and vegeta
# (HTTP/1.1) and h2load (HTTP/2, h2c) on the same workloads, side by side in
# one run, and print Markdown tables.
#
# nginx (return 200 "hello") runs pinned to one core, every generator to the
# other. Requests are counted by nginx itself (stub_status), CPU time and peak
# RSS by GNU time. Ratios are taken within the run: absolute figures move
# with the machine, ratios much less.
#
# Usage: scripts/compare-peers.sh [-n REPEATS] [-d SECONDS] [--quick] [--long]
#   -n REPEATS   repetitions of each measurement (default 3; the median is shown)
#   -d SECONDS   length of each load run (default 10)
#   --quick      1 repetition of 3 s runs, to check the script itself
#   --long       also measure volley's peak RSS over a 10-minute run
#   --h2-only    only the HTTP/2 table
# Needs root for apt-get when wrk/nginx/h2load are missing; installs hey, vegeta and
# bombardier with `go install` into a temporary GOBIN.
set -euo pipefail

REPEATS=3
DUR=10
LONG=0
H2ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) REPEATS=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    --quick) REPEATS=1; DUR=3; shift ;;
    --long) LONG=1; shift ;;
    --h2-only) H2ONLY=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "compare-peers: unknown argument $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/volley-peers.XXXXXX)
NGINX_PID=""
cleanup() {
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  pkill -f "$WORK/" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log() { printf '%s\n' "$*" >&2; }

# --- install -----------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  (service nginx stop || true) >/dev/null 2>&1
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
export GOBIN="$WORK/bin"
log "building volley and installing peers (go install)"
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$GOBIN/volley" .)
go install github.com/rakyll/hey@v0.1.5 2>/dev/null
go install github.com/tsenart/vegeta/v12@v12.13.0 2>/dev/null
go install github.com/codesenberg/bombardier@v1.2.6 2>/dev/null
export PATH="$GOBIN:$PATH"

# --- nginx -------------------------------------------------------------------
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo "$1"; }
PORT=$(freeport 18080)
H2PORT=$(freeport 18443)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$PORT;
    location / { return 200 "hello"; }
    location = /_status { stub_status; }
  }
  server {
    listen 127.0.0.1:$H2PORT http2;
    http2_max_concurrent_streams 128;
    location / { return 200 "hello"; }
  }
}
EOF
taskset -c 1 "$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
URL="http://127.0.0.1:$PORT/"
for _ in $(seq 50); do curl -fs "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$URL" >/dev/null || { log "nginx did not start"; exit 1; }

# served: nginx's request counter (the status request itself excluded).
served() { curl -fs "http://127.0.0.1:$PORT/_status" | awk 'NR==3 {print $3}'; }

# measure NAME CMD...: runs CMD pinned to CPU 0 under GNU time and prints
# "name requests wall_s user_s sys_s maxrss_kb".
measure() {
  local name=$1; shift
  local before after
  before=$(served)
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$WORK/time.out" taskset -c 0 "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || true
  t1=$(date +%s.%N)
  after=$(served)
  read -r user sys rss < <(tail -n 1 "$WORK/time.out")
  echo "$name $((after - before - 1)) $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $user $sys $rss"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_closed: closed loop, 50 connections.
run_closed() {
  local tool=$1
  case $tool in
    wrk) measure wrk wrk -t1 -c50 -d"${DUR}s" "$URL" ;;
    volley) measure volley volley run -c 50 -d "${DUR}s" -q "$URL" ;;
    bombardier) measure bombardier bombardier -c 50 -d "${DUR}s" -p r "$URL" ;;
    hey) measure hey hey -c 50 -z "${DUR}s" "$URL" ;;
    vegeta) measure vegeta sh -c "echo 'GET $URL' | vegeta attack -rate=0 -max-workers=50 -workers=50 -duration=${DUR}s > /dev/null" ;;
  esac
}

# run_open RATE TOOL: open loop at RATE req/s with 50 connections.
run_open() {
  local rate=$1 tool=$2
  case $tool in
    volley) measure volley volley run -r "$rate" -c 50 -d "${DUR}s" -q --out "json=$WORK/open.json" "$URL" ;;
    volley-tick10ms) measure "$tool" volley run -r "$rate" -c 50 -d "${DUR}s" -q --tick 10ms "$URL" ;;
    volley-tick0) measure "$tool" volley run -r "$rate" -c 50 -d "${DUR}s" -q --tick 0 "$URL" ;;
    bombardier) measure bombardier bombardier -c 50 -r "$rate" -d "${DUR}s" -p r "$URL" ;;
    vegeta) measure vegeta sh -c "echo 'GET $URL' | vegeta attack -rate=${rate}/s -duration=${DUR}s > /dev/null" ;;
  esac
}

log "nginx on $URL (CPU 1); generators on CPU 0; $REPEATS x ${DUR}s per figure"

# --- HTTP/2 closed loop (h2c) -------------------------------------------------------
H2URL="http://127.0.0.1:$H2PORT/"
run_h2() {
  case $1 in
    h2load-c10-m10) measure "$1" h2load -c 10 -m 10 -D "$DUR" "$H2URL" ;;
    h2load-c10-m1) measure "$1" h2load -c 10 -m 1 -D "$DUR" "$H2URL" ;;
    volley-c10-streams10) measure "$1" volley run --h2c -c 10 --streams 10 -d "${DUR}s" -q "$H2URL" ;;
    volley-c10-streams1) measure "$1" volley run --h2c -c 10 -d "${DUR}s" -q "$H2URL" ;;
    volley-c2-streams100) measure "$1" volley run --h2c -c 2 --streams 100 -d "${DUR}s" -q "$H2URL" ;;
  esac
}
H2_TOOLS=(h2load-c10-m10 volley-c10-streams10 h2load-c10-m1 volley-c10-streams1 volley-c2-streams100)
: > "$WORK/h2.txt"
for r in $(seq "$REPEATS"); do
  for tool in "${H2_TOOLS[@]}"; do
    log "HTTP/2 closed loop: $tool ($r/$REPEATS)"
    run_h2 "$tool" >> "$WORK/h2.txt"
  done
done
h2stat() { awk -v t="$1" '$1==t {'"$2"'}' "$WORK/h2.txt" | median; }
echo
echo "### HTTP/2 closed loop, nginx h2c \`return 200\`, ${DUR} s (median of $REPEATS)"
echo
echo "| set-up | req/s | CPU-µs/req | user / sys µs/req | peak RSS MB |"
echo "|---|---|---|---|---|"
for tool in "${H2_TOOLS[@]}"; do
  awk -v t="$tool" -v r="$(h2stat "$tool" 'print $2/'"$DUR")" -v c="$(h2stat "$tool" 'print ($4+$5)*1e6/$2')" \
      -v u="$(h2stat "$tool" 'print $4*1e6/$2')" -v s="$(h2stat "$tool" 'print $5*1e6/$2')" -v m="$(h2stat "$tool" 'print $6/1024')" \
      'BEGIN {printf "| %s | %.0f | %.1f | %.1f / %.1f | %.0f |\n", t, r, c, u, s, m}'
done
awk -v v="$(h2stat volley-c10-streams10 'print ($4+$5)*1e6/$2')" -v h="$(h2stat h2load-c10-m10 'print ($4+$5)*1e6/$2')" \
  'BEGIN {printf "\nvolley -c 10 --streams 10 / h2load -c 10 -m 10, CPU-µs per request: %.2f\n", v/h}'
if [ "$H2ONLY" = 1 ]; then exit 0; fi

# --- closed loop ----------------------------------------------------------------
TOOLS=(wrk volley bombardier hey vegeta)
: > "$WORK/closed.txt"
for r in $(seq "$REPEATS"); do
  for tool in "${TOOLS[@]}"; do
    log "closed loop: $tool ($r/$REPEATS)"
    run_closed "$tool" >> "$WORK/closed.txt"
  done
done

stat() { # stat TOOL FIELD-EXPR FILE -> median over repeats
  awk -v t="$1" '$1==t {'"$2"'}' "$3" | median
}
rps() { stat "$1" 'print $2/'"$DUR" "$WORK/closed.txt"; }
cpu() { stat "$1" 'print ($4+$5)*1e6/$2' "$WORK/closed.txt"; }
usr() { stat "$1" 'print $4*1e6/$2' "$WORK/closed.txt"; }
sys() { stat "$1" 'print $5*1e6/$2' "$WORK/closed.txt"; }
rss() { stat "$1" 'print $6/1024' "$WORK/closed.txt"; }

WRK_RPS=$(rps wrk); WRK_CPU=$(cpu wrk)
echo
echo "### Closed loop, 50 connections, ${DUR} s, nginx \`return 200\` (median of $REPEATS)"
echo
echo "| tool | req/s | x wrk | CPU-µs/req | x wrk | user / sys µs/req | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
for tool in "${TOOLS[@]}"; do
  r=$(rps "$tool"); c=$(cpu "$tool")
  awk -v t="$tool" -v r="$r" -v c="$c" -v u="$(usr "$tool")" -v s="$(sys "$tool")" -v m="$(rss "$tool")" \
      -v wr="$WRK_RPS" -v wc="$WRK_CPU" \
      'BEGIN {printf "| %s | %.0f | %.2f | %.1f | %.2f | %.1f / %.1f | %.0f |\n", t, r, r/wr, c, c/wc, u, s, m}'
done
VOL_CPU=$(cpu volley); BOMB_CPU=$(cpu bombardier)
awk -v v="$VOL_CPU" -v b="$BOMB_CPU" 'BEGIN {printf "\nvolley / bombardier CPU-µs per request: %.2f\n", v/b}'

# --- open loop 5000 req/s ----------------------------------------------------------
OPEN_TOOLS=(volley volley-tick10ms volley-tick0 bombardier vegeta)
: > "$WORK/open.txt"
for r in $(seq "$REPEATS"); do
  for tool in "${OPEN_TOOLS[@]}"; do
    log "open loop 5000/s: $tool ($r/$REPEATS)"
    run_open 5000 "$tool" >> "$WORK/open.txt"
  done
done
echo
echo "### Open loop 5000 req/s, 50 connections, ${DUR} s (median of $REPEATS)"
echo
echo "| tool | achieved / asked (server count) | CPU-µs/req | peak RSS MB |"
echo "|---|---|---|---|"
for tool in "${OPEN_TOOLS[@]}"; do
  acc=$(stat "$tool" 'print $2/(5000*'"$DUR"')' "$WORK/open.txt")
  c=$(stat "$tool" 'print ($4+$5)*1e6/$2' "$WORK/open.txt")
  m=$(stat "$tool" 'print $6/1024' "$WORK/open.txt")
  awk -v t="$tool" -v a="$acc" -v c="$c" -v m="$m" 'BEGIN {printf "| %s | %.4f | %.1f | %.0f |\n", t, a, c, m}'
done
VOL_OPEN=$(stat volley 'print ($4+$5)*1e6/$2' "$WORK/open.txt")
VOL10_OPEN=$(stat volley-tick10ms 'print ($4+$5)*1e6/$2' "$WORK/open.txt")
BOMB_OPEN=$(stat bombardier 'print ($4+$5)*1e6/$2' "$WORK/open.txt")
awk -v v="$VOL_OPEN" -v w="$VOL10_OPEN" -v b="$BOMB_OPEN" \
  'BEGIN {printf "\nvolley / bombardier CPU-µs per request: %.2f (default 1ms tick), %.2f (--tick 10ms)\n", v/b, w/b}'

# --- volley rate accuracy and send lag -------------------------------------------------
echo
echo "### volley open-loop accuracy (server-side count), 50 connections, ${DUR} s"
echo
echo "| asked req/s | served | achieved / asked | send lag p50 / p99 / max ms | late sends | CPU-µs/req |"
echo "|---|---|---|---|---|---|"
for rate in 1000 10000 20000 50000; do
  log "volley open loop at $rate/s"
  line=$(run_open "$rate" volley)
  read -r _ n _ u s _ <<<"$line"
  lag=$(grep -A3 '"send_lag": {' "$WORK/open.json" | tr -d ' ,' | awk -F: '/p50|p99|max/ {printf "%s%.3f", sep, $2; sep=" / "}')
  late=$(grep -m1 '"late"' "$WORK/open.json" | tr -dc '0-9')
  awk -v r="$rate" -v n="$n" -v u="$u" -v s="$s" -v lag="$lag" -v late="$late" -v d="$DUR" \
    'BEGIN {printf "| %d | %d | %.4f | %s | %s | %.1f |\n", r, n, n/(r*d), lag, late, (u+s)*1e6/n}'
done

# --- one request, whole process -----------------------------------------------------------
if command -v hyperfine >/dev/null; then
  echo
  echo "### One request, whole process (hyperfine, mean ± σ)"
  echo
  hyperfine -N -w 3 -r 20 --export-markdown "$WORK/one.md" \
    "volley run -n 1 -c 1 -q $URL" \
    "bombardier -n 1 -c 1 -p r $URL" \
    "hey -n 1 -c 1 $URL" >/dev/null 2>&1 || true
  [ -f "$WORK/one.md" ] && cat "$WORK/one.md"
fi

# --- memory over time -----------------------------------------------------------------------
if [ "$LONG" = 1 ]; then
  echo
  echo "### volley peak RSS against duration (closed loop, 50 connections)"
  echo
  echo "| duration | requests | peak RSS MB |"
  echo "|---|---|---|"
  for d in 10 600; do
    log "volley closed loop ${d}s for RSS"
    line=$(measure volley volley run -c 50 -d "${d}s" -q "$URL")
    read -r _ n _ _ _ m <<<"$line"
    awk -v d="$d" -v n="$n" -v m="$m" 'BEGIN {printf "| %ds | %d | %.1f |\n", d, n, m/1024}'
  done
fi
echo
echo "Machine: $(nproc) CPUs, $(awk '/model name/ {sub(/.*: /,""); print; exit}' /proc/cpuinfo), $(uname -sr), $(go version | awk '{print $3}')"
