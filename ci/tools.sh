# Sourced by the ci/ scripts: a venv with the pinned packaging tools (wheelhouse-config/requirements-tools.txt).
#   TOOLS_VENV  where it lives (default .ci-tools); created or brought up to the pins when needed
tools_venv() {
    local venv=${TOOLS_VENV:-.ci-tools}
    if [ ! -x "$venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    if ! cmp -s wheelhouse-config/requirements-tools.txt "$venv/.installed-requirements"; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r wheelhouse-config/requirements-tools.txt
        cp wheelhouse-config/requirements-tools.txt "$venv/.installed-requirements"
    fi
    cd "$venv" && pwd && cd - >/dev/null
}

# Seconds since the epoch of the last commit: every timestamp in wheels and sdist (reproducible).
source_date_epoch() {
    git log -1 --format=%ct 2>/dev/null || echo 315532800
}

# Off macOS: Apple's Mach-O tools by their Apple names (lipo, otool, install_name_tool), from
# Debian's LLVM, in a directory put first on PATH; delocate and build_native.py call them so.
llvm_mac_tools() {  # directory for the links
    local dir=$1 tool llvm
    mkdir -p "$dir"
    for tool in lipo otool install_name_tool; do
        llvm=$(command -v "llvm-${tool//_/-}" || ls /usr/lib/llvm-*/bin/"llvm-${tool//_/-}" 2>/dev/null | sort -V | tail -n 1)
        [ -n "$llvm" ] || { echo "no llvm-${tool//_/-}: install Debian's llvm (ci/platform-deps)" >&2; return 1; }
        if [ "$tool" = otool ]; then
            # delocate passes Apple's -m (plain member names), which llvm-otool lacks and
            # which changes nothing for a library that is not in an archive.
            printf '#!/bin/sh\nfor a; do shift; [ "$a" = -m ] || set -- "$@" "$a"; done\nexec %s "$@"\n' \
                "$llvm" >"$dir/otool"
            chmod +x "$dir/otool"
        else
            ln -sf "$llvm" "$dir/$tool"
        fi
    done
    export PATH="$dir:$PATH"
}

# The CPython X.Y of this machine: pyenv's newest X.Y.*, else python X.Y on PATH; empty if none.
cpython_of() {
    local candidate=""
    if command -v pyenv >/dev/null 2>&1; then
        candidate=$(ls -d "$(pyenv root)"/versions/"$1".*/bin/python3 2>/dev/null | sort -V | tail -n 1)
    fi
    [ -n "$candidate" ] || candidate=$(command -v "python$1" || true)
    echo "$candidate"
}
