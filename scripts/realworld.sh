#!/bin/sh
# realworld.sh — judge a pinned list of popular packages that have install scripts (not part of
# `make test`: it needs the network and takes minutes). For each spec: `npm pack` into a temp
# folder with the user's own npm configuration (registry, proxy, auth), check the tarball's SRI
# against `npm view SPEC dist.integrity`, analyze it with scriptbox, and print
#   name@version | verdict | top finding
# Exit 1 when any unsuppressed finding is above medium (or a package could not be checked).
# Usage: scripts/realworld.sh [path/to/scriptbox] [SPEC ...]
set -u
BIN=${1:-build/scriptbox}
[ $# -gt 0 ] && shift
SPECS=${*:-"core-js@3.37.1 esbuild@0.20.2 @swc/core@1.4.17 es5-ext@0.10.64 husky@4.3.8 sharp@0.32.6 puppeteer@19.11.1 bcrypt@5.1.1 node-sass@9.0.0 nodemon@2.0.22 @sentry/cli@2.31.0 canvas@2.11.2"}
for tool in npm node openssl base64; do
  command -v "$tool" >/dev/null 2>&1 || { echo "realworld: $tool is needed" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "realworld: $BIN not built (run make)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
work=$(mktemp -d "${TMPDIR:-/tmp}/scriptbox-realworld.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
fail=0
row() { printf '%-28s | %-10s | %s\n' "$1" "$2" "$3"; }
row "package" "verdict" "top finding | phases"
row "----------------------------" "----------" "-----------"
for spec in $SPECS; do
  dir="$work/$(printf '%s' "$spec" | tr '/@' '__')"
  mkdir -p "$dir"
  tgz=$(cd "$dir" && npm pack "$spec" --silent 2>"$dir/pack.err" | tail -n 1)
  if [ -z "$tgz" ] || [ ! -f "$dir/$tgz" ]; then
    row "$spec" "error" "npm pack failed: $(head -c 200 "$dir/pack.err" | tr '\n' ' ')"; fail=1; continue
  fi
  want=$(npm view "$spec" dist.integrity 2>/dev/null)
  got="sha512-$(openssl dgst -sha512 -binary "$dir/$tgz" | base64 | tr -d '\n')"
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    row "$spec" "error" "integrity mismatch (registry says '${want:-nothing}', tarball is $got)"; fail=1; continue
  fi
  "$BIN" analyze "$dir/$tgz" --format json --output "$dir/report.json" --timeout 180 >/dev/null 2>"$dir/analyze.err"
  rc=$?
  if [ "$rc" -gt 1 ] || [ ! -s "$dir/report.json" ]; then
    row "$spec" "error" "scriptbox exit $rc: $(head -c 200 "$dir/analyze.err" | tr '\n' ' ')"; fail=1; continue
  fi
  line=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const rank = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
    const live = r.findings.filter((f) => !f.suppressed).sort((a, b) => rank[b.severity] - rank[a.severity]);
    const top = live[0] ? live[0].severity + " " + live[0].rule_id + (live.length > 1 ? " (+" + (live.length - 1) + ")" : "") : "none";
    const gaps = (r.coverage || []).filter((c) => c.status === "not analyzed").map((c) => c.check).join(",");
    const bad = live.some((f) => rank[f.severity] > rank.medium) ? 1 : 0;
    const ph = (r.phases || []).map((p) => p.name + " " + p.status + (p.kind === "deps" && p.installed != null ? "(" + p.installed + ")" : "") + (p.exit_code ? " exit " + p.exit_code : "")).join(", ");
    console.log([r.package.name + "@" + r.package.version, r.verdict, top + (gaps ? "; not analyzed: " + gaps : ""), bad, ph].join("\t"));
  ' "$dir/report.json")
  name=$(printf '%s' "$line" | cut -f1); verdict=$(printf '%s' "$line" | cut -f2)
  top=$(printf '%s' "$line" | cut -f3); bad=$(printf '%s' "$line" | cut -f4); phases=$(printf '%s' "$line" | cut -f5)
  row "$name" "$verdict" "$top | $phases"
  # why a phase failed: the last lines its stderr kept
  [ -n "${REALWORLD_WHY:-}" ] && node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const p of r.phases || []) if (p.status !== "ok" && p.status !== "skipped") {
      const t = ((p.stderr && p.stderr.text) || (p.errors || []).join("\n") || p.reason || "").trim().split("\n").slice(-3).join(" / ");
      console.log("    " + p.name + ": " + t.slice(0, 300));
    }' "$dir/report.json"
  [ "$bad" = 1 ] && fail=1
done
exit $fail
