"""`skyutils migrate` on code that uses SkyPilot's functions in every import style."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('libcst', reason='skyutils migrate needs libcst (skypilot-rust[migrate])')

from skyutils import cli, migrate

BEFORE = textwrap.dedent('''\
    """A module of a SkyPilot plugin."""
    import os  # unrelated
    from sky.utils.common_utils import base36_encode, make_cluster_name_on_cloud
    from sky.utils.common_utils import format_float as ff  # aliased
    from sky.utils.subprocess_utils import (
        get_parallel_threads,
        run_in_parallel,
    )
    from sky.utils import common_utils
    from sky.utils import subprocess_utils as su
    import sky.utils.common_utils
    import sky.utils.common_utils as cu


    def work(x):
        # comments survive
        a = base36_encode(x)  # call through a from-import
        b = common_utils.read_last_n_lines('/var/log/x', 10)
        c = su.get_max_workers_for_file_mounts({})
        d = sky.utils.common_utils.get_cpu_count()
        e = cu.get_mem_size_gb()
        f = common_utils.get_user_hash()  # not one of ours: stays
        g = get_parallel_threads('kubernetes')
        callback = common_utils.hash_file  # a reference, not a call
        return ff(a), b, c, d, e, f, g, callback, os.sep, run_in_parallel, \\
            make_cluster_name_on_cloud
''')

AFTER = textwrap.dedent('''\
    """A module of a SkyPilot plugin."""
    import os  # unrelated
    from sky.utils.common_utils import make_cluster_name_on_cloud
    from skyutils import base36_encode
    from skyutils import format_float as ff  # aliased
    from sky.utils.subprocess_utils import (
        run_in_parallel)
    from skyutils import get_parallel_threads
    import skyutils
    from sky.utils import common_utils


    def work(x):
        # comments survive
        a = base36_encode(x)  # call through a from-import
        b = skyutils.read_last_n_lines('/var/log/x', 10)
        c = skyutils.get_max_workers_for_file_mounts({})
        d = skyutils.get_cpu_count()
        e = skyutils.get_mem_size_gb()
        f = common_utils.get_user_hash()  # not one of ours: stays
        g = get_parallel_threads('kubernetes')
        callback = skyutils.hash_file  # a reference, not a call
        return ff(a), b, c, d, e, f, g, callback, os.sep, run_in_parallel, \\
            make_cluster_name_on_cloud
''')


def test_every_import_style_moves():
    new, uses = migrate.migrate_source(BEFORE, 'plugin.py')
    assert new == AFTER
    assert [(u.line, u.function, u.style) for u in uses] == [
        (3, 'base36_encode', 'from-import'),
        (4, 'format_float', 'from-import'),
        (5, 'get_parallel_threads', 'from-import'),
        (18, 'read_last_n_lines', 'module attribute'),
        (19, 'get_max_workers_for_file_mounts', 'module attribute'),
        (20, 'get_cpu_count', 'module attribute'),
        (21, 'get_mem_size_gb', 'module attribute'),
        (24, 'hash_file', 'module attribute'),
    ]


def test_migrated_code_compiles_and_is_stable():
    compile(AFTER, 'plugin.py', 'exec')
    again, uses = migrate.migrate_source(AFTER, 'plugin.py')
    assert again == AFTER and uses == []


@pytest.mark.parametrize(
    'source',
    [
        'import os\nprint(os.getcwd())\n',
        'from sky.utils.common_utils import get_user_hash\nget_user_hash()\n',
        'from mylib.common_utils import base36_encode\nbase36_encode("ff")\n',
        'def base36_encode(x):\n    return x\n',
    ],
)
def test_nothing_to_move(source):
    assert migrate.migrate_source(source) == (source, [])


@pytest.fixture
def project(tmp_path):
    (tmp_path / 'pkg').mkdir()
    (tmp_path / 'pkg' / 'plugin.py').write_text(BEFORE)
    (tmp_path / 'pkg' / 'clean.py').write_text('import os\n')
    (tmp_path / 'pkg' / 'broken.txt').write_text('not python')
    return tmp_path


def test_check_diff_and_write(project, capsys):
    pkg = str(project / 'pkg')
    assert cli.main(['migrate', '--check', pkg]) == 1
    out = capsys.readouterr().out
    assert 'plugin.py:3: base36_encode (from-import) can move to skyutils' in out
    assert '8 use(s) in 1 of 2 file(s) can move to skyutils' in out
    assert (project / 'pkg' / 'plugin.py').read_text() == BEFORE  # --check writes nothing

    assert cli.main(['migrate', '--diff', pkg]) == 0
    diff = capsys.readouterr().out
    assert '-from sky.utils import subprocess_utils as su' in diff
    assert '+import skyutils' in diff

    os.chmod(project / 'pkg' / 'plugin.py', 0o640)
    assert cli.main(['migrate', '--write', pkg]) == 0
    assert (project / 'pkg' / 'plugin.py').read_text() == AFTER
    assert os.stat(project / 'pkg' / 'plugin.py').st_mode & 0o777 == 0o640
    assert cli.main(['migrate', '--check', pkg]) == 0
    assert 'nothing to move in 2 file(s)' in capsys.readouterr().out


@pytest.mark.parametrize('mode', [[], ['--check'], ['--diff'], ['--write']])
def test_unparsable_file_is_an_error(tmp_path, capsys, mode):
    (tmp_path / 'bad.py').write_text('def (:\n    base36_encode(x)\n')
    (tmp_path / 'fine.py').write_text('import os\n')
    assert cli.main(['migrate', *mode, str(tmp_path)]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err  # with --diff, the report goes to stderr
    assert 'bad.py: error: cannot parse' in out
    assert '1 file(s) could not be parsed' in out


GROUPED = textwrap.dedent('''\
    """SkyPilot's own layout: standard library, third party, then sky."""
    import os
    import typing

    import jsonschema  # third party

    from sky import exceptions
    from sky.utils import common_utils  # the helpers
    from sky.utils import ux_utils


    def f():
        return common_utils.format_float(os.sep and 1.5), jsonschema, typing, exceptions, ux_utils
