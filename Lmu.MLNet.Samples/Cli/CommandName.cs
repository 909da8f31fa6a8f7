namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// How a printed hint names another command of this app: <c>lmu predict</c> when the app runs as an installed tool,
/// else the bare command (<c>predict</c>), which <c>dotnet run --project Lmu.MLNet.Samples -c Release --</c> or the app's
/// own path precedes. The tool's hints said <c>predict</c> alone, which is no command a tool user has (QA).
/// </summary>
internal static class CommandName
{
    /// <summary>The tool's command name (ToolCommandName in the project).</summary>
    public const string Tool = "lmu";

    /// <summary><paramref name="command"/> as the user runs it.</summary>
    public static string Of(string command) => IsInstalledTool() ? $"{Tool} {command}" : command;

    /// <summary>
    /// Whether the app's files lie in the store of <c>dotnet tool install</c> (-g or --tool-path):
    /// <c>.store/lmu.mlnet.tool/VERSION/...</c>. The process there is the .NET host, not a file named after the tool, so
    /// the store is the sign that can be read.
    /// </summary>
    private static bool IsInstalledTool() =>
        AppContext.BaseDirectory.Replace('\\', '/').Contains("/.store/lmu.mlnet.tool/", StringComparison.OrdinalIgnoreCase);
}
