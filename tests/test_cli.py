"""The `skyutils` command as a user runs it."""
import json
import subprocess
import sys

from skyutils import _native, cli


def test_module_runs_info_json():
    done = subprocess.run([sys.executable, '-m', 'skyutils', 'info', '--json'],
                          capture_output=True, text=True, check=True)
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
    assert cli.main(['bench', '--quick', '--function', 'base36_encode',
                     '--json', str(report_path)]) == 0
    out = capsys.readouterr().out
    assert '| base36_encode | 32-digit hex |' in out
    report = json.loads(report_path.read_text())
    [result] = report['results']
    assert result['function'] == 'base36_encode'
    assert set(result['seconds']) >= {'skyutils', 'python'}
    assert all(seconds > 0 for seconds in result['seconds'].values())
    assert ('native' in result['seconds']) == (_native.LIB is not None)


def test_bench_unknown_function(capsys):
    assert cli.main(['bench', '--function', 'no_such_function']) == 2
    assert 'no such function: no_such_function' in capsys.readouterr().err
