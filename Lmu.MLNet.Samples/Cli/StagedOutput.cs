using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The output folder of a command, written all or nothing: files go to a hidden staging folder beside it (in the temp
/// folder when its parent does not exist) and are moved into place by <see cref="Commit"/> once every file is written,
/// creating the folder then; disposing without a commit removes the staging folder, so a failed or interrupted run
/// leaves no output folder, or the existing one as it was (earlier outputs included). The commit first brings every
/// file beside its target under a temporary name (a copy, when the staging folder is on another file system), then
/// renames each over its target: files QA's output folder on a tmpfs of its own (a container volume) was replaced
/// file by file with copies, and a full disk left a truncated model.zip beside the previous run's other outputs. The
/// staging folder holds a lock for as long as its run lives, so the next run into the same folder removes a killed
/// run's folder, and never a live one in another container. A committed run replaces the outputs of the one before it
/// in that folder, listed in a hidden manifest, and leaves any other file alone.
/// </summary>
internal sealed class StagedOutput : IDisposable
{
    private readonly List<string> _names = [];
    private readonly List<(string Path, string Option)> _inputs = [];
    private readonly object _gate = new();
    private readonly PosixSignalRegistration[] _signals;
    private readonly FileStream _lock;
    private bool _committed;
    private bool _interrupted;

    /// <summary>The lock file inside a staging folder (see <see cref="RunTempFolder.LockName"/>).</summary>
    private const string LockName = ".lock";

    public StagedOutput(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
        {
            // Path.GetFullPath said "The value cannot be an empty string. (Parameter 'path')", naming no option (QA).
            throw new ArgumentException("--output is empty; it must name a folder (created when missing).");
        }

        Folder = Path.GetFullPath(folder);
        CheckFolder(folder, Folder);
        var parent = Path.GetDirectoryName(Folder);
        var beside = parent is not null && Directory.Exists(parent) ? parent : Path.GetTempPath();
        var prefix = $".{Path.GetFileName(Folder)}.lmu-partial-";
        RemoveAbandoned(beside, prefix);
        var staging = $"{prefix}{Environment.ProcessId}-{Guid.NewGuid():N}";
        // A folder name near the 255-byte limit made the staging name too long, naming it in the error (found by QA):
        // a short name then (a killed run's staging folder of that form is not among those removed on the next run).
        var name = System.Text.Encoding.UTF8.GetByteCount(staging) <= 255 ? staging : $".lmu-partial-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Staging = Path.Combine(beside, name);
        try
        {
            _lock = CreateLocked(Staging);
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && Directory.Exists(Folder))
        {
            // An existing output folder (the probe found it writable) under a parent that is not, such as --output . in a
            // home folder whose parent is root's (QA): staged inside it instead, as a hidden folder that goes at the commit.
            RemoveAbandoned(Folder, prefix);
            Staging = Path.Combine(Folder, name);
            _lock = CreateLocked(Staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A new output folder under a parent that cannot be written: refused naming --output (review; the error named
            // the staging folder).
            throw new ArgumentException($"--output '{folder}': the folder '{beside}', where the output is staged before it is moved into place, cannot be written ({e.Message.Replace(Staging, beside, StringComparison.Ordinal)}). Choose a folder whose parent is writable.");
        }

        // Ctrl-C or a SIGTERM ends the process without unwinding to Dispose: the staging folder was left behind and
        // nothing said so (found by QA). The handlers remove it and say that nothing was written; the signal then
        // takes its usual course.
        // SIGHUP too: a closed ssh session left the staging folder behind, silently (regression QA).
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, Interrupted))];
    }

    /// <summary>The output folder.</summary>
    public string Folder { get; }

    /// <summary>
    /// Makes <paramref name="staging"/> with its lock held: made under a name no sweep reads, locked, then moved to its
    /// name, so a sweep never sees a staging folder without its lock.
    /// </summary>
    private static FileStream CreateLocked(string staging)
    {
        var making = Path.Combine(Path.GetDirectoryName(staging)!, $".lmu-making-{Guid.NewGuid():N}");
        Directory.CreateDirectory(making);
        FileStream? held = null;
        try
        {
            held = new FileStream(Path.Combine(making, LockName), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1);
            Directory.Move(making, staging);
            return held;
        }
        catch
        {
            held?.Dispose();
            Directory.Delete(making, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Refuses an output that is a file, or lies under one, or whose folder (or the folder it will be made in) cannot be
    /// written, before any work: the commit failed there after the whole training (found by QA: "already exists", "Could
    /// not find a part of the path", "Access ... denied").
    /// </summary>
    private static void CheckFolder(string given, string full)
    {
        // A link whose target is gone reads as a file to File.Exists: it was refused as "a file" (QA). Path.Exists, not
        // the resolved FileInfo's Exists, which is false for a folder (a first version refused every linked folder).
        if (new FileInfo(full).LinkTarget is { } link)
        {
            string? target;
            try
            {
                target = System.IO.File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName;
            }
            catch (IOException e)
            {
                // Links that point at each other: "Too many levels of symbolic links", naming no option.
                throw new ArgumentException($"--output '{given}' is a link that cannot be followed ({e.Message}); give a folder.");
            }

            if (target is not null && !Path.Exists(target))
            {
                throw new ArgumentException($"--output '{given}' is a link to '{link}', and '{target}' does not exist; create that folder first, or give another folder.");
            }
        }

        if (System.IO.File.Exists(full))
        {
            throw new ArgumentException($"--output '{given}' is a file; it must be a folder (created when missing).");
        }

        for (var p = Path.GetDirectoryName(full); p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
        {
            if (System.IO.File.Exists(p))
            {
                throw new ArgumentException($"--output '{given}': '{p}' is a file, so no folder can be made under it.");
            }
        }

        // The folder itself when it exists, else the nearest folder above it, where it will be made: a read-only one
        // failed the commit after the whole training (found by QA), naming the staging folder.
        var existing = full;
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } up)
        {
            existing = up;
        }

        var probe = Path.Combine(existing, $".lmu-write-probe-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--output '{given}': the folder '{existing}' cannot be written ({e.Message.Replace(probe, existing, StringComparison.Ordinal)}). Choose a writable folder.");
        }
    }

    /// <summary>Where files are written until the commit.</summary>
    public string Staging { get; }

    /// <summary>The staging path of <paramref name="name"/> (a plain file name), to write to now.</summary>
    /// <exception cref="ArgumentException">A file the command reads (<see cref="Protect"/>) is the one the commit would
    /// replace: the last guard, where <see cref="Protect"/> did not know the name.</exception>
    public string File(string name)
    {
        var target = Path.Combine(Folder, name);
        foreach (var (path, option) in _inputs)
        {
            if (SameFile.Same(path, target))
            {
                throw new ArgumentException($"{option} '{path}' is the file {name} that this command writes into the --output folder '{Folder}'; it would be replaced. Move the file or choose another --output.");
            }
        }

        _names.Add(name);
        return Path.Combine(Staging, name);
    }

    /// <summary>
    /// Refuses, before any work, an input file that the commit would replace or remove: one in the output folder whose
    /// name the command writes (<paramref name="writes"/>) or an earlier run there wrote (its manifest). QA:
    /// <c>forecast --train OUT/forecast.csv --output OUT</c> trained on the file, replaced it with the forecasts, and
    /// exited 0.
    /// </summary>
    public void Protect(string path, string option, Func<string, bool> writes)
    {
        _inputs.Add((path, option));
        // The file itself, links resolved: a link of another name to a file the manifest lists was deleted at the commit
        // (regression QA).
        var file = PhysicalPath.Resolve(path);
        var name = Path.GetFileName(file);
        if (name.Length == 0 || !SameFile.Same(file, Path.Combine(Folder, name)))
        {
            return;
        }

        var manifest = Path.Combine(Folder, ManifestName);
        var earlier = System.IO.File.Exists(manifest) && System.IO.File.ReadAllLines(manifest).Contains(name, StringComparer.Ordinal);
        if (writes(name) || earlier)
        {
            throw new ArgumentException(
                $"{option} '{path}' is in the --output folder '{Folder}', where {(writes(name) ? $"this command writes {name}" : $"an earlier run wrote {name}, which this one replaces or removes")}; " +
                "the file would be lost. Move it or choose another --output.");
        }
    }

    /// <summary>The hidden list of the files the last committed run wrote into the folder.</summary>
    internal const string ManifestName = ".lmu-outputs";

    /// <summary>
    /// Moves every staged file into the output folder (replacing older ones) and removes the files an earlier run of
    /// these commands wrote there that this one did not (a pooled run's featurizer.onnx beside a later network run's
    /// model.zip read as one result, found by QA); other files in the folder are left alone. Returns the final paths.
    /// </summary>
    public IReadOnlyList<string> Commit()
    {
        lock (_gate)
        {
            return CommitLocked();
        }
    }

    private IReadOnlyList<string> CommitLocked()
    {
        if (_interrupted || !Directory.Exists(Staging))
        {
            // Review: a commit reached after the signal handler had removed the staging folder (SIGTERM lets the main
            // thread run on until the process exits) found nothing staged and removed the earlier run's outputs as ones
            // this run no longer wrote, after the handler had said nothing was written.
            throw new OperationCanceledException($"The run was interrupted: nothing was written to '{Folder}'.");
        }

        Directory.CreateDirectory(Folder);
        RemoveAbandonedCommits(Folder);
        var names = _names.Distinct().Where(n => System.IO.File.Exists(Path.Combine(Staging, n))).ToList();
        // Every target checked before any is replaced (files QA: a folder named model.zip failed the commit with "Is a
        // directory" after two of the five files had replaced the earlier run's).
        var targets = names.Select(n => (Name: n, Target: Target(n))).ToList();
        var token = Path.GetFileName(Staging);
        var placed = new List<(string Temp, string Target)>();
        try
        {
            foreach (var (name, target) in targets)
            {
                // Beside the target, so that the rename below is one on a single file system; the move is a copy when the
                // staging folder is on another, and leaves the file it will replace as it is.
                var temp = CommitTemp(target, token);
                placed.Add((temp, target));
                System.IO.File.Move(Path.Combine(Staging, name), temp);
                PartialOutputFile.KeepModeAndOwner(temp, target);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var (temp, _) in placed)
            {
                TryDelete(temp);
            }

            var message = placed.Aggregate(e.Message, (m, p) => m.Replace(p.Temp, p.Target, StringComparison.Ordinal));
            throw new IOException($"Could not write the output into '{Folder}': {message.TrimEnd('.')}. Nothing there was replaced: the earlier outputs are as they were.", e);
        }

        var moved = new List<string>();
        try
        {
            foreach (var (temp, target) in placed)
            {
                System.IO.File.Move(temp, target, overwrite: true);
                moved.Add(target);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A rename refused (an immutable file, a file bind-mounted into the folder: review): the files not yet moved
            // stay the earlier run's, and the copies brought beside them go; the message says which is which.
            var left = placed.Skip(moved.Count).ToList();
            foreach (var (temp, _) in left)
            {
                TryDelete(temp);
            }

            throw new IOException(
                $"Could not write the output into '{Folder}': {e.Message.TrimEnd('.')}. Replaced: {(moved.Count == 0 ? "none" : string.Join(", ", moved.Select(Path.GetFileName)))}; " +
                $"left as the earlier run wrote them: {string.Join(", ", left.Select(p => Path.GetFileName(p.Target)))}.", e);
        }

        var written = names.ToHashSet(StringComparer.Ordinal);
        var manifest = Path.Combine(Folder, ManifestName);
        if (System.IO.File.Exists(manifest))
        {
            foreach (var old in System.IO.File.ReadAllLines(manifest).Where(n => n.Length > 0 && !written.Contains(n) && Path.GetFileName(n) == n))
            {
                System.IO.File.Delete(Path.Combine(Folder, old));
            }
        }

        var manifestTemp = CommitTemp(manifest, token);
        System.IO.File.WriteAllLines(manifestTemp, written.Order(StringComparer.Ordinal));
        System.IO.File.Move(manifestTemp, manifest, overwrite: true);
        _committed = true;
        Directory.Delete(Staging, recursive: true);
        return moved;
    }

    /// <summary>
    /// Where <paramref name="name"/> goes: the file in the output folder, or the file a link there names (files QA: the
    /// commit replaced out/model.zip -> models/v4.zip with a file and left v4.zip old). A folder, named pipe, device or
    /// socket in its place is refused before anything is replaced.
    /// </summary>
    private string Target(string name)
    {
        var path = Path.Combine(Folder, name);
        var target = PhysicalPath.Resolve(path);
        var kind = FileKind.Of(target);
        if (kind == FileKind.Folder || Directory.Exists(target))
        {
            throw new IOException($"Could not write the output into '{Folder}': '{target}' is a folder, and this run writes the file {name} there; move the folder away or choose another --output. Nothing there was replaced.");
        }

        if (kind is not (FileKind.Regular or FileKind.Missing or FileKind.Unknown))
        {
            throw new IOException($"Could not write the output into '{Folder}': '{target}' is {kind}, not a file, and this run writes the file {name} there (it would be replaced by one); remove it or choose another --output. Nothing there was replaced.");
        }

        return target;
    }

    // ".{target}.lmu-commit-{staging folder's name}", or a short name when that would pass the 255-byte limit.
    private static string CommitTemp(string target, string token)
    {
        var name = $".{Path.GetFileName(target)}{CommitMarker}{token}";
        return Path.Combine(Path.GetDirectoryName(target)!, System.Text.Encoding.UTF8.GetByteCount(name) <= 255 ? name : $".lmu{CommitMarker}{Guid.NewGuid():N}");
    }

    private const string CommitMarker = ".lmu-commit-";

    /// <summary>
    /// Removes files a commit killed half way left in <paramref name="folder"/>: those whose staging folder is gone (a
    /// live commit keeps its staging folder until every file is in place). The short names of very long outputs are
    /// not matched.
    /// </summary>
    private static void RemoveAbandonedCommits(string folder)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(folder, $".*{CommitMarker}*").ToList())
            {
                var name = Path.GetFileName(file);
                var token = name[(name.IndexOf(CommitMarker, StringComparison.Ordinal) + CommitMarker.Length)..];
                var parent = Path.GetDirectoryName(folder);
                string[] places = parent is null ? [folder, Path.GetTempPath()] : [parent, folder, Path.GetTempPath()];
                if (token.Contains(".lmu-partial-", StringComparison.Ordinal) && !places.Any(p => Directory.Exists(Path.Combine(p, token))))
                {
                    TryDelete(file);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            System.IO.File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Tidying only.
        }
    }

    /// <summary>
    /// Staging folders of runs that have ended (a SIGKILL runs no cleanup): removed by the next run. A folder with its
    /// lock goes when the lock can be taken (its run is gone, in whatever PID namespace it ran: files QA's run in another
    /// container lost its staging folder mid-run to the process-id rule); one of an earlier version, without a lock, goes
    /// when its process id no longer runs here.
    /// </summary>
    private static void RemoveAbandoned(string beside, string prefix)
    {
        List<string> folders;
        try
        {
            folders = Directory.EnumerateDirectories(beside, prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var dir in folders)
        {
            var lockPath = Path.Combine(dir, LockName);
            bool ended;
            if (System.IO.File.Exists(lockPath) && !FileLocks.Enabled)
            {
                // With the runtime's file locking off every lock reads as free (review): left be.
                ended = false;
            }
            else if (System.IO.File.Exists(lockPath))
            {
                try
                {
                    using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1);
                    ended = true;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    ended = false;
                }
            }
            else
            {
                var rest = Path.GetFileName(dir)[prefix.Length..];
                var dash = rest.IndexOf('-');
                ended = dash > 0 && int.TryParse(rest[..dash], out var pid) && !ProcessLiveness.Running(pid);
            }

            if (ended)
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another run may be removing it at the same moment; it is not ours to keep.
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        lock (_gate)
        {
            if (!_committed && Directory.Exists(Staging))
            {
                Directory.Delete(Staging, recursive: true);
            }

            _lock.Dispose();
        }
    }

    // On the signal's thread; the lock keeps it from removing files a commit is moving (a committed run is left as it is).
    private void Interrupted(PosixSignalContext context) => Interrupted(context.Signal.ToString());

    /// <summary>What a SIGINT, SIGTERM or SIGHUP does (tests call it without a signal).</summary>
    internal void Interrupted(string signal)
    {
        lock (_gate)
        {
            if (_committed)
            {
                return;
            }

            _interrupted = true;

            try
            {
                Directory.Delete(Staging, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file still being written: the next run into this folder removes what is left (RemoveAbandoned).
            }

            InterruptCleanup.Say($"interrupted ({signal}): nothing was written to '{Folder}'.");
        }
    }
}
