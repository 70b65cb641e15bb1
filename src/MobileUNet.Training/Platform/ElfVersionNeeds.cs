using System.Buffers.Binary;
using System.Text;

namespace MobileUNet.Platform;

/// <summary>One symbol version an ELF object needs from a shared library (an entry of <c>.gnu.version_r</c>).</summary>
internal sealed record VersionNeed(string Library, string Version, bool Weak, int Index, long FlagsOffset);

/// <summary>
/// Reads and edits the symbol-version requirements of a 64-bit little-endian ELF shared object, and the
/// version definitions a library provides. Only what the libstdc++ compatibility fix needs: no relocation
/// or layout changes, so an edit flips bits in place and keeps every offset valid.
/// </summary>
internal static class ElfVersionNeeds
{
    const uint ShtGnuVerdef = 0x6ffffffd;
    const uint ShtGnuVerneed = 0x6ffffffe;
    const uint ShtGnuVersym = 0x6fffffff;
    const uint ShtDynsym = 11;
    const ushort VerFlagWeak = 0x2;

    public static IReadOnlyList<VersionNeed> ReadNeeds(ReadOnlySpan<byte> elf)
    {
        var sections = Sections(elf);
        var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed is null) return [];
        var strtab = sections[(int)verneed.Link];
        var result = new List<VersionNeed>();
        long entry = verneed.Offset;
        for (uint i = 0; i < verneed.Info; i++)
        {
            ushort count = U16(elf, entry + 2);
            string file = CString(elf, strtab.Offset + U32(elf, entry + 4));
            long aux = entry + U32(elf, entry + 8);
            for (int a = 0; a < count; a++)
            {
                ushort flags = U16(elf, aux + 4);
                ushort other = U16(elf, aux + 6);
                string name = CString(elf, strtab.Offset + U32(elf, aux + 8));
                result.Add(new VersionNeed(file, name, (flags & VerFlagWeak) != 0, other, aux + 4));
                aux += U32(elf, aux + 12);
            }
            entry += U32(elf, entry + 12);
        }
        return result;
    }

    /// <summary>The version names a shared library defines (<c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30.</summary>
    public static IReadOnlySet<string> ReadDefinitions(ReadOnlySpan<byte> elf)
    {
        var sections = Sections(elf);
        var verdef = sections.FirstOrDefault(s => s.Type == ShtGnuVerdef);
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (verdef is null) return names;
        var strtab = sections[(int)verdef.Link];
        long entry = verdef.Offset;
        for (uint i = 0; i < verdef.Info; i++)
        {
            long aux = entry + U32(elf, entry + 12);
            names.Add(CString(elf, strtab.Offset + U32(elf, aux)));
            uint next = U32(elf, entry + 16);
            if (next == 0) break;
            entry += next;
        }
        return names;
    }

    /// <summary>Names of the dynamic symbols bound to a version index (the <c>vna_other</c> of a need).</summary>
    public static IReadOnlyList<string> SymbolsUsingVersion(ReadOnlySpan<byte> elf, int versionIndex)
    {
        var sections = Sections(elf);
        var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
        var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
        if (dynsym is null || versym is null) return [];
        var strtab = sections[(int)dynsym.Link];
        long count = dynsym.Size / 24;
        var names = new List<string>();
        for (long i = 0; i < count; i++)
        {
            // The top bit of a versym entry marks a hidden version; the index is the low 15 bits.
            if ((U16(elf, versym.Offset + i * 2) & 0x7fff) != versionIndex) continue;
            names.Add(CString(elf, strtab.Offset + U32(elf, dynsym.Offset + i * 24)));
        }
        return names;
    }

    /// <summary>Marks a version need weak (VER_FLG_WEAK): the loader then tolerates its absence.</summary>
    public static void MarkWeak(Span<byte> elf, VersionNeed need)
    {
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(elf[(int)need.FlagsOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)need.FlagsOffset..], (ushort)(flags | VerFlagWeak));
    }

    sealed record Section(uint Type, long Offset, long Size, uint Link, uint Info);

    static List<Section> Sections(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF is supported");
        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3a);
        int shnum = U16(elf, 0x3c);
        var list = new List<Section>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            long h = shoff + (long)i * shentsize;
            list.Add(new Section(U32(elf, h + 4), (long)U64(elf, h + 0x18), (long)U64(elf, h + 0x20), U32(elf, h + 0x28), U32(elf, h + 0x2c)));
        }
        return list;
    }

    static ushort U16(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt16LittleEndian(b[(int)at..]);
    static uint U32(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt32LittleEndian(b[(int)at..]);
    static ulong U64(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt64LittleEndian(b[(int)at..]);

    static string CString(ReadOnlySpan<byte> b, long at)
    {
        var s = b[(int)at..];
        int end = s.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? s : s[..end]);
    }
}
