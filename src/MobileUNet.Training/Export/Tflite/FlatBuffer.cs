using System.Buffers.Binary;
using System.Text;

namespace MobileUNet.Export.Tflite;

/// <summary>
/// Read-only access to a FlatBuffers buffer, enough for the TFLite schema: tables through their vtables, scalars
/// with schema defaults, strings, scalar vectors and vectors of tables. Every offset is checked against the buffer,
/// so a truncated or corrupt file fails with one message naming it instead of reading past the end.
/// </summary>
sealed class FlatBuffer(byte[] bytes, string source)
{
    public string Source => source;
    public int Length => bytes.Length;

    /// <summary>The root table: the buffer starts with its offset.</summary>
    public FlatTable Root() => new(this, checked((int)Offset(0)));

    /// <summary>The 4-byte file identifier that follows the root offset ("TFL3" for TFLite).</summary>
    public string Identifier() => Length >= 8 ? Encoding.ASCII.GetString(bytes, 4, 4) : "";

    public ReadOnlySpan<byte> Span(long position, long count)
    {
        Check(position, count);
        return bytes.AsSpan((int)position, (int)count);
    }

    public byte U8(long position) => Span(position, 1)[0];
    public ushort U16(long position) => BinaryPrimitives.ReadUInt16LittleEndian(Span(position, 2));
    public int I32(long position) => BinaryPrimitives.ReadInt32LittleEndian(Span(position, 4));
    public uint U32(long position) => BinaryPrimitives.ReadUInt32LittleEndian(Span(position, 4));
    public ulong U64(long position) => BinaryPrimitives.ReadUInt64LittleEndian(Span(position, 8));

    /// <summary>Follows a uoffset stored at <paramref name="position"/> (relative to itself).</summary>
    public long Offset(long position) => position + U32(position);

    void Check(long position, long count)
    {
        if (position < 0 || count < 0 || position > Length - count)
            throw Corrupt($"offset {position} + {count} is outside the file's {Length} bytes");
    }

    public InvalidDataException Corrupt(string why) =>
        new($"{source}: not a valid TFLite file ({why}; truncated or not a TFLite flatbuffer).");
}

/// <summary>One table: fields by index, looked up through the table's vtable; absent fields read as their default.</summary>
readonly struct FlatTable
{
    readonly FlatBuffer buffer;
    readonly long position, vtable;
    readonly int vtableSize;

    public FlatTable(FlatBuffer buffer, long position)
    {
        this.buffer = buffer;
        this.position = position;
        vtable = position - buffer.I32(position);
        vtableSize = buffer.U16(vtable);
        if (vtableSize < 4 || vtableSize % 2 != 0) throw buffer.Corrupt($"table at {position} has a vtable of {vtableSize} bytes");
        buffer.Span(vtable, vtableSize);
    }

    /// <summary>The absolute position of field <paramref name="index"/>, or -1 when the table leaves it out.</summary>
    long Field(int index)
    {
        int slot = 4 + 2 * index;
        if (slot + 2 > vtableSize) return -1;
        ushort offset = buffer.U16(vtable + slot);
        return offset == 0 ? -1 : position + offset;
    }

    public bool Has(int index) => Field(index) >= 0;

    /// <summary>Where field <paramref name="index"/> lies in the buffer (-1 when absent): lets tests patch a file.</summary>
    public long FieldPosition(int index) => Field(index);

    public byte U8(int index, byte fallback = 0) => Field(index) is var p and >= 0 ? buffer.U8(p) : fallback;
    public bool Bool(int index, bool fallback = false) => Field(index) is var p and >= 0 ? buffer.U8(p) != 0 : fallback;
    public int I32(int index, int fallback = 0) => Field(index) is var p and >= 0 ? buffer.I32(p) : fallback;
    public uint U32(int index, uint fallback = 0) => Field(index) is var p and >= 0 ? buffer.U32(p) : fallback;
    public ulong U64(int index, ulong fallback = 0) => Field(index) is var p and >= 0 ? buffer.U64(p) : fallback;

    public FlatTable? Table(int index) => Field(index) is var p and >= 0 ? new FlatTable(buffer, buffer.Offset(p)) : null;

    public string? String(int index) => Vector(index, 1) is { } v ? Encoding.UTF8.GetString(buffer.Span(v.Start, v.Count)) : null;

    public byte[] Bytes(int index) => Vector(index, 1) is { } v ? buffer.Span(v.Start, v.Count).ToArray() : [];

    public int[] Ints(int index)
    {
        if (Vector(index, 4) is not { } v) return [];
        var values = new int[v.Count];
        for (int i = 0; i < values.Length; i++) values[i] = buffer.I32(v.Start + 4L * i);
        return values;
    }

    public IReadOnlyList<FlatTable> Tables(int index)
    {
        if (Vector(index, 4) is not { } v) return [];
        var tables = new FlatTable[v.Count];
        for (int i = 0; i < tables.Length; i++) tables[i] = new FlatTable(buffer, buffer.Offset(v.Start + 4L * i));
        return tables;
    }

    (long Start, int Count)? Vector(int index, int elementSize)
    {
        if (Field(index) is not (var p and >= 0)) return null;
        long at = buffer.Offset(p);
        uint count = buffer.U32(at);
        buffer.Span(at + 4, (long)count * elementSize);
        return (at + 4, (int)count);
    }
}
