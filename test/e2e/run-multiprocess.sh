#!/usr/bin/env bash
# One process per device (hymir/Runtime/Distributed.h) on the cpu driver:
# several hymir-run processes on this machine run one artifact as the ranks
# of one job, meeting over a loopback rendezvous (RANK, WORLD_SIZE,
# MASTER_ADDR, MASTER_PORT as torchrun sets them; OMPI_COMM_WORLD_* for one
# count, as mpirun sets them). Checks:
#  1. for each count N: every rank's outputs equal, byte for byte, those of
#     one process simulating the N devices;
#  2. a rank that exits early, and one killed (SIGKILL) after it joined:
#     the other ranks fail within a few seconds, their error naming it;
#     and a collective whose parts disagree in size (one rank has other
#     inputs): every rank fails with rank 0's verdict naming the rank;
#  3. a rank that joins and then hangs: the others fail after
#     HYMIR_DIST_TIMEOUT, naming it; never a hang;
#  4. a rank that never starts: the rendezvous fails naming it;
#  5. bad launcher variables: an error naming the variable.
# Usage: run-multiprocess.sh BIN_DIR GRAPH.mlir "N1 N2 ..." [T]
# T: the token count of a graph with a dynamic one. FAULTS=0 (environment)
# runs check 1 only.
set -euo pipefail
bin=$1 graph=$2 counts=$3 tokens=${4:-}
tok=()
[[ -n $tokens ]] && tok=(--tokens "$tokens")
entry=$(sed -n 's/^func\.func @\([A-Za-z0-9_]*\).*/\1/p' "$graph" | head -n 1)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# A free loopback port (bound and released; MASTER_PORT for one job).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

"$bin/hymir-reference" "$graph" --function "$entry" "${tok[@]}" \
  --write-inputs "$work/in.safetensors" --write-weights "$work/w.safetensors" \
  >/dev/null
run=("$bin/hymir-run" "$work/graph.hymir" --entry "$entry"
     --weights "$work/w.safetensors" --device cpu)

# Starts rank $1 of $2 in the background (extra env in the rest), its
# output in $work/rank$1.log; its pid is appended to pids.
start_rank() {
  local r=$1 n=$2 inputs=$3
  shift 3
  env RANK="$r" WORLD_SIZE="$n" LOCAL_RANK="$r" MASTER_ADDR=127.0.0.1 \
    MASTER_PORT="$port" "$@" "${run[@]}" --inputs "$inputs" \
    --outputs "$work/rank$r.safetensors" >"$work/rank$r.log" 2>&1 &
  pids+=($!)
}

# 1. Each count matches one process of as many simulated devices.
for n in $counts; do
  "$bin/hymir-compile" "$graph" -o "$work/graph.hymir" --target=cpu \
    --devices="$n" --max-tokens=1024 --print-plan >"$work/plan.txt"
  "${run[@]}" --inputs "$work/in.safetensors" \
    --outputs "$work/single.safetensors" >/dev/null
  port=$(free_port)
  pids=()
  launcher=torchrun
  for ((r = 0; r < n; ++r)); do
    if [[ $n == 4 ]]; then # mpirun's variables for this count
      launcher=mpirun
      env OMPI_COMM_WORLD_RANK="$r" OMPI_COMM_WORLD_SIZE="$n" \
        OMPI_COMM_WORLD_LOCAL_RANK="$r" MASTER_PORT="$port" \
        "${run[@]}" --inputs "$work/in.safetensors" \
        --outputs "$work/rank$r.safetensors" >"$work/rank$r.log" 2>&1 &
      pids+=($!)
    else
      start_rank "$r" "$n" "$work/in.safetensors" HYMIR_DIST_TIMEOUT=30
    fi
  done
  for ((r = 0; r < n; ++r)); do
    wait "${pids[$r]}" || { cat "$work/rank$r.log"; fail "rank $r of $n exited with an error"; }
    cmp -s "$work/single.safetensors" "$work/rank$r.safetensors" ||
      fail "rank $r of $n ($launcher): outputs differ from one process of $n devices"
  done
  pids=()
  kinds=$(grep -o -E ': (all_reduce|all_gather|all_to_all) ' "$work/plan.txt" |
    sort | uniq -c | awk '{printf "%s%s x%s", sep, $3, $1; sep=", "}')
  echo "PASS: $n ranks ($launcher) = one process of $n devices, bit for bit ($kinds)"
done
[[ ${FAULTS:-1} == 0 ]] && exit 0

