# What scripts/run, test, bench, fuzz and keys share; each sources it after `set -euo pipefail`:
#   source "$(dirname "$0")/lib/common.sh"
# It moves to the repository's root, and defines:
#   say TEXT...            a progress line "==> TEXT", after a blank line (say_gap="" leaves it out)
#   die TEXT...            "scripts/NAME: TEXT" on stderr, then exit 2 (a usage error)
#   as_root CMD...         CMD as root (through sudo unless this is root)
#   apt_install MESSAGE PACKAGE...
#                          says MESSAGE, then installs the Debian packages with apt-get
#   missing_build_packages ARRAY
#                          appends to the array named ARRAY what the Swift build needs and lacks
#                          (pkg-config, libzmq3-dev)
#   install_build_packages installs those when missing
#   test_venv              the Python environment of the tests and tools (.build/test-venv), made if
#                          needed, with Tests/python/requirements.txt installed; prints its folder

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say_gap=$'\n'
say() { printf '%s==> %s\n' "$say_gap" "$*"; }
die() { echo "scripts/$(basename "$0"): $*" >&2; exit 2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    say "$1"
    shift
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

missing_build_packages() {
    local -n into="$1"
    command -v pkg-config >/dev/null 2>&1 || into+=(pkg-config)
    pkg-config --exists libzmq 2>/dev/null || into+=(libzmq3-dev)
}

install_build_packages() {
    local missing=()
    missing_build_packages missing
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "Installing Debian packages the build needs: ${missing[*]}" "${missing[@]}"
    fi
}

test_venv() {
    local venv=.build/test-venv
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >&2
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r Tests/python/requirements.txt >&2
    echo "$venv"
}
