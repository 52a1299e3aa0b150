"""The workdir upload of `sky exec` to a team API server (issue 28), as a user meets it: a real
local API server (own HOME, private port) that the client treats as remote
(SKYPILOT_API_SERVER_ENDPOINT, its own local port elsewhere), the workdirs of ci/workdirs.py.

Run it with the Python of a venv that has skypilot and skypilot-rust installed:
  python ci/skypilot_upload.py test              the .ci/run check (exit 1 on a failure)
  python ci/skypilot_upload.py bench [--quick]   the upload figures of docs/benchmarks.md
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skypilot_server as servers
import workdirs

LOG_ENV = 'SKYUTILS_SERVED_LOG'  # skyutils.skypilot.LOG_ENV, without importing skyutils

CACHE = os.path.expanduser('~/.cache/skyutils-workdirs')
# The sky CLI in this process, then what served the zip and the id (stderr, one JSON line).
_CLIENT = r'''
import atexit, json, sys
def said():
    found = {}
    for name in ('zip_files', 'blob_id'):
        module = sys.modules.get('skyutils.skypilot.' + name)
        found[name] = module.last['outcome'] if module else None
    print('SKYUTILS ' + json.dumps(found), file=sys.stderr)
atexit.register(said)
from sky.client.cli.command import cli
sys.argv = ['sky'] + sys.argv[1:]
cli()
'''
# Step by step in a fresh process: SkyPilot's zip and blob id of a workdir, as the client
# calls them (whatever the hook put in their place), each timed; CPU time of the whole.
_STEPS = r'''
import json, os, sys, tempfile, time
from sky.client import common
from sky.data import storage_utils
workdir, threads = sys.argv[1], sys.argv[2]
with tempfile.NamedTemporaryFile(suffix='.zip', delete=False) as f:
    path = f.name
cpu = time.process_time()
started = time.perf_counter()
storage_utils.zip_files_and_folders([workdir], path)
zipped = time.perf_counter()
blob = common._compute_zip_blob_id(path)
done = time.perf_counter()
size = os.path.getsize(path)
os.unlink(path)
print(json.dumps([zipped - started, done - zipped, time.process_time() - cpu, size, blob]))
'''

# In a fresh process: SkyPilot's server extraction of an upload (sky.server.server.unzip_file,
# which deletes the zip: the caller passes a copy), timed; CPU time of the whole process.
_EXTRACT = r'''
import asyncio, json, os, pathlib, sys, time
from sky.server import server
zip_path, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
target.mkdir(parents=True)
before = os.times()
started = time.perf_counter()
asyncio.run(server.unzip_file(zip_path, target))
took = time.perf_counter() - started
after = os.times()
module = sys.modules.get('skyutils.skypilot.extract')
user, system = after.user - before.user, after.system - before.system
print(json.dumps([took, user + system, module.last['outcome'] if module else None, user, system]))
'''


def client_env(server, hook: bool) -> Dict[str, str]:
    env = dict(server['env'])
    env['SKYPILOT_API_SERVER_ENDPOINT'] = f'http://127.0.0.1:{server["port"]}'
    env['SKYPILOT_API_SERVER_LOCAL_PORT'] = str(servers.free_port())  # not the server's
    env.pop('SKYPILOT_USE_RUST', None)
    if not hook:
        env['SKYPILOT_USE_RUST'] = '0'
    return env


def launch(server, workdir: str, hook: bool):
    """`sky exec` of a task with this workdir on a cluster that does not exist: the upload
    happens, then the request fails as it must here. (seconds, stdout+stderr, served)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, '-c', _CLIENT, 'exec', 'no-such-cluster', '--workdir', workdir,
         'echo hi'],
        env=client_env(server, hook), capture_output=True, text=True, timeout=900,
        cwd=server['home'],
    )  # fmt: skip
    took = time.perf_counter() - started
    served = {}
    for line in done.stderr.splitlines():
        if line.startswith('SKYUTILS '):
            served = json.loads(line[len('SKYUTILS ') :])
    return took, done.stdout + done.stderr, served


def upload_logs(server) -> List[str]:
    logs = os.path.join(server['home'], 'sky_logs', 'file_uploads')
    names = sorted(os.listdir(logs), key=lambda n: os.path.getmtime(os.path.join(logs, n)))
    found = []
    for name in names:
        with open(os.path.join(logs, name), encoding='utf-8', errors='replace') as f:
            found.append(f.read())
    return found


