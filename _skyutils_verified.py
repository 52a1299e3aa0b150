"""The SkyPilot files the startup hook serves: made by `python -m skyutils._release`
from the published wheels, made again and compared by tests/test_verified.py. Do not
edit by hand."""

# module -> {sha256 of the file: (releases with exactly that file, what it reads)}
RELEASES = {
    'sky.utils.common_utils': {
        'ddc068a776db475d575ec6b1807f2858af5847cfc5fdcc2f47bf74e0bb11354d': ('0.10.0', 'common_utils-1'),
        'd9eeceffe05240bd8040f6d9342ab04d493daa7aea5452502d77c33da38599ac': ('0.10.1, 0.10.1.post1', 'common_utils-2'),
        'ecafde191dd2e4ee529401f848116a0ee25335c854470eb9e8e61e474ac2ed09': ('0.10.2', 'common_utils-2'),
        '45647c28341404cecfa763896f46205ee81ff06d74a4db2723bbd72c83cb5bde': ('0.10.3, 0.10.3.post1, 0.10.3.post2', 'common_utils-2'),
        'de9fb1f29539b4017127de5e5be2a963e6913d31aa2fa66f31b50efe24a23d53': ('0.10.5', 'common_utils-3'),
        'c5662f69a3d84a7c81ba4745beb1e795e84d6e764b6a8fe208ce65b7ec979129': ('0.11.0, 0.11.1', 'common_utils-3'),
        '6d94008d54e41fee5d85abf68816b8520ed95ccbfa0483fe4ea2b5e449009b9e': ('0.11.2', 'common_utils-4'),
        'ce535ced1cd21d1dbf86f379d2e911e12e64738d4a35f48233ef2e26dd8ce255': ('0.12.0', 'common_utils-4'),
        'b85791b18c62e13205ae8d41450c3d521ef68b17a03cdd89db9ee52c8f497c6c': ('0.12.1', 'common_utils-4'),
        'c97bb80c447c8226ca9e62179f689eab7a24ce108f5f195d23922dde5fde07cb': ('0.12.2, 0.12.2.post1', 'common_utils-4'),
        '199ce0c98c2ba9791ce8e0d6c8541110a029a92802a9aa6910a8e574b6611539': ('0.12.3, 0.12.3.post1', 'common_utils-4'),
        '5e2fab21c3ad95fda2c3968187daba0bb6d8c3913022c59cd4a5d0146b3a33ba': ('0.13.0', 'common_utils-4'),
        '528f2c1c4f1e3df66cc954293e17c572b937494445c32b11bd677a74924375d4': ('0.14.0, 0.14.1', 'common_utils-4'),
        '06f93d1382d2bd5925555239eb327d34f333d598d17f975e5a92326511453fb1': ('1.0.0.dev20261027', 'common_utils-4'),
    },
    'sky.utils.subprocess_utils': {
        'b4ea4563fd6697b26454600dd68e3bde570a3e494647de6a0425bad5ebbc904a': ('0.10.0, 0.10.1, 0.10.1.post1, 0.10.2, 0.10.3, 0.10.3.post1, 0.10.3.post2', 'subprocess_utils-5'),
        '2ce764d37740f4d0d381b2a2b1d1c65ad2055d3b7178a2110e848efd19bc2484': ('0.10.5', 'subprocess_utils-5'),
        'bc1e80fc5495c68dd1ef993d095fbaf8effbf5a836c676c66b29f97682669ec4': ('0.11.0, 0.11.1', 'subprocess_utils-5'),
        'a22a64387e8b7161f5d020aa01c8d82da07b959f73babc3003bef3c04eeaa0cd': ('0.11.2', 'subprocess_utils-5'),
        '116a6c8f2ec1d884b4c893f5defd2b9467dfd2c248a28d9133174ecd9de64759': ('0.12.0, 0.12.1, 0.12.2, 0.12.2.post1, 0.12.3, 0.12.3.post1', 'subprocess_utils-5'),
        '80fde31db9534e9c15d0da91785b3976a6c3c01fff8c67d676d9b467b5e57ae7': ('0.13.0', 'subprocess_utils-5'),
        'a065de729bb6282fb14f45e2b990932e0d361a8b9f210d6d7a1a2ab79a32dbcc': ('0.14.0, 0.14.1', 'subprocess_utils-5'),
        '2e022408f02c8534f1db651f48a9eb19aa945935d005967f0f7ca953bd7c4e1e': ('1.0.0.dev20261027', 'subprocess_utils-5'),
    },
    'sky.server.stream_utils': {
        'bebca9f759e72ee5dd3c58165e6468c212008913abafaa22ce34531452c9b548': ('0.14.0, 0.14.1', 'stream_utils-6'),
        '5f534e38583da816f5f05f8bb083b952463c0024e78fe52e1e829e7a5f0b0c40': ('1.0.0.dev20261027', 'stream_utils-6'),
    },
    'sky.data.storage_utils': {
        'c9142dd5658b814fb16592a6f7d7662f18d39f1e99103e876d910ced36c9aa84': ('0.12.2, 0.12.2.post1, 0.12.3, 0.12.3.post1, 0.13.0, 0.14.0, 0.14.1, 1.0.0.dev20261027', 'storage_utils-7'),
    },
    'sky.client.common': {
        '85dff2d8a212c2991af7f953449ca2af1b0b7c3875d9bf81dc131bf0a7773f74': ('0.12.0, 0.12.1', 'common-8'),
        '577c0669ae55632fbd5b51fe9c2ec9954b10a41cee5a95bd4ccce18b49ef946d': ('0.12.2, 0.12.2.post1, 0.12.3, 0.12.3.post1, 0.13.0', 'common-8'),
        '1275517352c30a94e8e860be0ea5f33efd9488f2819cf65b8a9d6523248784c9': ('0.14.0, 0.14.1, 1.0.0.dev20261027', 'common-8'),
    },
    'sky.client.sdk': {
        'a11a89004d036b2c8a0fecd4af3dfcdbaaa420e9ffe86270442884ec243e38f8': ('0.13.0', 'sdk-9'),
        'f4b0969e791111df28c3434ac994275eb3b7d9e64e6d69691e4985958e657252': ('0.14.0, 0.14.1', 'sdk-9'),
        '7f98f00dd634391217923c7f05338d0cda46de50ce6d13fe0823e04de28af7cc': ('1.0.0.dev20261027', 'sdk-9'),
    },
    'sky.server.server': {
        '7669adddcb5e5d47f610b90d54bd9d8459d40fb3dd1d2e48aafdfe1c4e8c9383': ('0.14.0', 'server-10'),
        'ae50180215707facabd2d8d0eabcab086a99ae0584ea1eb4063280701dacacc5': ('0.14.1', 'server-10'),
        '4d9874984155e8cfc73469ee33057f353ee9508c8e6c5df81adf1be11dacb831': ('1.0.0.dev20261027', 'server-10'),
    },
}
# profile -> {function: (the dotted names it reads, (global, lazy module)...)}
READS = {
    'common_utils-1': {
        'base36_encode': (
            ('divmod', 'int', 'str'),
            (),
        ),
        'get_cpu_count': (
            ('OSError', 'ValueError', '_cpu_count', '_get_cgroup_cpu_limit', '_is_cgroup_v2', 'float', 'hasattr', 'int', 'len', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'os.sched_getaffinity', 'psutil', 'psutil.cpu_count', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
    },
    'common_utils-2': {
        'base36_encode': (
            ('divmod', 'int', 'str'),
            (),
        ),
        'get_cpu_count': (
            ('OSError', 'ValueError', '_cpu_count', '_get_cgroup_cpu_limit', '_is_cgroup_v2', 'float', 'hasattr', 'int', 'len', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'os.sched_getaffinity', 'psutil', 'psutil.cpu_count', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
        'read_last_n_lines': (
            ('OSError', 'RuntimeError', 'min', 'open', 'os', 'os.SEEK_END', 'os.path', 'os.path.exists', 'reversed', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (),
        ),
    },
    'common_utils-3': {
        'base36_encode': (
            ('divmod', 'int', 'str'),
            (),
        ),
        'get_cpu_count': (
            ('OSError', 'ValueError', '_cpu_count', '_get_cgroup_cpu_limit', '_is_cgroup_v2', 'float', 'hasattr', 'int', 'len', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'os.sched_getaffinity', 'psutil', 'psutil.cpu_count', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
        'get_mem_size_gb': (
            ('OSError', 'ValueError', '_get_cgroup_memory_limit', '_is_cgroup_v2', '_mem_size_gb', 'float', 'int', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'psutil', 'psutil.virtual_memory', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
        'read_last_n_lines': (
            ('OSError', 'RuntimeError', 'min', 'open', 'os', 'os.SEEK_END', 'os.path', 'os.path.exists', 'reversed', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (),
        ),
    },
    'common_utils-4': {
        'base36_encode': (
            ('divmod', 'int', 'str'),
            (),
        ),
        'find_free_port': (
            ('OSError', 'logger', 'range', 'socket', 'socket.AF_INET', 'socket.SOCK_STREAM', 'socket.socket'),
            (),
        ),
        'get_cpu_count': (
            ('OSError', 'ValueError', '_cpu_count', '_get_cgroup_cpu_limit', '_is_cgroup_v2', 'float', 'hasattr', 'int', 'len', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'os.sched_getaffinity', 'psutil', 'psutil.cpu_count', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
        'get_mem_size_gb': (
            ('OSError', 'ValueError', '_get_cgroup_memory_limit', '_is_cgroup_v2', '_mem_size_gb', 'float', 'int', 'min', 'open', 'os', 'os.getenv', 'os.path', 'os.path.isfile', 'psutil', 'psutil.virtual_memory', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (('psutil', 'psutil'),),
        ),
        'read_last_n_lines': (
            ('OSError', 'RuntimeError', 'min', 'open', 'os', 'os.SEEK_END', 'os.path', 'os.path.exists', 'reversed', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (),
        ),
    },
    'subprocess_utils-5': {
        'get_max_workers_for_file_mounts': (
            ('_get_thread_multiplier', 'get_parallel_threads', 'len', 'logger', 'max', 'min', 'os', 'os.cpu_count', 'os.listdir', 'os.path', 'os.path.isdir', 'resource', 'resource.RLIMIT_NOFILE', 'resource.getrlimit'),
            (),
        ),
    },
    'stream_utils-6': {
        '_tail_log_file': (
            ('Deque', '_yield_log_file_with_payloads_skipped', 'collections', 'collections.deque', 'message_utils', 'message_utils.decode_payload', 'str'),
            (),
        ),
    },
    'storage_utils-7': {
        'zip_files_and_folders': (
            ('IOError', 'List', 'Set', 'UserWarning', 'ValueError', '_USE_SKYIGNORE_HINT', 'bool', 'colorama', 'colorama.Style', 'colorama.Style.DIM', 'colorama.Style.RESET_ALL', 'common_utils', 'common_utils.format_exception', 'constants', 'constants.GIT_IGNORE_FILE', 'constants.SKY_IGNORE_FILE', 'exceptions', 'exceptions.COMMAND_NOT_FOUND_EXIT_CODE', 'exceptions.GIT_FATAL_EXIT_CODE', 'get_excluded_files', 'get_excluded_files_from_gitignore', 'get_excluded_files_from_skyignore', 'glob', 'glob.glob', 'len', 'list', 'logger', 'open', 'os', 'os.path', 'os.path.dirname', 'os.path.exists', 'os.path.expanduser', 'os.path.isabs', 'os.path.isdir', 'os.path.isfile', 'os.path.islink', 'os.path.join', 'os.path.relpath', 'os.readlink', 'os.stat', 'os.walk', 'range', 'set', 'shlex', 'shlex.quote', 'stat', 'stat.S_ISSOCK', 'str', 'subprocess', 'subprocess.CalledProcessError', 'subprocess.PIPE', 'subprocess.run', 'warnings', 'warnings.catch_warnings', 'warnings.filterwarnings', 'zipfile', 'zipfile.ZIP_DEFLATED', 'zipfile.ZipFile', 'zipfile.ZipInfo'),
            (),
        ),
    },
    'common-8': {
        '_compute_zip_blob_id': (
            ('_HASH_CHUNK_SIZE', 'hashlib', 'hashlib.sha256', 'list', 'zipfile', 'zipfile.ZipFile'),
            (),
        ),
    },
    'sdk-9': {
        'stream_response': (
            ('Exception', 'RuntimeError', '_raise_exception_object_on_client', 'client_common', 'client_common.API_SERVER_REQUEST_CONNECTION_TIMEOUT_SECONDS', 'colorama', 'colorama.Fore', 'colorama.Fore.YELLOW', 'colorama.Style', 'colorama.Style.RESET_ALL', 'env_options', 'env_options.Options', 'env_options.Options.SHOW_DEBUG_INFO', 'env_options.Options.SHOW_DEBUG_INFO.get', 'exceptions', 'exceptions.RequestCancelled', 'get', 'getattr', 'interactive_utils', 'interactive_utils.handle_interactive_auth', 'logger', 'payloads', 'payloads.RequestPayload', 'print', 'requests_lib', 'requests_lib.Request', 'requests_lib.Request.decode', 'requests_lib.RequestStatus', 'requests_lib.RequestStatus.CANCELLED', 'rest', 'rest.get_retry_context', 'rich_utils', 'rich_utils.decode_rich_status', 'server_common', 'server_common.RequestId', 'server_common.make_authenticated_request', 'str', 'ux_utils', 'ux_utils.print_exception_no_traceback'),
            (),
        ),
    },
    'server-10': {
        '_extract_members': (
            ('ValueError', '_is_relative_to', 'os', 'os.path', 'os.path.isabs', 'os.path.normpath', 'shutil', 'shutil.copyfileobj'),
            (),
        ),
    },
}
# The registry's natively served functions, and where Python serves some anyway.
SERVED = {'sky.utils.common_utils': ('base36_encode', 'read_last_n_lines', 'find_free_port', 'get_cpu_count', 'get_mem_size_gb'), 'sky.utils.subprocess_utils': ('get_max_workers_for_file_mounts',), 'sky.server.stream_utils': ('_tail_log_file',), 'sky.data.storage_utils': ('zip_files_and_folders',), 'sky.client.common': ('_compute_zip_blob_id',), 'sky.client.sdk': ('stream_response',), 'sky.server.server': ('_extract_members',)}
# Files of the helpers served functions rely on (the registry's HELPERS) whose helper has the
# reference's fingerprint: module -> sha256 of the file -> releases.
HELPER_FILES = {
    'sky.utils.rich_utils': {
        '7a180ecac8405510befb5a654ab64415c87685f1b04953ec50592cd3e14ceeb0': '0.14.0, 0.14.1',
        '2b43af7f2bf56263291e955042a0e75c8a0ea1d3334775d2f5f00ab17b720a0b': '1.0.0.dev20261027',
    },
    'sky.utils.message_utils': {
        '22ed7f5acfee0751662f2e3f63b8dde48ec700f19c09431b359501fbc8244bcd': '0.14.0, 0.14.1, 1.0.0.dev20261027',
    },
    'sky.client.interactive_utils': {
        'e013d4cb0aaa4019cd6a081edcf316617b62aab713935e08438c79f06810076e': '0.11.2, 0.12.0, 0.12.1, 0.12.2, 0.12.2.post1, 0.12.3, 0.12.3.post1, 0.13.0, 0.14.0, 0.14.1, 1.0.0.dev20261027',
    },
}
PYTHON_ON = {'pypy': ('base36_encode', 'read_last_n_lines')}


def native_here(implementation):
    """The served functions the library serves on this Python implementation."""
    skipped = PYTHON_ON.get(implementation, ())
    return {f for names in SERVED.values() for f in names if f not in skipped}
