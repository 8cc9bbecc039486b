#!/usr/bin/env bash
# The install steps of action.yml, one phase per step (see the comments there for why it works this way):
#   key           check the runner's Python; output the installer (uv or pip) and the dependencies' cache key
#   dependencies  a fresh venv holding exactly action-requirements.txt (generated from uv.lock, every file hashed)
#   product       llm-pages-deployer itself from the action's directory, no dependencies, no download
# With uv on PATH uv installs (about a second, from its own cache); without it the venv's pip does, and action.yml
# caches the venv.
# Every failure is one `::error` line naming the cause; the installer's own output goes in a log group before it.
set -euo pipefail

venv="$RUNNER_TEMP/llm-pages-deployer"
requirements="$GITHUB_ACTION_PATH/action-requirements.txt"

fail() {
  echo "::error title=llm-pages-deployer::$1"
  exit 1
}

installer() {
  if command -v uv >/dev/null 2>&1; then echo uv; else echo pip; fi
}

# The gist of an installer's failure: pip's first `ERROR:` line, or uv's first `error:` line and its last cause.
gist() {
  local first cause
  first="$(grep -m 1 -E '^(ERROR|error):' "$1" || grep -v '^[[:space:]]*$' "$1" | tail -n 1 || true)"
  cause="$(grep -E '^[[:space:]]*(Caused by|cause):' "$1" | tail -n 1 | sed -E 's/^[[:space:]]*(Caused by|cause):[[:space:]]*//' || true)"
  echo "$first${cause:+ ($cause)}"
}

# Run "$@" quietly; on failure show its output in a log group, then one error line with its gist.
run_or_fail() {
  local what="$1" log
  shift
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    echo "::group::output of the failed command"
    cat "$log"
    echo "::endgroup::"
    fail "$what: $(gist "$log")"
  fi
  rm -f "$log"
}

key() {
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    fail "needs Python 3.11 or later on the runner, found $(python3 --version 2>&1). Use runs-on: ubuntu-latest, or add actions/setup-python (python-version 3.11 or later) before this step."
  fi
  [ -f "$requirements" ] || fail "$requirements is missing: the action's checkout is incomplete"
  # The venv is only valid for the interpreter it was made from and the installer that filled it.
  python3 - "$requirements" "$(installer)" >>"$GITHUB_OUTPUT" <<'EOF'
import hashlib, os, platform, sys
requirements, installer = sys.argv[1], sys.argv[2]
digest = hashlib.sha256()
digest.update(open(requirements, "rb").read())
digest.update(f"{sys.base_prefix}|{sys.version}|{installer}".encode())
python = f"{platform.python_implementation().lower()}{platform.python_version()}"
runner = f"{os.environ.get('RUNNER_OS', platform.system())}-{os.environ.get('RUNNER_ARCH', platform.machine())}"
print(f"installer={installer}")
print(f"key=llm-pages-deployer-deps-{runner}-{python}-{installer}-{digest.hexdigest()[:32]}")
EOF
}

dependencies() {
  rm -rf "$venv"
  if [ "$(installer)" = uv ]; then
    run_or_fail "cannot create a virtual environment with uv" \
      uv venv --quiet --no-config --python "$(command -v python3)" "$venv"
    run_or_fail "cannot install the dependencies uv.lock pins (action-requirements.txt) with uv" \
      uv pip install --no-config --python "$venv/bin/python" --require-hashes --no-deps --only-binary :all: \
      -r "$requirements"
  else
    run_or_fail "cannot create a virtual environment with $(command -v python3) -m venv" python3 -m venv "$venv"
    run_or_fail "cannot install the dependencies uv.lock pins (action-requirements.txt) with pip" \
      "$venv/bin/python" -m pip install --disable-pip-version-check --require-hashes --no-deps \
      --only-binary :all: -r "$requirements"
  fi
}

product() {
  [ -x "$venv/bin/python" ] || fail "no environment at $venv: the dependencies step did not run"
  # The build backend (hatchling) is one of the pinned dependencies, so nothing is fetched here.
  if [ "$(installer)" = uv ]; then
    run_or_fail "cannot install llm-pages-deployer from $GITHUB_ACTION_PATH with uv" \
      uv pip install --no-config --python "$venv/bin/python" --no-deps --no-build-isolation --offline \
      "$GITHUB_ACTION_PATH"
  else
    run_or_fail "cannot install llm-pages-deployer from $GITHUB_ACTION_PATH with pip" \
      "$venv/bin/python" -m pip install --disable-pip-version-check --no-deps --no-build-isolation --no-index \
      "$GITHUB_ACTION_PATH"
  fi
}

case "${1:-}" in
  key | dependencies | product) "$1" ;;
  *) fail "action-install.sh: unknown phase '${1:-}' (key, dependencies or product)" ;;
esac