def _served_calls(path: str, function: str) -> List[str]:
    """The outcomes of `function`'s served calls in SKYUTILS_SERVED_LOG's file `path`."""
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as f:
        calls = [json.loads(line) for line in f if line.strip()]
    return [c['outcome'] for c in calls if c['function'] == function]


def _tree(root: str) -> Dict[str, object]:
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ('link', os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = 'dir'
            else:
                with open(path, 'rb') as f:
                    found[rel] = f.read()
    return found


def test(args) -> int:
    """Three launches of one workdir through a real server: hook on (the zip and id served,
    the blob uploaded and extracted by SkyPilot's server), hook off (SkyPilot's own zip and id
    find the same blob: the ids agree), hook on again (found too)."""
    problems = []
    work = tempfile.mkdtemp(prefix='upload-test-')
    try:
        workdir = os.path.join(work, 'project')
        workdirs.make_repo(workdir)  # a git repository with a .gitignore, 5,000 files
        served_log = os.path.join(work, 'served.jsonl')  # what the server's served calls did
        os.environ[LOG_ENV] = served_log
        try:
            with servers.api_server(hook=True) as server:
                runs = [launch(server, workdir, hook) for hook in (True, False, True)]
                logs = upload_logs(server)
                blobs = os.path.join(server['home'], '.sky', 'api_server', 'clients')
                extracted = [
                    os.path.join(d, n)
                    for d, dirs, _ in os.walk(blobs)
                    if os.path.basename(d) == 'blobs'
                    for n in dirs
                    if not n.startswith('.')
                ]
                got = _tree(extracted[0]) if len(extracted) == 1 else {}
        finally:
            os.environ.pop(LOG_ENV, None)
        extractions = _served_calls(served_log, '_extract_members')
        print(f'the server extracted {len(extractions)} upload(s): {extractions}')
        if extractions != ['native']:
            problems.append(f'the server should extract the one upload natively: {extractions}')
        for index, (took, output, served) in enumerate(runs):
            hook = index != 1
            print(f'launch {index + 1} (hook {"on" if hook else "off"}): {took:.2f} s, {served}')
            if 'Uploading files to API server' not in output or 'ClusterDoesNotExist' not in output:
                problems.append(
                    f'launch {index + 1} did not upload and fail as expected:\n{output}'
                )
            if hook and served.get('zip_files') != 'native':
                problems.append(f'launch {index + 1}: the zip was not served natively: {served}')
            if hook and served.get('blob_id') != 'written here':
                problems.append(f'launch {index + 1}: the blob id was not free: {served}')
        if len(logs) != 3 or 'Blob already exists' in logs[0]:
            problems.append(f'the first launch should upload: {logs[:1]}')
        for index in (1, 2):
            if index < len(logs) and 'Blob already exists, skipping' not in logs[index]:
                problems.append(f'launch {index + 1} should find the blob uploaded: {logs[index]}')
        if len(extracted) != 1:
            problems.append(f'one blob should be on the server: {extracted}')
        else:
            want = _tree(workdir)
            # The server's copy holds the workdir under its absolute path, minus what git ignores.
            inside = {k.split(workdir.lstrip('/') + os.sep, 1)[-1]: v for k, v in got.items()}
            ignored = ('build', '.git', 'run.log')  # what the .gitignore of make_repo leaves out
            missing = [k for k in want if k not in inside and not k.startswith(ignored)]
            differ = [k for k, v in inside.items() if k in want and want[k] != v]
            if missing or differ:
                problems.append(f'the server extracted another tree: {missing[:5]} {differ[:5]}')
            print(f'the server extracted {len(got)} entries; the workdir has {len(want)}')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f'ci/test-skypilot-server (upload): {problem}', file=sys.stderr)
    return 1 if problems else 0


