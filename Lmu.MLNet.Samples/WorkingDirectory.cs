namespace Lmu.MLNet.Samples;

/// <summary>Whether the process's working directory still exists (it can be deleted under a running shell).</summary>
internal static class WorkingDirectory
{
    /// <summary>True when it exists; otherwise false with what the system said in <paramref name="reason"/>.</summary>
    public static bool Exists(out string reason)
    {
        try
        {
            var current = Directory.GetCurrentDirectory();
            reason = current;
            return Directory.Exists(current);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            reason = e.Message;
            return false;
        }
    }
}
