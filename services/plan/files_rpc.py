"""The files RPCs of the plan servicer: messages in, files.py out. Blocking
file work runs in threads so one slow disk never stalls the agent."""

from __future__ import annotations

import asyncio

from google.protobuf import json_format

from services.common import errors
from services.common.gojson import go_quote
from services.plan import files
from services.plan.files import FileError
from shoal.v1 import plan_pb2


def _error(error: FileError) -> plan_pb2.FileError:
    return plan_pb2.FileError(message=error.message, kind=error.kind)


def _optional(message, name: str):
    return getattr(message, name) if message.HasField(name) else None


def _owner(message) -> dict:
    return {"user_id": _optional(message, "user_id"), "user": message.user,
            "group_id": _optional(message, "group_id"), "group": message.group}


def _result(path: str, error: FileError | None) -> plan_pb2.FileResult:
    result = plan_pb2.FileResult(path=path)
    if error is not None:
        result.error.CopyFrom(_error(error))
    return result


class FilesRPC:
    @property
    def temporaries(self) -> files.Temporaries:
        """Where this service notes its temporaries (none without settings, as in unit tests)."""
        found = getattr(self, "_temporaries", None)
        if found is None:
            home = getattr(getattr(self, "settings", None), "home", None)
            found = files.temporaries_for(home) if home is not None else files.Temporaries(None)
            self._temporaries = found
        return found

    async def ListFiles(self, request, context):
        if not request.path:
            raise errors.invalid("must specify path")
        if request.itself not in ("", "true", "false"):
            raise errors.invalid('itself parameter must be "true" or "false"')
        if not request.path.startswith("/"):
            raise errors.invalid(f"path must be absolute, got {go_quote(request.path)}")
        infos = await asyncio.to_thread(files.list_files, request.path, request.pattern, request.itself == "true")
        return json_format.ParseDict({"files": infos}, plan_pb2.ListFilesResponse())

    async def ReadFile(self, request, context):
        """The file's bytes in chunks; the first message carries the error
        instead when the file cannot be read."""
        try:
            source = await asyncio.to_thread(files.open_for_read, request.path)
        except FileError as error:
            yield plan_pb2.FileChunk(error=_error(error))
            return
        try:
            data = await asyncio.to_thread(source.read, files.READ_CHUNK)
            yield plan_pb2.FileChunk(data=data)  # always one message, even for an empty file
            while data:
                data = await asyncio.to_thread(source.read, files.READ_CHUNK)
                if data:
                    yield plan_pb2.FileChunk(data=data)
        finally:
            source.close()

    async def WriteFiles(self, request_iterator, context):
        """Each file arrives as its spec, data chunks, then end-of-file. Files
        are renamed into place only when the whole upload has arrived: an
        upload that breaks off or is refused part-way changes nothing."""
        outcomes: list[tuple[str, files.AtomicWrite | None, FileError | None]] = []
        current: files.AtomicWrite | None = None
        failed: FileError | None = None
        path = ""
        try:
            async for chunk in request_iterator:
                part = chunk.WhichOneof("part")
                if part == "spec":
                    if path:
                        raise errors.invalid(f'file "{path}" was not finished before the next one')
                    spec = chunk.spec
                    path, failed = spec.path, None
                    try:
                        # Not in a thread: a call cancelled meanwhile would leave its temporary behind.
                        current = files.AtomicWrite(files.WriteSpec(
                            spec.path, spec.make_dirs, spec.permissions, **_owner(spec.owner)), self.temporaries)
                    except FileError as error:
                        failed = error
                elif part == "data":
                    if not path:
                        raise errors.invalid("file data before its spec")
                    if current is not None:
                        try:
                            current.write(chunk.data)
                        except FileError as error:
                            current, failed = None, error
                elif part == "end_of_file":
                    if not path:
                        raise errors.invalid("end of file before its spec")
                    if current is not None:
                        try:
                            await asyncio.to_thread(current.finish)
                        except FileError as error:
                            current, failed = None, error
                    outcomes.append((path, current, failed))
                    current, failed, path = None, None, ""
            if path:
                raise errors.invalid(f'file "{path}" ended before its end-of-file mark')
        except BaseException:
            for _, pending, _ in outcomes:
                if pending is not None:
                    pending.abort()
            raise
        finally:
            if current is not None:
                current.abort()
        results = []
        for path, pending, failed in outcomes:
            if pending is not None:
                try:
                    await asyncio.to_thread(pending.commit)
                except FileError as error:
                    failed = error
            results.append(_result(path, failed))
        return plan_pb2.FileResults(results=results)

    async def MakeDirs(self, request, context):
        def make_all():
            out = []
            for spec in request.dirs:
                try:
                    files.make_dir(spec.path, spec.make_parents, spec.permissions, **_owner(spec.owner),
                                   temporaries=self.temporaries)
                    out.append(_result(spec.path, None))
                except FileError as error:
                    out.append(_result(spec.path, error))
            return out

        return plan_pb2.FileResults(results=await asyncio.to_thread(make_all))

    async def RemovePaths(self, request, context):
        def remove_all():
            out = []
            for spec in request.paths:
                try:
                    files.remove_path(spec.path, spec.recursive)
                    out.append(_result(spec.path, None))
                except FileError as error:
                    out.append(_result(spec.path, error))
            return out

        return plan_pb2.FileResults(results=await asyncio.to_thread(remove_all))