def _fresh_steps(workdir: str, hook: bool, threads: str = '') -> List:
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    if not hook:
        env['SKYPILOT_USE_RUST'] = '0'
    if threads:
        env['SKYUTILS_THREADS'] = threads
    done = subprocess.run(
        [sys.executable, '-c', _STEPS, workdir, threads], env=env, capture_output=True,
        text=True, check=True, timeout=1800,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _floor(argv: List[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def bench(args) -> int:
    """Zip and blob id step by step (fresh processes, hook on and off interleaved), with the
    work limited to 1 and 2 threads, the floors of other tools in the same run, and `sky exec`
    end to end through a real server."""
    print(f'Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}')
    names = ['repo', 'tiny'] if args.quick else ['repo', 'tiny', 'big']
    if args.workdirs:
        names = args.workdirs.split(',')
    runs = {'repo': 5, 'tiny': 3, 'big': 2} if not args.quick else {'repo': 3, 'tiny': 1}
    scratch = tempfile.mkdtemp(prefix='upload-bench-')
    try:
        for name in names:
            workdir = workdirs.ensure(CACHE, name)
            if not args.extract_only:
                _steps_bench(name, workdir, runs[name], scratch)
            _extract_bench(name, workdir, runs[name], scratch)
        if not args.no_launch:
            _end_to_end(args, workdirs.ensure(CACHE, 'repo'))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _steps_bench(name: str, workdir: str, runs: int, scratch: str) -> None:
    got: Dict[str, List] = {'on': [], 'off': [], '1 thread': [], '2 threads': []}
    for index in range(runs):
        order = ['on', 'off'] if index % 2 == 0 else ['off', 'on']
        for side in order:
            got[side].append(_fresh_steps(workdir, side == 'on'))
    got['1 thread'].append(_fresh_steps(workdir, True, '1'))
    got['2 threads'].append(_fresh_steps(workdir, True, '2'))
    blobs = {r[4] for rows in got.values() for r in rows}
    assert len(blobs) == 1, f'the blob ids differ: {blobs}'

    def median(side, i):
        return statistics.median(r[i] for r in got[side])

    on = median('on', 0) + median('on', 1)
    off = median('off', 0) + median('off', 1)
    spread = max(r[0] + r[1] for r in got['on']) / max(min(r[0] + r[1] for r in got['on']), 1e-9)
    print(
        f'{name}: zip + blob id, hook on {median("on", 0):.2f} + {median("on", 1):.3f} s '
        f'({median("on", 2):.1f} s CPU), off {median("off", 0):.2f} + {median("off", 1):.2f} s '
        f'({median("off", 2):.1f} s CPU): {off / on:.2f}x faster; zip {int(median("on", 3)) >> 20} '
        f'MiB on, {int(median("off", 3)) >> 20} MiB off ({runs} fresh processes each, interleaved'
        + (
            f'; noisy: the slowest served run took {spread:.2f}x the fastest)'
            if spread > 1.3
            else ')'
        )
    )
    one = got['1 thread'][0][0] + got['1 thread'][0][1]
    two = got['2 threads'][0][0] + got['2 threads'][0][1]
    print(
        f'  served with 1 thread {one:.2f} s, 2 threads {two:.2f} s ({one / two:.2f}x): a '
        f'machine with 2x the cores gives about that ratio again on the compression, '
        f'{off / two * (one / two):.1f}x over SkyPilot alone here if it held'
    )
    floors = {}
    out = os.path.join(scratch, 'floor.zip')
    if shutil.which('zip'):
        for level in ('-6', '-1'):
            floors[f'zip {level}'] = _floor(['zip', '-q', '-r', level, out, '.'], workdir)
            os.unlink(out)
    floors['tar read'] = _floor(['tar', 'cf', '/dev/null', '.'], workdir)
    if shutil.which('pigz'):
        floors['tar | pigz -p2'] = _floor(
            ['sh', '-c', f'tar cf - . | pigz -p2 > {out}.tgz'], workdir
        )
    print('  floors: ' + ', '.join(f'{k} {v:.2f} s' for k, v in floors.items()))


def _fresh_extract(zip_path: str, scratch: str, hook: bool) -> List:
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    if not hook:
        env['SKYPILOT_USE_RUST'] = '0'
    copy, target = os.path.join(scratch, 'upload.zip'), os.path.join(scratch, 'extracted')
    # The last run's tree removed and written back before this run starts: the file system's
    # deferred work for 100,000 removed files otherwise slows the next run's creations (3-4x).
    shutil.rmtree(target, ignore_errors=True)
    shutil.copyfile(zip_path, copy)
    os.sync()
    done = subprocess.run(
        [sys.executable, '-c', _EXTRACT, copy, target], env=env, capture_output=True,
        text=True, check=True, timeout=1800, cwd=scratch,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def _extract_bench(name: str, workdir: str, runs: int, scratch: str) -> None:
    """The server's extraction of the workdir's upload (SkyPilot's own zip of it), hook on
    and off interleaved in fresh processes; the first pair's trees compared."""
    zip_path = os.path.join(scratch, f'{name}.zip')
    env = dict(os.environ, SKYPILOT_USE_RUST='0')
    made = (
        'from sky.data import storage_utils; '
        f'storage_utils.zip_files_and_folders([{workdir!r}], {zip_path!r})'
    )
    subprocess.run([sys.executable, '-c', made], env=env, check=True, timeout=1800)
    got: Dict[str, List] = {'on': [], 'off': []}
    trees = {}
    for index in range(runs):
        for side in ['on', 'off'] if index % 2 == 0 else ['off', 'on']:
            got[side].append(_fresh_extract(zip_path, scratch, side == 'on'))
            if side not in trees:
                trees[side] = _tree(os.path.join(scratch, 'extracted'))
    floor = ''
    if shutil.which('unzip'):  # the floor: Info-ZIP's unzip, in C, into a fresh tree too
        target = os.path.join(scratch, 'extracted')
        shutil.rmtree(target, ignore_errors=True)
        os.sync()
        before, started = os.times(), time.perf_counter()
        subprocess.run(['unzip', '-q', zip_path, '-d', target], check=True)
        took, after = time.perf_counter() - started, os.times()
        user = after.children_user - before.children_user
        system = after.children_system - before.children_system
        floor = f'; floor unzip -q {took:.2f} s ({user:.2f} user, {system:.2f} system)'
    os.unlink(zip_path)
    shutil.rmtree(os.path.join(scratch, 'extracted'), ignore_errors=True)
    assert trees['on'] == trees['off'], 'the served extraction made another tree'
    outcomes = {r[2] for r in got['on']}

    def median(side, i):
        return statistics.median(r[i] for r in got[side])

    spread = max(r[0] for r in got['on']) / max(min(r[0] for r in got['on']), 1e-9)
    noisy = f'; noisy: the slowest served run took {spread:.2f}x the fastest' * (spread > 1.3)
    print(
        f'{name}: server extraction (unzip_file), hook on {median("on", 0):.2f} s '
        f'({median("on", 1):.2f} s CPU: {median("on", 3):.2f} user, {median("on", 4):.2f} '
        f'system), off {median("off", 0):.2f} s ({median("off", 1):.2f} s CPU: '
        f'{median("off", 3):.2f} user, {median("off", 4):.2f} system): '
        f'{median("off", 1) / median("on", 1):.2f}x less CPU '
        f'({median("off", 3) / max(median("on", 3), 1e-9):.1f}x less user CPU), '
        f'{median("off", 0) / median("on", 0):.2f}x faster; served: {sorted(outcomes)} '
        f'({runs} fresh processes each, interleaved, same tree{noisy}){floor}'
    )


def _end_to_end(args, workdir: str) -> None:
    """`sky exec` with the workdir, each launch a new blob (a marker file changes), hook on
    and off interleaved, through one real server."""
    marker = os.path.join(workdir, '.bench-run')
    times: Dict[str, List[float]] = {'on': [], 'off': []}
    try:
        with servers.api_server(hook=True) as server:
            for index in range(3 if args.quick else 5):
                for hook in (True, False) if index % 2 == 0 else (False, True):
                    with open(marker, 'w') as f:
                        f.write(f'{time.time_ns()}\n')
                    took, output, _ = launch(server, workdir, hook)
                    times['on' if hook else 'off'].append(took)
    finally:
        if os.path.exists(marker):
            os.unlink(marker)
    on, off = statistics.median(times['on']), statistics.median(times['off'])
    print(
        f'sky exec --workdir (repo, remote server on 127.0.0.1, a new blob each launch): hook on '
        f'{on:.2f} s, off {off:.2f} s: {off - on:.2f} s saved (median of {len(times["on"])})'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('test', help='the .ci/run check')
    measure = commands.add_parser('bench', help='hook on and off, in one run')
    measure.add_argument('--quick', action='store_true')
    measure.add_argument('--workdirs', help='which workdirs, comma-separated (repo,tiny,big)')
    measure.add_argument('--no-launch', action='store_true', help='no `sky exec` end to end')
    measure.add_argument('--extract-only', action='store_true', help="only the server's extraction")
    args = parser.parse_args()
    return test(args) if args.command == 'test' else bench(args)


if __name__ == '__main__':
    sys.exit(main())