# The faults run on the last count (at least 2 ranks), with rank n-1 one of
# three kinds: a hymir-run whose inputs cannot be read (it joins, loads the
# module, then exits with an error), and a stand-in that speaks the
# rendezvous's protocol (a 32-byte frame header: magic "HYMD", kind,
# sender, sequence, length), joins, says so, and then waits: to be killed
# with SIGKILL, or forever (a hung rank).
n=${counts##* }
victim=$((n - 1))
mkfifo "$work/fifo"
cat >"$work/stand_in.py" <<'PY'
import os, socket, struct, sys, time
rank, size, port, joined = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
deadline = time.time() + 30
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("stand-in: rank 0 never listened")
        time.sleep(0.05)
s.sendall(struct.pack("<IIQQQ", 0x444D5948, 1, rank, 0, 16) + struct.pack("<QQ", rank, size))
header = s.recv(32, socket.MSG_WAITALL)
assert struct.unpack("<IIQQQ", header)[1] == 2, "not welcomed"
with open(joined, "w") as f:
    f.write("joined\n")
while True:
    time.sleep(60)
PY

# Starts the stand-in as rank $victim and waits until it has joined.
start_stand_in() {
  rm -f "$work/joined"
  python3 "$work/stand_in.py" "$victim" "$n" "$port" "$work/joined" \
    >"$work/rank$victim.log" 2>&1 &
  pids+=($!)
  local waited=0
  while [[ ! -e $work/joined ]]; do
    sleep 0.05
    ((++waited < 600)) || { tail -n 3 "$work"/rank*.log; fail "the stand-in rank did not join"; }
  done
}

# Expects every rank but $victim to have failed, its log naming rank
# $victim and matching $1.
expect_named() {
  local pattern=$1
  for ((r = 0; r < n; ++r)); do
    [[ $r == "$victim" ]] && continue
    if wait "${pids[$r]}"; then
      fail "rank $r succeeded although rank $victim $2"
    fi
    grep -q "rank $victim" "$work/rank$r.log" && grep -q -- "$pattern" "$work/rank$r.log" ||
      { tail -n 3 "$work"/rank*.log; fail "rank $r's error does not name rank $victim ($pattern)"; }
  done
}

# Starts every rank but $victim (hymir-run, timeout $1), in rank order.
start_others() {
  for ((r = 0; r < victim; ++r)); do
    start_rank "$r" "$n" "$work/in.safetensors" HYMIR_DIST_TIMEOUT="$1"
  done
}

# 2a. A rank that exits early (its inputs are not a file).
port=$(free_port)
pids=()
start=$SECONDS
start_others 60
start_rank "$victim" "$n" "$work/fifo" HYMIR_DIST_TIMEOUT=60
expect_named "closed its connection" "exited"
took=$((SECONDS - start))
((took < 20)) || fail "the ranks took ${took} s to see a rank exit"
echo "PASS: rank $victim of $n exited early: every other rank failed naming it (${took} s)"
sed -n 's/^/  rank 0: /p' "$work/rank0.log" | tail -n 1

# 2b. A killed rank.
port=$(free_port)
pids=()
start_others 60
start_stand_in
start=$SECONDS
sleep 0.5 # the others reach their first collective
kill -9 "${pids[$victim]}"
expect_named "closed its connection" "was killed"
took=$((SECONDS - start))
((took < 20)) || fail "the ranks took ${took} s to see a killed rank"
echo "PASS: rank $victim of $n killed: every other rank failed naming it (${took} s)"
sed -n 's/^/  rank 0: /p' "$work/rank0.log" | tail -n 1
[[ $n -gt 2 ]] && sed -n 's/^/  rank 1: /p' "$work/rank1.log" | tail -n 1

# 2c. A collective that fails: rank $victim gets other inputs (more tokens),
# so its parts of the first collective differ in size from the others'.
if [[ -n $tokens ]]; then
  "$bin/hymir-reference" "$graph" --function "$entry" --tokens $((tokens + 2)) \
    --write-inputs "$work/other.safetensors" \
    --write-weights "$work/other-w.safetensors" >/dev/null
  port=$(free_port)
  pids=()
  start_others 60
  start_rank "$victim" "$n" "$work/other.safetensors" HYMIR_DIST_TIMEOUT=60
  expect_named "the ranks run different artifacts or inputs" "disagreed"
  wait "${pids[$victim]}" && fail "rank $victim succeeded in a failed collective"
  grep -q "reported by rank 0" "$work/rank$victim.log" ||
    { cat "$work/rank$victim.log"; fail "rank $victim's error is not rank 0's"; }
  echo "PASS: a collective whose parts disagree fails on every rank"
  sed -n 's/^/  rank 0: /p' "$work/rank0.log" | tail -n 1
fi

# 3. A rank that hangs after joining: the others time out naming it.
port=$(free_port)
pids=()
start=$SECONDS
start_others 4
start_stand_in
expect_named "within 4 s" "hung"
took=$((SECONDS - start))
((took < 20)) || fail "the ranks took ${took} s to time out"
echo "PASS: rank $victim of $n hung: every other rank timed out naming it (${took} s)"
sed -n 's/^/  rank 0: /p' "$work/rank0.log" | tail -n 1
[[ $n -gt 2 ]] && sed -n 's/^/  rank 1: /p' "$work/rank1.log" | tail -n 1

# 4. A rank that never starts: rank 0's rendezvous names it.
port=$(free_port)
pids=()
start_rank 0 "$n" "$work/in.safetensors" HYMIR_DIST_TIMEOUT=1
if wait "${pids[0]}"; then fail "rank 0 ran without its peers"; fi
grep -q "did not connect within" "$work/rank0.log" || { cat "$work/rank0.log"; fail "rank 0's rendezvous error"; }
echo "PASS: ranks missing from the rendezvous are named"
sed -n 's/^/  rank 0: /p' "$work/rank0.log" | tail -n 1

# 5. Launcher variables.
check_env() {
  local pattern=$1
  shift
  if env "$@" "${run[@]}" --inputs "$work/in.safetensors" \
    --outputs "$work/x.safetensors" >"$work/env.log" 2>&1; then
    fail "ran with bad variables: $*"
  fi
  grep -q -- "$pattern" "$work/env.log" || { cat "$work/env.log"; fail "no '$pattern' for: $*"; }
}
check_env "WORLD_SIZE" RANK=0
check_env "MASTER_PORT" RANK=0 WORLD_SIZE=2
check_env "RANK='5'" RANK=5 WORLD_SIZE=2 MASTER_PORT=1234
check_env "MASTER_PORT='x'" RANK=1 WORLD_SIZE=2 MASTER_PORT=x
check_env "PMI_SIZE" PMI_RANK=0
check_env "HYMIR_DIST_TIMEOUT" RANK=0 WORLD_SIZE=1 MASTER_PORT=1234 HYMIR_DIST_TIMEOUT=-1
check_env "job has 1 ranks" RANK=0 WORLD_SIZE=1 MASTER_PORT=1234
echo "PASS: bad launcher variables are named"
