"""What serves SkyPilot's own functions beyond the twelve, one module per SkyPilot function:

- `zip_files.py`: `sky.data.storage_utils.zip_files_and_folders`, the workdir zip of every
  upload to an API server, compressed in parallel by the library;
- `blob_id.py`: `sky.client.common._compute_zip_blob_id`, the upload's content id, free for
  a zip just written here;
- `extract.py`: `sky.server.server._extract_members`, the API server's extraction of an
  upload, member by member in the library, SkyPilot's own from the first it cannot decide.

The startup hook (`_skyutils_hook.py`) puts them in SkyPilot's place at their first call,
through `skyutils._served`; the log tail (`skyutils._logtail`) and the table of verified
releases (`skyutils._release`) serve SkyPilot the same way.
"""

import os
from typing import Dict, Optional

LOG_ENV = 'SKYUTILS_SERVED_LOG'  # a file each served call appends its outcome to (a server's)


def note(last: Dict[str, Optional[str]], function: str, outcome: str) -> None:
    """Keeps how a served call went in its module's `last` (for the tests and `skyutils info`)
    and, where SKYUTILS_SERVED_LOG names a file, appends it there as a JSON line with the pid:
    how a user sees what served calls made in another process, an API server's."""
    last['outcome'] = outcome
    path = os.environ.get(LOG_ENV)
    if path:
        import json

        try:
            with open(path, 'a', encoding='utf-8') as f:
                f.write(json.dumps({'pid': os.getpid(), 'function': function,
                                    'outcome': outcome}) + '\n')  # fmt: skip
        except OSError:
            pass  # a log that cannot be written changes nothing of the call
