#!/bin/sh
# Runs every test binary (cmocka, TAP output) and sums the cases into one closing line:
#   "N passed, N failed, N skipped"
# Sandbox-facing suites (integration, escape) run twice when we are root: as root, and as an
# unprivileged user through rootless user namespaces. Exit status: 0 only if nothing failed.
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
UNPRIV_UID=${SCRIPTBOX_TEST_UID:-65534}
pass=0 fail=0 skip=0
failed_names=""
failure_details=""

# run_suite MODE BINARY [runner...]: run one cmocka binary, tally its TAP lines.
run_suite() {
  mode=$1 bin=$2; shift 2
  name="$mode:$(basename "$bin")"
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP SCRIPTBOX_TEST_MODE=$mode "$@" "$bin" 2>&1); rc=$?
  printf '%s\n' "$out" | sed "s|^|[$name] |"
  # cmocka 1.1 prints a skipped case as "not ok N # SKIP": a skip, not a failure.
  p=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+' ); s=$(printf '%s\n' "$out" | grep -cE '^(not )?ok [0-9]+.*# (SKIP|skip)')
  ps=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+.*# (SKIP|skip)')
  f=$(printf '%s\n' "$out" | grep -E '^not ok [0-9]+' | grep -cvE '# (SKIP|skip)')
  p=$((p - ps))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or exited non-zero without a TAP failure
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
  if [ "$f" -gt 0 ]; then
    failed_names="$failed_names $name"
    # Keep each failing case with the few lines before it (cmocka prints the reason there), so the
    # closing lines, often all a CI log keeps, name the case and the reason.
    detail=$(printf '%s\n' "$out" | awk -v n="$name" '
      /^not ok [0-9]+/ && !/# (SKIP|skip)/ { for (i = 0; i < 4; i++) if (buf[i] != "") print "[" n "] " substr(buf[i], 1, 400); print "[" n "] " $0 }
      { buf[0] = buf[1]; buf[1] = buf[2]; buf[2] = buf[3]; buf[3] = $0 }')
    [ -z "$detail" ] && detail="[$name] exited with status $rc: $(printf '%s\n' "$out" | tail -n 3 | tr '\n' ' ' | cut -c1-400)"
    failure_details="$failure_details$detail
"
  fi
}

tally_case() {  # tally_case NAME RESULT(pass|fail|skip) [reason]
  case $2 in
    pass) pass=$((pass + 1)); echo "[$1] ok";;
    fail) fail=$((fail + 1)); failed_names="$failed_names $1"; echo "[$1] not ok: ${3:-}";;
    skip) skip=$((skip + 1)); echo "[$1] skip: ${3:-}";;
  esac
}

list_bins() { for b in "$BUILD"/tests/"$1"/test_*; do [ -x "$b" ] && [ -f "$b" ] && echo "$b"; done; }

for b in $(list_bins unit); do run_suite unit "$b"; done

# The shipped rules' own match/nomatch examples (docs/rules.md).
if rules_out=$("$BUILD/scriptbox" rules test 2>&1); then tally_case rules:test pass
else printf '%s\n' "$rules_out"; tally_case rules:test fail "rule examples failed"; fi

if [ "$(id -u)" = 0 ]; then
  for b in $(list_bins integration) $(list_bins escape); do run_suite root "$b"; done
  # Rootless: a copy of the build that the unprivileged user can read, in a private temp dir.
  stage=$(mktemp -d /tmp/scriptbox-rootless.XXXXXX)
  trap 'rm -rf "$stage"' EXIT INT TERM
  cp -a "$BUILD" tests rules examples "$stage"/ 2>/dev/null
  mkdir -p "$stage/home"
  chmod -R a+rX "$stage"; chown -R "$UNPRIV_UID" "$stage/home"; chmod 0755 "$stage"
  if setpriv --reuid="$UNPRIV_UID" --regid="$UNPRIV_UID" --clear-groups true 2>/dev/null; then
    for b in $(list_bins integration) $(list_bins escape); do
      run_suite rootless "$stage/$b" env -C "$stage" HOME="$stage/home" TMPDIR=/tmp \
        setpriv --reuid="$UNPRIV_UID" --regid="$UNPRIV_UID" --clear-groups --inh-caps=-all
    done
  else
    tally_case rootless skip "setpriv cannot switch to uid $UNPRIV_UID"
  fi
else
  for b in $(list_bins integration) $(list_bins escape); do run_suite rootless "$b"; done
  tally_case root skip "not running as root: root-mode sandbox suites not run"
fi

# Static analysis is part of the suite: cppcheck must stay silent.
if command -v cppcheck >/dev/null 2>&1; then
  if lint_out=$(make --no-print-directory -s lint 2>&1); then tally_case lint:cppcheck pass
  else printf '%s\n' "$lint_out"; tally_case lint:cppcheck fail "cppcheck reported problems"; fi
else
  tally_case lint:cppcheck skip "cppcheck not installed"
fi

if [ -n "$failed_names" ]; then
  printf '%s' "$failure_details"
  echo "failed:$failed_names"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
