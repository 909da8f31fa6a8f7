using System.Runtime.InteropServices;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// Removes a temporary file if the process is interrupted (Ctrl-C, SIGTERM) while it exists: those signals end the
/// process without running <c>finally</c> blocks, so a data or output file being written was left behind as
/// <c>.partial</c> (found by QA: <c>scale</c>). The signal then takes its usual course. Move the file into place
/// through <see cref="Commit"/>, and dispose once it is there or removed.
/// </summary>
internal sealed class InterruptCleanup : IDisposable
{
    private readonly string _path;
    private readonly string _what;
    private readonly string _alsoNotWritten;
    private readonly object _gate = new();
    private readonly PosixSignalRegistration[] _signals;
    private bool _done;

    /// <param name="path">The temporary file.</param>
    /// <param name="what">What it would have become, for the message (for example the output file's name).</param>
    /// <param name="alsoNotWritten">What else the interrupted run will not write, for the message (for example a
    /// checkpoint written after the output); empty when nothing.</param>
    public InterruptCleanup(string path, string what, string alsoNotWritten = "")
    {
        _path = path;
        _what = what;
        _alsoNotWritten = alsoNotWritten;
        // SIGHUP too: a closed ssh session left the partial output behind, silently (regression QA).
        _signals = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, Interrupted))];
    }

    /// <summary>
    /// Runs <paramref name="move"/> (the temporary file into place) under the lock the signal handler takes, so a signal
    /// during the move neither deletes what is being moved nor says the file was not written once it was (found by
    /// review).
    /// </summary>
    public void Commit(Action move)
    {
        lock (_gate)
        {
            move();
            _done = true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
        }

        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }

    // On the signal's thread; the lock orders it with Commit: before the move it removes the part, after it does nothing.
    private void Interrupted(PosixSignalContext context)
    {
        lock (_gate)
        {
            if (_done)
            {
                return;
            }

            try
            {
                File.Delete(_path);
                // A partial file's lock (PartialFile) goes with it; the next run would take it, since this process is ending.
                File.Delete(_path + PartialFile.LockSuffix);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nothing more can be done on the way out; the message still says the output is not whole.
            }

            var also = _alsoNotWritten.Length == 0 ? string.Empty : $", nor {_alsoNotWritten}";
            Say($"interrupted ({context.Signal}): '{_what}' was not written{also}.");
        }
    }

    /// <summary>Writes a line to standard error unless it is gone (a hung-up terminal answers writes with an error).</summary>
    internal static void Say(string line)
    {
        try
        {
            Console.Error.WriteLine(line);
        }
        catch (IOException)
        {
            // Nobody is there to read it.
        }
    }
}
