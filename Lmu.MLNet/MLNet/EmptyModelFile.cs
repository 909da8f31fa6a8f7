namespace Lmu.MLNet;

/// <summary>A refusal made before a model or checkpoint file is opened.</summary>
internal static class EmptyModelFile
{
    /// <summary>
    /// Throws <see cref="InvalidDataException"/> naming <paramref name="path"/> when it holds no bytes: an empty file, or
    /// a pipe, socket or device, whose size reads 0. Why: opening a named pipe for reading waits for a writer, and
    /// LmuModelFile.Load, predict and forecast-stream waited for ever on one (files QA).
    /// </summary>
    /// <param name="path">The file about to be opened (an absent one is left to the caller's own message).</param>
    /// <param name="what">What the file should be, for the message (e.g. "The model file").</param>
    /// <param name="advice">What to pass instead.</param>
    /// <exception cref="FileNotFoundException"><paramref name="path"/> is a folder (or a link to one): opening it failed
    /// with "Access to the path is denied", and some loaders said it did not exist (regression QA).</exception>
    public static void Refuse(string path, string what, string advice)
    {
        if (Directory.Exists(path))
        {
            throw new FileNotFoundException($"{what} '{path}' is a folder: {advice}.", path);
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return;
        }

        // A link's own size is the length of its target's name (review: a model.zip linked to a named pipe passed and
        // the open waited for ever): the final target is measured, and one that is no file (pipe:[...], socket:[...]
        // behind /dev/fd) is refused too.
        var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
        if (target is not { Exists: true } || target.Length == 0)
        {
            throw new InvalidDataException($"{what} '{path}' is empty (0 bytes) or not a regular file (a named pipe, socket or device): {advice}.");
        }
    }
}
