"""The `skyutils` command as a user runs it."""

import json
import os
import subprocess
import sys

import pytest

import skyutils
from skyutils import _native, cli


def test_module_runs_info_json():
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'info', '--json'],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(done.stdout)
    assert set(info['functions']) >= {'base36_encode', 'is_process_alive'}
    assert info['library']['loaded'] == (_native.LIB is not None)


def test_info_table(capsys):
    assert cli.main(['info']) == 0
    out = capsys.readouterr().out
    assert out.startswith('skyutils ')
    assert 'read_last_n_lines' in out


def test_bench_one_function(tmp_path, capsys):
    report_path = tmp_path / 'bench.json'
    assert (
        cli.main(['bench', '--quick', '--function', 'base36_encode', '--json', str(report_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert '| base36_encode | 32-digit hex |' in out
    report = json.loads(report_path.read_text())
    [result] = report['results']
    assert result['function'] == 'base36_encode'
    assert set(result['seconds']) >= {'skyutils', 'python'}
    assert all(seconds > 0 for seconds in result['seconds'].values())
    assert ('native' in result['seconds']) == (_native.LIB is not None)


def test_bench_html_report(tmp_path, capsys):
    page = tmp_path / 'bench.html'
    assert cli.main(['bench', '--quick', '--function', 'format_float', '--html', str(page)]) == 0
    text = page.read_text()
    assert text.startswith('<!doctype html>') and '<svg' in text
    assert 'format_float' in text and '</table>' in text


def test_bench_unknown_function(capsys):
    assert cli.main(['bench', '--function', 'no_such_function']) == 2
    assert 'no such function: no_such_function' in capsys.readouterr().err
    # Public names that are not one of the twelve have no case: refused before any work.
    assert cli.main(['bench', '--function', 'backend_info']) == 2
    assert 'no such function: backend_info (one of: base36_encode' in capsys.readouterr().err


def run_cli(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, '-m', 'skyutils', *args],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
    )


def test_check_passes_and_reports_json():
    done = run_cli('check', '--json')
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report['mismatches'] == 0
    functions = {row['function'] for row in report['rows']}
    assert functions == set(skyutils.__all__) - {
        'get_max_workers',
        'backend_info',
        'patch_skypilot',
        'unpatch_skypilot',
    }
    if _native.LIB is not None:
        assert any('native' in row['results'] for row in report['rows'])


def test_check_require_native_fails_without_the_library():
    done = run_cli('check', '--require-native', env={'SKYPILOT_USE_RUST': '0'})
    assert done.returncode == 1
    assert 'SKYPILOT_USE_RUST=0' in done.stderr
    assert run_cli('check', env={'SKYPILOT_USE_RUST': '0'}).returncode == 0


def test_check_reports_a_mismatch(monkeypatch, capsys):
    from skyutils import _pure

    monkeypatch.setattr(_pure, 'format_float', lambda num, precision=1: 'wrong')
    assert cli.main(['check']) == 1
    captured = capsys.readouterr()
    assert 'MISMATCH' in captured.out
    assert 'the backends disagree' in captured.err


def test_info_reports_the_setting():
    done = run_cli('info', env={'SKYPILOT_USE_RUST': '0'})
    assert done.returncode == 0
    assert 'SKYPILOT_USE_RUST=0' in done.stdout
    assert 'backend: python' in done.stdout


def test_usage_errors_exit_2():
    assert run_cli('no-such-command').returncode == 2
    assert run_cli('migrate', '/no/such/path').returncode == 2


@pytest.mark.parametrize('option', ['--json', '--html'])
def test_bench_checks_its_output_paths_before_measuring(option, tmp_path, capsys, monkeypatch):
    from skyutils import bench

    def never(*args, **kwargs):
        raise AssertionError('the benchmark ran before its arguments were checked')

    monkeypatch.setattr(bench, 'run', never)
    for path, said in (
        (tmp_path / 'no' / 'such' / 'dir' / 'b.out', 'no such directory'),
        (tmp_path, 'is a directory'),
    ):
        assert cli.main(['bench', option, str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and said in err, err


COMMANDS = ('info', 'check', 'bench', 'migrate')


def test_help_documents_exit_codes_and_every_command():
    done = run_cli('--help')
    assert done.returncode == 0
    text = ' '.join(done.stdout.split())
    assert 'Exit codes: 0 success, 1 a failed check' in text and '2 a usage error' in text
    for command in COMMANDS:
        assert f'  {command} ' in done.stdout, command
        sub = run_cli(command, '--help')
        assert sub.returncode == 0
        assert 'examples:' in sub.stdout and f'skyutils {command}' in sub.stdout, command
        assert '--json' in sub.stdout, f'{command} prints data but has no --json'


def test_every_command_prints_json(tmp_path):
    """--json gives one JSON document on stdout, for each command that prints data."""
    (tmp_path / 'uses.py').write_text(
        'from sky.utils.common_utils import base36_encode\nbase36_encode("ff")\n'
    )
    runs = {
        'info': run_cli('info', '--json'),
        'check': run_cli('check', '--json'),
        'bench': run_cli('bench', '--startup', '--runs', '3', '--json', '-'),
    }
    try:
        import libcst  # noqa: F401
    except ImportError:
        pass  # migrate needs its extra; its JSON is tested where libcst is installed
    else:
        runs['migrate'] = run_cli('migrate', '--check', '--json', str(tmp_path))
    for command, done in runs.items():
        document = json.loads(done.stdout)
        assert isinstance(document, dict), command
    assert runs['bench'].returncode == 0 and runs['bench'].stdout.lstrip().startswith('{')
    if 'migrate' in runs:
        assert runs['migrate'].returncode == 1  # --check: something can move
        uses = json.loads(runs['migrate'].stdout)['uses']
        assert [(u['line'], u['function']) for u in uses] == [(1, 'base36_encode')]


def test_migrate_json_refuses_a_rewrite_mode(tmp_path):
    done = run_cli('migrate', '--diff', '--json', str(tmp_path))
    assert done.returncode == 2 and done.stderr.count('\n') == 1
