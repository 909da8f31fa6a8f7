// MSBuild task (compiled by RoslynCodeTaskFactory): makes a copy of libLibTorchSharp.so loadable on hosts whose
// libstdc++ predates GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04). See Lmu.MLNet/Design/torchsharp-native.md.
//
// Why this is safe: the library references exactly one symbol of that version (std::ios_base_library_init), which
// GCC 13 headers emit only to pin the linker to a libstdc++ that initialises iostreams itself; it is never called.
// We mark the version requirement weak (VER_FLG_WEAK in .gnu.version_r) and drop the symbol's version binding
// (.gnu.version entry -> 1, "global"), so the dynamic loader neither rejects the file nor the symbol.
#nullable enable
using System;
using System.Runtime.InteropServices;
using System.IO;
using System.Text;
#if !LMU_ELF_PATCH_TESTS
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class GlibcxxVersionPatch : Task
{
    private const string Version = ElfVersionPatcher.Version;

    /// <summary>Files to patch in place (copies in output folders, never the package cache).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Optional explicit libstdc++ path; otherwise the usual system locations are probed.</summary>
    public string? HostLibStdCxx { get; set; }

    /// <summary>
    /// Patch whatever the build host has (LmuTorchSharpNativeFix=always): an output built on a host whose libstdc++ has
    /// the version (Ubuntu 24.04) is left as packaged otherwise, and cannot train on Debian 12 / Ubuntu 22.04 servers
    /// (found by QA). The weak requirement is harmless where the version exists.
    /// </summary>
    public bool Always { get; set; }

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return true;
        string? host = HostLibStdCxx;
        if (string.IsNullOrEmpty(host)) host = FindHostLibStdCxx();
        if (host is null && !Always)
        {
            Log.LogMessage(MessageImportance.Normal, "GlibcxxVersionPatch: no libstdc++.so.6 found; nothing patched.");
            return true;
        }
        if (host is not null && !Always && ElfVersionPatcher.ContainsAscii(File.ReadAllBytes(host), Version + "\0"))
        {
            Log.LogMessage(MessageImportance.Low, $"GlibcxxVersionPatch: {host} provides {Version}; nothing to do.");
            return true;
        }
        host ??= "any host (LmuTorchSharpNativeFix=always)";
        foreach (var item in Files)
        {
            string path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                int changed = ElfVersionPatcher.Patch(path);
                Log.LogMessage(MessageImportance.High, changed > 0
                    ? $"GlibcxxVersionPatch: {path}: {Version} made weak ({changed} entries) for {host}."
                    : $"GlibcxxVersionPatch: {path}: already loadable, unchanged.");
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Log.LogError($"GlibcxxVersionPatch: cannot patch {path}: {ex.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static string? FindHostLibStdCxx()
    {
        string[] dirs =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/lib64", "/usr/lib", "/lib",
        };
        foreach (var d in dirs)
        {
            var p = Path.Combine(d, "libstdc++.so.6");
            if (File.Exists(p)) return p;
        }
        return null;
    }

}
#endif

/// <summary>The ELF edit itself, free of MSBuild types so the test project can compile this file and test it.</summary>
public static class ElfVersionPatcher
{
    /// <summary>The symbol version libLibTorchSharp.so asks for and older libstdc++ lacks.</summary>
    public const string Version = "GLIBCXX_3.4.32";
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlgWeak = 0x2;

    public static bool ContainsAscii(byte[] data, string s)
    {
        // RoslynCodeTaskFactory compiles against netstandard2.0: no span search, so a plain scan.
        byte[] needle = Encoding.ASCII.GetBytes(s);
        for (int i = 0; i + needle.Length <= data.Length; i++)
        {
            int k = 0;
            while (k < needle.Length && data[i + k] == needle[k]) k++;
            if (k == needle.Length) return true;
        }
        return false;
    }

    /// <summary>Patches the ELF64 little-endian file; returns how many bytes-level entries changed (0 = idempotent no-op).</summary>
    public static int Patch(string path)
    {
        byte[] f = File.ReadAllBytes(path);
        if (f.Length < 64 || f[0] != 0x7f || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (f[4] != 2 || f[5] != 1) throw new InvalidDataException("only ELF64 little-endian is supported");

        long shoff = (long)BitConverter.ToUInt64(f, 0x28);
        int shentsize = BitConverter.ToUInt16(f, 0x3A);
        int shnum = BitConverter.ToUInt16(f, 0x3C);
        long verneedOff = -1, verneedCount = 0, versymOff = -1, versymSize = 0, strOff = -1;
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            uint type = BitConverter.ToUInt32(f, (int)h + 4);
            long off = (long)BitConverter.ToUInt64(f, (int)h + 0x18);
            long size = (long)BitConverter.ToUInt64(f, (int)h + 0x20);
            uint link = BitConverter.ToUInt32(f, (int)h + 0x28);
            uint info = BitConverter.ToUInt32(f, (int)h + 0x2C);
            if (type == ShtGnuVerneed)
            {
                verneedOff = off; verneedCount = info;
                long lh = shoff + (long)link * shentsize;
                strOff = (long)BitConverter.ToUInt64(f, (int)lh + 0x18);
            }
            else if (type == ShtGnuVersym)
            {
                versymOff = off; versymSize = size;
            }
        }
        if (verneedOff < 0 || versymOff < 0) return 0;

        int changed = 0;
        int versionIndex = -1;
        long vn = verneedOff;
        for (long n = 0; n < verneedCount; n++)
        {
            int cnt = BitConverter.ToUInt16(f, (int)vn + 2);
            long aux = vn + BitConverter.ToUInt32(f, (int)vn + 8);
            for (int a = 0; a < cnt; a++)
            {
                ushort flags = BitConverter.ToUInt16(f, (int)aux + 4);
                ushort other = BitConverter.ToUInt16(f, (int)aux + 6);
                uint name = BitConverter.ToUInt32(f, (int)aux + 8);
                if (ReadCString(f, strOff + name) == Version)
                {
                    versionIndex = other;
                    if ((flags & VerFlgWeak) == 0)
                    {
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(f, (int)aux + 4);
                        changed++;
                    }
                }
                aux += BitConverter.ToUInt32(f, (int)aux + 12);
            }
            uint next = BitConverter.ToUInt32(f, (int)vn + 12);
            if (next == 0) break;
            vn += next;
        }
        if (versionIndex < 0) return changed;

        for (long p = versymOff; p + 1 < versymOff + versymSize; p += 2)
        {
            ushort v = BitConverter.ToUInt16(f, (int)p);
            if ((v & 0x7fff) == versionIndex)
            {
                BitConverter.GetBytes((ushort)1).CopyTo(f, (int)p);
                changed++;
            }
        }
        if (changed > 0)
        {
            // Write beside and rename so a crash never leaves a half-written library.
            string tmp = path + ".patching";
            File.WriteAllBytes(tmp, f);
            File.Copy(tmp, path, overwrite: true);
            File.Delete(tmp);
        }
        return changed;
    }

    private static string ReadCString(byte[] f, long at)
    {
        int end = (int)at;
        while (end < f.Length && f[end] != 0) end++;
        return Encoding.ASCII.GetString(f, (int)at, end - (int)at);
    }
}
