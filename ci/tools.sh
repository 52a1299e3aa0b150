# Sourced by the ci/ scripts: a venv with the pinned packaging tools (ci/requirements-tools.txt).
#   TOOLS_VENV  where it lives (default .ci-tools); created or brought up to the pins when needed
tools_venv() {
    local venv=${TOOLS_VENV:-.ci-tools}
    if [ ! -x "$venv/bin/python" ]; then
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    if ! cmp -s ci/requirements-tools.txt "$venv/.installed-requirements"; then
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r ci/requirements-tools.txt
        cp ci/requirements-tools.txt "$venv/.installed-requirements"
    fi
    cd "$venv" && pwd && cd - >/dev/null
}

# Seconds since the epoch of the last commit: every timestamp in wheels and sdist (reproducible).
source_date_epoch() {
    git log -1 --format=%ct 2>/dev/null || echo 315532800
}
