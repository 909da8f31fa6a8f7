using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Lmu.MLNet;

/// <summary>
/// What a path names on Linux, links followed, read with statx (its result's layout is the same on every
/// architecture): .NET reports a named pipe, a device and an empty file alike (a file of 0 bytes), and a write that
/// renames a temp file over such a node replaced the node with a file (files QA: <c>--checkpoint /dev/null</c> as
/// root would replace /dev/null). Elsewhere, or when statx cannot be called, <see cref="Unknown"/>.
/// </summary>
internal static class FileKind
{
    /// <summary>Not there (or a dangling link).</summary>
    public const string Missing = "missing";

    /// <summary>A regular file.</summary>
    public const string Regular = "a file";

    /// <summary>A folder.</summary>
    public const string Folder = "a folder";

    /// <summary>Not known (not Linux, or statx failed for another reason than absence).</summary>
    public const string Unknown = "unknown";

    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x07FF;
    private const int ModeOffset = 28;
    private const int UidOffset = 20;
    private const int GidOffset = 24;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    /// <summary>
    /// <see cref="Missing"/>, <see cref="Regular"/>, <see cref="Folder"/>, <see cref="Unknown"/>, or what else it is in
    /// words ("a named pipe", "a character device", "a block device", "a socket").
    /// </summary>
    public static string Of(string path) => Stat(path, out var missing) is { } s ? Describe(s.Mode) : missing ? Missing : Unknown;

    /// <summary>The owner of <paramref name="path"/> (links followed), or null when not known.</summary>
    public static (uint Uid, uint Gid)? Owner(string path) => Stat(path, out _) is { } s ? (s.Uid, s.Gid) : null;

    /// <summary>Whether this process runs as root (changing a file's owner needs it).</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && Geteuid() == 0;

    /// <summary>Gives <paramref name="path"/> the owner <paramref name="owner"/>; false when it could not.</summary>
    public static bool TryChown(string path, (uint Uid, uint Gid) owner) => OperatingSystem.IsLinux() && Chown(path, owner.Uid, owner.Gid) == 0;

    private static (ushort Mode, uint Uid, uint Gid)? Stat(string path, out bool missing)
    {
        missing = false;
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var buffer = new byte[256];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0)
            {
                missing = Marshal.GetLastPInvokeError() is ENOENT or ENOTDIR;
                return null;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        return (BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(ModeOffset)), BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(UidOffset)),
            BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(GidOffset)));
    }

    private static string Describe(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => Regular,
        0x4000 => Folder,
        0x1000 => "a named pipe",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => Unknown,
    };

    [DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint Geteuid();

    [DllImport("libc", EntryPoint = "chown", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int Chown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);
}