''')


def test_import_skyutils_joins_the_third_party_group_and_comments_survive():
    new, uses = migrate.migrate_source(GROUPED, 'grouped.py')
    assert [u.function for u in uses] == ['format_float']
    assert new == textwrap.dedent('''\
        """SkyPilot's own layout: standard library, third party, then sky."""
        import os
        import typing

        import jsonschema  # third party
        import skyutils

        from sky import exceptions
        # the helpers
        from sky.utils import ux_utils


        def f():
            return skyutils.format_float(os.sep and 1.5), jsonschema, typing, exceptions, ux_utils
    ''')
    compile(new, 'grouped.py', 'exec')


def test_without_a_third_party_group_skyutils_gets_its_own():
    source = (
        'import os\n\nfrom sky.utils import common_utils\n\n'
        'print(common_utils.get_cpu_count(), os.sep)\n'
    )
    new, _ = migrate.migrate_source(source, 'x.py')
    assert new == 'import os\n\nimport skyutils\n\nprint(skyutils.get_cpu_count(), os.sep)\n'


def test_calls_inside_skypilot_s_own_module_move_and_definitions_stay(tmp_path):
    path = tmp_path / 'sky' / 'utils' / 'common_utils.py'
    path.parent.mkdir(parents=True)
    source = textwrap.dedent('''\
        import os


        def base36_encode(hex_str):
            return hex_str


        def make_name(x):
            return base36_encode(x) + os.sep


        def get_cpu_count():
            return len(map(base36_encode, [os.sep]))  # inside a definition: stays
    ''')
    new, uses = migrate.migrate_source(source, str(path))
    assert [(u.line, u.function, u.style) for u in uses] == [(9, 'base36_encode', 'own module')]
    assert 'def base36_encode(hex_str):' in new
    assert 'return skyutils.base36_encode(x) + os.sep' in new
    assert 'return len(map(base36_encode, [os.sep]))' in new
    assert new.startswith('import os\n\nimport skyutils\n')
    # The same text anywhere else is some other module's own function: nothing moves.
    assert migrate.migrate_source(source, str(tmp_path / 'mine.py')) == (source, [])


def test_diff_applies_with_patch_p0(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    (project / 'pkg' / 'tail.py').write_text(
        'from sky.utils import common_utils\ncommon_utils.hash_file("x", "md5")'
    )  # no newline
    assert cli.main(['migrate', '--diff', '-j', '2', 'pkg']) == 0
    diff = capsys.readouterr().out
    assert diff.startswith('--- pkg/plugin.py\n+++ pkg/plugin.py\n')  # the patch alone
    patch = shutil.which('patch')
    if patch is None:
        pytest.skip('no patch(1)')
    subprocess.run(
        [patch, '-p0', '--dry-run'], input=diff, text=True, check=True, capture_output=True
    )
    git = shutil.which('git')
    if git:
        subprocess.run(
            [git, 'apply', '-p0', '--check', '-'],
            input=diff,
            text=True,
            check=True,
            capture_output=True,
        )
    subprocess.run([patch, '-p0'], input=diff, text=True, check=True, capture_output=True)
    assert (project / 'pkg' / 'plugin.py').read_text() == AFTER
    assert (project / 'pkg' / 'tail.py').read_text() == (
        'import skyutils\nskyutils.hash_file("x", "md5")'
    )
    assert cli.main(['migrate', '--check', 'pkg']) == 0


def test_every_subcommand_has_a_description():
    for command in ('info', 'check', 'bench', 'migrate'):
        done = subprocess.run(
            [sys.executable, '-m', 'skyutils', command, '--help'],
            capture_output=True,
            text=True,
            check=True,
        )
        assert 'usage: skyutils ' + command in done.stdout
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'migrate', '--help'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 'examples:' in done.stdout and '--jobs' in done.stdout


def test_console_script_form(project):
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'migrate', '--check', str(project / 'pkg')],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert 'can move to skyutils' in done.stdout
