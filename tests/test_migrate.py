"""`skyutils migrate` on code that uses SkyPilot's functions in every import style."""
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('libcst', reason='skyutils migrate needs libcst (skypilot-rust[migrate])')

from skyutils import cli, migrate  # noqa: E402

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
    from sky.utils import common_utils
    import skyutils


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


@pytest.mark.parametrize('source', [
    'import os\nprint(os.getcwd())\n',
    'from sky.utils.common_utils import get_user_hash\nget_user_hash()\n',
    'from mylib.common_utils import base36_encode\nbase36_encode("ff")\n',
    'def base36_encode(x):\n    return x\n',
])
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


def test_unparsable_file_is_reported(tmp_path, capsys):
    (tmp_path / 'bad.py').write_text('def (:\n')
    assert cli.main(['migrate', str(tmp_path)]) == 1
    assert 'bad.py: skipped, cannot parse' in capsys.readouterr().out


def test_console_script_form(project):
    done = subprocess.run([sys.executable, '-m', 'skyutils', 'migrate', '--check',
                           str(project / 'pkg')], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert 'can move to skyutils' in done.stdout
