"""The SkyPilot function bodies skyutils has verified, by fingerprint (see _fingerprint.py).

Each fingerprint is listed with the releases whose wheel holds that body (recomputed from the
wheels by tests/test_fingerprints.py). The 0.14.1 bodies are the ones the conformance suite
compares with skyutils on every run; 0.10.5's find_free_port (it lacks a debug log line) is
compared by tests/test_fingerprints.py, which runs that body from the wheel.
"""

from typing import Dict

KNOWN: Dict[str, Dict[str, str]] = {
    'sky.utils.common_utils.base36_encode': {'e56bc645f140af06': '0.10.0 to 1.0.0.dev20261027'},
    'sky.utils.common_utils.read_last_n_lines': {'d1d102245478ad8c': '0.10.5 to 1.0.0.dev20261027'},
    'sky.utils.common_utils.find_free_port': {
        '33fd89aad9f62710': '0.10.0 to 0.10.5',
        '69fe74f36992c20a': '0.12.3.post1 to 1.0.0.dev20261027',
    },
    'sky.utils.common_utils.format_float': {'4203b66df005c6b5': '0.10.0 to 1.0.0.dev20261027'},
    'sky.utils.common_utils.truncate_long_string': {
        'f6be800db35c6c30': '0.10.0 to 1.0.0.dev20261027'
    },
    'sky.utils.common_utils.hash_file': {'8c9ea6fa69235acb': '0.10.0 to 1.0.0.dev20261027'},
    'sky.utils.common_utils.get_cpu_count': {'1d123ea5bcd63aa1': '0.10.0 to 1.0.0.dev20261027'},
    # Before 0.10.5 (5d597b991b6e6314) it ignores SKYPILOT_POD_MEMORY_BYTES_LIMIT.
    'sky.utils.common_utils.get_mem_size_gb': {'762403629c9fc93f': '0.10.5 to 1.0.0.dev20261027'},
    'sky.utils.subprocess_utils.get_parallel_threads': {
        '343afda251d1a40a': '0.10.0 to 1.0.0.dev20261027'
    },
    'sky.utils.subprocess_utils.get_max_workers_for_file_mounts': {
        '5467c500dc4f5a5c': '0.10.0 to 1.0.0.dev20261027'
    },
}
