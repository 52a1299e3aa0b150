"""What serves SkyPilot's own functions beyond the twelve, one module per SkyPilot function:

- `zip_files.py`: `sky.data.storage_utils.zip_files_and_folders`, the workdir zip of every
  upload to an API server, compressed in parallel by the library;
- `blob_id.py`: `sky.client.common._compute_zip_blob_id`, the upload's content id, free for
  a zip just written here.

The startup hook (`_skyutils_hook.py`) puts them in SkyPilot's place at their first call,
through `skyutils._served`; the log tail (`skyutils._logtail`) and the table of verified
releases (`skyutils._release`) serve SkyPilot the same way.
"""
